"""WhatsApp through Meta's signed webhooks: the receiver, exactly-once ingest, statuses, replies.

Payloads follow Meta's WhatsApp Cloud API webhook reference (messages of each type, statuses
sent/delivered/read/failed) and the send API's answers; replies are served at the requests layer.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine

from connectors.base import ConnectorError, OutboundReply
from connectors.whatsapp import NO_TEMPLATE, WhatsAppConnector
from inbox.arrive import webhooks
from inbox.arrive.attachments import Downloader
from inbox.arrive.webhooks import rejected_total, waiting_total
from inbox.models import (Account, Attachment, Case, Event, IgnoredCount, Message, Outbox, SetAside,
                          WebhookDelivery)
from inbox.run.daemon import Daemon
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from inbox.web.app import create_app
from tests.conftest import PG_URL, make_runtime, write_config
from tests.web_helpers import login, make_users, page_text

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "wa-app-secret-for-tests"
VERIFY = "verify-token-for-tests"
TOKEN = "EAAwa-access-token-never-shown"
PNID = "106540352242922"
CITIZEN = "6281234567890"
GRAPH = "https://graph.facebook.com/v26.0"
NOW = datetime(2026, 3, 2, 3, 10, tzinfo=timezone.utc)  # ten minutes after the first message
ACCOUNT = f"""
[accounts.wa_dukcapil]
kind = "whatsapp"
label = "WhatsApp Dukcapil Brebes"
phone_number_id = "{PNID}"
access_token = "{TOKEN}"
app_secret = "{SECRET}"
verify_token = "{VERIFY}"
"""


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=ACCOUNT))
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Any:
    return create_app(rt, testing=True).test_client()


def deliver(client: Any, raw: bytes, signature: str | None = "auto",
            content_type: str = "application/json") -> Any:
    headers = {} if signature is None else {
        "X-Hub-Signature-256": sign(raw) if signature == "auto" else signature}
    return client.post("/webhooks/meta", data=raw, headers=headers, content_type=content_type)


def waiting_bodies(rt: Runtime) -> list[bytes]:
    """What the receiver stored and the daemon has not ingested: pending rows and spool files."""
    rows = [d.body.encode() for d in WebhookDelivery.select().where(WebhookDelivery.status == "pending")]
    folder = webhooks.spool_dir(rt) / "new"
    return rows + [(folder / name).read_bytes() for name in webhooks.spooled(rt)]


def process_all(rt: Runtime) -> int:
    daemon = Daemon(rt)
    with time_machine.travel(NOW, tick=False):
        return daemon.process_deliveries()


# --- the receiver ----------------------------------------------------------------------------------

def test_the_handshake_echoes_the_challenge_only_for_the_right_token(client):
    ok = client.get("/webhooks/meta", query_string={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                                    "hub.verify_token": VERIFY})
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "1158201444")
    for token in ("wrong", ""):
        bad = client.get("/webhooks/meta", query_string={"hub.mode": "subscribe", "hub.challenge": "1",
                                                         "hub.verify_token": token})
        assert bad.status_code == 403


def test_a_signed_delivery_is_stored_before_the_200_and_ingested_after(rt, client):
    response = deliver(client, body("text"))
    assert (response.status_code, response.get_data(as_text=True)) == (200, "EVENT_RECEIVED")
    assert waiting_bodies(rt) == [body("text")] and waiting_total(rt) == 1
    assert Message.select().count() == 0  # nothing parsed in the request
    assert process_all(rt) == 1
    [message] = Message.select()
    case = Case.get()
    assert (message.external_id, message.kind, message.public, case.thread_id) == (
        "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMDAx", "dm", False, CITIZEN)
    assert case.contact.name == "Siti Aminah" and case.personal_data
    assert WebhookDelivery.get().status == "done"


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "auto-other-secret"])
def test_a_missing_or_wrong_signature_is_403_counted_and_stores_nothing(rt, client, signature):
    raw = body("text")
    if signature == "auto-other-secret":
        signature = sign(raw, "another-apps-secret")
    assert deliver(client, raw, signature).status_code == 403
    assert waiting_total(rt) == 0 and WebhookDelivery.select().count() == 0 and rejected_total() == 1


def test_the_signature_is_over_the_raw_bytes_so_a_reserialised_body_fails(rt, client):
    raw = body("text")
    reserialised = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert reserialised != raw
    assert deliver(client, reserialised, sign(raw)).status_code == 403


def test_only_json_and_at_most_one_megabyte(rt, client):
    raw = b"hub=1"
    assert deliver(client, raw, content_type="application/x-www-form-urlencoded").status_code == 415
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * 1_000_001 + b'"}'
    assert deliver(client, big).status_code == 413
    assert waiting_total(rt) == 0 and WebhookDelivery.select().count() == 0


@pytest.mark.skipif(bool(PG_URL), reason="the spool is SQLite's; PostgreSQL stores a row at once")
def test_on_sqlite_the_receiver_answers_while_another_process_holds_the_write_lock(rt, client):
    """The daemon's ingest holds SQLite's only write lock; the receiver must not wait for it."""
    import sqlite3
    holder = sqlite3.connect(rt.db.database, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # what an ingest transaction takes
    try:
        assert deliver(client, body("text")).status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert WebhookDelivery.select().count() == 0 and len(webhooks.spooled(rt)) == 1
    assert process_all(rt) == 1
    assert Message.select().count() == 1 and webhooks.spooled(rt) == []
    assert WebhookDelivery.get().spool_name is not None


@pytest.mark.skipif(bool(PG_URL), reason="the spool is SQLite's")
def test_a_spool_file_left_behind_after_its_row_was_committed_makes_no_second_row(rt, client):
    """A worker killed between the import's commit and the file's removal: the file is still
    there, and the next import recognises it by name."""
    deliver(client, body("text"))
    [name] = webhooks.spooled(rt)
    kept = (webhooks.spool_dir(rt) / "new" / name).read_bytes()
    assert webhooks.import_spool(rt) == 1
    (webhooks.spool_dir(rt) / "new" / name).write_bytes(kept)  # as if the removal never ran
    assert webhooks.import_spool(rt) == 1 and webhooks.spooled(rt) == []
    assert WebhookDelivery.select().count() == 1
    assert process_all(rt) == 1 and Message.select().count() == 1


@pytest.mark.skipif(bool(PG_URL), reason="the spool is SQLite's")
def test_a_half_written_spool_file_is_never_read(rt, client):
    partial = webhooks.spool_dir(rt) / "tmp" / "00000000000000000001-cut.json"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(body("text")[:40])  # the receiver died before its rename
    deliver(client, body("image"))
    assert process_all(rt) == 1
    assert [m.external_id for m in Message.select()] == ["wamid.IMAGE0001"]


def test_a_good_delivery_is_answered_before_flask_exactly_as_the_view_answers(rt, client):
    """``DirectReceiver`` stores a good delivery without Flask's request machinery; its answer is
    the view's own (status, body, type, the security headers, no cookie)."""
    from inbox.web.app import SECURITY_HEADERS
    app = client.application
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask"))  # runs only when Flask handles the request
    direct = deliver(client, body("text"))
    assert seen == []
    assert (direct.status_code, direct.get_data(), direct.mimetype) == (200, b"EVENT_RECEIVED",
                                                                          "text/plain")
    assert direct.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert all(direct.headers[k] == v for k, v in SECURITY_HEADERS.items())
    assert "Set-Cookie" not in direct.headers
    assert waiting_total(rt) == 1
    # a refusal goes on to the view, with the body intact, which answers and counts it
    assert deliver(client, body("text"), sign(body("text"), "another-apps-secret")).status_code == 403
    assert seen == ["flask"] and rejected_total() == 1 and waiting_total(rt) == 1
    assert process_all(rt) == 1 and Message.select().count() == 1


def test_the_webhook_route_needs_no_login_but_every_other_route_still_does(rt, client):
    assert client.get("/").status_code == 302
    assert client.post("/keluar").status_code in (302, 400)  # CSRF still guards the others


# --- exactly once ----------------------------------------------------------------------------------

def test_the_same_delivery_three_times_and_out_of_order_is_one_message_each(rt, client):
    for name in ("image", "text", "image", "text", "image"):
        assert deliver(client, body(name)).status_code == 200
    process_all(rt)
    assert sorted(m.external_id for m in Message.select()) == [
        "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMDAx", "wamid.IMAGE0001"]
    assert Case.select().count() == 1 and Attachment.select().count() == 1
    assert {d.status for d in WebhookDelivery.select()} == {"done"}


def test_a_crash_between_the_200_and_the_ingest_loses_nothing(rt, client, tmp_path):
    """A process that stored the delivery and was killed with -9 before the ingest: the next
    worker finds the row pending and ingests it once."""
    import subprocess
    import sys
    raw = body("text")
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent.parent)!r})\n"
              "from inbox.setup.config import load_config\nfrom inbox.setup.runtime import Runtime\n"
              "from inbox.arrive import webhooks\nimport os, signal\n"
              f"rt = Runtime(load_config({str(tmp_path / 'config.toml')!r}))\n"
              f"webhooks.store(rt, {raw!r})\nos.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert waiting_bodies(rt) == [raw]
    assert process_all(rt) == 1 and process_all(rt) == 0
    assert Message.select().count() == 1 and WebhookDelivery.get().status == "done"


def test_a_messages_field_that_is_not_a_list_is_set_aside_and_the_delivery_done(rt, client):
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": PNID}, "messages": 5}}]}]}).encode()
    deliver(client, raw)
    assert process_all(rt) == 1
    assert WebhookDelivery.get().status == "done"
    assert SetAside.get().reason == "Daftar 'messages' WhatsApp tidak dapat dibaca."


# --- message types -----------------------------------------------------------------------------------

def test_each_message_type_reads_as_text_an_officer_understands(rt, client):
    for name in ("text", "image", "document", "location", "interactive", "reaction", "unknown"):
        deliver(client, body(name))
    process_all(rt)
    texts = {m.external_id: m.text for m in Message.select()}
    assert texts["wamid.IMAGE0001"] == "Ini surat penolakannya"
    assert texts["wamid.DOC0001"] == "Scan KK"
    assert texts["wamid.LOC0001"] == ("[lokasi] Kantor Kecamatan Brebes, Jl. Jend. Sudirman, Brebes "
                                      "(-6.8729, 109.0431)")
    assert texts["wamid.INT0001"] == "Cek status pengaduan"
    assert "wamid.REACT0001" not in texts  # a 👍 is not a complaint and reopens nothing
    assert [(i.kind, i.count) for i in IgnoredCount.select()] == [("message_reaction", 1)]
    [aside] = SetAside.select()
    assert aside.platform_id == "wamid.UNK0001" and "'unsupported' belum dikenal" in aside.reason
    kinds = {(a.kind, a.url, a.name) for a in Attachment.select()}
    assert kinds == {("image", "wa-media:1480000000000001", ""),
                     ("file", "wa-media:1480000000000002", "kk-lama.pdf")}
    assert Case.select().count() == 1  # one case per phone number thread


def test_media_are_fetched_by_id_then_with_the_token(rt, client):
    deliver(client, body("image"))
    process_all(rt)
    media = json.loads(body("media_url"))
    with responses.RequestsMock() as api:
        api.get(f"{GRAPH}/1480000000000001", json=media)
        api.get(media["url"], body=b"\xff\xd8\xff\xe0 photo")
        assert Downloader(rt).download_one()
        assert all(call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in api.calls)
    assert Attachment.get().status == "stored"


# --- replies and statuses ----------------------------------------------------------------------------

def answer(rt: Runtime, at: datetime) -> Outbox:
    users = make_users()
    case = Case.get()
    with time_machine.travel(at, tick=False):
        workflow.reply(rt, case, users["admin"], "Baik Bu, KK Anda sudah jadi, silakan ambil.")
    return Outbox.get(Outbox.purpose == "answer")


def test_inside_24_hours_the_answer_is_free_text_in_reply_to_the_citizen(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    answer(rt, NOW)
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as api:
        api.post(f"{GRAPH}/{PNID}/messages", json=json.loads(body("send_ok")))
        assert deliver_one(rt, "w1")
        sent = json.loads(api.calls[0].request.body)
    assert sent["type"] == "text" and sent["to"] == CITIZEN
    assert sent["text"]["body"].startswith("Baik Bu")
    assert sent["context"]["message_id"].startswith("wamid.HBgN")
    assert Outbox.get().platform_id == "wamid.SENT0001" and Case.get().status == "answered"


def test_after_24_hours_without_a_template_the_reply_is_refused_with_the_reason(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    late = NOW + timedelta(hours=25)
    answer(rt, late)
    with time_machine.travel(late, tick=False), responses.RequestsMock():
        deliver_one(rt, "w1")
    row = Outbox.get()
    assert row.status == "failed" and row.last_error == NO_TEMPLATE


def test_after_24_hours_the_configured_template_carries_the_case_number(rt):
    wa = WhatsAppConnector("wa", {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": SECRET,
                                  "verify_token": VERIFY, "template_name": "jawaban_pengaduan"})
    reply = OutboundReply(reply_id=1, case_reference="ADU-202603-0001", text="Jawaban", public=False,
                          thread_id=CITIZEN, in_reply_to="wamid.X", recipient_id=CITIZEN, kind="dm",
                          last_inbound_at=NOW - timedelta(hours=30))
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as api:
        api.post(f"{GRAPH}/{PNID}/messages", json=json.loads(body("send_ok")))
        assert wa.send(reply) == "wamid.SENT0001"
        sent = json.loads(api.calls[0].request.body)
    assert sent["type"] == "template" and sent["template"]["name"] == "jawaban_pengaduan"
    assert sent["template"]["language"] == {"code": "id"}
    assert sent["template"]["components"][0]["parameters"] == [{"type": "text", "text": "ADU-202603-0001"}]


def test_metas_re_engagement_error_is_permanent_and_plain(rt):
    wa = WhatsAppConnector("wa", {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": SECRET,
                                  "verify_token": VERIFY})
    reply = OutboundReply(reply_id=1, case_reference="ADU-1", text="x", public=False, thread_id=CITIZEN,
                          in_reply_to=None, recipient_id=CITIZEN, kind="dm", last_inbound_at=None)
    with responses.RequestsMock() as api:
        api.post(f"{GRAPH}/{PNID}/messages", status=400, json=json.loads(body("error_window")))
        with pytest.raises(ConnectorError) as caught:
            wa.send(reply)
    assert caught.value.permanent and "24 jam" in caught.value.message
    assert TOKEN not in (caught.value.detail or "")


def test_statuses_are_recorded_once_and_a_failed_one_returns_the_case_to_the_admin(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    answer(rt, NOW)
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as api:
        api.post(f"{GRAPH}/{PNID}/messages", json=json.loads(body("send_ok")))
        deliver_one(rt, "w1")
    for name in ("status_sent", "status_delivered", "status_delivered", "status_read"):
        deliver(client, body(name))
    process_all(rt)
    actions = [e.action for e in Event.select().order_by(Event.id) if e.action.startswith("whatsapp_")]
    assert actions == ["whatsapp_sent", "whatsapp_delivered", "whatsapp_read"]
    deliver(client, body("status_failed"))
    process_all(rt)
    case, row = Case.get(), Outbox.get()
    assert row.status == "failed" and "kode 131026" in row.last_error
    assert case.status == "new" and case.answered_at is None and "not on WhatsApp" in case.alert
    client_admin = create_app(rt, testing=True).test_client()
    login(client_admin, "admin1")
    page = page_text(client_admin.get(f"/pengaduan/{case.id}"))
    assert "WhatsApp: balasan GAGAL diantar" in page and "not on WhatsApp" in page
    assert Account.get().disabled_reason is None


def test_aduan_webhook_check_talks_to_the_running_server_like_meta(rt, tmp_path, capsys):
    import main
    from inbox.cli.serve import start_in_thread

    class Ctx:
        def print(self, *parts: object) -> None:
            pass

    rt.config.web["port"] = 0
    server = start_in_thread(rt, Ctx())
    try:
        code = main.main(["--config", str(tmp_path / "config.toml"), "webhook", "check",
                          "--url", server.url])
        out = capsys.readouterr().out
    finally:
        server.close()
    assert code == 0, out
    assert "OK    verifikasi (hub.challenge): HTTP 200" in out
    assert "OK    kiriman bertanda tangan benar: HTTP 200" in out
    assert "OK    kiriman palsu ditolak: HTTP 403" in out
    [stored] = waiting_bodies(rt)
    assert webhooks.source_of(stored) == "whatsapp_business_account"
    assert rejected_total() == 0  # the check's own forgery is not counted (issue 28)


def test_aduan_webhook_check_says_when_aduan_is_not_running(rt, tmp_path, capsys):
    import main
    code = main.main(["--config", str(tmp_path / "config.toml"), "webhook", "check",
                      "--url", "http://127.0.0.1:9"])
    assert code == 1 and "jalankan aduan run" in capsys.readouterr().out


def test_the_case_page_says_which_reply_will_be_used_after_24_hours(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    make_users()
    admin = create_app(rt, testing=True).test_client()
    case = Case.get()
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        login(admin, "admin1")
        page = page_text(admin.get(f"/pengaduan/{case.id}"))
    assert "belum ada templat WhatsApp di config.toml: balasan akan ditolak" in page
    rt.config.accounts["wa_dukcapil"].options["template_name"] = "jawaban_pengaduan"
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        page = page_text(admin.get(f"/pengaduan/{case.id}"))
    assert "templat &#34;jawaban_pengaduan&#34; dengan nomor pengaduan" in page


# --- Messenger and Instagram through the same receiver ------------------------------------------------

PAGE, IG = "104857600000001", "17841400000000001"
FB_THREAD = "t_10160000000000001"
META_ACCOUNTS = f"""
[accounts.fb_dukcapil]
kind = "facebook"
page_id = "{PAGE}"
page_access_token = "fb-page-token-test"
app_secret = "{SECRET}"

[accounts.ig_dukcapil]
kind = "instagram"
ig_user_id = "{IG}"
page_id = "{PAGE}"
page_access_token = "ig-page-token-test"
app_secret = "{SECRET}"
"""
MESSENGER = {"object": "page", "entry": [{"id": PAGE, "time": 1793674200000, "messaging": [{
    "sender": {"id": "25630000000000001"}, "recipient": {"id": PAGE}, "timestamp": 1793674200000,
    "message": {"mid": "m_ZmJfbWVzc2FnZV8wMDAy",
                "text": "Akta kelahiran anak saya sudah 3 minggu belum jadi, nomor pengajuan 0042. Mohon dibantu.",
                "attachments": [{"type": "image", "payload": {
                    "url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/akta_n.jpg?oh=00_Af"}}]}},
    {"sender": {"id": "25630000000000001"}, "recipient": {"id": PAGE}, "timestamp": 1793674201000,
     "read": {"watermark": 1793674200000}}]}]}
IG_MENTION = {"object": "instagram", "entry": [{"id": IG, "time": 1793674800, "changes": [{
    "field": "mentions", "value": {"media_id": "17920000000000001", "comment_id": "17880000000000001"}}]}]}
MENTIONED_COMMENT = {"mentioned_comment": {
    "id": "17880000000000001", "text": "@dukcapilbrebes antrean di Disdukcapil lama sekali hari ini",
    "timestamp": "2026-11-03T02:20:00+0000", "username": "warga.bumiayu",
    "media": {"id": "17920000000000001", "permalink": "https://www.instagram.com/p/Cmention1/"}},
    "id": IG}


@pytest.fixture
def meta_rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=META_ACCOUNTS))
    yield runtime
    runtime.close()


def test_a_messenger_webhook_and_the_next_poll_store_the_message_once_in_the_polled_thread(meta_rt):
    client = create_app(meta_rt, testing=True).test_client()
    raw = json.dumps(MESSENGER).encode()
    assert deliver(client, raw).status_code == 200
    with responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{PAGE}/conversations", json={"data": [{"id": FB_THREAD}]})
        process_all(meta_rt)
        assert "user_id=25630000000000001" in api.calls[0].request.url
    [message] = Message.select()
    assert (message.external_id, message.thread_id) == ("m_ZmJfbWVzc2FnZV8wMDAy", FB_THREAD)
    assert Attachment.get().url.startswith("https://scontent.xx.fbcdn.net/")
    fixtures = Path(__file__).parent / "fixtures" / "meta"
    with time_machine.travel(datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc), tick=False), \
            responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{PAGE}/conversations",
                json=json.loads((fixtures / "fb_conversations.json").read_text()))
        api.get(f"{GRAPH}/{FB_THREAD}/messages",
                json=json.loads((fixtures / "fb_conversation_messages.json").read_text()))
        api.get(f"{GRAPH}/{PAGE}/tagged", json={"data": []})
        api.get(f"{GRAPH}/{PAGE}/feed", json={"data": []})
        outcome = Daemon(meta_rt).poll_account("fb_dukcapil")
    assert outcome.ok and outcome.report.duplicates == 1
    assert Message.select().where(Message.external_id == "m_ZmJfbWVzc2FnZV8wMDAy").count() == 1
    assert Case.select().where(Case.thread_id == FB_THREAD).count() == 1


def test_a_messenger_reaction_is_counted_as_ignored_and_stored_nowhere(meta_rt):
    """Meta's documented ``messaging_reactions`` event: a ❤ on the office's answer."""
    client = create_app(meta_rt, testing=True).test_client()
    reaction = {"object": "page", "entry": [{"id": PAGE, "time": 1793674300000, "messaging": [{
        "sender": {"id": "25630000000000001"}, "recipient": {"id": PAGE},
        "timestamp": 1793674300000,
        "reaction": {"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react",
                     "mid": "m_ZmJfbWVzc2FnZV8wMDAy"}}]}]}
    assert deliver(client, json.dumps(reaction).encode()).status_code == 200
    with responses.RequestsMock():  # no Graph call: nothing to look up
        process_all(meta_rt)
    assert WebhookDelivery.get().status == "done"
    assert Message.select().count() == 0 and SetAside.select().count() == 0
    assert [(i.account.name, i.kind, i.count) for i in IgnoredCount.select()] == [
        ("fb_dukcapil", "message_reaction", 1)]


def test_a_delivery_whose_graph_call_fails_waits_retries_and_is_finally_marked_failed(meta_rt):
    client = create_app(meta_rt, testing=True).test_client()
    deliver(client, json.dumps(IG_MENTION).encode())
    daemon, now = Daemon(meta_rt), NOW
    with responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{IG}", status=500, json={"error": {"code": 2, "message": "Service unavailable"}})
        for attempt in range(1, 6):
            with time_machine.travel(now, tick=False):
                assert daemon.process_one_delivery() is True
                assert daemon.process_one_delivery() is False  # waiting, not spinning
            row = WebhookDelivery.get()
            assert row.attempts == attempt and "GraphError" in row.error
            now += timedelta(minutes=attempt, seconds=1)
    assert WebhookDelivery.get().status == "failed" and Message.select().count() == 0


def test_an_instagram_mention_is_read_by_id_and_answered_through_the_mentions_endpoint(meta_rt):
    client = create_app(meta_rt, testing=True).test_client()
    assert deliver(client, json.dumps(IG_MENTION).encode()).status_code == 200
    with responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{IG}", json=MENTIONED_COMMENT)
        process_all(meta_rt)
        assert "mentioned_comment.comment_id%2817880000000000001%29" in api.calls[0].request.url
    case = Case.get()
    assert (case.thread_id, case.public, case.contact.handle) == (
        "mention:17920000000000001", True, "warga.bumiayu")
    users = make_users()
    later = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
    with time_machine.travel(later, tick=False):
        workflow.reply(meta_rt, case, users["admin"], "Mohon maaf atas antreannya, Kak.")
        with responses.RequestsMock() as api:
            api.post(f"{GRAPH}/{IG}/mentions", json={"id": "17890000000000009"})
            assert deliver_one(meta_rt, "w1")
            sent = dict(p.split("=", 1) for p in api.calls[0].request.body.split("&"))
    assert sent["media_id"] == "17920000000000001" and sent["comment_id"] == "17880000000000001"
    assert Outbox.get().platform_id == "17890000000000009"
