"""Going live (issue 28, items 1-2): practice never mixes with the office's record, going live is
one step that says how many it removed, and the superuser's checklist ticks what is done."""
from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import peewee
import pytest
import responses
import time_machine
from pypdf import PdfReader

from inbox.arrive.ingest import ingest
from inbox.db import database
from inbox.models import (Account, Case, Contact, Counter, Event, Heartbeat, Message, Recap,
                          SurveyResponse, User)
from inbox.records.practice import PRACTICE_MARK, go_live, practice_data, scope
from inbox.run.daemon import Daemon
from inbox.run.health import beat
from inbox.setup.migrations import _migration_19
from inbox.setup.runtime import Runtime, setup
from recap.daily import daily_figures
from recap.make import make_daily_recap, make_monthly_report
from recap.monthly import monthly_figures
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.factories import msg
from tests.web_helpers import login, make_case, make_user, make_users, page_text, post_form

WIB = timezone(timedelta(hours=7))
TOKEN = "7012345678:AAH-secret-token-never-shown_x"
API = f"https://api.telegram.org/bot{TOKEN}"
TELEGRAM = f"""
[accounts.tg_dukcapil]
kind = "telegram"
label = "Telegram @dukcapilbrebes_bot"
bot_token = "{TOKEN}"
"""
GET_ME = {"ok": True, "result": {"id": 7012345678, "is_bot": True, "first_name": "Dukcapil Brebes",
                                 "username": "dukcapilbrebes_bot"}}


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Runtime]:
    """The sandbox beside the office's real Telegram bot."""
    runtime = make_runtime(write_config(tmp_path, accounts=SANDBOX + TELEGRAM))
    yield runtime
    runtime.close()


def real_case(rt: Runtime, n: int, text: str, at: datetime) -> Case:
    """A citizen's message on the office's Telegram bot (real ingest)."""
    account = Account.get(Account.name == "tg_dukcapil")
    ingest(account, [msg(f"tg-{n}", text=text, public=False, author=f"tg{n}", at=at)], None,
           rt.ingest_options)
    return Case.select().where(Case.account == account.id).order_by(Case.id.desc()).get()


def poll_telegram(rt: Runtime) -> None:
    """One successful poll of the bot (no news), so the channel reads healthy."""
    with responses.RequestsMock() as api:
        api.get(f"{API}/getMe", json=GET_ME)
        api.get(f"{API}/getUpdates", json={"ok": True, "result": []})
        assert Daemon(rt).poll_account("tg_dukcapil").ok


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(str(path)).pages]


def test_with_only_the_sandbox_a_recap_is_a_practice_recap_marked_on_every_page(
        rt: Runtime) -> None:
    make_case(rt, 1, at=wib(11, 2, 9))
    make_case(rt, 2, "Akta kelahiran anak saya kapan jadi?", at=wib(11, 3, 9))
    assert scope().practice
    with time_machine.travel(wib(12, 1, 8), tick=False):
        paths = make_monthly_report(rt, 2026, 11)
        daily = make_daily_recap(rt, date(2026, 11, 2))
    for pdf in (paths[0], daily[0]):
        pages = pdf_pages(pdf)
        assert all(PRACTICE_MARK in page for page in pages), pdf
    assert PRACTICE_MARK in daily[2].read_text(encoding="utf-8")
    assert {r.practice for r in Recap.select()} == {True}


def test_once_a_real_channel_exists_no_recap_export_or_index_counts_practice(
        office: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    practice = make_case(office, 1, "Antrean di kecamatan Losari panjang sekali latihan",
                         at=wib(11, 2, 9))
    real = real_case(office, 2, "KTP-el saya belum jadi sejak Oktober", wib(11, 2, 10))
    for case, rating in ((practice, 1), (real, 4)):
        SurveyResponse.create(case=case, rating=rating, external_id=f"r{case.id}",
                              answered_at=wib(11, 5, 9))
    assert not scope().practice and scope().excluded == tuple(Account.practice_ids())
    with time_machine.travel(wib(12, 1, 8), tick=False):
        daily = daily_figures(office, date(2026, 11, 2), mark=False)
        monthly = monthly_figures(office, 2026, 11)
        paths = make_monthly_report(office, 2026, 11)
    assert [c.reference for c in daily.received] == [real.reference]
    assert [c.reference for c in monthly.received()] == [real.reference]
    text = "\n".join(pdf_pages(paths[0]))
    assert "Sandbox" not in text and "Losari" not in text and PRACTICE_MARK not in text
    assert "Telegram @dukcapilbrebes_bot" in text
    assert "dari 1 responden" in text and "100,0" in text.replace("100.0", "100,0")  # 4 x 25
    from main import main
    config = tmp_path / "config.toml"
    assert main(["--config", str(config), "export", "--format", "csv"]) == 0
    exported = capsys.readouterr().out
    assert real.reference in exported and practice.reference not in exported


def test_going_live_removes_the_practice_data_says_how_much_and_keeps_the_sandbox_stopped(
        office: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from main import main
    Daemon(office).poll_account("sandbox")
    practice_cases = Case.select().join(Account).where(Account.kind == "sandbox").count()
    assert practice_cases > 0
    real = real_case(office, 1, "KK saya salah nama ibu", wib(12, 1, 9))
    config = tmp_path / "config.toml"

    monkeypatch.setattr(sys, "stdin", io.StringIO("tidak\n"))
    assert main(["--config", str(config), "go-live"]) == 1
    assert "Dibatalkan" in capsys.readouterr().out
    assert practice_data().cases == practice_cases

    made = make_user("latihan1", "admin")
    monkeypatch.setattr(sys, "stdin", io.StringIO("ya\n"))
    assert main(["--config", str(config), "go-live", "--deactivate-user", "latihan1"]) == 0
    out = capsys.readouterr().out
    assert f"Dihapus: {practice_cases} pengaduan latihan" in out
    assert "Saluran latihan dihentikan: Sandbox (latihan)." in out
    assert not practice_data().any
    assert Contact.select().where(Contact.kind == "sandbox").count() == 0
    assert Message.select().join(Account).where(Account.kind == "sandbox").count() == 0
    assert Case.select().count() == 1 and Case.get_by_id(real.id).reference == real.reference
    assert not User.get_by_id(made.id).active
    event = Event.went_live()
    assert event is not None and event.detail["cases"] == practice_cases
    # config.toml still lists the sandbox: it stays stopped across restarts
    setup(office.config)
    sandbox = Account.get(Account.name == "sandbox")
    assert not sandbox.enabled
    assert "latihan selesai" in Daemon(office).poll_account("sandbox").skipped
    assert main(["--config", str(config), "status"]) == 0
    assert "dihentikan: latihan selesai" in capsys.readouterr().out
    # a month that held practice numbers its real cases from its real maximum
    assert Counter.get_by_id("ADU-202612").value == int(real.reference.rsplit("-", 1)[1])


def test_going_live_deletes_the_practice_recaps_and_their_files(rt: Runtime) -> None:
    make_case(rt, 1, at=wib(11, 2, 9))
    with time_machine.travel(wib(11, 2, 17), tick=False):
        paths = make_daily_recap(rt, date(2026, 11, 2))
    assert all(p.exists() for p in paths) and Recap.select().count() == 3
    done = go_live(rt.data_dir)
    assert done.removed.recaps == 3 and done.removed.cases == 1
    assert Recap.select().count() == 0 and not any(p.exists() for p in paths)


def test_the_dashboard_says_mode_latihan_while_practice_cases_are_there(rt: Runtime) -> None:
    from inbox.web.app import create_app
    make_users()
    make_case(rt, 1)
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    page = page_text(client.get("/dasbor"))
    assert "Mode latihan:" in page and "1 pengaduan latihan" in page
    go_live(rt.data_dir)
    assert "Mode latihan" not in page_text(client.get("/dasbor"))


def test_the_checklist_ticks_each_step_of_going_live(office: Runtime) -> None:
    from inbox.records.schedule import run_backup
    from inbox.web.app import create_app
    users = make_users()
    make_case(office, 1)
    client = create_app(office, testing=True).test_client()
    assert login(client, users["superuser"].username).status_code == 302
    page = page_text(client.get("/kelola/mulai"))
    assert "Selesai: <strong>1 dari 6</strong>" in page  # only the recap times, as configured
    assert "Belum ada saluran resmi kantor" not in page  # the bot is configured, not yet polled
    assert login(create_app(office, testing=True).test_client(), "admin1").status_code == 302
    assert client_forbidden(office, "admin1", "/kelola/mulai")

    poll_telegram(office)
    response = post_form(client, "/kelola/mulai/jalankan", {"understood": "1"},
                         follow_redirects=True)
    assert "aduan mulai dipakai. Dihapus: 1 pengaduan latihan" in page_text(response)
    from inbox.models import Division
    for division in Division.select().where(Division.code != "dafduk"):
        make_user(f"pejabat-{division.code}", "division", division)
    run_backup(office.config, None)
    beat("pc-kantor:12345:abcdef", 10, service="systemd")  # the daemon, on the office's PC
    page = page_text(client.get("/kelola/mulai"))
    assert "Selesai: <strong>6 dari 6</strong>" in page, page
    assert "aduan berjalan sebagai layanan (systemd)" in page


def client_forbidden(rt: Runtime, username: str, url: str) -> bool:
    from inbox.web.app import create_app
    client = create_app(rt, testing=True).test_client()
    login(client, username)
    return client.get(url).status_code == 403


def test_the_daemon_records_whether_a_service_manager_started_it() -> None:
    from inbox.run.health import service_kind
    assert service_kind({"INVOCATION_ID": "0f1e"}) == "systemd"
    assert service_kind({"ADUAN_SERVICE": "nssm"}) == "nssm"
    assert service_kind({"USERNAME": "dewi"}) == ""


def test_migration_19_gives_older_tables_their_columns(rt: Runtime) -> None:
    class OldRecap(peewee.Model):
        kind = peewee.CharField(max_length=20)
        period = peewee.CharField(max_length=20)
        fmt = peewee.CharField(max_length=10)
        path = peewee.TextField()
        created_at = peewee.DateTimeField()
        created_by = peewee.IntegerField(null=True, column_name="created_by_id")

        class Meta:
            database = database
            table_name = "recap"

    class OldHeartbeat(peewee.Model):
        worker_id = peewee.CharField(max_length=120, primary_key=True)
        beat_at = peewee.DateTimeField()
        interval_seconds = peewee.IntegerField(default=60)

        class Meta:
            database = database
            table_name = "heartbeat"

    database.drop_tables([Recap, Heartbeat])
    database.create_tables([OldRecap, OldHeartbeat])
    OldRecap.create(kind="daily", period="2026-11-02", fmt="pdf", path="recaps/a.pdf",
                    created_at=datetime(2026, 11, 2, 9))
    OldHeartbeat.create(worker_id="vm:1:a", beat_at=datetime(2026, 11, 2, 9))
    _migration_19(database.obj)
    _migration_19(database.obj)  # safe to run twice
    old = Recap.get()
    assert (old.made_by, old.practice) == ("", False)
    assert Heartbeat.get().service == ""
