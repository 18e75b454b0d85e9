"""Delivering replies: success, retries, permanent failures, unknown outcomes and crashes at
every instant — and never a second send of the same reply."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from connectors.base import ConnectorError
from connectors.sandbox import SandboxConnector, read_sandbox_replies
from inbox.arrive.ingest import ingest
from inbox.leases import LEASE, MAX_ATTEMPTS, claim_next
from inbox.models import Account, Case, Event, Message, Outbox, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from tests.factories import T0, msg
from tests.workflow_helpers import (FakeConnector, case_in_status, fresh, make_users, open_case,
                                    runtime_with, use_connector)

NOW = T0 + timedelta(hours=1)  # Monday 23 Nov 2026, 10:00 WIB


@pytest.fixture
def users(rt: Runtime) -> dict[str, User]:
    return make_users()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def queued_reply(rt: Runtime, users: dict[str, User], public: bool = True,
                 text: str = "Baik Kak, KTP sudah kami cek.") -> tuple[Case, Outbox]:
    case = open_case(rt, 1, public=public)
    return fresh(case), workflow.reply(rt, case, users["admin"], text)


def actions(case: Case) -> list[str]:
    return [e.action for e in Event.select().where(Event.case == case).order_by(Event.id)]


def test_a_delivered_answer_closes_the_case_and_stops_the_clock(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    account = Account.get(Account.name == "sandbox")
    case = open_case(rt, 1, public=False)
    ingest(account, [msg("in-1-later", thread="thread-1", author="warga1", public=False,
                         at=T0 + timedelta(minutes=5), text="min tolong dijawab")],
           None, rt.ingest_options)
    row = workflow.reply(rt, fresh(case), users["admin"], "Baik, KTP sudah dicetak.")
    fake = use_connector(rt, FakeConnector())
    assert deliver_one(rt, "w1") is True
    assert deliver_one(rt, "w1") is False
    reply = fake.attempts[0]
    assert (reply.in_reply_to, reply.recipient_id, reply.kind, reply.public, reply.thread_id) == (
        "in-1-later", "warga1", "dm", False, "thread-1")
    assert reply.last_inbound_at == T0 + timedelta(minutes=5)
    assert reply.case_reference == case.reference and reply.reply_id == row.id
    row = Outbox.get_by_id(row.id)
    assert (row.status, row.platform_id, row.sent_at, row.attempts) == (
        "sent", f"fake-{row.id}-1", NOW, 1)
    case = fresh(case)
    assert (case.status, case.answered_at, case.closed_at, case.first_response_at) == (
        "answered", NOW, NOW, NOW)
    assert case not in Case.overdue(case.due_at + timedelta(days=30))
    out = Message.get((Message.case == case) & (Message.direction == "out"))
    assert (out.external_id, out.author_id, out.text) == (row.platform_id, users["admin"].id, row.text)
    delivered = Event.get(Event.action == "delivered")
    assert delivered.detail == {"outbox_id": row.id, "purpose": "answer",
                                "platform_id": row.platform_id}
    # The next poll sees the office's own reply: stored once, nothing new.
    report = ingest(account, [msg(row.platform_id, thread="thread-1", author="office",
                                  public=False, from_office=True, text=row.text)],
                    None, rt.ingest_options)
    assert report.duplicates == 1 and report.stored == 0


def test_a_public_case_is_answered_publicly_on_the_sandbox(
        rt: Runtime, users: dict[str, User]) -> None:
    case, row = queued_reply(rt, users, public=True)
    assert deliver_one(rt, "w1")
    [sent] = read_sandbox_replies(rt.data_dir, "sandbox")
    assert (sent["reply_id"], sent["public"], sent["in_reply_to"], sent["text"]) == (
        row.id, True, "in-1", row.text)
    assert fresh(case).status == "answered"


def test_a_transient_error_is_retried_later_then_delivered_once(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    fake = use_connector(rt, FakeConnector(script=[ConnectorError("platform sibuk (503)")]))
    assert deliver_one(rt, "w1")
    row = Outbox.get_by_id(row.id)
    assert (row.status, row.attempts, row.last_error, row.lease_owner) == (
        "pending", 1, "platform sibuk (503)", None)
    assert NOW + timedelta(seconds=22) <= row.next_attempt_at <= NOW + timedelta(seconds=38)
    assert fresh(case).status == "replying"
    retry = Event.get(Event.action == "delivery_retry")
    assert retry.detail["error"] == "platform sibuk (503)" and retry.case_id == case.id
    assert deliver_one(rt, "w1") is False  # not due yet
    clock.shift(timedelta(seconds=40))
    assert deliver_one(rt, "w1")
    assert Outbox.get_by_id(row.id).status == "sent" and Outbox.get_by_id(row.id).attempts == 2
    assert fake.received == [row.id]
    assert fresh(case).status == "answered"


def test_a_rate_limited_reply_waits_until_the_reset_time(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    _, row = queued_reply(rt, users)
    reset = NOW + timedelta(minutes=15)
    use_connector(rt, FakeConnector(script=[ConnectorError("batas permintaan", retry_at=reset)]))
    deliver_one(rt, "w1")
    assert Outbox.get_by_id(row.id).next_attempt_at == reset


def test_a_reply_that_keeps_failing_transiently_eventually_goes_to_the_admin(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    use_connector(rt, FakeConnector(script=[ConnectorError("sibuk")] * MAX_ATTEMPTS))
    for _ in range(MAX_ATTEMPTS):
        assert deliver_one(rt, "w1")
        clock.shift(timedelta(days=1))
    row = Outbox.get_by_id(row.id)
    assert row.status == "failed" and f"{MAX_ATTEMPTS} kali" in row.last_error
    assert fresh(case).status == "new"


def test_a_permanent_error_fails_and_returns_the_case_to_the_admin_with_an_alert(
        rt: Runtime, users: dict[str, User]) -> None:
    case, row = queued_reply(rt, users)
    fake = use_connector(rt, FakeConnector(script=[
        ConnectorError("balasan ditolak platform: izin tidak cukup", permanent=True)]))
    assert deliver_one(rt, "w1")
    row = Outbox.get_by_id(row.id)
    assert (row.status, row.last_error) == ("failed", "balasan ditolak platform: izin tidak cukup")
    case = fresh(case)
    assert (case.status, case.queue, case.answered_at) == ("new", "admin", None)
    assert "gagal dikirim" in case.alert and "izin tidak cukup" in case.alert
    assert Event.get(Event.action == "delivery_failed").detail["error"] == row.last_error
    assert deliver_one(rt, "w1") is False and len(fake.attempts) == 1
    # The admin may answer again; the new reply clears the alert once it is delivered.
    workflow.reply(rt, case, users["admin"], "Mohon maaf, kami jawab lagi.")
    assert deliver_one(rt, "w1")
    assert (fresh(case).status, fresh(case).alert) == ("answered", None)


def test_a_failed_forward_returns_to_division_answered(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "division_answered", 1)
    workflow.forward(rt, case, users["admin"])
    use_connector(rt, FakeConnector(script=[ConnectorError("ditolak", permanent=True)]))
    deliver_one(rt, "w1")
    case = fresh(case)
    assert case.status == "division_answered" and case.alert
    assert "forward" in workflow.allowed_actions(users["admin"], case)


def test_a_timeout_after_sending_is_uncertain_and_never_resent(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    # A platform that cannot be asked (confirms=False): a person settles it (issue 20, item 10
    # sends a confirming platform's unknown outcomes through the settlement instead).
    fake = use_connector(rt, FakeConnector(script=[
        ConnectorError("waktu habis setelah permintaan terkirim", uncertain=True)], confirms=False))
    assert deliver_one(rt, "w1")
    row = Outbox.get_by_id(row.id)
    assert (row.status, row.last_error) == ("uncertain", "waktu habis setelah permintaan terkirim")
    case = fresh(case)
    assert case.status == "replying" and "pastikan" in case.alert
    assert actions(case)[-1] == "delivery_uncertain"
    clock.shift(LEASE * 10)
    assert deliver_one(rt, "w1") is False
    assert len(fake.attempts) == 1


def test_a_person_confirms_an_uncertain_reply_was_delivered(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    use_connector(rt, FakeConnector(script=[ConnectorError("timeout", uncertain=True)]))
    deliver_one(rt, "w1")
    clock.shift(timedelta(hours=2))
    workflow.confirm_delivery(rt, Outbox.get_by_id(row.id), users["admin"], True)
    row = Outbox.get_by_id(row.id)
    case = fresh(case)
    assert row.status == "sent"
    # Answered at the attempt, not when the officer got round to checking.
    assert (case.status, case.answered_at, case.alert) == ("answered", NOW, None)
    assert Event.get(Event.action == "delivery_confirmed").detail == {
        "outbox_id": row.id, "delivered": True}
    assert Event.get(Event.action == "delivery_confirmed").actor_name == "admin1"


def test_a_person_says_an_uncertain_reply_did_not_arrive_and_it_is_sent_once_more(
        rt: Runtime, users: dict[str, User]) -> None:
    case, row = queued_reply(rt, users)
    fake = use_connector(rt, FakeConnector(script=[ConnectorError("timeout", uncertain=True)]))
    deliver_one(rt, "w1")
    workflow.confirm_delivery(rt, Outbox.get_by_id(row.id), users["admin"], False)
    assert Outbox.get_by_id(row.id).status == "pending" and fresh(case).alert is None
    assert deliver_one(rt, "w1")
    assert Outbox.get_by_id(row.id).status == "sent" and fake.received == [row.id]


def test_an_unexpected_error_inside_send_is_treated_as_uncertain(
        rt: Runtime, users: dict[str, User]) -> None:
    _, row = queued_reply(rt, users)

    class Broken(FakeConnector):
        def send(self, reply):  # type: ignore[no-untyped-def]
            super().send(reply)
            raise KeyError("id")  # e.g. the platform's answer had an unexpected shape

    use_connector(rt, Broken())
    assert deliver_one(rt, "w1")
    assert Outbox.get_by_id(row.id).status == "uncertain"


def test_two_workers_never_claim_the_same_reply(rt: Runtime, users: dict[str, User]) -> None:
    _, row = queued_reply(rt, users)
    first = claim_next("worker-a")
    assert first is not None and first.id == row.id and first.lease_owner == "worker-a"
    assert claim_next("worker-b") is None
    assert deliver_one(rt, "worker-b") is False


def test_a_crash_between_claim_and_send_is_sent_once_after_the_lease_expires(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    assert claim_next("crashed-worker") is not None  # ...and the worker dies here
    assert deliver_one(rt, "w2") is False  # its lease still holds
    clock.shift(LEASE + timedelta(seconds=1))
    assert deliver_one(rt, "w2")  # the sandbox shows nothing was sent: queued again
    assert Outbox.get_by_id(row.id).status == "pending"
    assert "delivery_retry" in actions(case)
    assert deliver_one(rt, "w2")
    assert Outbox.get_by_id(row.id).status == "sent"
    assert [r["reply_id"] for r in read_sandbox_replies(rt.data_dir, "sandbox")] == [row.id]


def test_a_crash_between_claim_and_send_without_a_delivery_check_waits_for_a_person(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    fake = use_connector(rt, FakeConnector(confirms=False))
    claim_next("crashed-worker")
    clock.shift(LEASE + timedelta(seconds=1))
    assert deliver_one(rt, "w2")
    assert Outbox.get_by_id(row.id).status == "uncertain"
    assert fresh(case).alert and fake.attempts == []


@pytest.mark.parametrize("death", [SystemExit, KeyboardInterrupt])
def test_a_crash_between_send_and_record_never_sends_twice(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller, death: type) -> None:
    case, row = queued_reply(rt, users)

    class Dying(SandboxConnector):
        def send(self, reply):  # type: ignore[no-untyped-def]
            super().send(reply)
            raise death()

    use_connector(rt, Dying("sandbox", {}, data_dir=str(rt.data_dir)))
    with pytest.raises(death):
        deliver_one(rt, "w1")
    assert Outbox.get_by_id(row.id).status == "sending"
    # A restarted worker, with a healthy connector.
    rt._connectors.pop("sandbox")
    assert deliver_one(rt, "w2") is False
    clock.shift(LEASE + timedelta(seconds=1))
    assert deliver_one(rt, "w2")
    assert deliver_one(rt, "w2") is False
    row = Outbox.get_by_id(row.id)
    [recorded] = read_sandbox_replies(rt.data_dir, "sandbox")
    assert (row.status, row.platform_id) == ("sent", recorded["platform_id"])
    assert fresh(case).status == "answered"


def test_a_crash_after_sending_on_a_platform_that_cannot_tell_waits_for_a_person(
        rt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    case, row = queued_reply(rt, users)
    fake = use_connector(rt, FakeConnector(script=[SystemExit], confirms=False))
    with pytest.raises(SystemExit):
        deliver_one(rt, "w1")
    clock.shift(LEASE + timedelta(seconds=1))
    assert deliver_one(rt, "w2")
    clock.shift(LEASE * 3)
    assert deliver_one(rt, "w2") is False
    assert Outbox.get_by_id(row.id).status == "uncertain"
    assert fake.received == [row.id]
    assert fresh(case).status == "replying" and fresh(case).alert


def test_the_acknowledgement_is_a_first_response_not_the_answer(
        tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=False), runtime_with(
            tmp_path, sla_replace={"acknowledge_private = false": "acknowledge_private = true"}) as rt:
        case = open_case(rt, 1, public=False)
        [ack] = list(Outbox.select())
        assert ack.purpose == "acknowledgement" and case.reference in ack.text
        fake = use_connector(rt, FakeConnector())
        assert deliver_one(rt, "w1")
        case = fresh(case)
        assert Outbox.get_by_id(ack.id).status == "sent"
        assert (case.status, case.first_response_at, case.answered_at, case.closed_at) == (
            "new", NOW, None, None)
        assert case in Case.overdue(case.due_at + timedelta(minutes=1))  # the SLA still runs
        assert Event.get(Event.action == "delivered").detail["purpose"] == "acknowledgement"
        assert fake.attempts[0].public is False
        # The answer later closes the case; the first response keeps its time.
        with time_machine.travel(NOW + timedelta(days=1), tick=False):
            workflow.reply(rt, case, make_users()["admin"], "KTP sudah jadi.")
            assert deliver_one(rt, "w1")
            case = fresh(case)
            assert case.first_response_at == NOW and case.answered_at == NOW + timedelta(days=1)


def test_an_acknowledgement_is_not_sent_after_the_case_was_dismissed(tmp_path: Path) -> None:
    with runtime_with(tmp_path, sla_replace={"acknowledge_private = false":
                                             "acknowledge_private = true"}) as rt:
        case = open_case(rt, 1, public=False)
        workflow.dismiss(rt, case, make_users()["admin"], "spam")
        fake = use_connector(rt, FakeConnector())
        assert deliver_one(rt, "w1")
        assert fake.attempts == []
        assert Outbox.get().status == "failed"
        assert fresh(case).first_response_at is None
