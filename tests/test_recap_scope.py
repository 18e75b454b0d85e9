"""A division user sees its own bidang's figures only, on the recaps page and the dashboard
(issue 20, item 5). Over HTTP with real session cookies."""
from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from inbox.models import Case, Recap
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from tests.factories import T0
from tests.web_helpers import login, make_case, make_users, page_text, post_form

OPEN = re.compile(r'<span class="big">(\d+)</span> pengaduan belum selesai')


def test_a_division_user_gets_no_office_wide_recap_and_its_own_dashboard(rt: Runtime) -> None:
    users = make_users()
    with time_machine.travel(T0, tick=False):
        for n in range(1, 4):
            make_case(rt, n, text=f"KTP saya belum jadi, kasus {n}")
        theirs = make_case(rt, 4, text="Akta kelahiran anak belum jadi")
        workflow.escalate(rt, theirs, users["admin"], "mohon dijawab bidang")
        workflow.assign_division(rt, Case.get_by_id(theirs.id), users["group_admin"], "dafduk")
        other = make_case(rt, 5, text="Akta kematian belum terbit")
        workflow.escalate(rt, other, users["admin"], "mohon dijawab bidang")
        workflow.assign_division(rt, Case.get_by_id(other.id), users["group_admin"], "capil")
    app = create_app(rt, testing=True)
    admin, division = app.test_client(), app.test_client()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert login(admin, "admin1").status_code == 302
        assert login(division, "dafduk1").status_code == 302
        assert post_form(admin, "/rekap/buat-harian", {"day": "2026-11-23"}).status_code == 302
        recaps = list(Recap.select())
        assert recaps
        for recap in recaps:
            assert admin.get(f"/rekap/{recap.id}/unduh").status_code == 200
            assert division.get(f"/rekap/{recap.id}/unduh").status_code == 403
        listing = page_text(division.get("/rekap"))
        assert "/unduh" not in listing and "hanya dibuka oleh Admin" in listing
        assert "/unduh" in page_text(admin.get("/rekap"))

        assert OPEN.search(page_text(admin.get("/dasbor"))).group(1) == "5"
        own = page_text(division.get("/dasbor"))
        assert OPEN.search(own).group(1) == "1"
        assert "hanya menghitung pengaduan Bidang Pelayanan Pendaftaran Penduduk" in own
