from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses

from connectors.base import InboundMessage, OutboundReply, make_session
from connectors.registry import BUILTIN_CONNECTORS, RegistryError, connector_class, registered_kinds
from connectors.sandbox import SandboxConnector, read_sandbox_replies
from inbox.pii import has_personal_data

EPOCH = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, target: str) -> None:
    """A real installed distribution (dist-info on sys.path) declaring an aduan connector."""
    dist = tmp_path / "aduan_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: aduan-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[aduan.connectors]\n{kind} = {target}\n")
    (tmp_path / "aduan_plugin.py").write_text(
        "from connectors.base import Connector\n"
        "class LineConnector(Connector):\n    kind = 'line'\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_third_party_connector_registers_through_its_entry_point(tmp_path, monkeypatch) -> None:
    install_plugin(tmp_path, monkeypatch, "line", "aduan_plugin:LineConnector")
    assert registered_kinds()["line"] == "aduan_plugin:LineConnector"
    assert connector_class("line").kind == "line"


def test_a_plugin_claiming_a_built_in_kind_is_refused_loudly(tmp_path, monkeypatch) -> None:
    install_plugin(tmp_path, monkeypatch, "x", "aduan_plugin:LineConnector")
    with pytest.raises(RegistryError, match="connector kind 'x' from aduan_plugin:LineConnector "
                                            "is already provided by connectors.x:XConnector"):
        registered_kinds()


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(RegistryError, match="unknown account kind 'fax'.*sandbox"):
        connector_class("fax")
    assert set(BUILTIN_CONNECTORS) == {"sandbox", "x", "facebook", "instagram", "telegram", "whatsapp",
                                       "email"}


@pytest.mark.parametrize("change, error", [
    ({"kind": "tweet"}, "kind must be one of"),
    ({"created_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ({"external_id": ""}, "external_id is empty"),
])
def test_an_inbound_message_refuses_bad_values(change, error) -> None:
    fields = dict(external_id="1", thread_id="t", kind="dm", public=False, author_id="a",
                  author_handle="a", author_name="A", text="x", created_at=EPOCH)
    fields.update(change)
    with pytest.raises(ValueError, match=error):
        InboundMessage(**fields)


def test_an_inbound_message_is_stored_in_utc() -> None:
    wib = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    message = InboundMessage("1", "t", "dm", False, "a", "a", "A", "x", wib)
    assert message.created_at == EPOCH and message.created_at.tzinfo == timezone.utc


@responses.activate
def test_the_session_puts_a_timeout_on_every_request() -> None:
    responses.get("https://api.example.test/ping", json={"ok": True})
    seen = []
    session = make_session((1.5, 7.0))
    session.hooks["response"].append(lambda r, *a, **k: seen.append(k.get("timeout")))
    assert session.get("https://api.example.test/ping").json() == {"ok": True}
    assert seen == [(1.5, 7.0)]
    assert isinstance(session, requests.Session)


def sandbox(tmp_path: Path, **options) -> SandboxConnector:
    return SandboxConnector("sb", {"seed": 11, **options}, data_dir=str(tmp_path))


def test_the_sandbox_is_deterministic_from_its_seed(tmp_path) -> None:
    one, two = sandbox(tmp_path), sandbox(tmp_path)
    assert [one.message(n, EPOCH) for n in range(50)] == [two.message(n, EPOCH) for n in range(50)]
    other = SandboxConnector("sb", {"seed": 12}, data_dir=str(tmp_path))
    assert [m.text for m in (one.message(n, EPOCH) for n in range(20))] != \
        [m.text for m in (other.message(n, EPOCH) for n in range(20))]


def test_the_sandbox_writes_realistic_varied_traffic(tmp_path) -> None:
    messages = [sandbox(tmp_path).message(n, EPOCH) for n in range(400)]
    assert {m.kind for m in messages} == {"mention", "comment", "dm"}
    assert {m.raw["intent_hint"] for m in messages} == {"complaint", "question", "thanks", "spam", "greeting"}
    follow_ups = [m for m in messages if m.in_reply_to]
    assert len(follow_ups) > 20
    by_id = {m.external_id: m for m in messages}
    for m in follow_ups:  # a follow-up is the same citizen in the same thread
        parent = by_id[m.in_reply_to]
        assert (m.thread_id, m.author_id, m.public) == (parent.thread_id, parent.author_id, parent.public)
    assert any(has_personal_data(m.text) for m in messages)


def test_the_sandbox_keeps_its_pace_and_never_repeats(tmp_path) -> None:
    import time_machine
    connector = sandbox(tmp_path, messages_per_minute=12, initial_burst=3)
    with time_machine.travel(EPOCH, tick=False):
        first = connector.poll({})
    with time_machine.travel(EPOCH + timedelta(seconds=30), tick=False):
        second = connector.poll(first.cursor)
        idle = connector.poll(second.cursor)
    assert len(first.messages) == 3 and len(second.messages) == 6 and idle.messages == []
    ids = [m.external_id for m in first.messages + second.messages]
    assert len(ids) == len(set(ids))
    assert all(m.created_at <= EPOCH + timedelta(seconds=30) for m in second.messages)


def test_the_sandbox_records_each_reply_and_can_confirm_it(tmp_path) -> None:
    connector = sandbox(tmp_path)
    reply = OutboundReply(reply_id=41, case_reference="ADU-202611-0001", text="Baik, kami bantu",
                          public=False, thread_id="t", in_reply_to="m1", recipient_id="u1", kind="dm")
    platform_id = connector.send(reply)
    records = read_sandbox_replies(tmp_path, "sb")
    assert [(r["reply_id"], r["platform_id"], r["text"]) for r in records] == [(41, platform_id, "Baik, kami bantu")]
    assert connector.find_delivered(reply) == platform_id
    assert connector.find_delivered(OutboundReply(**{**reply.__dict__, "reply_id": 42})) is None
