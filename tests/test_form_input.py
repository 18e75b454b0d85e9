"""What a posted form may carry (issue 26, item 15): a line break in the login's ``?next=``, a
category or intent no one offered, and a password that only walks along the keyboard."""
from __future__ import annotations

import pytest

from inbox.models import Case, CaseCategory, Event, WebSession
from inbox.passwords import password_problem
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.web_helpers import CSRF, PASSWORD, login, make_case, make_users, page_text, post_form


@pytest.mark.parametrize("target", ["/?status=baru\r\nSet-Cookie: aduan=1", "/kelola\nLocation: //x.test",
                                    "/kasus\x7f"])
def test_a_line_break_in_next_logs_in_to_the_start_page_with_one_live_session(
        rt: Runtime, target: str) -> None:
    make_users()
    client = create_app(rt, testing=True).test_client()
    token = CSRF.search(page_text(client.get("/masuk"))).group(1)
    response = client.post("/masuk", query_string={"next": target},
                           data={"username": "admin1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not any(name.lower() == "set-cookie" and value.startswith("aduan=")
                   for name, value in response.headers.items())
    assert WebSession.select().count() == 1  # the session this browser holds, no orphan
    assert client.get("/").status_code == 200  # and it is logged in


@pytest.mark.parametrize("form, reason", [
    ({"categories": ["ktp_el", "<b>bukan_kategori</b>"]}, "Kategori tidak dikenal"),
    ({"categories": ["ktp_el"], "intent": "bukan_jenis"}, "Jenis pesan tidak dikenal"),
])
def test_the_categorise_form_accepts_only_the_known_categories_and_intents(
        rt: Runtime, form: dict, reason: str) -> None:
    make_users()
    case = make_case(rt, 1)
    before = (case.categories_override, case.intent_override)
    rows_before = sorted(c.code for c in CaseCategory.select().where(CaseCategory.case == case.id))
    client = create_app(rt, testing=True).test_client()
    login(client, "admin1")
    response = post_form(client, f"/pengaduan/{case.id}/aksi/categorise", form)
    assert response.status_code == 422 and reason in page_text(response)
    assert "<b>bukan_kategori</b>" not in page_text(response)  # escaped if shown at all
    fresh = Case.get_by_id(case.id)
    assert (fresh.categories_override, fresh.intent_override) == before  # nothing written
    assert not Event.select().where(Event.action == "categories_changed").exists()
    assert sorted(c.code for c in CaseCategory.select().where(CaseCategory.case == case.id)) \
        == rows_before
    good = post_form(client, f"/pengaduan/{case.id}/aksi/categorise",
                     {"categories": ["kartu_keluarga"], "intent": "question"})
    assert good.status_code == 302
    assert Case.get_by_id(case.id).categories_override == ["kartu_keluarga"]


@pytest.mark.parametrize("password", ["qwertyui", "poiuytre", "asdfghjk", "zxcvbnm1", "asdf1234",
                                      "1qaz2wsx3edc", "q1w2e3r4t5", "Qwerty123!", "rstuvwxyz"])
def test_a_walk_along_the_keyboard_or_the_alphabet_is_refused(password: str) -> None:
    assert "terlalu umum" in (password_problem(password) or "")


@pytest.mark.parametrize("password", ["kopi-tubruk-2026", "Brebes#Kita7", "tegalarum88",
                                      "mawar-melati-9", "x7#Kp2qM", "sinarbulan7"])
def test_ordinary_passwords_are_still_accepted(password: str) -> None:
    assert password_problem(password) is None
