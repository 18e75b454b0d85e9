"""Set-aside items are visible (status, dashboard, superuser pages) and recoverable (reprocess).

The rows here are written as an older aduan would have written them for items its code could
not read; ``aduan reprocess`` reads them with today's code and ingests each one exactly once.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine

import main
from connectors.base import Connector, ConnectorError, PollResult
from connectors.items import ItemReader
from inbox.models import Account, Case, Message, SetAside
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import login, make_users, page_text

OFFICE = "1356871740001411075"
NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)
X_ACCOUNT = f"""
[accounts.x_dukcapil]
kind = "x"
user_id = "{OFFICE}"
consumer_key = "ck-test"
consumer_secret = "cs-test"
access_token = "{OFFICE}-at-test"
access_token_secret = "ats-test"
dms = false
"""
#: A post as X's default field set gives it: no created_at, no author, no conversation.
DEFAULT_FIELDS_POST = {"id": "2028400000000000600", "edit_history_tweet_ids": ["2028400000000000600"],
                       "text": "@dukcapilbrebes KTP saya hilang, NIK 3329010101900001, bagaimana?"}
NO_ID = {"text": "@dukcapilbrebes tolong", "edit_history_tweet_ids": []}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path, accounts=X_ACCOUNT)


@pytest.fixture
def rt(config_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(config_path)
    yield runtime
    runtime.close()


def aduan(config_path: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out):
        code = main.main(["--config", str(config_path), *argv])
    return code, out.getvalue()


def set_aside(raw: Any, surface: str = "x.mention", platform_id: str | None = None,
              reason: str = "Kolom 'created_at' tidak ada.") -> SetAside:
    account = Account.get(Account.name == "x_dukcapil")
    key = f"{surface}:{platform_id}" if platform_id else f"{surface}:sha256:test{SetAside.select().count()}"
    return SetAside.create(account=account, key=key, surface=surface, platform_id=platform_id,
                           reason=reason, raw=raw, context={})


def test_reprocess_ingests_what_todays_code_reads_exactly_once_and_keeps_the_rest(rt, config_path):
    readable = set_aside(DEFAULT_FIELDS_POST, platform_id=DEFAULT_FIELDS_POST["id"])
    unreadable = set_aside(NO_ID)
    code, out = aduan(config_path, "reprocess")
    assert code == 0
    assert "1 item dibaca ulang dan dicatat sebagai pesan: x_dukcapil: 2028400000000000600" in out
    assert f"#{unreadable.id}: Item tidak memiliki 'id'" in out
    [message] = Message.select()
    assert message.external_id == DEFAULT_FIELDS_POST["id"] and message.text == DEFAULT_FIELDS_POST["text"]
    # the time comes from the snowflake id: (id >> 22) + 1288834974657 ms
    assert message.created_at == datetime.fromtimestamp(
        ((int(DEFAULT_FIELDS_POST["id"]) >> 22) + 1288834974657) / 1000, timezone.utc)
    assert Case.get().contact.name == "pengirim tidak diketahui"
    assert SetAside.get_by_id(readable.id).resolved_external_id == DEFAULT_FIELDS_POST["id"]
    assert SetAside.get_by_id(unreadable.id).resolved_at is None

    code, out = aduan(config_path, "reprocess", "--account", "x_dukcapil")
    assert code == 0 and out.startswith("0 item dibaca ulang")
    assert Message.select().count() == 1 and Case.select().count() == 1


def test_reprocess_names_an_unknown_account(rt, config_path, capsys):
    assert main.main(["--config", str(config_path), "reprocess", "--account", "tidak_ada"]) == 2
    assert "akun 'tidak_ada' tidak ada di config.toml" in capsys.readouterr().err


def test_a_poll_sets_aside_an_item_without_id_and_status_shows_it_per_account(rt, config_path):
    page = {"data": [NO_ID, DEFAULT_FIELDS_POST],
            "meta": {"newest_id": DEFAULT_FIELDS_POST["id"], "result_count": 2}}
    with time_machine.travel(NOW, tick=False):
        with responses.RequestsMock() as api:
            api.get(f"https://api.twitter.com/2/users/{OFFICE}/mentions", json=page)
            code, out = aduan(config_path, "poll")
        assert code == 0 and "1 pesan baru" in out and "1 disisihkan" in out
        code, out = aduan(config_path, "status")
        assert "disisihkan (tidak terbaca): hari ini 1, total 1" in out
        code, out = aduan(config_path, "status", "--json")
    [account] = json.loads(out)["accounts"]
    assert account["set_aside"] == {"today": 1, "total": 1} and account["disabled_reason"] is None
    assert Account.get().cursor["mentions_since_id"] == DEFAULT_FIELDS_POST["id"]


def test_the_superuser_sees_set_aside_items_escaped_and_masked_and_others_do_not(rt):
    row = set_aside({"text": "<script>alert(1)</script> NIK 3329010101900001 hp 081234567890"})
    users = make_users()
    app = create_app(rt, testing=True)
    client = app.test_client()
    login(client, users["superuser"].username)
    listing = page_text(client.get("/kelola/tersisih"))
    assert f"/kelola/tersisih/{row.id}" in listing and "tidak ada." in listing
    detail = page_text(client.get(f"/kelola/tersisih/{row.id}"))
    assert "&lt;script&gt;" in detail and "<script>alert" not in detail
    assert "3329010101900001" not in detail and "081234567890" not in detail
    dashboard = page_text(client.get("/dasbor"))
    assert "Tidak terbaca (disisihkan): hari ini 1, total 1" in dashboard
    for role in ("admin", "group_admin", "division", "supervisor"):
        other = app.test_client()
        login(other, users[role].username)
        assert other.get(f"/kelola/tersisih/{row.id}").status_code == 403, role
        assert other.get("/kelola/tersisih").status_code == 403, role


class Broken(Connector):
    """A plugin whose own code fails outside item parsing."""

    kind = "broken"

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        return {"page": []}["next"]  # KeyError holding nothing; the reason must stay generic


class Leaky(Connector):
    kind = "leaky"

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        raise ValueError("bad created_time '3329010101900001'")


def test_an_unexpected_error_outside_item_parsing_is_a_transient_connector_error(caplog):
    with pytest.raises(ConnectorError) as caught:
        Broken("plugin", {}).poll({})
    assert not caught.value.permanent and "KeyError" in caught.value.message
    with pytest.raises(ConnectorError) as caught:
        Leaky("plugin", {}).poll({})
    assert "3329010101900001" not in (caught.value.detail or "")
    assert "3329010101900001" not in caplog.text and "ValueError" in caplog.text


def test_an_item_that_breaks_a_parser_is_set_aside_with_the_rest_of_the_page_read(caplog):
    reader = ItemReader("plugin")

    def parse(item: dict[str, Any], context: dict[str, Any]) -> str:
        return item["text"].upper()

    read = [reader.read("demo", item, parse) for item in
            ({"id": "1", "text": "a"}, {"id": "2"}, [1, 2], None, {"id": "4", "text": "d"})]
    assert read == ["A", None, None, None, "D"]
    assert [(s.platform_id, s.surface) for s in reader.set_aside] == [("2", "demo"), (None, "demo"),
                                                                     (None, "demo")]
    assert "KeyError" in reader.set_aside[0].reason and "daftar" in reader.set_aside[1].reason
    assert reader.set_aside[1].key != reader.set_aside[2].key  # one row each, by content
