"""``web.trusted_proxy`` over a real waitress server (issue 26, item 14): behind the named reverse
proxy the login throttle counts the browser's own address (X-Forwarded-For) and the session
cookie is ``Secure`` when the proxy says the browser used HTTPS; without it, the same headers
from anyone are ignored, so a guesser cannot pick a fresh address per attempt."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from inbox.cli.serve import WebServer
from inbox.models import LoginThrottle
from tests.conftest import make_runtime, write_config
from tests.web_helpers import CSRF

BROWSER = "203.0.113.7"   # the citizen-facing side of the proxy: what X-Forwarded-For names
FORWARDED = {"X-Forwarded-For": BROWSER, "X-Forwarded-Proto": "https"}


def wrong_login(url: str) -> requests.Response:
    session = requests.Session()
    page = session.get(f"{url}/masuk", headers=FORWARDED, timeout=10)
    token = CSRF.search(page.text).group(1)
    # the cookie may be Secure (HTTPS said by the proxy): send it back by hand over plain HTTP,
    # with the Referer a browser sends (over HTTPS, Flask-WTF checks the form came from here)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    host = url.split("://", 1)[1]
    return requests.post(f"{url}/masuk", timeout=10, allow_redirects=False,
                         headers={**FORWARDED, "Cookie": cookies,
                                  "Referer": f"https://{host}/masuk"},
                         data={"username": "tidakada", "password": "salah", "csrf_token": token})


@pytest.mark.parametrize("proxy, counted, secure", [
    ("127.0.0.1", BROWSER, True),     # the proxy is trusted: its headers are read
    ("", "127.0.0.1", False),         # no proxy configured: the headers are anyone's words
    ("10.9.9.9", "127.0.0.1", False),  # another machine is the trusted proxy, not this one
])
def test_the_throttle_and_the_cookie_read_forwarded_headers_only_from_the_trusted_proxy(
        tmp_path: Path, proxy: str, counted: str, secure: bool) -> None:
    extra = f'\n[web]\ntrusted_proxy = "{proxy}"\n' if proxy else ""
    rt = make_runtime(write_config(tmp_path, extra=extra))
    server = WebServer(rt, host="127.0.0.1", port=0).start()
    try:
        page = requests.get(f"{server.url}/masuk", headers=FORWARDED, timeout=10)
        cookie = page.headers.get("Set-Cookie", "")
        assert cookie, "the login page sets the session cookie"
        assert ("Secure" in cookie) is secure
        response = wrong_login(server.url)
        assert response.status_code == 401, response.text[-600:]
        keys = {row.key for row in LoginThrottle.select()}
        assert f"addr:{counted}" in keys
        assert not {k for k in keys if k.startswith("addr:") and k != f"addr:{counted}"}
    finally:
        server.close()
        rt.close()
