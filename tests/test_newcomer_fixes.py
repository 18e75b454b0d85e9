"""What a new office trips over (issue 28, items 9-15), outside the browser: users' roles and
bidang, the waiting list's order and thanks off the clock, search by any status-check form, the
status filter, the rekap page's makers, ``aduan webhook check``, one daemon per database, the
bidang's answer warned of a NIK, and everything an officer reads in Indonesian and WIB."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine

from inbox.models import (Case, Counter, Event, Heartbeat, Recap, SchemaMigration, User,
                          Division, utcnow)
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from main import main
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.web_helpers import login, make_case, make_users, page_text, post_form

WIB = timezone(timedelta(hours=7))


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


@pytest.fixture
def superuser(rt: Runtime, users: dict) -> Any:
    client = create_app(rt, testing=True).test_client()
    assert login(client, users["superuser"].username).status_code == 302
    return client


# --- item 9: users ------------------------------------------------------------------------------

def test_a_superuser_changes_a_users_role_and_bidang(rt: Runtime, users: dict, superuser: Any) -> None:
    admin = users["admin"]
    response = post_form(superuser, f"/kelola/pengguna/{admin.id}/peran",
                         {"role": "division", "division": "capil"}, follow_redirects=True)
    assert "Peran admin1 sekarang Pejabat Bidang Teknis — Bidang Pelayanan Pencatatan Sipil." \
        in page_text(response)
    changed = User.get_by_id(admin.id)
    assert changed.role == "division" and changed.division.code == "capil"
    event = Event.get(Event.action == "user_changed")
    assert event.detail["before"] == {"role": "admin", "division": None}
    assert event.detail["after"] == {"role": "division", "division": "capil"}


@pytest.mark.parametrize("form, sentence", [
    ({"role": "group_admin", "division": "capil"}, "Bidang hanya untuk peran Pejabat Bidang Teknis"),
    ({"role": "division", "division": ""}, "Pejabat Bidang Teknis harus punya bidang"),
    ({"role": "raja", "division": ""}, "Pilih peran"),
])
def test_a_bidang_for_a_role_without_one_is_refused_not_ignored(
        rt: Runtime, users: dict, superuser: Any, form: dict, sentence: str) -> None:
    admin = users["admin"]
    response = post_form(superuser, f"/kelola/pengguna/{admin.id}/peran", form,
                         follow_redirects=True)
    assert sentence in page_text(response)
    assert User.get_by_id(admin.id).role == "admin" and User.get_by_id(admin.id).division is None
    added = post_form(superuser, "/kelola/pengguna/tambah", {
        "username": "baru1", "role": form["role"], "division": form["division"],
        "password": "Kantor#Brebes2026", "repeat": "Kantor#Brebes2026"}, token_from="/kelola/pengguna")
    assert added.status_code == 400 and sentence in page_text(added)
    assert not User.select().where(User.username == "baru1").exists()


def test_user_add_refuses_a_division_for_another_role(rt: Runtime, config_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Kantor#Brebes2026\n"))
    assert main(["--config", str(config_path), "user", "add", "grup9", "--role", "group_admin",
                 "--division", "capil"]) == 2
    assert "--division hanya untuk --role division" in capsys.readouterr().err
    assert not User.select().where(User.username == "grup9").exists()


# --- item 10: the waiting list, thanks off the clock -----------------------------------------

def test_menunggu_lists_the_oldest_waiting_first_and_thanks_last(rt: Runtime, users: dict) -> None:
    old = make_case(rt, 1, "KTP saya belum jadi", at=wib(11, 23, 9))
    workflow.escalate(rt, old, users["admin"], "mohon bantuan")
    workflow.assign_division(rt, Case.get_by_id(old.id), users["group_admin"], "dafduk")
    workflow.division_answer(rt, Case.get_by_id(old.id), users["division"], "Sudah dicetak.")
    thanks = make_case(rt, 2, "terima kasih banyak min", at=wib(11, 24, 9))
    Case.update(intent="thanks").where(Case.id == thanks.id).execute()
    newer = [make_case(rt, n, "Akta kelahiran belum jadi", at=wib(11, 25, 9 + n)) for n in range(3, 6)]
    client = create_app(rt, testing=True).test_client()
    with time_machine.travel(wib(11, 25, 15), tick=True):
        login(client, "admin1")
        page = page_text(client.get("/?status=menunggu"))
    order = [m for m in re.findall(r"ADU-\d{6}-\d{4}", page)]
    order = list(dict.fromkeys(order))
    expected = [Case.get_by_id(old.id).reference] + [c.reference for c in newer] + [thanks.reference]
    assert order == expected
    row = page[page.index(thanks.reference):]
    row = row[:row.index("</tr>")]
    assert "tanpa batas waktu" in row and "TERLAMBAT" not in row
    with time_machine.travel(wib(12, 1, 9), tick=True):  # days after its deadline
        login(client, "admin1")
        case_page = page_text(client.get(f"/pengaduan/{thanks.id}"))
    assert "tidak menunggu batas waktu 3 hari kerja" in case_page and "TERLAMBAT" not in case_page


def test_a_thanks_left_open_is_no_late_case_in_the_counts_or_the_recap(rt: Runtime,
                                                                        users: dict) -> None:
    """The clock the list shows is the clock the counts use: a thank-you or a greeting left open
    past three working days is not late on the dashboard, in `aduan status`, in the inbox's
    late filter nor in the daily recap; an ordinary case beside it is."""
    from recap.daily import daily_figures
    late = make_case(rt, 1, "KTP saya belum jadi", at=wib(11, 23, 9))
    thanks = make_case(rt, 2, "terima kasih banyak min", at=wib(11, 23, 10))
    Case.update(intent="thanks").where(Case.id == thanks.id).execute()
    greeting = make_case(rt, 3, "selamat pagi admin", at=wib(11, 23, 11))
    Case.update(intent="complaint", intent_override="greeting").where(
        Case.id == greeting.id).execute()
    now = wib(12, 1, 9)
    assert [c.id for c in Case.overdue(now.astimezone(timezone.utc))] == [late.id]
    client = create_app(rt, testing=True).test_client()
    with time_machine.travel(now, tick=True):
        login(client, "admin1")
        listed = page_text(client.get("/?overdue=1"))
        dashboard = page_text(client.get("/dasbor"))
        figures = daily_figures(rt, date(2026, 11, 30), mark=False)
    assert late.reference in listed
    assert thanks.reference not in listed and greeting.reference not in listed
    assert [c.id for c in figures.overdue] == [late.id]
    assert re.search(r"\b1\s*</span>\s*pengaduan TERLAMBAT", dashboard)
    assert {c.id for c in figures.open_cases} == {late.id, thanks.id, greeting.id}


# --- item 11: search and the status filter ---------------------------------------------------

@pytest.mark.parametrize("typed", ["adu 202611 2", "ADU2026110002", "status ADU-202611-0002",
                                   "adu-202611-0002"])
def test_search_finds_a_case_by_any_form_of_its_number(rt: Runtime, users: dict, typed: str) -> None:
    for n in range(1, 4):
        make_case(rt, n)
    client = create_app(rt, testing=True).test_client()
    login(client, "admin1")
    page = page_text(client.get("/", query_string={"q": typed}))
    assert set(re.findall(r"ADU-\d{6}-\d{4}", page)) == {"ADU-202611-0002"}


def test_an_unknown_status_is_a_400_like_an_unknown_bidang(rt: Runtime, users: dict) -> None:
    make_case(rt, 1)
    client = create_app(rt, testing=True).test_client()
    login(client, "admin1")
    response = client.get("/?status=bogus")
    assert response.status_code == 400 and "Isian status tidak dikenal" in page_text(response)
    assert client.get("/?division=abc").status_code == 400
    assert client.get("/?status=menunggu").status_code == 200
    assert client.get("/?status=terbuka").status_code == 200


# --- item 13: the rekap page, webhook check, one daemon -------------------------------------

def test_the_rekap_page_names_who_made_each_file(rt: Runtime, users: dict, config_path: Path) -> None:
    from recap.make import make_daily_recap
    make_case(rt, 1, at=wib(12, 1, 9))
    with time_machine.travel(wib(12, 1, 17), tick=False):
        make_daily_recap(rt, date(2026, 12, 1))  # the daemon's schedule
        assert main(["--config", str(config_path), "recap", "monthly", "--month", "2026-12"]) == 0
        make_daily_recap(rt, date(2026, 11, 30), actor=users["admin"])
    client = create_app(rt, testing=True).test_client()
    login(client, "admin1")
    page = page_text(client.get("/rekap"))
    assert "otomatis (jadwal aduan)" in page and "perintah aduan recap di komputer aduan" in page
    assert "Admin Satu" in page
    assert {r.made_by for r in Recap.select().where(Recap.kind == "monthly")} == {"command"}


WHATSAPP = """
[accounts.wa_dukcapil]
kind = "whatsapp"
label = "WhatsApp Dukcapil"
phone_number_id = "106540352242922"
waba_id = "102290129340398"
access_token = "EAAtoken"
app_secret = "rahasia-aplikasi"
verify_token = "token-verifikasi"
"""


def test_webhook_check_does_not_count_its_own_forgery(tmp_path: Path) -> None:
    from inbox.arrive.webhooks import rejected_total
    from inbox.cli.serve import WebServer
    from inbox.cli.webhook_check import check
    rt = make_runtime(write_config(tmp_path, accounts=SANDBOX + WHATSAPP))
    server = WebServer(rt, host="127.0.0.1", port=0).start()
    try:
        steps = check(server.url, rt)
        assert [ok for ok, _ in steps] == [True, True, True], steps
        assert rejected_total() == 0  # the check's own forged delivery is not an attack
        import requests
        requests.post(f"{server.url}/webhooks/meta", data=b"{}", timeout=10, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "1" * 64,
            "X-Aduan-Self-Test": "0" * 64})
        assert rejected_total() == 1  # someone else's forgery still counts
    finally:
        server.close()
        rt.close()


def test_webhook_check_says_to_restart_when_the_running_aduan_does_not_know_the_account(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inbox.cli.serve import WebServer
    (tmp_path / "running").mkdir()
    running = make_runtime(write_config(tmp_path / "running"))  # started before WhatsApp
    server = WebServer(running, host="127.0.0.1", port=0).start()
    try:
        config = write_config(tmp_path, accounts=SANDBOX + WHATSAPP,
                              url=running.config.database["url"])
        assert main(["--config", str(config), "webhook", "check", "--url", server.url]) == 1
        out = capsys.readouterr().out
        assert "GAGAL verifikasi (hub.challenge): HTTP 403" in out
        assert "jalankan lagi aduan run" in out
    finally:
        server.close()


def test_a_second_aduan_run_refuses_to_start_a_second_daemon(rt: Runtime, config_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    Heartbeat.create(worker_id="pc-kantor:4242:abc123", beat_at=utcnow(), interval_seconds=10)
    assert main(["--config", str(config_path), "run"]) == 1
    err = capsys.readouterr().err
    assert "aduan sudah berjalan untuk database ini: proses 4242 di komputer pc-kantor" in err
    assert "aduan serve" in err


# --- item 14: the bidang's answer -------------------------------------------------------------

def test_a_bidang_typing_a_nik_into_a_public_cases_answer_is_warned_when_saving(
        rt: Runtime, users: dict) -> None:
    case = make_case(rt, 1, public=True)
    workflow.escalate(rt, case, users["admin"], "mohon bantuan")
    workflow.assign_division(rt, Case.get_by_id(case.id), users["group_admin"], "dafduk")
    client = create_app(rt, testing=True).test_client()
    login(client, users["division"].username)
    answer = "NIK 3329014507890001 sudah aktif, silakan cetak ulang."
    url = f"/pengaduan/{case.id}/aksi/division_answer"
    refused = post_form(client, url, {"text": answer}, token_from=f"/pengaduan/{case.id}")
    page = page_text(refused)
    assert refused.status_code == 422 and "memuat data pribadi (NIK: 3329" in page
    assert 'name="confirm_personal_data"' in page and answer in page  # the text is kept
    assert Case.get_by_id(case.id).status == "at_division"
    saved = post_form(client, url, {"text": answer, "confirm_personal_data": "1"},
                      token_from=f"/pengaduan/{case.id}")
    assert saved.status_code == 302 and Case.get_by_id(case.id).status == "division_answered"


def test_a_private_cases_answer_with_a_nik_is_saved_without_a_warning(rt: Runtime, users: dict) -> None:
    case = make_case(rt, 1, public=False)
    workflow.escalate(rt, case, users["admin"], "mohon bantuan")
    workflow.assign_division(rt, Case.get_by_id(case.id), users["group_admin"], "dafduk")
    workflow.division_answer(rt, Case.get_by_id(case.id), users["division"],
                             "NIK 3329014507890001 sudah aktif.")
    assert Case.get_by_id(case.id).status == "division_answered"
