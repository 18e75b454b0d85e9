"""A webhook delivery that cannot be ingested stops nothing and vanishes nowhere (issue 26,
items 4 and 5): a body nested too deep is refused at the door; one that is not JSON, or names a
WhatsApp number config.toml does not have, is kept, set aside with its reason, shown on the
dashboard, in ``aduan status`` and on *Item tersisih*, told to the superusers once, and read
again after the fix; every delivery after it is ingested as usual.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine

import main
from inbox.arrive import webhooks
from inbox.arrive.webhook_failures import MAX_DEPTH, too_deep
from inbox.models import Message, Notification, NotificationPreference, WebhookDelivery
from inbox.run.daemon import Daemon
from inbox.run.health import beat
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import login, make_users, page_text, post_form

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "wa-app-secret-for-tests"
REAL, TYPO = "106540352242922", "106540352242929"
NOW = datetime(2026, 3, 2, 3, 10, tzinfo=timezone.utc)


def account(phone_number_id: str) -> str:
    return f"""
[accounts.wa_dukcapil]
kind = "whatsapp"
label = "WhatsApp Dukcapil Brebes"
phone_number_id = "{phone_number_id}"
access_token = "EAAwa-access-token"
app_secret = "{SECRET}"
verify_token = "verify-token-for-tests"

[notify.telegram]
bot_token = "7000000001:AAH-notify-test-token"
"""


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """An office whose config.toml has a typo in WhatsApp's phone_number_id."""
    runtime = make_runtime(write_config(tmp_path, accounts=account(TYPO)))
    yield runtime
    runtime.close()


def deliver(rt: Runtime, raw: bytes) -> int:
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return create_app(rt, testing=True).test_client().post(
        "/webhooks/meta", data=raw, content_type="application/json",
        headers={"X-Hub-Signature-256": signature}).status_code


def text_message(n: int) -> bytes:
    """Meta's text delivery for the office's real number, one message id per ``n``."""
    raw = (FIXTURES / "text.json").read_text(encoding="utf-8")
    return raw.replace("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMDAx",
                       f"wamid.test-{n}").encode()


def process_all(rt: Runtime) -> int:
    with time_machine.travel(NOW, tick=False):
        return Daemon(rt).process_deliveries()


def status(rt: Runtime) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main.main(["--config", str(rt.config.path), "status"]) == 0
    return out.getvalue()


def superuser_told(users: dict[str, Any]) -> list[Notification]:
    return list(Notification.select().where((Notification.event == "set_aside")
                                            & (Notification.user == users["superuser"].id)))


def test_a_deeply_nested_delivery_is_refused_before_it_is_stored_and_the_next_goes_on(rt) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # 200 KB, as in the audit
    assert deliver(rt, deep) == 400
    assert webhooks.waiting_total(rt) == 0 and WebhookDelivery.select().count() == 0
    assert deliver(rt, text_message(1)) == 200
    rt.config.accounts["wa_dukcapil"].options["phone_number_id"] = REAL
    assert process_all(rt) == 1 and Message.select().count() == 1


def test_a_deep_body_already_stored_is_set_aside_and_intake_goes_on(rt) -> None:
    """A body stored before the receiver refused such (an older aduan): it once stopped every
    later delivery, the daemon failing on it every second."""
    rt.config.accounts["wa_dukcapil"].options["phone_number_id"] = REAL
    webhooks.store(rt, b"[" * 100_000 + b"]" * 100_000)
    assert deliver(rt, text_message(1)) == 200
    assert process_all(rt) == 2
    assert Message.select().count() == 1 and webhooks.waiting_total(rt) == 0
    bad = WebhookDelivery.get(WebhookDelivery.status == "failed")
    assert bad.cause == "unreadable" and f"lebih dari {MAX_DEPTH} tingkat" in bad.error
    beat("w1", 10)
    health = create_app(rt, testing=True).test_client().get("/healthz")
    assert health.status_code == 200


def test_a_delivery_for_a_number_config_does_not_have_is_kept_shown_told_once_and_read_after_the_fix(
        rt, tmp_path) -> None:
    users = make_users()
    NotificationPreference.create(user=users["superuser"], telegram_chat_id="500001",
                                  channels=["telegram"])
    for n in (1, 2):
        assert deliver(rt, text_message(n)) == 200
    assert process_all(rt) == 2
    assert Message.select().count() == 0
    rows = list(WebhookDelivery.select())
    assert {(row.status, row.cause) for row in rows} == {("failed", "unknown_account")}
    assert all(f"phone_number_id {REAL} tidak ada di config.toml" in row.error for row in rows)
    assert len(superuser_told(users)) == 1  # once per cause, not once per delivery

    superuser = create_app(rt, testing=True).test_client()
    assert login(superuser, "super1").status_code == 302
    dashboard = page_text(superuser.get("/dasbor"))
    assert "2 kiriman webhook disisihkan" in dashboard and f"phone_number_id {REAL}" in dashboard
    assert f"phone_number_id {REAL}" in page_text(superuser.get("/kelola/tersisih"))
    text = status(rt)
    assert "2 kiriman disisihkan" in text and f"phone_number_id {REAL}" in text

    # The office corrects config.toml and restarts aduan: the daemon reads them again.
    path = write_config(tmp_path, accounts=account(REAL))
    fixed = Runtime(load_config(path))
    try:
        Daemon(fixed).release_stale()
        assert process_all(fixed) == 2
    finally:
        fixed.close()
    assert Message.select().count() == 2
    assert {row.status for row in WebhookDelivery.select()} == {"done"}
    assert "disisihkan" not in status(rt)


def test_a_body_that_is_not_json_is_kept_as_failed_and_the_superuser_can_read_it_again(rt) -> None:
    users = make_users()
    rt.config.accounts["wa_dukcapil"].options["phone_number_id"] = REAL
    assert deliver(rt, b"this is not json {") == 200
    assert deliver(rt, text_message(1)) == 200
    assert process_all(rt) == 2
    assert Message.select().count() == 1
    bad = WebhookDelivery.get(WebhookDelivery.status == "failed")
    assert (bad.cause, bad.error) == ("unreadable", "isi kiriman bukan JSON")
    superuser = create_app(rt, testing=True).test_client()
    login(superuser, "super1")
    assert "isi kiriman bukan JSON" in page_text(superuser.get("/kelola/tersisih"))
    response = post_form(superuser, "/kelola/tersisih/webhook/ulang", follow_redirects=True)
    assert "1 kiriman webhook dikembalikan ke antrean" in page_text(response)
    assert WebhookDelivery.get_by_id(bad.id).status == "pending"
    assert process_all(rt) == 1  # read again, set aside again: never lost, never a loop
    assert WebhookDelivery.get_by_id(bad.id).status == "failed"
    assert len(superuser_told(users)) == 0  # nobody chose a channel


def test_healthz_fails_when_deliveries_wait_while_the_daemon_beats(rt) -> None:
    beat("w1", 10)
    assert create_app(rt, testing=True).test_client().get("/healthz").status_code == 200
    WebhookDelivery.create(body="{}", received_at=datetime.now(timezone.utc) - timedelta(minutes=20))
    response = create_app(rt, testing=True).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["daemon"]["webhook_waiting_age_seconds"] >= 20 * 60


@pytest.mark.parametrize("body, deep", [
    (b'{"object": "page", "entry": [{"messaging": [{"message": {"text": "[[[["}}]}]}', False),
    (b'{"a": "' + b"[" * 500 + b'"}', False),  # brackets inside a string do not count
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), True),
    (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, False),
    (b'{"a": "\\"' + b"[" * 100 + b'"}', False),  # an escaped quote does not end the string
])
def test_the_depth_check_counts_only_brackets_outside_strings(body: bytes, deep: bool) -> None:
    assert too_deep(body) is deep
