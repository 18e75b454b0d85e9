"""Wrong passwords slow the guesser down and never lock the owner out (issue 20, item 4).

Over HTTP with real cookies: each client posts the login form from its own address.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

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
    """Three free attempts instead of five: every attempt costs a real scrypt check; an address
    gets as few, so these tests see its throttle too (an office's default is much higher)."""
    runtime = make_runtime(write_config(
        tmp_path, extra="\n[web]\nlogin_attempts = 3\naddress_login_attempts = 3\n"))
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
        assert attempt(client, "admin1", PASSWORD, ATTACKER)[0] == 302  # and the name's count is gone
    assert not LoginThrottle.select().where(LoginThrottle.key == "name:admin1").exists()
    # The address's stays (issue 26, item 14): a success must not clear it for the other names.
    assert LoginThrottle.select().where(LoginThrottle.key == f"addr:{ATTACKER}").exists()
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


# --- an office behind one address (issue 26, item 14) -----------------------------------------------

PROXY = "127.0.0.1"  # what every internet client looks like behind a tunnel without trusted_proxy


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Runtime]:
    """The shipped name allowance (5) and a small address one, so a test stays quick."""
    runtime = make_runtime(write_config(
        tmp_path, extra="\n[web]\nlogin_attempts = 5\naddress_login_attempts = 6\n"))
    yield runtime
    runtime.close()


def known_browser(app: Any, address: str) -> FlaskClient:
    """A browser that has logged in as admin1 before (it carries the device cookie), logged out."""
    make_users()
    browser = app.test_client()
    assert attempt(browser, "admin1", PASSWORD, address)[0] == 302
    post_form(browser, "/keluar")
    return browser


def address_row() -> LoginThrottle:
    return LoginThrottle.get(LoginThrottle.key == f"addr:{PROXY}")


def test_five_wrong_logins_with_random_names_do_not_make_the_office_wait(office: Runtime) -> None:
    make_users()
    app = create_app(office, testing=True)
    for n in range(5):
        assert attempt(app.test_client(), f"acak{n}", "salah", PROXY)[0] == 401
    status, page = attempt(app.test_client(), "admin1", PASSWORD, PROXY)  # a new browser
    assert status == 302, message(page)
    assert address_row().failures == 5  # the success cleared nothing for the other names


def test_an_address_is_still_slowed_down_at_its_much_higher_count(office: Runtime) -> None:
    make_users()
    app = create_app(office, testing=True)
    for n in range(6):
        attempt(app.test_client(), f"acak{n}", "salah", PROXY)
    assert WAIT.search(attempt(app.test_client(), "pengawas1", PASSWORD, PROXY)[1])
    assert attempt(app.test_client(), "pengawas1", PASSWORD, OTHER)[0] == 302


def test_a_known_browser_gets_in_with_its_right_password_whatever_others_did(office: Runtime) -> None:
    app = create_app(office, testing=True)
    owner = known_browser(app, PROXY)
    for n in range(6):  # someone behind the same address sprays names ...
        attempt(app.test_client(), f"acak{n}", "salah", PROXY)
    for _ in range(5):  # ... and someone elsewhere guesses admin1's password
        attempt(app.test_client(), "admin1", "tebakan", ATTACKER)
    assert WAIT.search(attempt(app.test_client(), "admin1", PASSWORD, PROXY)[1])  # a new browser
    status, page = attempt(owner, "admin1", PASSWORD, PROXY)
    assert status == 302, message(page)


def test_a_known_browser_is_held_back_by_its_own_wrong_passwords(office: Runtime) -> None:
    owner = known_browser(create_app(office, testing=True), OFFICE)
    for _ in range(5):
        assert attempt(owner, "admin1", "salah-ketik", OFFICE)[0] == 401
    assert WAIT.search(attempt(owner, "admin1", PASSWORD, OFFICE)[1])


def test_an_address_forgets_a_failure_every_ten_minutes_without_one(office: Runtime) -> None:
    make_users()
    app = create_app(office, testing=True)
    for n in range(5):
        attempt(app.test_client(), f"acak{n}", "salah", PROXY)
    with time_machine.travel(address_row().last_failure_at + timedelta(minutes=41), tick=False):
        attempt(app.test_client(), "acak-lagi", "salah", PROXY)
    assert address_row().failures == 5 - 4 + 1
