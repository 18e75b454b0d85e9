"""Wrong passwords slow the guesser down and never lock the owner out (issue 20, item 4).

Over HTTP with real cookies: each client posts the login form from its own address.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient

from inbox.models import LoginThrottle
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import CSRF, PASSWORD, make_users, page_text, post_form

ATTACKER, OFFICE, OTHER = "203.0.113.9", "10.0.0.7", "10.0.0.8"
WAIT = re.compile(r"Tunggu (\d+) detik")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """Three free attempts instead of five: every attempt costs a real scrypt check."""
    runtime = make_runtime(write_config(tmp_path, extra="\n[web]\nlogin_attempts = 3\n"))
    yield runtime
    runtime.close()


def attempt(client: FlaskClient, username: str, password: str, address: str) -> tuple[int, str]:
    environ = {"REMOTE_ADDR": address}
    token = CSRF.search(page_text(client.get("/masuk", environ_base=environ))).group(1)
    response = client.post("/masuk", environ_base=environ, data={
        "username": username, "password": password, "csrf_token": token})
    return response.status_code, page_text(response)


def message(page: str) -> str:
    found = re.search(r'<p class="flash error"[^>]*>([^<]+)</p>', page)
    return found.group(1).strip() if found else ""


def test_an_anonymous_guesser_cannot_lock_out_the_owner(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    owner = app.test_client()
    assert attempt(owner, "admin1", PASSWORD, OFFICE)[0] == 302  # the owner's browser, known
    post_form(owner, "/keluar")
    attacker = app.test_client()
    for _ in range(rt.config.web["login_attempts"] + 3):
        status, page = attempt(attacker, "admin1", "tebakan-salah", ATTACKER)
        assert status == 401 and "terkunci" not in page
    assert WAIT.search(page), "the guesser is slowed down"
    # The owner, at once, from the office and from the browser it used before: no wait.
    status, page = attempt(owner, "admin1", PASSWORD, OFFICE)
    assert status == 302, message(page)


def test_the_answers_do_not_tell_which_names_exist(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    answers: dict[str, list[str]] = {}
    for n, name in enumerate(("admin1", "tidak-ada-orangnya")):
        client = app.test_client()
        answers[name] = [message(attempt(client, name, "tebakan-salah", f"198.51.100.{n}")[1])
                         for _ in range(rt.config.web["login_attempts"] + 2)]
    assert answers["admin1"] == answers["tidak-ada-orangnya"]
    assert answers["admin1"][0] == "Nama pengguna atau kata sandi salah."
    assert WAIT.search(answers["admin1"][-1])


def test_the_delay_grows_and_a_throttled_attempt_is_refused_even_with_the_right_password(
        rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    client = app.test_client()
    free = rt.config.web["login_attempts"]
    for _ in range(free):
        assert attempt(client, "admin1", "salah", ATTACKER)[0] == 401
    first = LoginThrottle.get(LoginThrottle.key == f"addr:{ATTACKER}")
    assert first.failures == free and first.wait_until is not None
    status, page = attempt(client, "admin1", PASSWORD, ATTACKER)  # right, but while waiting
    assert status == 401 and WAIT.search(page)
    assert LoginThrottle.get_by_id(first.id).failures == free  # waiting attempts do not count
    waits = []
    for _ in range(3):
        row = LoginThrottle.get(LoginThrottle.key == f"addr:{ATTACKER}")
        with time_machine.travel(row.wait_until + timedelta(seconds=1), tick=False):
            assert attempt(client, "admin1", "salah", ATTACKER)[0] == 401
        row = LoginThrottle.get(LoginThrottle.key == f"addr:{ATTACKER}")
        waits.append((row.wait_until - row.last_failure_at).total_seconds())
    assert waits == [4.0, 8.0, 16.0]
    limit = rt.config.web["lockout_minutes"] * 60
    with time_machine.travel(row.wait_until + timedelta(seconds=1), tick=False):
        assert attempt(client, "admin1", PASSWORD, ATTACKER)[0] == 302  # and the count is gone
    assert not LoginThrottle.select().where(LoginThrottle.key == f"addr:{ATTACKER}").exists()
    assert max(waits) <= limit


def test_one_address_trying_many_names_is_slowed_down(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    client = app.test_client()
    pages = [attempt(client, f"nama{n}", "salah", ATTACKER)[1]
             for n in range(rt.config.web["login_attempts"] + 1)]
    assert WAIT.search(pages[-1])
    # Another address with a name never tried is not held up.
    assert attempt(app.test_client(), "admin1", PASSWORD, OTHER)[0] == 302


def test_a_superuser_sees_and_clears_a_throttle(rt: Runtime) -> None:
    make_users()
    app = create_app(rt, testing=True)
    for _ in range(rt.config.web["login_attempts"] + 1):
        attempt(app.test_client(), "pengawas1", "salah", OTHER)
    held = app.test_client()  # a new browser: the name's throttle applies to it
    assert WAIT.search(attempt(held, "pengawas1", PASSWORD, OFFICE)[1])
    superuser = app.test_client()
    assert attempt(superuser, "super1", PASSWORD, OFFICE)[0] == 302
    page = page_text(superuser.get("/kelola/pembatasan"))
    assert "pengawas1" in page and OTHER in page
    row = LoginThrottle.get(LoginThrottle.key == "name:pengawas1")
    response = post_form(superuser, f"/kelola/pembatasan/{row.id}/hapus", follow_redirects=True)
    assert "dihapus" in page_text(response)
    assert attempt(held, "pengawas1", PASSWORD, OFFICE)[0] == 302
    assert app.test_client().get("/kelola/pembatasan").status_code == 302
    admin = app.test_client()
    assert attempt(admin, "admin1", PASSWORD, "10.0.0.9")[0] == 302
    assert admin.get("/kelola/pembatasan").status_code == 403
