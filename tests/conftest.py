"""Shared fixtures: a real config, a real database and a real Runtime for every test.

The suite runs on SQLite by default and on PostgreSQL when ``ADUAN_TEST_DATABASE_URL`` is set
(for example ``postgresql://postgres@127.0.0.1:5432/test``); each test then starts from empty
tables.
"""
from __future__ import annotations

import importlib.util
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from inbox.db import database
from inbox.models import MODELS, SchemaMigration
from inbox.setup.config import Config, load_config
from inbox.setup.runtime import Runtime, setup

PG_URL = os.environ.get("ADUAN_TEST_DATABASE_URL", "")

DIVISIONS = """
[[divisions]]
code = "dafduk"
name = "Bidang Pelayanan Pendaftaran Penduduk"

[[divisions]]
code = "capil"
name = "Bidang Pelayanan Pencatatan Sipil"

[[divisions]]
code = "piak"
name = "Bidang Pengelolaan Informasi Administrasi Kependudukan"

[[divisions]]
code = "pdip"
name = "Bidang Pemanfaatan Data dan Inovasi Pelayanan"

[[divisions]]
code = "sekretariat"
name = "Sekretariat"
"""

SANDBOX = """
[accounts.sandbox]
kind = "sandbox"
label = "Sandbox (latihan)"
poll_interval = 10
seed = 7
messages_per_minute = 6
initial_burst = 12
"""


def has_extra_module(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def needs_extra(extra: str, module: str) -> pytest.MarkDecorator:
    """Skip a test that needs an optional extra of pyproject.toml when it is not installed.

    The README's install command has only the ``test`` extra, so such a test must skip with a
    reason a newcomer can act on rather than fail."""
    return pytest.mark.skipif(not has_extra_module(module),
                              reason=f"needs the '{extra}' extra ({module}): "
                                     f"pip install -e \".[test,{extra}]\"")


def database_url(tmp_path: Path) -> str:
    return PG_URL or f"sqlite:///{tmp_path / 'data' / 'aduan.db'}"


def write_config(tmp_path: Path, accounts: str = SANDBOX, extra: str = "",
                 sla: str = "", url: str | None = None) -> Path:
    """Write a complete config.toml into ``tmp_path`` and return its path."""
    text = textwrap.dedent(f"""
        [office]
        name = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Brebes"
        short_name = "Dukcapil Brebes"
        timezone = "Asia/Jakarta"
        data_dir = "data"
        legal_basis = "UU 23/2006 jo. UU 24/2013; UU 25/2009; Perpres 76/2013"

        [database]
        url = "{url or database_url(tmp_path)}"

        [sla]
        acknowledge_private = false
        {sla}
        """) + DIVISIONS + accounts + extra
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def reset_database() -> None:
    """Drop every table so a PostgreSQL test starts empty (SQLite files are new per test)."""
    database.drop_tables(list(reversed(MODELS)) + [SchemaMigration], safe=True,
                         **({"cascade": True} if PG_URL else {}))


def make_runtime(config_path: Path) -> Runtime:
    config = load_config(config_path)
    rt = Runtime(config)
    if PG_URL:
        reset_database()
    setup(config)
    return rt


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture
def rt(config_path: Path) -> Iterator[Runtime]:
    """A Runtime on a fresh database with the sandbox account and the five divisions."""
    runtime = make_runtime(config_path)
    yield runtime
    runtime.close()


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADUAN_CONFIG", raising=False)


# --- the web app and a logged-in client per role (tests/test_web.py, tests/test_roles.py) ----------

@pytest.fixture
def app(rt: Runtime) -> Flask:
    from inbox.web.app import create_app
    return create_app(rt, testing=True)


@pytest.fixture
def users(rt: Runtime) -> dict:
    """One user of each role (``tests.web_helpers.make_users``); a module may define its own."""
    from tests.web_helpers import make_users
    return make_users()


@pytest.fixture
def client_for(app: Flask, users: dict):
    """A fresh client logged in as ``role`` ("anonymous": not logged in)."""
    from tests.web_helpers import login, page_text

    def make(role: str):
        client = app.test_client()
        if role != "anonymous":
            response = login(client, users[role].username)
            assert response.status_code == 302, page_text(response)
        return client
    return make
