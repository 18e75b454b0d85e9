"""A send whose outcome is unknown is never retried blindly (issue 20, item 10).

Meta answering HTTP 500 / code 2 to a reply may have posted it: the Graph client marks such a
send uncertain; the outbox then asks a platform that can tell before sending again, and leaves
the others to a person, flagged in the inbox list and on the dashboard.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
import time_machine

from connectors.base import ConnectorError, OutboundReply
from connectors.facebook import FacebookConnector
from inbox.models import Case, Outbox
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import SETTLE_AFTER, deliver_next, deliver_one
from inbox.web.app import create_app
from tests.factories import T0
from tests.web_helpers import login, make_case, make_users, page_text
from tests.workflow_helpers import FakeConnector, use_connector

GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "104857600000001"
THREAD = "900000000000003_1000000000000004"
ERRORS = json.loads((Path(__file__).parent / "fixtures" / "meta" / "errors.json").read_text())


def facebook() -> FacebookConnector:
    return FacebookConnector("fb_dukcapil", {"page_id": PAGE, "page_access_token": "PAGE-TOKEN",
                                             "app_secret": "app-secret-for-tests"})


def public_reply() -> OutboundReply:
    return OutboundReply(reply_id=8, case_reference="ADU-202611-0043", public=True, kind="comment",
                         text="Perbaikan nama ibu di KK bisa di kecamatan, Pak.", thread_id=THREAD,
                         in_reply_to=THREAD, recipient_id="6100000000000003")


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("body, status", [
    (ERRORS["2_unexpected"], 500), (ERRORS["1_unknown"], 500), ({"data": []}, 503)])
def test_a_reply_answered_with_a_5xx_is_uncertain_not_transient(body, status) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{THREAD}/comments", json=body, status=status)
        with pytest.raises(ConnectorError) as caught:
            facebook().send(public_reply())
    assert caught.value.uncertain and not caught.value.permanent
    assert "mungkin sudah terkirim" in caught.value.message


def test_a_reply_answered_with_an_unreadable_body_is_uncertain() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{THREAD}/comments", status=502,
                 body="<html>Sorry, something went wrong.</html>", content_type="text/html")
        with pytest.raises(ConnectorError) as caught:
            facebook().send(public_reply())
    assert caught.value.uncertain


def test_a_rate_limited_reply_is_still_retried_later() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{THREAD}/comments", json=ERRORS["32_page_limit"],
                 status=403)
        with pytest.raises(ConnectorError) as caught:
            facebook().send(public_reply())
    assert not caught.value.uncertain and caught.value.retry_at is not None


def queued(rt: Runtime) -> tuple[Case, Outbox]:
    users = make_users()
    case = make_case(rt, 1)
    return case, workflow.reply(rt, Case.get_by_id(case.id), users["admin"],
                                "Baik Kak, KTP sudah kami cek.")


def test_an_uncertain_send_is_looked_for_before_any_retry(rt: Runtime, clock) -> None:
    """The platform got the first send (as Meta may have, before its 500): it is found, and
    nothing is sent a second time."""
    _, row = queued(rt)
    fake = use_connector(rt, FakeConnector(script=["ok"], confirms=True))
    fake.script = [ConnectorError("HTTP 500 setelah terkirim", uncertain=True)]
    fake.delivered[row.id] = "fb-posted-1"  # the platform did post it
    assert deliver_next(rt, "w1").outcome == "checking"
    assert Outbox.get_by_id(row.id).status == "sending"
    assert deliver_one(rt, "w1") is False  # not before the settlement delay
    clock.shift(SETTLE_AFTER + timedelta(seconds=1))
    assert deliver_next(rt, "w1").outcome == "sent"
    assert Outbox.get_by_id(row.id).platform_id == "fb-posted-1"
    assert len(fake.attempts) == 1


def test_an_uncertain_send_not_found_is_sent_once_more(rt: Runtime, clock) -> None:
    _, row = queued(rt)
    fake = use_connector(rt, FakeConnector(
        script=[ConnectorError("HTTP 500", uncertain=True), "ok"], confirms=True))
    assert deliver_next(rt, "w1").outcome == "checking"
    clock.shift(SETTLE_AFTER + timedelta(seconds=1))
    assert deliver_next(rt, "w1").outcome == "requeued"
    assert deliver_next(rt, "w1").outcome == "sent"
    assert fake.received == [row.id]


def test_an_uncertain_reply_is_flagged_in_the_list_and_on_the_dashboard(rt: Runtime, clock) -> None:
    case, row = queued(rt)
    use_connector(rt, FakeConnector(script=[ConnectorError("HTTP 500", uncertain=True)]))
    assert deliver_next(rt, "w1").outcome == "uncertain"
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    assert "Balasan BELUM PASTI terkirim" in page_text(client.get("/"))
    dashboard = page_text(client.get("/dasbor"))
    assert "1 balasan BELUM PASTI terkirim" in dashboard and case.reference in dashboard
