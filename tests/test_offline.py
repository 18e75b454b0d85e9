"""A day without internet (issue 26, item 6): nothing reached the platform, so nothing is
"BELUM PASTI"; the replies wait, the dashboard says the office is offline, and each goes out once
when the line is back.

The line between "not sent" and "maybe sent" is drawn once (``connectors.errors``); every
connector's send path is checked against the exceptions requests really raises (their shapes
are shown against real sockets at the end of this file).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import time_machine
from urllib3.exceptions import (ConnectTimeoutError, MaxRetryError, NameResolutionError,
                                NewConnectionError, ProtocolError, ProxyError, ReadTimeoutError,
                                SSLError)

import main
from connectors.base import Connector, ConnectorError, OutboundReply
from connectors.email import EmailConnector
from connectors.errors import never_connected, never_sent
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.telegram import TelegramConnector
from connectors.whatsapp import WhatsAppConnector
from connectors.x import XConnector
from inbox.leases import OFFLINE_RETRY
from inbox.models import Account, Case, Event, Outbox
from inbox.run.daemon import OFFLINE_POLL_WAIT, Daemon
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import login, make_users, page_text

GRAPH = "https://graph.facebook.com/v26.0"
PNID, WA_TOKEN, SECRET = "106540352242922", "EAAwa-token-for-tests", "wa-app-secret-for-tests"
TG_TOKEN = "7012345678:AAH-secret-token-never-shown_x"
TG_API = f"https://api.telegram.org/bot{TG_TOKEN}"
PAGE, IG = "104857600000001", "17841400000000001"
THREAD = "900000000000003_1000000000000004"
START = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)  # Monday 07:00 WIB: the line drops
ACCOUNTS = f"""
[accounts.wa_dukcapil]
kind = "whatsapp"
phone_number_id = "{PNID}"
access_token = "{WA_TOKEN}"
app_secret = "{SECRET}"
verify_token = "verify-token-for-tests"

[accounts.tg_dukcapil]
kind = "telegram"
bot_token = "{TG_TOKEN}"
"""


# --- the exceptions requests raises, shaped as it raises them (urllib3 2.x) ----------------------

def dns_failure(url: str) -> requests.ConnectionError:
    host = re.sub(r"^https?://([^/]+).*", r"\1", url)
    reason = NameResolutionError(host, None, socket.gaierror(-3, "Temporary failure in name resolution"))
    return requests.ConnectionError(MaxRetryError(None, url, reason))


def refused(url: str) -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, url, reason))


def connect_timeout(url: str) -> requests.ConnectTimeout:
    return requests.ConnectTimeout(MaxRetryError(None, url, ConnectTimeoutError(None, "timed out")))


def proxy_down(url: str) -> requests.exceptions.ProxyError:
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ProxyError(MaxRetryError(None, url, ProxyError("Unable to connect to proxy", inner)))


def proxy_cannot_reach(url: str) -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError(
        "Connection aborted.", OSError("Tunnel connection failed: 502 Bad Gateway")))


def dropped_after_send(url: str) -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")))


def read_timeout(url: str) -> requests.ReadTimeout:
    return requests.ReadTimeout(ReadTimeoutError(None, url, "Read timed out. (read timeout=30.0)"))


def tls_broken(url: str) -> requests.exceptions.SSLError:
    reason = SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    return requests.exceptions.SSLError(MaxRetryError(None, url, reason))


def certificate_refused(url: str) -> requests.exceptions.SSLError:
    reason = SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    return requests.exceptions.SSLError(MaxRetryError(None, url, reason))


NOT_CONNECTED = [dns_failure, refused, connect_timeout, proxy_down, proxy_cannot_reach]
MAYBE_SENT = [dropped_after_send, read_timeout, tls_broken]


def reply(public: bool, thread: str = THREAD, recipient: str = "6281234567890") -> OutboundReply:
    return OutboundReply(reply_id=5, case_reference="ADU-202603-0001", public=public,
                         kind="comment" if public else "dm", text="Baik, KK Anda sudah kami cek.",
                         thread_id=thread, in_reply_to=thread, recipient_id=recipient,
                         last_inbound_at=START)


#: platform -> (the connector, the reply, the URL its send posts to)
SENDS: dict[str, Callable[[], tuple[Connector, OutboundReply, str]]] = {
    "x": lambda: (XConnector("x", {"user_id": "1356871740001411075", "consumer_key": "ck",
                                   "consumer_secret": "cs", "access_token": "1-at",
                                   "access_token_secret": "ats"}),
                  reply(True, "2028400000000000300"), "https://api.twitter.com/2/tweets"),
    "facebook": lambda: (FacebookConnector("fb", {"page_id": PAGE, "page_access_token": "t"}),
                         reply(True), f"{GRAPH}/{THREAD}/comments"),
    "instagram": lambda: (InstagramConnector("ig", {"ig_user_id": IG, "page_id": PAGE,
                                                    "page_access_token": "t"}),
                          reply(True, "17880000000000001"), f"{GRAPH}/17880000000000001/replies"),
    "whatsapp": lambda: (WhatsAppConnector("wa", {"phone_number_id": PNID, "access_token": "t",
                                                  "app_secret": "s", "verify_token": "v"}),
                         reply(False), f"{GRAPH}/{PNID}/messages"),
    "telegram": lambda: (TelegramConnector("tg", {"bot_token": TG_TOKEN}),
                         reply(False, "5123456701", "5123456701"), f"{TG_API}/sendMessage"),
}


@pytest.mark.parametrize("failure", NOT_CONNECTED + MAYBE_SENT + [certificate_refused])
@pytest.mark.parametrize("platform", sorted(SENDS))
def test_each_connector_calls_a_send_uncertain_only_when_the_request_may_have_left(
        platform: str, failure: Callable[[str], Exception]) -> None:
    connector, outbound, url = SENDS[platform]()
    with responses.RequestsMock() as rsps, time_machine.travel(START, tick=False):
        rsps.add(responses.POST, url, body=failure(url))
        with pytest.raises(ConnectorError) as caught:
            connector.send(outbound)
    error = caught.value
    assert not error.permanent
    assert error.uncertain == (failure in MAYBE_SENT), error.message
    assert error.unreachable == (failure in NOT_CONNECTED), error.message
    if not error.uncertain:
        assert "mungkin sudah terkirim" not in error.message


@pytest.mark.parametrize("platform", ["facebook", "telegram", "x"])
def test_a_poll_that_cannot_connect_says_so_and_one_that_broke_is_only_transient(platform) -> None:
    connector, _, _ = SENDS[platform]()
    for failure, unreachable in ((dns_failure, True), (dropped_after_send, False)):
        with responses.RequestsMock() as rsps, time_machine.travel(START, tick=False):
            rsps.add_callback(responses.GET, re.compile(r"https://.*"),
                              callback=lambda request, failure=failure: failure(request.url))
            with pytest.raises(ConnectorError) as caught:
                connector.poll({})
        assert (caught.value.unreachable, caught.value.uncertain) == (unreachable, False)


def test_a_mail_server_that_refuses_the_connection_is_unreachable_never_uncertain() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mail = EmailConnector("surel", {"address": "pengaduan@dukcapil.example", "password": "x",
                                    "imap_host": "127.0.0.1", "imap_port": port,
                                    "imap_security": "none", "smtp_port": port,
                                    "smtp_security": "none"})
    with pytest.raises(ConnectorError) as polled:
        mail.poll({})
    with pytest.raises(ConnectorError) as sent:
        mail.send(OutboundReply(reply_id=1, case_reference="ADU-202603-0001", public=False,
                                kind="dm", text="Baik.", thread_id="thread-1", in_reply_to=None,
                                recipient_id="warga@example.com"))
    for caught in (polled, sent):
        assert caught.value.unreachable and not caught.value.uncertain


# --- a day offline, end to end ---------------------------------------------------------------------

@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    path = write_config(tmp_path, accounts=ACCOUNTS)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "acknowledge_private = false", "acknowledge_private = true"), encoding="utf-8")
    runtime = make_runtime(path)
    yield runtime
    runtime.close()


class Line:
    """The office's internet at the requests layer: every call is refused until ``up``."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.up = False
        self.sent: list[dict[str, Any]] = []
        rsps.add_callback(responses.POST, f"{GRAPH}/{PNID}/messages", callback=self.whatsapp)
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(TG_API)}/getMe.*"),
                          callback=self.telegram({"id": 7012345678, "username": "dukcapil_bot"}))
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(TG_API)}/getUpdates.*"),
                          callback=self.telegram([]))

    def whatsapp(self, request: Any) -> Any:
        if not self.up:
            return refused(request.url)
        self.sent.append(json.loads(request.body))
        return 200, {}, json.dumps({"messaging_product": "whatsapp", "messages": [
            {"id": f"wamid.sent-{len(self.sent)}"}]})

    def telegram(self, result: Any) -> Callable[[Any], Any]:
        def answer(request: Any) -> Any:
            if not self.up:
                return dns_failure(request.url)
            return 200, {}, json.dumps({"ok": True, "result": result})
        return answer


def citizen_writes(client: Any, n: int, when: datetime) -> None:
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID},
            "contacts": [{"profile": {"name": f"Warga {n}"}, "wa_id": f"62812000000{n:02d}"}],
            "messages": [{"from": f"62812000000{n:02d}", "id": f"wamid.in-{n}", "type": "text",
                          "timestamp": str(int(when.timestamp())),
                          "text": {"body": f"KK saya belum jadi sudah dua minggu ({n})"}}]}}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert client.post("/webhooks/meta", data=raw, content_type="application/json",
                       headers={"X-Hub-Signature-256": signature}).status_code == 200


def dashboard(rt: Runtime) -> str:
    admin = create_app(rt, testing=True).test_client()
    assert login(admin, "admin1").status_code == 302
    return page_text(admin.get("/dasbor"))


def status(rt: Runtime) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main.main(["--config", str(rt.config.path), "status"]) == 0
    return out.getvalue()


def test_a_day_offline_keeps_every_reply_queued_and_sends_each_once_when_the_line_returns(
        rt: Runtime) -> None:
    users = make_users()
    receiver = create_app(rt, testing=True).test_client()
    daemon = Daemon(rt)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
            time_machine.travel(START, tick=False) as clock:
        line = Line(rsps)
        clock.shift(timedelta(hours=1))
        for n in range(8):  # a citizen writes every hour from 08:00 WIB; the admin answers
            citizen_writes(receiver, n, START + timedelta(hours=n + 1))
            daemon.process_deliveries()
            case = Case.get(Case.thread_id == f"62812000000{n:02d}")
            workflow.reply(rt, case, users["admin"], f"Baik, KK Anda kami periksa ({n}).")
            for _ in range(6):  # the daemon keeps trying every ten minutes
                clock.shift(timedelta(minutes=10))
                daemon.deliver_due_replies()
                daemon.poll_due_accounts()
        clock.shift(timedelta(hours=13))  # the evening and the night, still offline
        daemon.deliver_due_replies()
        daemon.poll_due_accounts()

        rows = list(Outbox.select().order_by(Outbox.id))
        assert len(rows) == 16  # an acknowledgement and an answer per citizen
        assert {row.status for row in rows} == {"pending"}
        assert all(row.attempts == 0 for row in rows)  # no try used up by a refused connection
        assert not Event.select().where(Event.action.in_(
            ("delivery_uncertain", "delivery_failed"))).exists()
        page = dashboard(rt)
        assert "Tidak tersambung ke internet sejak" in page and "BELUM PASTI" not in page
        assert "TIDAK TERSAMBUNG sejak" in page  # on WhatsApp's own row, no longer "Sehat"
        assert "TIDAK TERSAMBUNG KE INTERNET sejak" in status(rt)

        line.up = True  # 05:00 WIB the next morning, within WhatsApp's 24 hours
        clock.shift(OFFLINE_RETRY + timedelta(seconds=1))
        daemon.deliver_due_replies()
        clock.shift(OFFLINE_POLL_WAIT)
        daemon.poll_due_accounts()

        assert {row.status for row in Outbox.select()} == {"sent"}
        sent = [(message["to"], message["text"]["body"]) for message in line.sent]
        assert len(sent) == len(set(sent)) == 16  # each once
        for n in range(8):  # each citizen: the receipt, then the answer
            to_citizen = [text for to, text in sent if to == f"62812000000{n:02d}"]
            assert len(to_citizen) == 2 and to_citizen[0].startswith(f"Halo Warga {n}")
            assert to_citizen[1] == f"Baik, KK Anda kami periksa ({n})."
        assert not Account.select().where(Account.offline_since.is_null(False)).exists()
        assert "Tidak tersambung ke internet" not in dashboard(rt)
        assert "TIDAK TERSAMBUNG" not in status(rt)


def test_offline_is_said_only_when_every_platform_fails_to_connect(rt: Runtime) -> None:
    """WhatsApp failing to connect while Telegram still polls fine is WhatsApp's trouble, not
    the office's line; the sandbox, which never goes online, never counts."""
    from inbox.run.health import office_offline_since
    whatsapp = Account.get(Account.name == "wa_dukcapil")
    telegram = Account.get(Account.name == "tg_dukcapil")
    Account.update(offline_since=START).where(Account.id == whatsapp.id).execute()
    assert office_offline_since(rt) is None  # Telegram has not failed
    later = START + timedelta(minutes=3)
    Account.update(offline_since=later).where(Account.id == telegram.id).execute()
    assert office_offline_since(rt) == later
    Account.update(enabled=False).where(Account.id == telegram.id).execute()
    assert office_offline_since(rt) == START


# --- the shapes above are what requests raises against real sockets ---------------------------------

def test_the_exception_shapes_match_real_sockets() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def hang_up() -> None:
        conn, _ = server.accept()
        conn.recv(65536)  # the request arrived in full; no answer
        conn.close()
    threading.Thread(target=hang_up, daemon=True).start()
    caught = []
    for url in (f"http://127.0.0.1:{closed_port}/", f"http://127.0.0.1:{server.getsockname()[1]}/"):
        try:
            requests.post(url, data=b"balasan", timeout=(2, 5))
        except requests.RequestException as exc:
            caught.append(exc)
    server.close()
    refused_for_real, dropped_for_real = caught
    assert never_connected(refused_for_real) and never_sent(refused_for_real)
    assert not never_connected(dropped_for_real) and not never_sent(dropped_for_real)
    assert never_connected(refused("http://x/")) and not never_sent(dropped_after_send("http://x/"))
