"""Web sessions end on the server (issue 20, item 3), over HTTP with real cookies.

A session cookie saved before logging out, changing the password, a superuser's reset or a
deactivation opens nothing afterwards; an unused session ends after ``web.idle_minutes``; the
cookie is ``Secure`` as ``web.secure_cookies`` says.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine
from flask import Flask
from flask.testing import FlaskClient

from inbox.models import User, WebSession, utcnow
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import PASSWORD, login, make_users, post_form

COOKIE = "aduan_sesi"


def logged_in(app: Flask, username: str = "admin1") -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/").status_code == 200
    return client


def replay(app: Flask, saved: str) -> int:
    """GET / from another browser holding a copy of a saved session cookie; the status."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, saved)
    return thief.get("/").status_code


def test_a_cookie_saved_before_logout_opens_nothing_afterwards(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    client = logged_in(app)
    saved = client.get_cookie(COOKIE).value
    assert replay(app, saved) == 200  # the copy works while the session lives
    assert post_form(client, "/keluar").status_code == 302
    assert replay(app, saved) == 302
    assert client.get("/").status_code == 302
    assert WebSession.select().count() == 0


def test_a_password_change_ends_every_other_session_and_keeps_this_one(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    here, there = logged_in(app), logged_in(app)
    saved_there = there.get_cookie(COOKIE).value
    response = post_form(here, "/sandi", {"current": PASSWORD, "new": "sandi-baru-456",
                                          "repeat": "sandi-baru-456"})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert replay(app, saved_there) == 302


def test_a_reset_or_a_deactivation_ends_the_users_sessions(rt: Runtime) -> None:
    users = make_users()
    app = create_app(rt, testing=True)
    superuser = logged_in(app, "super1")
    saved = logged_in(app).get_cookie(COOKIE).value
    assert post_form(superuser, f"/kelola/pengguna/{users['admin'].id}/sandi",
                     {"password": "sandi-baru-789", "repeat": "sandi-baru-789"}).status_code == 302
    assert replay(app, saved) == 302
    saved = logged_in(app, "pengawas1").get_cookie(COOKIE).value
    assert post_form(superuser, f"/kelola/pengguna/{users['supervisor'].id}/aktif",
                     {"active": "0"}).status_code == 302
    assert WebSession.select().where(WebSession.user == users["supervisor"].id).count() == 0
    User.update(active=True).where(User.id == users["supervisor"].id).execute()
    assert replay(app, saved) == 302  # reactivating does not revive the old session


def test_an_unused_session_ends_after_the_idle_timeout(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    client = logged_in(app)
    idle = rt.config.web["idle_minutes"]
    with time_machine.travel(utcnow() + timedelta(minutes=idle - 5)):
        assert client.get("/").status_code == 200  # in use: the clock restarts
    with time_machine.travel(utcnow() + timedelta(minutes=2 * idle - 10)):
        assert client.get("/").status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=3 * idle)):
        assert client.get("/").status_code == 302


def _session_cookie_header(client: FlaskClient, base_url: str) -> str:
    from tests.web_helpers import CSRF, page_text
    page = client.get("/masuk", base_url=base_url)
    token = CSRF.search(page_text(page)).group(1)
    # Over HTTPS Flask-WTF also wants a same-site Referer, as a browser sends.
    response = client.post("/masuk", base_url=base_url, headers={"Referer": base_url + "/masuk"},
                           data={"username": "admin1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))


def test_the_cookie_is_secure_over_https_by_default_and_always_when_configured(
        rt: Runtime, tmp_path: Path) -> None:
    make_users()
    app = create_app(rt, testing=True)
    assert "Secure" not in _session_cookie_header(app.test_client(), "http://localhost")
    assert "Secure" in _session_cookie_header(app.test_client(), "https://localhost")
    rt.close()
    other = tmp_path / "forced"
    other.mkdir()
    forced = make_runtime(write_config(other, extra='\n[web]\nsecure_cookies = true\n'))
    try:
        make_users()
        header = _session_cookie_header(create_app(forced, testing=True).test_client(),
                                        "http://localhost")
        assert "Secure" in header and "HttpOnly" in header
    finally:
        forced.close()
