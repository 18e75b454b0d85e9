"""Helpers for the web tests: one user per role, logging in, CSRF tokens taken from the forms,
and cases made by real ingest (no mocks)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Division, User
from inbox.setup.runtime import Runtime, create_user
from tests.factories import T0, msg

PASSWORD = "kata-sandi-uji-123"
ROLES = ("admin", "group_admin", "division", "supervisor", "superuser")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# One cheap hash for every test user: the default scrypt costs ~0.1 s per login, which the
# route-by-role table would pay hundreds of times. check_password_hash reads any method.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_user(username: str, role: str, division: Division | None = None,
              is_superuser: bool = False, full_name: str = "") -> User:
    return User.create(username=username, password_hash=_FAST_HASH, role=role, division=division,
                       is_superuser=is_superuser, full_name=full_name)


def make_users() -> dict[str, User]:
    """One active user per role; the division user belongs to ``dafduk``."""
    dafduk = Division.get(Division.code == "dafduk")
    return {
        "admin": create_user("admin1", PASSWORD, "admin", full_name="Admin Satu"),
        "group_admin": make_user("grup1", "group_admin", full_name="Group Admin Satu"),
        "division": make_user("dafduk1", "division", dafduk, full_name="Pejabat Dafduk"),
        "supervisor": make_user("pengawas1", "supervisor", full_name="Pengawas"),
        "superuser": make_user("super1", "admin", is_superuser=True, full_name="Super"),
    }


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the real form (with its CSRF token)."""
    token = csrf_token(client, "/masuk")
    return client.post("/masuk", data={"username": username, "password": password,
                                       "csrf_token": token})


def csrf_token(client: FlaskClient, url: str = "/sandi") -> str:
    """The CSRF token printed in the form of ``url`` for this client's session."""
    response = client.get(url)
    found = CSRF.search(response.get_data(as_text=True))
    assert found, f"no csrf_token in the form of {url} (status {response.status_code})"
    return found.group(1)


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None,
              token_from: str = "/sandi", **kwargs: Any) -> Any:
    """POST ``data`` to ``url`` with a valid CSRF token fetched from a page first."""
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client, token_from)
    return client.post(url, data=payload, **kwargs)


def make_case(rt: Runtime, n: int, text: str = "KTP saya belum jadi sudah 3 minggu",
              public: bool = True, author: str | None = None, at: datetime = T0) -> Case:
    """A case opened by ingesting one citizen message on the sandbox account."""
    account = Account.get(Account.name == "sandbox")
    ingest(account, [msg(f"web-{n}", text=text, public=public, author=author or f"warga{n}", at=at,
                         permalink=f"https://example.org/post/{n}")],
           None, rt.ingest_options)
    return Case.select().order_by(Case.id.desc()).get()


def page_text(response: Any) -> str:
    return response.get_data(as_text=True)
