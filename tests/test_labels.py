"""Every internal name an officer can meet has an Indonesian word (inbox/labels.py), and the
case page, the command line and the recaps use them instead of the English names."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connectors.base import KINDS_OF_MESSAGE
from inbox.labels import LABELS, detail_value, label, message_kind
from inbox.models import OUTBOX_STATUSES, ROLES, STATUS_LABELS, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from inbox.web.app import create_app
from tests.web_helpers import login, make_case, make_users, page_text

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("inbox", "recap", "connectors") for p in (ROOT / d).rglob("*.py")]
# Event.record("name", ...), self._event(case, "name", ...), Event.record(action, ...) with
# action one of the quoted names of a conditional
RECORDED = re.compile(r'(?:Event\.record|_event)\((?:case, )?"([a-z_]+)"')


def recorded_actions() -> set[str]:
    found = set()
    for path in SOURCES:
        found.update(RECORDED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_event_action_the_code_records_has_an_indonesian_label() -> None:
    actions = recorded_actions()
    assert {"opened", "reply_queued", "delivered", "dismissed"} <= actions  # the scan works
    missing = sorted(a for a in actions | {"delivery_failed", "delivery_uncertain"}
                     if a not in LABELS["event"])
    assert missing == []


@pytest.mark.parametrize("group, names", [
    ("status", list(STATUS_LABELS)), ("outbox", OUTBOX_STATUSES), ("kind", KINDS_OF_MESSAGE),
    ("purpose", ("answer", "acknowledgement", "status", "survey")), ("role", list(ROLES)),
    ("citizen_status", list(STATUS_LABELS)), ("rating", (1, 2, 3, 4)),
    ("status_check", ("owner", "other", "public", "rate_limited")),
    ("dismiss_reason", list(workflow.DISMISS_REASONS) + ["spam", "greeting"]),
    ("channel", ("sandbox", "x", "facebook", "instagram")),
])
def test_every_name_of_a_group_has_a_word(group: str, names: tuple[str, ...]) -> None:
    for name in names:
        assert name in LABELS[group], (group, name)
        assert label(group, name) != name


def test_names_read_as_officers_read_them() -> None:
    assert label("purpose", "acknowledgement") == "Tanda terima"
    assert label("status", "not_complaint") == "Bukan pengaduan"
    assert detail_value("purpose", "answer") == "Jawaban"
    assert detail_value("reason", "spam") == "Spam / iklan"
    assert detail_value("delivered", False) == "tidak"
    assert message_kind("in", "mention", True) == "sebutan"
    assert message_kind("out", "mention", True) == "balasan publik"
    assert message_kind("out", "dm", False) == "balasan pribadi"
    assert label("status", "something_new") == "something_new"  # visible, never hidden


@pytest.fixture
def admin(rt: Runtime) -> FlaskClient:
    users = make_users()
    client = create_app(rt, testing=True).test_client()
    assert login(client, users["admin"].username).status_code == 302
    return client


def test_the_case_page_names_the_reply_and_the_history_in_indonesian(
        rt: Runtime, admin: FlaskClient) -> None:
    case = make_case(rt, 1)
    workflow.reply(rt, case, User.get(User.username == "admin1"), "Baik, kami cek hari ini.")
    assert deliver_one(rt, "test")
    html = page_text(admin.get(f"/pengaduan/{case.id}"))
    history = html.split("<h2>Riwayat</h2>")[1]
    thread = html.split("<h2>Percakapan</h2>")[1].split("</ol>")[0]
    assert "Jenis: Jawaban" in history and "Balasan terkirim" in history
    assert "· sebutan ·" in thread and "· balasan publik ·" in thread
    assert "(mention)" not in html
    for english in ("answer", "acknowledgement", "reply_queued", "delivered"):
        assert not re.search(rf"\b{english}\b", history), english
    assert "Jawaban: Terkirim" in html  # the outbox row


def test_every_kind_of_ignored_item_has_a_word() -> None:
    from connectors.mailparse import MACHINE_KINDS
    from connectors.telegram_payload import IGNORED_KINDS
    for kind in IGNORED_KINDS + MACHINE_KINDS:
        assert label("ignored", kind) != kind, kind

