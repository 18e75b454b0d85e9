"""In real Chromium: a citizen's photo shows on the case page under the app's own CSP, and a
supervisor sees that something was attached but never the photo."""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from inbox.arrive.attachments import Downloader
from inbox.models import Attachment, Case
from inbox.setup.runtime import Runtime
from tests.test_attachments import poll_meta_photo, rt  # noqa: F401  (the fixture)
from tests.web_helpers import PASSWORD, make_users

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")]


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour, so the browser has something to decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def server(rt: Runtime) -> Iterator[Any]:  # noqa: F811
    from inbox.cli.serve import WebServer
    web = WebServer(rt, host="127.0.0.1", port=0).start()
    yield web
    web.close()


def test_the_photo_loads_for_the_admin_and_not_for_the_supervisor(rt, server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright
    url = poll_meta_photo(rt, "messenger")
    with responses.RequestsMock() as cdn:
        cdn.get(url, body=png(120, 90))
        Downloader(rt).download_one()
    assert Attachment.get().mime == "image/png"
    make_users()
    case = Case.get()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            seen = {}
            for username in ("admin1", "pengawas1"):
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                csp = []
                page.on("console", lambda m, csp=csp: csp.append(m.text)
                        if "Content Security Policy" in m.text else None)
                page.goto(f"{server.url}/masuk")
                page.fill("#username", username)
                page.fill("#password", PASSWORD)
                page.click("button:has-text('Masuk')")
                page.wait_for_url(f"{server.url}/")
                page.goto(f"{server.url}/pengaduan/{case.id}")
                page.wait_for_load_state("networkidle")
                widths = page.eval_on_selector_all("img.thumb", "els => els.map(e => e.naturalWidth)")
                seen[username] = (widths, page.inner_text("ol.thread"), csp)
                page.screenshot(path=str(tmp_path / f"{username}.png"))
        finally:
            browser.close()
    widths, _, csp = seen["admin1"]
    assert widths == [120] and csp == []  # decoded: served by aduan itself, allowed by 'self'
    widths, thread, _ = seen["pengawas1"]
    assert widths == [] and "[foto: hanya untuk petugas yang menangani pengaduan ini]" in thread
