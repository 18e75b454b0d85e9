"""The attachment downloader fetches only from the platforms' media servers and never waits on one
server for long (issue 26, items 8 and 10).

Real sockets on this machine play the office's internal services and a slow server: an
attachment URL on 127.0.0.1, directly, through a CDN's redirect, through a name that resolves
inside the office, or as a link a citizen shares on Messenger, never reaches them; a server that
trickles a byte at a time is cut off at the download's deadline while other servers' files go
first.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from connectors.base import AttachmentRef, make_session
from connectors.media_session import guard
from inbox.arrive.attachments import Downloader, absolute_path
from inbox.arrive.ingest import ingest
from inbox.models import Account, Attachment, Case
from inbox.run.daemon import Daemon
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.factories import msg
from tests.web_helpers import login, make_users, page_text

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4
SECRET = "fb-app-secret-for-tests"
PAGE = "104857600000001"
ACCOUNTS = f"""
[accounts.fb_dukcapil]
kind = "facebook"
page_id = "{PAGE}"
page_access_token = "fb-page-token-test"
app_secret = "{SECRET}"
"""


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=ACCOUNTS))
    yield runtime
    runtime.close()


class Server:
    """A plain HTTP server on this machine that records every request sent to it. ``trickle``:
    ``"body"`` sends the headers, then one byte every 0.2 s; ``"headers"`` sends even the
    status line that way; None answers with ``body`` at once."""

    def __init__(self, host: str = "127.0.0.1", trickle: str | None = None,
                 body: bytes = b"rahasia-jaringan-kantor") -> None:
        self.requests: list[bytes] = []
        self.trickle, self.body = trickle, body
        self.stopping = threading.Event()
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536)
            if not request:
                return  # connected and closed without a byte of a request
            self.requests.append(request)
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(self.body)}\r\n\r\n").encode()
            try:
                if self.trickle is None:
                    conn.sendall(head + self.body)
                    return
                if self.trickle == "body":
                    conn.sendall(head)
                for byte in (head if self.trickle == "headers" else b"") + self.body:
                    if self.stopping.wait(0.2):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the client hung up

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def office_service() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


def attach(url: str, n: int = 1) -> Attachment:
    """A citizen's Messenger message with one photo at ``url``, stored by the real ingest."""
    account = Account.get(Account.name == "fb_dukcapil")
    ingest(account, [msg(f"m{n}", public=False, text="", author=f"warga{n}",
                         attachments=(AttachmentRef(kind="image", url=url),))], None, None)
    return Attachment.select().order_by(Attachment.id.desc()).get()


def test_an_attachment_on_an_internal_address_is_never_fetched(rt, office_service) -> None:
    row = attach(f"https://127.0.0.1:{office_service.port}/rahasia.jpg")
    assert Downloader(rt).download_one() is True
    row = Attachment.get_by_id(row.id)
    assert row.status == "failed" and "bukan server media platform" in row.reason
    assert office_service.requests == [] and absolute_path(rt.data_dir, row) is None


def test_a_redirect_from_a_media_host_to_an_internal_address_is_not_followed(rt, office_service) -> None:
    cdn = "https://scontent.xx.fbcdn.net/v/t1.15752-9/akta_n.jpg?oh=00_Af"
    row = attach(cdn)
    with responses.RequestsMock() as rsps:
        rsps.get(cdn, status=302, headers={"Location": f"http://127.0.0.1:{office_service.port}/"})
        assert Downloader(rt).download_one() is True
    row = Attachment.get_by_id(row.id)
    assert row.status == "failed" and "bukan server media platform" in row.reason
    assert office_service.requests == []


def test_a_name_that_resolves_inside_the_office_is_refused_after_dns(rt) -> None:
    """Any host name allowed (``hosts=None``), public addresses only: the address the socket
    reached is what is judged, so no name can lead inside."""
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    except OSError:
        pytest.skip("this machine's name does not resolve")
    server = Server(host="0.0.0.0")
    try:
        row = attach(f"http://{name}:{server.port}/rahasia.jpg")
        downloader = Downloader(rt, session=guard(make_session(), hosts=None))
        assert downloader.download_one() is True
        row = Attachment.get_by_id(row.id)
        assert row.status == "failed" and f"jaringan internal ({address})" in row.reason
        assert server.requests == []
    finally:
        server.close()


def test_a_link_a_citizen_shares_on_messenger_is_kept_for_the_officer_and_never_fetched(
        rt, office_service) -> None:
    link = f"http://127.0.0.1:{office_service.port}/admin"
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1793674200000, "messaging": [{
        "sender": {"id": "25630000000000001"}, "recipient": {"id": PAGE}, "timestamp": 1793674200000,
        "message": {"mid": "m_shared_link_1", "text": "Ini formulirnya, Pak",
                    "attachments": [{"type": "fallback", "payload": {
                        "url": link, "title": "Formulir F-1.02"}}]}}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    app = create_app(rt, testing=True)
    assert app.test_client().post("/webhooks/meta", data=raw, content_type="application/json",
                                  headers={"X-Hub-Signature-256": signature}).status_code == 200
    with responses.RequestsMock() as api:  # the messenger thread of the sender
        api.get("https://graph.facebook.com/v26.0/104857600000001/conversations",
                json={"data": [{"id": "t_10160000000000001"}]})
        Daemon(rt).process_deliveries()
    [row] = Attachment.select()
    assert (row.kind, row.url, row.status) == ("link", link, "skipped")
    assert Downloader(rt).download_one() is False  # nothing to fetch
    assert office_service.requests == []
    make_users()
    admin = app.test_client()
    login(admin, "admin1")
    page = page_text(admin.get(f"/pengaduan/{Case.get().id}"))
    assert "Tautan dari warga (Formulir F-1.02), tidak diunduh aduan" in page and link in page


@pytest.mark.parametrize("trickle", ["body", "headers"])
def test_a_server_that_trickles_bytes_is_cut_off_at_the_deadline_and_other_servers_go_first(
        rt, trickle) -> None:
    slow = Server(trickle=trickle, body=JPEG)
    fast = Server(body=JPEG)
    try:
        rt.config.attachments["download_seconds"] = 1
        first = attach(f"http://127.0.0.1:{slow.port}/foto-1.jpg", 1)
        second = attach(f"http://127.0.0.1:{slow.port}/foto-2.jpg", 2)
        other = attach(f"http://localhost:{fast.port}/foto-3.jpg", 3)
        downloader = Downloader(rt, session=guard(make_session(), hosts=None, public_only=False))
        started = time.monotonic()
        assert downloader.download_one() is True
        assert time.monotonic() - started < 5  # the audit's slow server held it for 90 s
        row = Attachment.get_by_id(first.id)
        assert row.status == "pending" and "terlalu lambat" in row.reason and row.path is None
        assert downloader.download_one() is True  # the slow server's next file waits: another's goes
        assert Attachment.get_by_id(other.id).status == "stored"
        assert Attachment.get_by_id(second.id).status == "pending"
        assert downloader.download_one() is False  # nothing else due meanwhile
    finally:
        slow.close()
        fast.close()
