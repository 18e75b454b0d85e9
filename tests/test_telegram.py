"""The Telegram bot channel against Bot API payloads served at the requests layer.

Bodies follow the Bot API documentation (core.telegram.org/bots/api: Update, Message,
PhotoSize, Document, getUpdates, sendMessage, getFile and the error object with
``error_code``, ``description`` and ``parameters.retry_after``).
"""
from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
import time_machine

import main
from connectors.base import ConnectorError, OutboundReply
from connectors.telegram import (OTHER_POLLER, UNAUTHORIZED, UNCERTAIN, WEBHOOK_SET,
                                 TelegramConnector)
from inbox.arrive.attachments import Downloader
from inbox.models import Account, Attachment, Case, Message, Outbox
from tests.conftest import PG_URL, reset_database, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
TOKEN = "7012345678:AAH-secret-token-never-shown_x"
API = f"https://api.telegram.org/bot{TOKEN}"
NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)
DEWI, GROUP = "5123456701", "-1001987654321"
ANSWER = "Silakan datang ke kantor dengan membawa KK asli."
ACCOUNT = f"""
[accounts.tg_dukcapil]
kind = "telegram"
label = "Telegram @dukcapilbrebes_bot"
bot_token = "{TOKEN}"
greeting = "Halo dari {{kantor}}! Tulis keluhan Anda di sini."
office_name = "Dukcapil Brebes"
"""


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def error(name: str) -> dict[str, Any]:
    return fixture("errors.json")[name]


def query(call: Any) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def connector(**options: Any) -> TelegramConnector:
    return TelegramConnector("tg_dukcapil", {"bot_token": TOKEN, **options})


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as mock:
        yield mock


def first_poll(api: responses.RequestsMock, tg: TelegramConnector):
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", json=fixture("updates.json"))
    return tg.poll({})


def reply(**fields: Any) -> OutboundReply:
    values = dict(reply_id=1, case_reference="ADU-202603-0001", text=ANSWER, public=False,
                  thread_id=DEWI, in_reply_to=f"{DEWI}:42", recipient_id=DEWI, kind="dm")
    values.update(fields)
    return OutboundReply(**values)


# --- reading -------------------------------------------------------------------------------------

def test_the_first_poll_reads_private_chats_group_mentions_photos_documents_and_edits(api):
    result = first_poll(api, connector())
    by_id = {m.external_id: m for m in result.messages}
    assert list(by_id) == [f"{DEWI}:41", f"{DEWI}:42", "5123456702:7", f"{GROUP}:3301",
                           f"{DEWI}:41:diubah:1772420600"]
    text = by_id[f"{DEWI}:41"]
    assert (text.kind, text.public, text.thread_id, text.author_id, text.author_handle,
            text.author_name) == ("dm", False, DEWI, DEWI, "dewi_ang", "Dewi Anggraini")
    assert text.created_at == datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    [photo] = by_id[f"{DEWI}:42"].attachments
    assert by_id[f"{DEWI}:42"].text == "Ini foto KTP-nya"  # the caption
    assert (photo.kind, photo.url, photo.size) == ("image", "tg-file:AgACAgUAAxkBAAMqZ2_large", 80211)
    [document] = by_id["5123456702:7"].attachments
    assert (document.kind, document.name, document.mime) == ("file", "surat-penolakan.pdf",
                                                            "application/pdf")
    mention = by_id[f"{GROUP}:3301"]
    assert (mention.kind, mention.public, mention.thread_id) == ("mention", True, GROUP)
    assert mention.permalink == "https://t.me/infowargabrebes/3301"
    assert by_id[f"{DEWI}:41:diubah:1772420600"].text.startswith("[diubah] Selamat pagi")
    # group chatter not addressed to the bot is skipped, not set aside
    assert f"{GROUP}:3302" not in by_id and result.set_aside == []
    assert result.cursor["offset"] == 815000107  # confirmed by the next call, after storing
    assert result.cursor["bot"] == {"id": "7012345678", "username": "dukcapilbrebes_bot"}
    params = query(api.calls[1])
    assert "offset" not in params and params["allowed_updates"] == '["message","edited_message"]'


def test_the_next_poll_confirms_with_the_stored_offset_and_asks_nothing_else(api):
    tg = connector()
    cursor = first_poll(api, tg).cursor
    api.get(f"{API}/getUpdates", json={"ok": True, "result": []})
    result = tg.poll(cursor)
    assert result.messages == [] and result.requests == 1
    assert query(api.calls[-1])["offset"] == "815000107"
    assert result.cursor["offset"] == 815000107


def test_an_update_without_chat_is_set_aside_and_the_rest_is_read(api):
    page = fixture("updates.json")
    del page["result"][0]["message"]["chat"]
    page["result"][1] = {"update_id": 815000102, "message": "not an object"}
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", json=page)
    result = connector().poll({})
    assert [s.reason for s in result.set_aside] == [
        "Pesan Telegram tanpa 'chat.id': percakapannya tidak diketahui.",
        "Update Telegram tanpa 'message' yang dapat dibaca."]
    assert len(result.messages) == 3 and result.cursor["offset"] == 815000107  # 3302 is chatter


def test_start_is_answered_with_the_greeting_and_not_stored(api):
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", json=fixture("updates_start.json"))
    api.post(f"{API}/sendMessage", json=fixture("send_message.json"))
    result = connector(greeting="Halo dari {kantor}!", office_name="Dukcapil Brebes").poll({})
    assert result.messages == [] and result.cursor["offset"] == 815000202
    assert json.loads(api.calls[-1].request.body) == {"chat_id": "5123456709",
                                                      "text": "Halo dari Dukcapil Brebes!"}


def test_a_gap_longer_than_telegrams_24_hours_says_messages_may_be_lost(api):
    api.get(f"{API}/getUpdates", json={"ok": True, "result": []})
    cursor = {"bot": {"id": "7012345678", "username": "dukcapilbrebes_bot"}, "offset": 5,
              "polled_at": (NOW - timedelta(hours=25)).isoformat()}
    [note] = connector().poll(cursor).notes
    assert "lebih dari 24 jam" in note and "terlewat" in note


@pytest.mark.parametrize("name, status, permanent, words", [
    ("401", 401, True, UNAUTHORIZED),
    ("409_webhook", 409, True, WEBHOOK_SET),
    ("409_other", 409, False, OTHER_POLLER),
])
def test_each_refusal_is_one_plain_reason_and_never_shows_the_token(api, name, status, permanent, words):
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", status=status, json=error(name))
    with pytest.raises(ConnectorError) as caught:
        connector().poll({})
    assert caught.value.message == words and caught.value.permanent is permanent
    assert TOKEN not in (caught.value.detail or "") and TOKEN.split(":")[1] not in caught.value.message


def test_429_waits_for_retry_after(api):
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", status=429, json=error("429"))
    with pytest.raises(ConnectorError) as caught:
        connector().poll({})
    assert caught.value.retry_at == NOW + timedelta(seconds=37) and not caught.value.permanent


# --- sending -------------------------------------------------------------------------------------

def test_a_reply_goes_into_the_chat_as_a_reply_to_the_citizens_newest_message(api):
    api.post(f"{API}/sendMessage", json=fixture("send_message.json"))
    assert connector().send(reply()) == f"{DEWI}:43"
    assert json.loads(api.calls[0].request.body) == {
        "chat_id": DEWI, "text": ANSWER,
        "reply_parameters": {"message_id": 42, "allow_sending_without_reply": True}}


@pytest.mark.parametrize("name, status, words", [
    ("403_blocked", 403, "memblokir bot"), ("400_chat", 400, "chat not found")])
def test_a_refused_reply_is_permanent_with_the_reason(api, name, status, words):
    api.post(f"{API}/sendMessage", status=status, json=error(name))
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply())
    assert caught.value.permanent and words in caught.value.message


def test_a_timeout_after_the_reply_left_is_uncertain(api):
    api.post(f"{API}/sendMessage", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply())
    assert caught.value.uncertain and caught.value.message == UNCERTAIN


# --- end to end: poll, store once, attachments, answer ---------------------------------------------

@pytest.fixture
def aduan(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime
    path = write_config(tmp_path, accounts=ACCOUNT)
    Runtime(load_config(path))  # the database file; the commands below migrate it
    if PG_URL:
        reset_database()

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main.main(["--config", str(path), *argv])
        out, err = capsys.readouterr()
        return code, out, err
    run.path = path  # type: ignore[attr-defined]
    return run


def test_aduan_poll_stores_every_message_once_downloads_the_photo_and_answers_in_the_chat(
        aduan, monkeypatch, tmp_path):
    with time_machine.travel(NOW, tick=False):
        for attempt in range(2):  # the second poll: Telegram sends the same updates again
            with responses.RequestsMock() as mock:
                if attempt == 0:
                    mock.get(f"{API}/getMe", json=fixture("get_me.json"))
                mock.get(f"{API}/getUpdates", json=fixture("updates.json"))
                code, out, err = aduan("poll")
            assert code == 0, err
        assert "0 pesan baru" in out and "5 sudah ada" in out
        assert Message.select().count() == 5 and Account.get().disabled_reason is None
        cases = {c.thread_id: c for c in Case.select()}
        assert set(cases) == {DEWI, "5123456702", GROUP}

        from inbox.setup.config import load_config
        from inbox.setup.runtime import Runtime
        rt = Runtime(load_config(aduan.path))
        with responses.RequestsMock() as mock:
            mock.get(f"{API}/getFile", json=fixture("get_file.json"))
            mock.get(f"https://api.telegram.org/file/bot{TOKEN}/photos/file_12.jpg",
                     body=b"\xff\xd8\xff\xe0photo")
            mock.get(f"{API}/getFile", json={"ok": True, "result": {
                "file_id": "BQACAgUAAxkBAAMH_doc", "file_path": "documents/file_3.pdf"}})
            mock.get(f"https://api.telegram.org/file/bot{TOKEN}/documents/file_3.pdf",
                     body=b"%PDF-1.4 surat")
            downloader = Downloader(rt)
            while downloader.download_one():
                pass
        assert {(a.kind, a.status, a.mime) for a in Attachment.select()} == {
            ("image", "stored", "image/jpeg"), ("file", "stored", "application/pdf")}

        monkeypatch.setattr(sys, "stdin", io.StringIO("kata-sandi-admin-1\n"))
        assert aduan("user", "add", "admin1", "--role", "admin")[0] == 0
        answer = tmp_path / "jawaban.txt"
        answer.write_text(ANSWER, encoding="utf-8")
        code, out, err = aduan("case", "reply", cases[DEWI].reference, "--as", "admin1",
                               "--text-file", str(answer))
        assert code == 0, err
        with responses.RequestsMock() as mock:
            mock.post(f"{API}/sendMessage", json=fixture("send_message.json"))
            code, out, err = aduan("deliver")
            sent = json.loads(mock.calls[0].request.body)
        with responses.RequestsMock():
            assert aduan("deliver")[1].strip() == "tidak ada balasan yang menunggu dikirim"
    assert code == 0 and "terkirim" in out
    # the answer goes to the newest message of Dewi's chat: the edit of message 41
    assert sent["chat_id"] == DEWI and sent["text"] == ANSWER
    assert Outbox.get().platform_id == f"{DEWI}:43" and Case.get_by_id(cases[DEWI].id).status == "answered"


# --- what citizens send besides text, and updates that are no message -------------------------------

def test_dice_locations_venues_contact_cards_and_polls_read_as_words(api):
    api.get(f"{API}/getMe", json=fixture("get_me.json"))
    api.get(f"{API}/getUpdates", json=fixture("updates_kinds.json"))
    result = connector().poll({})
    texts = {m.external_id: m.text for m in result.messages}
    assert texts == {
        f"{DEWI}:51": "[dadu] 🎲 4",
        f"{DEWI}:52": "[lokasi] (-6.872938, 109.043121)",
        f"{DEWI}:53": "[lokasi] Kantor Disdukcapil Brebes, Jl. Jend. Sudirman No. 1, Brebes (-6.8729, 109.0431)",
        f"{DEWI}:54": "[kontak] Budi Santoso, +6281234509876",
        f"{DEWI}:55": "[polling] Jam berapa loket buka hari Sabtu?: 08.00 / 09.00"}
    # a kind of message aduan does not know yet waits for a person; nothing else is set aside
    assert [(s.platform_id, "'hologram_note' belum dikenal" in s.reason) for s in result.set_aside] == [
        (None, True)]
    assert result.ignored == {"my_chat_member": 1, "message_reaction": 1, "chat_boost": 1,
                              "purchased_paid_media": 1, "channel_post": 1, "service_message": 2,
                              "live_location_update": 1}
    assert result.cursor["offset"] == 815000215


def test_ignored_updates_are_counted_by_kind_in_status_and_notify_nobody(tmp_path, capsys):
    from inbox.models import Notification, SetAside
    from inbox.run.daemon import Daemon
    from tests.conftest import make_runtime
    from tests.web_helpers import make_users
    rt = make_runtime(write_config(tmp_path, accounts=ACCOUNT))
    make_users()  # a superuser who would be told of anything set aside
    page = fixture("updates_kinds.json")
    page["result"] = [u for u in page["result"] if "hologram_note" not in u.get("message", {})]
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as mock:
        mock.get(f"{API}/getMe", json=fixture("get_me.json"))
        mock.get(f"{API}/getUpdates", json=page)
        outcome = Daemon(rt).poll_account("tg_dukcapil")
    assert outcome.ok and outcome.report.ignored == 8 and "8 bukan pesan warga" in outcome.line()
    assert SetAside.select().count() == 0 and Notification.select().count() == 0
    assert Message.select().count() == 5 and all(m.text.strip() for m in Message.select())
    assert main.main(["--config", str(tmp_path / "config.toml"), "status", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["accounts"]
    assert row["ignored"] == {"channel_post": 1, "chat_boost": 1, "live_location_update": 1,
                              "message_reaction": 1, "my_chat_member": 1,
                              "purchased_paid_media": 1, "service_message": 2}
    assert row["set_aside"] == {"today": 0, "total": 0}
    assert main.main(["--config", str(tmp_path / "config.toml"), "status"]) == 0
    assert "diabaikan (bukan pesan warga): unggahan kanal 1" in capsys.readouterr().out
    rt.close()


def test_updates_set_aside_by_older_code_are_closed_by_reprocess_as_no_messages(tmp_path):
    from connectors.items import SetAsideItem
    from inbox.arrive.ingest import store_set_aside
    from inbox.arrive.setaside import reprocess
    from inbox.models import SetAside
    from tests.conftest import make_runtime
    rt = make_runtime(write_config(tmp_path, accounts=ACCOUNT))
    updates = {u["update_id"]: u for u in fixture("updates_kinds.json")["result"]}
    store_set_aside(Account.get(), [
        SetAsideItem("telegram.message", "Update Telegram tanpa 'message' yang dapat dibaca.",
                     updates[815000207], context={"bot": {"id": "7012345678"}}),
        SetAsideItem("telegram.message", "Update Telegram tanpa 'message' yang dapat dibaca.",
                     updates[815000208], context={"bot": {"id": "7012345678"}})])
    report = reprocess(rt)
    assert (report.not_messages, report.ingested, report.still_unreadable) == (2, [], [])
    assert SetAside.open_items().count() == 0 and Message.select().count() == 0
    rt.close()
