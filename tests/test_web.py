"""The web inbox through Flask's test client, with CSRF protection on (tokens come from forms)."""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from inbox.models import Case, CaseCategory, Outbox, Recap, Template, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import SECURITY_HEADERS, secret_key
from tests.factories import T0
from tests.web_helpers import PASSWORD, csrf_token, login, make_case, page_text, post_form

MALICIOUS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def at_division(rt: Runtime, users: dict[str, User], n: int, code: str = "dafduk") -> Case:
    """A case escalated by the admin and assigned to a bidang by the group admin."""
    case = make_case(rt, n)
    workflow.escalate(rt, case, users["admin"], "mohon dijawab bidang")
    workflow.assign_division(rt, Case.get_by_id(case.id), users["group_admin"], code)
    return Case.get_by_id(case.id)


def division_answered(rt: Runtime, users: dict[str, User], n: int) -> Case:
    case = at_division(rt, users, n)
    workflow.division_answer(rt, case, users["division"], "KTP Bapak sudah dicetak, silakan ambil.")
    return Case.get_by_id(case.id)


# --- every route x every role -----------------------------------------------------------------

ALL = ("admin", "group_admin", "division", "supervisor", "superuser")


def expect(default: int, anonymous: int = 302, **per_role: int) -> dict[str, int]:
    table = {role: default for role in ALL}
    table.update(per_role)
    table["anonymous"] = anonymous
    return table


# (method, path template, expected status per role). {new}: a new case (no bidang);
# {dafduk}: a case at Bidang dafduk; {recap}: a recap file inside data_dir.
GET_ROUTES = [
    ("/masuk", expect(302, anonymous=200)),
    ("/", expect(200)),
    ("/?status=terbuka&overdue=1&q=ktp&visibility=publik", expect(200)),
    ("/jumlah-baru.json?setelah=0", expect(200)),
    ("/antrian/group-admin", expect(200, division=403)),
    ("/antrian/bidang/dafduk", expect(200)),
    ("/antrian/bidang/capil", expect(200, division=403)),
    ("/antrian/bidang/tidak-ada", expect(404)),
    ("/pengaduan/{new}", expect(200, division=403)),
    ("/pengaduan/{dafduk}", expect(200)),
    ("/pengaduan/999999", expect(404)),
    ("/dasbor", expect(200)),
    ("/rekap", expect(200)),
    ("/rekap/{recap}/unduh", expect(200, division=403)),
    ("/rekap/999999/unduh", expect(404, division=403)),
    ("/sandi", expect(200)),
    ("/kelola/pengguna", expect(403, superuser=200)),
    ("/kelola/templat", expect(403, superuser=200)),
    ("/tidak-ada-halaman-ini", expect(404, anonymous=404)),
]


@pytest.fixture
def route_data(rt: Runtime, users: dict[str, User]) -> dict[str, int]:
    new = make_case(rt, 1)
    dafduk = at_division(rt, users, 2)
    path = rt.data_dir / "recaps" / "rekap-2026-11-23.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<p>rekap</p>", encoding="utf-8")
    recap = Recap.create(kind="daily", period="2026-11-23", fmt="html", path=str(path))
    return {"new": new.id, "dafduk": dafduk.id, "recap": recap.id}


@pytest.mark.parametrize("path,expected", GET_ROUTES, ids=[p for p, _ in GET_ROUTES])
def test_every_page_answers_each_role_as_expected(path: str, expected: dict[str, int],
                                                  route_data: dict[str, int],
                                                  client_for: Callable[[str], FlaskClient]) -> None:
    url = path.format(**route_data)
    got = {role: client_for(role).get(url).status_code for role in expected}
    assert got == expected
    if expected["anonymous"] == 302:
        assert client_for("anonymous").get(url).headers["Location"].startswith("/masuk")


# POST routes: each role acts on its own fresh case, so one role's action cannot hide another's.
POST_ROUTES: list[tuple[str, Callable[..., dict[str, str]], dict[str, int]]] = [
    ("/pengaduan/{new}/aksi/note", lambda ids: {"text": "dicek besok"},
     expect(302, division=403, supervisor=403)),
    ("/pengaduan/{new}/aksi/escalate", lambda ids: {"text": "tolong"},
     expect(403, admin=302, superuser=302)),
    ("/pengaduan/{new}/aksi/dismiss", lambda ids: {"reason": "spam"},
     expect(403, admin=302, superuser=302)),
    ("/pengaduan/{new}/aksi/reply", lambda ids: {"text": "Baik, kami cek."},
     expect(403, admin=302, superuser=302)),
    ("/pengaduan/{new}/aksi/division_answer", lambda ids: {"text": "jawaban"},
     expect(403, division=403)),
    ("/pengaduan/{escalated}/aksi/assign", lambda ids: {"division": "dafduk"},
     expect(403, group_admin=302, superuser=302)),
    ("/pengaduan/{dafduk}/aksi/division_answer", lambda ids: {"text": "Sudah dicetak."},
     expect(403, division=302, superuser=302)),
    ("/pengaduan/{answered}/aksi/forward", lambda ids: {"text": "Sudah dicetak, silakan ambil."},
     expect(403, admin=302, superuser=302)),
    ("/pengaduan/{new}/aksi/tidak-ada", lambda ids: {}, expect(403, division=403)),
    ("/kelola/pengguna/tambah", lambda ids: {"username": f"baru{ids['n']}", "role": "admin",
                                            "password": "sandi-baru-123", "repeat": "sandi-baru-123"},
     expect(403, superuser=302)),
    ("/kelola/templat", lambda ids: {"name": f"Templat {ids['n']}", "text": "Halo {nama}"},
     expect(403, superuser=302)),
    ("/kelola/pengguna/{admin_id}/sandi", lambda ids: {"password": "sandi-baru-123",
                                                       "repeat": "sandi-baru-123"},
     expect(403, superuser=302)),
    ("/rekap/buat-harian", lambda ids: {"day": "bukan-tanggal"},
     expect(302, division=403, supervisor=403)),
    ("/keluar", lambda ids: {}, expect(302)),
]


@pytest.mark.parametrize("path,data,expected", POST_ROUTES, ids=[p for p, _, _ in POST_ROUTES])
def test_every_action_is_checked_on_the_server_for_each_role(
        path: str, data: Callable[..., dict[str, str]], expected: dict[str, int], rt: Runtime,
        users: dict[str, User], client_for: Callable[[str], FlaskClient]) -> None:
    got = {}
    for n, role in enumerate(expected, start=10):
        ids = {"n": n, "new": make_case(rt, n * 10).id, "admin_id": users["admin"].id}
        if "{escalated}" in path:
            case = make_case(rt, n * 10 + 1)
            workflow.escalate(rt, case, users["admin"], "tolong")
            ids["escalated"] = case.id
        if "{dafduk}" in path:
            ids["dafduk"] = at_division(rt, users, n * 10 + 2).id
        if "{answered}" in path:
            ids["answered"] = division_answered(rt, users, n * 10 + 3).id
        client = client_for(role)
        token_page = "/masuk" if role == "anonymous" else "/sandi"
        got[role] = post_form(client, path.format(**ids), data(ids), token_from=token_page).status_code
    assert got == expected


# --- CSRF, escaping, headers ------------------------------------------------------------------

def test_a_post_without_csrf_token_is_refused(rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    case = make_case(rt, 1)
    client = client_for("admin")
    response = client.post(f"/pengaduan/{case.id}/aksi/note", data={"text": "tanpa token"})
    assert response.status_code == 400
    assert "Formulir sudah kedaluwarsa" in page_text(response)
    assert client.post("/keluar").status_code == 400
    bad = client.post(f"/pengaduan/{case.id}/aksi/note", data={"text": "x", "csrf_token": "palsu"})
    assert bad.status_code == 400
    assert client.get("/").status_code == 200  # still logged in: logout without a token failed
    anonymous = client_for("anonymous")
    assert anonymous.post("/masuk", data={"username": "admin1", "password": PASSWORD}).status_code == 400


def test_platform_text_is_escaped_on_the_list_and_the_case_page(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    case = make_case(rt, 1, text=MALICIOUS, author="<b>jahat</b>")
    client = client_for("admin")
    for url in ("/", f"/pengaduan/{case.id}", "/?q=script"):
        html = page_text(client.get(url))
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<b>jahat</b>" not in html


def test_every_response_carries_the_security_headers(client_for: Callable[[str], FlaskClient]) -> None:
    anonymous = client_for("anonymous")
    for response in (anonymous.get("/masuk"), anonymous.get("/"), client_for("admin").get("/"),
                     anonymous.get("/static/style.css")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask, users: dict[str, User]) -> None:
    client = app.test_client()
    response = login(client, "admin1")
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("aduan_sesi=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_have_no_inline_script_or_style(rt: Runtime, users: dict[str, User],
                                              client_for: Callable[[str], FlaskClient]) -> None:
    case = division_answered(rt, users, 1)
    client = client_for("superuser")
    for url in ("/", f"/pengaduan/{case.id}", "/dasbor", "/rekap", "/kelola/pengguna", "/kelola/templat"):
        html = page_text(client.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "style=" not in html and "<style" not in html and " onclick" not in html, url
        assert "test-secret-key" not in html


# --- login --------------------------------------------------------------------------------------

def test_login_refuses_unknown_and_inactive_users_alike(app: Flask, users: dict[str, User]) -> None:
    User.update(active=False).where(User.id == users["supervisor"].id).execute()
    client = app.test_client()
    unknown = page_text(login(client, "tidak-ada", "keliru-sekali"))
    inactive = page_text(login(client, "pengawas1", "keliru-sekali"))  # wrong password: no hint
    assert "Nama pengguna atau kata sandi salah." in unknown and "Nama pengguna atau kata sandi salah." in inactive


def test_login_goes_back_to_the_page_asked_for_but_never_to_another_site(
        app: Flask, users: dict[str, User]) -> None:
    client = app.test_client()
    token = csrf_token(client, "/masuk")
    response = client.post("/masuk?next=/dasbor", data={"username": "admin1", "password": PASSWORD,
                                                         "csrf_token": token})
    assert response.headers["Location"] == "/dasbor"
    other = app.test_client()
    token = csrf_token(other, "/masuk")
    response = other.post("/masuk?next=//evil.example/x", data={"username": "admin1",
                                                                 "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_changing_the_password_ends_other_sessions(client_for: Callable[[str], FlaskClient]) -> None:
    first, second = client_for("admin"), client_for("admin")
    response = post_form(first, "/sandi", {"current": PASSWORD, "new": "sandi-baru-456",
                                           "repeat": "sandi-baru-456"})
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_a_deactivated_user_is_logged_out_at_once(users: dict[str, User],
                                                  client_for: Callable[[str], FlaskClient]) -> None:
    admin = client_for("admin")
    superuser = client_for("superuser")
    assert post_form(superuser, f"/kelola/pengguna/{users['admin'].id}/aktif",
                     {"active": "0"}).status_code == 302
    assert admin.get("/").status_code == 302


# --- user and template management -------------------------------------------------------------

def test_a_superuser_adds_a_division_user(client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("superuser")
    refused = post_form(client, "/kelola/pengguna/tambah", {
        "username": "capil1", "role": "division", "password": "sandi-capil-1", "repeat": "sandi-capil-1"})
    assert refused.status_code == 400 and "harus punya bidang" in page_text(refused)
    assert post_form(client, "/kelola/pengguna/tambah", {
        "username": "capil1", "role": "division", "division": "capil", "full_name": "Pejabat Capil",
        "password": "sandi-capil-1", "repeat": "sandi-capil-1"}).status_code == 302
    user = User.get(User.username == "capil1")
    assert user.division.code == "capil" and not user.is_superuser


def test_a_template_with_an_unknown_variable_is_refused(client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("superuser")
    refused = post_form(client, "/kelola/templat", {"name": "Salah", "text": "Halo {nama} {alamat}"})
    assert refused.status_code == 400 and "{alamat}" in page_text(refused)
    assert post_form(client, "/kelola/templat", {
        "name": "KTP belum jadi", "text": "Halo {nama}, pengaduan {nomor} kami jawab sebelum {batas_waktu}."
    }).status_code == 302
    template = Template.get(Template.name == "KTP belum jadi")
    assert post_form(client, f"/kelola/templat/{template.id}/aktif", {"active": "0"}).status_code == 302
    assert not Template.get_by_id(template.id).active


# --- the inbox list -----------------------------------------------------------------------------

def test_the_list_pages_by_key_without_offset(rt: Runtime, client_for: Callable[[str], FlaskClient],
                                              caplog: pytest.LogCaptureFixture) -> None:
    for n in range(120):
        make_case(rt, n)
    client = client_for("admin")
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        first = page_text(client.get("/"))
    sqls = [r.msg[0] for r in caplog.records if isinstance(r.msg, tuple)]
    paging = [sql for sql in sqls if 'FROM "case"' in sql and "DESC LIMIT" in sql]
    assert paging and not any("OFFSET" in sql for sql in paging)
    refs = re.findall(r">(ADU-\d{6}-\d{4})</a>", first)
    assert len(refs) == 50 and refs[0] > refs[-1]
    next_url = re.search(r'href="(/\?sebelum=\d+)"', first).group(1)
    second = re.findall(r">(ADU-\d{6}-\d{4})</a>", page_text(client.get(next_url)))
    assert len(second) == 50 and second[0] < refs[-1]
    third_url = re.search(r'href="(/\?sebelum=\d+)"', page_text(client.get(next_url))).group(1)
    third = page_text(client.get(third_url))
    assert len(re.findall(r">(ADU-\d{6}-\d{4})</a>", third)) == 20
    assert "sebelum=" not in third.split("Ke halaman pertama")[-1]


def test_filters_by_category_search_and_visibility(rt: Runtime, users: dict[str, User],
                                                   client_for: Callable[[str], FlaskClient]) -> None:
    ktp = make_case(rt, 1, text="KTP el saya belum jadi", author="siti")
    akta = make_case(rt, 2, text="akta kelahiran anak belum jadi", author="budi", public=False)
    client = client_for("admin")
    code = CaseCategory.select().where(CaseCategory.case == ktp).first().code
    html = page_text(client.get(f"/?category={code}"))
    assert ktp.reference in html
    assert (akta.reference in html) == CaseCategory.select().where(
        (CaseCategory.case == akta) & (CaseCategory.code == code)).exists()
    html = page_text(client.get("/?q=@budi"))
    assert akta.reference in html and ktp.reference not in html
    html = page_text(client.get("/?q=kelahiran"))
    assert akta.reference in html and ktp.reference not in html
    html = page_text(client.get(f"/?q={ktp.reference}"))
    assert ktp.reference in html and akta.reference not in html
    html = page_text(client.get("/?visibility=pribadi"))
    assert akta.reference in html and ktp.reference not in html
    html = page_text(client.get("/?q=100%25"))
    assert "Tidak ada pengaduan" in html


def test_overdue_and_due_today_stand_out_in_words(rt: Runtime,
                                                  client_for: Callable[[str], FlaskClient]) -> None:
    make_case(rt, 1, at=T0)  # due Thursday 26 Nov 2026 16.00 WIB
    # Log in inside the frozen time: a session signed "in the future" is refused.
    with time_machine.travel(T0 + timedelta(days=3, hours=1)):  # Thursday 10.00 WIB
        html = page_text(client_for("admin").get("/?due_today=1"))
        assert "Batas hari ini" in html and 'class="badge today"' in html
    with time_machine.travel(T0 + timedelta(days=4)):
        html = page_text(client_for("admin").get("/?overdue=1"))
        assert "TERLAMBAT" in html and 'class="badge late"' in html


def test_the_new_case_counter_counts_cases_after_the_newest_shown(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    first = make_case(rt, 1)
    client = client_for("admin")
    assert client.get(f"/jumlah-baru.json?setelah={first.id}").get_json() == {"baru": 0}
    make_case(rt, 2)
    make_case(rt, 3)
    assert client.get(f"/jumlah-baru.json?setelah={first.id}").get_json() == {"baru": 2}
    newest = Case.select().order_by(Case.id.desc()).first().id
    assert f'data-newest="{newest}"' in page_text(client.get("/"))


def test_a_division_user_sees_only_its_own_bidang(rt: Runtime, users: dict[str, User],
                                                  client_for: Callable[[str], FlaskClient]) -> None:
    mine = at_division(rt, users, 1, "dafduk")
    other = at_division(rt, users, 2, "capil")
    new = make_case(rt, 3)
    html = page_text(client_for("division").get("/"))
    assert mine.reference in html and other.reference not in html and new.reference not in html
    assert client_for("division").get(f"/pengaduan/{other.id}").status_code == 403


# --- the case page ------------------------------------------------------------------------------

def test_the_case_page_shows_thread_clock_link_and_history(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    earlier = make_case(rt, 1, author="siti")
    case = make_case(rt, 2, author="siti")
    with time_machine.travel(T0 + timedelta(hours=1)):
        html = page_text(client_for("admin").get(f"/pengaduan/{case.id}"))
    assert "Batas waktu: Kamis, 26 November 2026 pukul 16.00 WIB — sisa 3 hari kerja" in html
    assert 'href="https://example.org/post/2" target="_blank" rel="noopener noreferrer"' in html
    assert earlier.reference in html
    assert "Pengaduan masuk" in html
    assert "Senin, 23 November 2026 pukul 09.00 WIB" in html


def test_personal_data_is_shown_with_a_warning_to_handlers_and_masked_for_the_supervisor(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    nik = "3329012345678901"
    case = make_case(rt, 1, text=f"NIK saya {nik} tidak aktif, mohon dicek")
    admin_html = page_text(client_for("admin").get(f"/pengaduan/{case.id}"))
    assert nik in admin_html and "Data pribadi:" in admin_html
    supervisor_html = page_text(client_for("supervisor").get(f"/pengaduan/{case.id}"))
    assert nik not in supervisor_html and "Data pribadi:" in supervisor_html
    assert nik not in page_text(client_for("admin").get("/"))


def test_the_admin_answers_with_a_template(rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    case = make_case(rt, 1)
    template = Template.create(name="Terima kasih", text="Halo {nama}, pengaduan {nomor} sedang kami cek.")
    client = client_for("admin")
    html = page_text(client.get(f"/pengaduan/{case.id}?templat={template.id}"))
    assert f"pengaduan {case.reference} sedang kami cek." in html
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply",
                         {"text": f"Halo, pengaduan {case.reference} sedang kami cek."})
    assert response.status_code == 302
    assert Outbox.select().where((Outbox.case == case) & (Outbox.purpose == "answer")).count() == 1
    assert "Balasan disiapkan" in page_text(client.get(f"/pengaduan/{case.id}"))


def test_a_refused_action_shows_the_reason_and_keeps_the_text(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    case = make_case(rt, 1, public=True)
    draft = "Silakan cek NIK 3329012345678901 di kantor kecamatan"
    response = post_form(client_for("admin"), f"/pengaduan/{case.id}/aksi/reply", {"text": draft})
    assert response.status_code == 422
    html = page_text(response)
    assert draft in html and 'class="flash error"' in html
    assert Outbox.select().where(Outbox.case == case).count() == 0


def test_the_forward_form_is_prefilled_with_the_division_answer(
        rt: Runtime, users: dict[str, User], client_for: Callable[[str], FlaskClient]) -> None:
    case = division_answered(rt, users, 1)
    html = page_text(client_for("admin").get(f"/pengaduan/{case.id}"))
    assert "KTP Bapak sudah dicetak, silakan ambil.</textarea>" in html


def test_an_uncertain_delivery_is_settled_from_the_case_page(
        rt: Runtime, users: dict[str, User], client_for: Callable[[str], FlaskClient]) -> None:
    case = make_case(rt, 1)
    row = workflow.reply(rt, case, users["admin"], "Baik, kami cek.")
    Outbox.update(status="uncertain", last_error="waktu habis setelah permintaan terkirim").where(
        Outbox.id == row.id).execute()
    client = client_for("admin")
    html = page_text(client.get(f"/pengaduan/{case.id}"))
    assert "BELUM PASTI terkirim" in html and "waktu habis setelah permintaan terkirim" in html
    response = post_form(client, f"/pengaduan/{case.id}/aksi/confirm_delivery",
                         {"outbox_id": str(row.id), "delivered": "1"})
    assert response.status_code == 302
    assert Outbox.get_by_id(row.id).status == "sent"


# --- dashboard, recaps, secret key, server ----------------------------------------------------

def test_the_dashboard_shows_a_stopped_channel_on_every_page(
        rt: Runtime, client_for: Callable[[str], FlaskClient]) -> None:
    from inbox.models import Account
    Account.update(disabled_reason="token kedaluwarsa; buat token baru").where(
        Account.name == "sandbox").execute()
    client = client_for("supervisor")
    assert "BERHENTI: token kedaluwarsa" in page_text(client.get("/dasbor"))
    assert "Saluran berhenti:" in page_text(client.get("/"))


def test_a_recap_outside_the_data_directory_is_never_served(
        rt: Runtime, tmp_path: Path, client_for: Callable[[str], FlaskClient]) -> None:
    outside = tmp_path / "rahasia.txt"
    outside.write_text("rahasia", encoding="utf-8")
    recap = Recap.create(kind="daily", period="2026-11-23", fmt="html", path=str(outside))
    sneaky = Recap.create(kind="daily", period="2026-11-24", fmt="html",
                          path=str(rt.data_dir / ".." / "rahasia.txt"))
    client = client_for("admin")
    assert client.get(f"/rekap/{recap.id}/unduh").status_code == 404
    assert client.get(f"/rekap/{sneaky.id}/unduh").status_code == 404


def test_a_secret_key_is_made_once_and_kept_private(rt: Runtime) -> None:
    rt.config.web["secret_key"] = ""
    first = secret_key(rt)
    path = rt.data_dir / "secret_key"
    assert path.read_text().strip() == first and len(first) >= 32
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key(rt) == first


def test_start_in_thread_serves_and_prints_the_address(rt: Runtime) -> None:
    from inbox.cli.serve import start_in_thread

    class Ctx:
        lines: list[str] = []

        def print(self, *parts: object) -> None:
            self.lines.append(" ".join(str(p) for p in parts))

    rt.config.web["port"] = 0
    ctx = Ctx()
    server = start_in_thread(rt, ctx)
    try:
        assert ctx.lines[0] == f"Buka http://127.0.0.1:{server.port} di peramban"
        with urllib.request.urlopen(f"{server.url}/masuk", timeout=10) as response:
            assert response.status == 200 and "Masuk" in response.read().decode()
    finally:
        server.close()
    assert not server.thread.is_alive()


def test_aduan_serve_stops_with_exit_code_0_on_sigterm(config_path: Path, rt: Runtime) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = config_path.read_text(encoding="utf-8")
    text = (text.replace("[web]\n", f"[web]\nport = {port}\n", 1) if "[web]\n" in text
            else text + f"\n[web]\nport = {port}\n")
    config_path.write_text(text, encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, str(root / "main.py"), "--config", str(config_path), "serve"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"Buka http://127.0.0.1:{port} di peramban" in line, proc.stderr.read() if not line else line
        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/masuk", timeout=5) as r:
                    assert r.status == 200
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_reply_window_warning_knows_metas_seven_days() -> None:
    """Past 24 hours a Facebook or Instagram DM can still be answered by a person (HUMAN_AGENT)
    for 7 days; an X DM cannot."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from inbox.web.display import reply_window
    last = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Mon 09:00 WIB

    def case(kind: str) -> Any:
        return SimpleNamespace(public=False, is_open=True, last_inbound_at=last,
                               reply_window_closes_at=last + timedelta(hours=24),
                               account=SimpleNamespace(kind=kind))

    tz = ZoneInfo("Asia/Jakarta")
    two_days = last + timedelta(days=2)
    assert "sampai Senin, 30 November 2026" in reply_window(case("facebook"), two_days, tz).text
    assert "sampai" in reply_window(case("instagram"), two_days, tz).text
    assert "sudah lewat" in reply_window(case("x"), two_days, tz).text
    assert "sudah lewat" in reply_window(case("facebook"), last + timedelta(days=8), tz).text
    assert "balas sebelum" in reply_window(case("facebook"), last + timedelta(hours=3), tz).text
