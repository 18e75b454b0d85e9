"""Each role's own home, tabs, dashboard and header count (issue 16, item 2), through Flask's test
client with CSRF on: the group admin and a bidang land on their queues, a bidang sees no tab or
figure beyond its own cases (checked on the server, not only hidden), and the count in the
header is what waits for the user."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from inbox.db import database
from inbox.models import Account, Case, Division, Recap, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from tests.conftest import PG_URL
from tests.factories import T0
from tests.web_helpers import PASSWORD, csrf_token, login, make_case, make_user, page_text

HOMES = {"admin": "/", "group_admin": "/antrian/group-admin", "division": "/antrian/bidang/dafduk",
         "supervisor": "/", "superuser": "/"}
TAB = re.compile(r'class="tab[^"]*">\s*([^<]+?) <strong>(\d+)</strong></a>')
BADGE = re.compile(r'<a class="waiting[^"]*" href="/\?status=menunggu"[^>]*>Menunggu Anda '
                   r'<strong>(\d+)</strong></a>')
ROW = re.compile(r'<td><a href="/pengaduan/\d+">(ADU-[0-9-]+)</a></td>')
OPEN_CARD = re.compile(r'<span class="big">(\d+)</span> pengaduan belum selesai')


@pytest.fixture
def office(rt: Runtime, users: dict[str, User]) -> dict[str, Case]:
    """Two new cases, one escalated, one at each of two bidang, one answered by dafduk."""
    cases = {name: make_case(rt, n, text=f"KTP saya belum jadi, kasus {name}")
             for n, name in enumerate(("new1", "new2", "escalated", "dafduk", "capil",
                                       "answered"), start=1)}
    for name in ("escalated", "dafduk", "capil", "answered"):
        workflow.escalate(rt, cases[name], users["admin"], "mohon dijawab bidang")
    for name, code in (("dafduk", "dafduk"), ("capil", "capil"), ("answered", "dafduk")):
        workflow.assign_division(rt, Case.get_by_id(cases[name].id), users["group_admin"], code)
    workflow.division_answer(rt, Case.get_by_id(cases["answered"].id), users["division"],
                             "KTP sudah dicetak.")
    return {name: Case.get_by_id(case.id) for name, case in cases.items()}


def listed(html: str) -> set[str]:
    """The case numbers in the list's rows (not those echoed in a search box or a link)."""
    return set(ROW.findall(html))


def tabs(html: str) -> dict[str, int]:
    return {name.strip(): int(n) for name, n in TAB.findall(html)}


def badge(html: str) -> int | None:
    found = BADGE.search(html)
    return int(found.group(1)) if found else None


# --- landing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_lands_on_its_own_page_after_login(role: str, app: Flask,
                                                     users: dict[str, User]) -> None:
    client = app.test_client()
    response = login(client, users[role].username)
    assert response.status_code == 302 and response.headers["Location"] == HOMES[role]
    assert client.get(HOMES[role]).status_code == 200
    # the login page of someone already in, and the brand link, lead there too
    assert client.get("/masuk").headers["Location"] == HOMES[role]
    assert f'<div class="brand"><a href="{HOMES[role]}">' in page_text(client.get("/sandi"))


@pytest.mark.parametrize("role", ["group_admin", "division"])
def test_opening_the_bare_address_then_logging_in_lands_on_the_queue(
        role: str, app: Flask, users: dict[str, User]) -> None:
    client = app.test_client()
    to_login = client.get("/")
    assert to_login.status_code == 302 and to_login.headers["Location"] == "/masuk?next=/"
    token = csrf_token(client, "/masuk?next=/")
    response = client.post("/masuk?next=/", data={"username": users[role].username,
                                                  "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == HOMES[role]


@pytest.mark.parametrize("target,expected", [
    ("/dasbor", "/dasbor"),
    ("/pengaduan/1?x=1", "/pengaduan/1?x=1"),
    ("//evil.example/x", HOMES["group_admin"]),
    ("/\\evil.example/x", HOMES["group_admin"]),
    ("https://evil.example/", HOMES["group_admin"]),
])
def test_a_page_asked_for_wins_over_the_home_but_only_on_this_site(
        target: str, expected: str, app: Flask, users: dict[str, User]) -> None:
    client = app.test_client()
    token = csrf_token(client, "/masuk")
    response = client.post("/masuk", query_string={"next": target},
                           data={"username": "grup1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == expected


def test_a_division_user_without_a_bidang_lands_on_the_empty_inbox(app: Flask,
                                                                   users: dict[str, User]) -> None:
    make_user("tanpabidang", "division")
    client = app.test_client()
    assert login(client, "tanpabidang").headers["Location"] == "/"
    assert "Tidak ada pengaduan" in page_text(client.get("/"))


# --- tabs and filters ---------------------------------------------------------------------------

def test_the_tabs_are_the_roles_own_and_count_its_own_cases(
        office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    # the cases were opened on 23 November 2026, so today every open one is overdue
    assert tabs(page_text(client_for("admin").get("/"))) == {
        "Semua terbuka": 6, "Baru": 2, "Di Group Admin": 1, "Di Bidang Teknis": 2,
        "Dijawab Bidang": 1, "Sedang dikirim": 0, "Terlambat": 6, "Batas hari ini": 0}
    assert tabs(page_text(client_for("group_admin").get("/"))) == {
        "Semua terbuka": 6, "Di Group Admin": 1, "Di Bidang Teknis": 2, "Terlambat": 6,
        "Batas hari ini": 0}
    assert tabs(page_text(client_for("division").get("/"))) == {
        "Semua terbuka": 2, "Di Bidang Teknis": 1, "Dijawab Bidang": 1, "Terlambat": 2,
        "Batas hari ini": 0}
    assert tabs(page_text(client_for("supervisor").get("/"))) == tabs(
        page_text(client_for("admin").get("/")))


def test_a_division_user_is_offered_no_other_bidang_and_asking_for_one_shows_nothing(
        office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    division = client_for("division")
    html = page_text(division.get("/"))
    assert 'name="division"' not in html and "Pencatatan Sipil" not in html
    assert 'name="division"' in page_text(client_for("admin").get("/"))
    capil = Division.get(Division.code == "capil")
    asked = page_text(division.get("/", query_string={"division": capil.id}))
    assert not listed(asked) and "Tidak ada pengaduan" in asked


def test_what_a_division_user_reaches_is_scoped_on_the_server(
        rt: Runtime, office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    division = client_for("division")
    other = office["capil"]
    # the new-case counter counts its bidang's cases only (2 of the office's 6)
    assert division.get("/jumlah-baru.json?setelah=0").get_json() == {"baru": 2}
    assert client_for("admin").get("/jumlah-baru.json?setelah=0").get_json() == {"baru": 6}
    # a search finds another bidang's case neither by number nor by its text
    for q in (other.reference, "kasus capil"):
        assert not listed(page_text(division.get("/", query_string={"q": q})))
        assert listed(page_text(client_for("admin").get("/", query_string={"q": q}))) == {
            other.reference}
    assert division.get(f"/pengaduan/{other.id}").status_code == 403
    assert division.get("/antrian/bidang/capil").status_code == 403
    assert division.get("/antrian/group-admin").status_code == 403
    path = rt.data_dir / "recaps" / "rekap-2026-11-23.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<p>rekap</p>", encoding="utf-8")
    recap = Recap.create(kind="daily", period="2026-11-23", fmt="html", path=str(path))
    assert division.get(f"/rekap/{recap.id}/unduh").status_code == 403
    assert 'href="/rekap"' not in page_text(division.get("/"))  # nothing for it there


# --- dashboard and office health ---------------------------------------------------------------

def test_a_division_users_dashboard_shows_no_office_wide_number_or_channel(
        office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    Account.update(disabled_reason="token kedaluwarsa").where(Account.name == "sandbox").execute()
    admin = page_text(client_for("admin").get("/dasbor"))
    assert OPEN_CARD.search(admin).group(1) == "6"
    assert "Kesehatan saluran" in admin and "Cadangan data:" in admin
    assert "Saluran berhenti:" in admin

    own = page_text(client_for("division").get("/dasbor"))
    assert OPEN_CARD.search(own).group(1) == "2"
    assert "hanya menghitung pengaduan Bidang Pelayanan Pendaftaran Penduduk" in own
    for office_wide in ("Kesehatan saluran", "Sandbox (latihan)", "Cadangan data:",
                        "Saluran berhenti:", "token kedaluwarsa", "Webhook"):
        assert office_wide not in own, office_wide
    waiting = re.findall(r'<th><a href="/\?status=(\w+)">[^<]+</a></th><td>(\d+)</td>', own)
    assert waiting == [("at_division", "1"), ("division_answered", "1")]


def test_a_division_users_figures_of_the_day_count_its_bidangs_cases(
        office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    received = re.compile(r"<th>Diterima</th><td>(\d+)</td><td>(\d+)</td>")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        admin = page_text(client_for("admin").get("/dasbor"))
        own = page_text(client_for("division").get("/dasbor"))
    assert received.search(admin).groups() == ("6", "6")  # today, this month
    assert received.search(own).groups() == ("2", "2")


def test_the_group_admin_sees_the_office_but_not_the_channels(
        office: dict[str, Case], client_for: Callable[[str], FlaskClient]) -> None:
    Account.update(disabled_reason="token kedaluwarsa").where(Account.name == "sandbox").execute()
    client = client_for("group_admin")
    html = page_text(client.get("/dasbor"))
    assert OPEN_CARD.search(html).group(1) == "6"
    assert "Kesehatan saluran" not in html and "Cadangan data:" not in html
    assert "Saluran berhenti:" not in page_text(client.get("/antrian/group-admin"))
    assert "Saluran berhenti:" in page_text(client_for("supervisor").get("/antrian/group-admin"))


# --- the header's count -----------------------------------------------------------------------

def test_the_header_counts_what_waits_for_each_role(
        rt: Runtime, users: dict[str, User], office: dict[str, Case],
        client_for: Callable[[str], FlaskClient]) -> None:
    # admin: two new cases to answer and one bidang answer to forward
    assert badge(page_text(client_for("admin").get("/sandi"))) == 3
    assert badge(page_text(client_for("superuser").get("/sandi"))) == 3
    assert badge(page_text(client_for("group_admin").get("/sandi"))) == 1
    # dafduk's one case at the bidang (capil's is not its own, the answered one is done)
    assert badge(page_text(client_for("division").get("/sandi"))) == 1
    assert badge(page_text(client_for("supervisor").get("/sandi"))) is None
    assert 'class="waiting' not in page_text(client_for("supervisor").get("/"))

    workflow.escalate(rt, office["new1"], users["admin"], "mohon bantuan")
    assert badge(page_text(client_for("admin").get("/sandi"))) == 2
    assert badge(page_text(client_for("group_admin").get("/sandi"))) == 2


@pytest.mark.parametrize("role,expected", [
    ("admin", ("new1", "new2", "answered")), ("group_admin", ("escalated",)),
    ("division", ("dafduk",)), ("supervisor", ()),
])
def test_the_list_behind_the_count_holds_exactly_those_cases(
        role: str, expected: tuple[str, ...], office: dict[str, Case],
        client_for: Callable[[str], FlaskClient]) -> None:
    html = page_text(client_for(role).get("/?status=menunggu"))
    shown = {name for name, case in office.items() if case.reference in listed(html)}
    assert shown == set(expected)
    assert "Menunggu tindakan Anda" in html
    if expected:
        assert badge(html) == len(expected)
        assert '<option value="menunggu" selected>Menunggu tindakan Anda</option>' in html


def test_a_superuser_of_a_bidang_is_counted_its_own_bidangs_cases(
        rt: Runtime, office: dict[str, Case]) -> None:
    capil = Division.get(Division.code == "capil")
    boss = make_user("kepalacapil", "division", capil, is_superuser=True)
    assert [c.id for c in workflow.waiting_cases(boss)] == [office["capil"].id]
    User.update(active=False).where(User.id == boss.id).execute()
    assert workflow.waiting_cases(User.get_by_id(boss.id)).count() == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's plan (PostgreSQL's planner rightly scans "
                                            "a table of a few rows)")
def test_the_count_reads_an_index_not_every_case(rt: Runtime, users: dict[str, User]) -> None:
    for role in ("admin", "group_admin", "division"):
        sql, params = workflow.waiting_cases(users[role]).select(Case.id).sql()
        plan = " | ".join(str(row[-1]) for row in database.execute_sql(
            f"EXPLAIN QUERY PLAN {sql}", params))
        # the statuses' index (few open cases), never the bidang's (a year of its cases)
        assert re.fullmatch(r"SEARCH \S+ USING (COVERING )?INDEX case_status_\w+ \(status=\?\)",
                            plan), (role, plan)
