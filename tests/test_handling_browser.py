"""Issue 30 through the real server in headless Chromium, with frozen time on the holiday
calendar: a *berkadar pengawasan* case is answered within 3 working days with the interim text,
shows its 60-working-day resolution clock, is overdue on day 61 and is closed with its
follow-up; a *bukan wewenang* case is closed with its agency. Each role sees only its buttons.

Screenshots (1366×768) are saved under the test's tmp_path for a person to look at.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inbox.models import Case, Outbox
from inbox.setup.runtime import Runtime
from inbox.sop.outbox import deliver_one
# the markers (skipped without Chromium unless CI requires it) and the server and browser fixtures
from tests.test_web_e2e import Officer, browser, pytestmark, server  # noqa: F401
from tests.web_helpers import make_case, make_users
from tests.workflow_helpers import FakeConnector, use_connector

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def deliver(rt: Runtime) -> None:
    while deliver_one(rt, "browser-test"):
        pass


def test_a_supervised_case_and_a_referral_in_the_browser(rt: Runtime, server: Any, browser: Any,
                                                         tmp_path: Path) -> None:
    make_users()
    use_connector(rt, FakeConnector())
    shots = tmp_path / "screenshots"
    shots.mkdir()
    csp: list[str] = []
    received = wib(2026, 11, 23, 9)   # Monday 23 November 2026
    supervised = make_case(rt, 1, at=received,
                           text="Petugas kecamatan minta uang 100rb biar rekam KTP cepat")
    referral = make_case(rt, 2, at=received, text="Kartu BPJS saya tidak aktif padahal rutin bayar")

    def officer(username: str, lands_on: str = "/") -> Officer:
        person = Officer(browser, server.url, shots, csp)
        person.login(username, lands_on)
        return person

    with time_machine.travel(wib(2026, 11, 23, 10), tick=True):
        # The group admin puts the case in the class for internal supervision.
        group = officer("grup1", "/antrian/group-admin")
        group.open_case(supervised)
        assert group.page.is_visible("#form-class") and not group.page.is_visible("#form-lapor")
        assert not group.page.is_visible("#aksi-refer")
        group.page.select_option("#complaint-class", "berkadar_pengawasan")
        group.page.fill("#class-note", "Dugaan pungli petugas: diteruskan ke Inspektorat")
        group.page.click("#form-class button")
        assert group.flash() == "Kelas pengaduan disimpan."
        clock = group.page.inner_text("#resolution-clock")
        assert "batas tindak lanjut Senin, 22 Februari 2027 pukul 16.00" in clock
        assert "sisa 60 hari kerja" in clock
        # the classifier's suggestion is pre-selected; the group admin confirms it
        assert group.page.input_value("#maladministration") == "permintaan_imbalan"
        assert "usulan sistem" in group.page.inner_text("#penanganan")
        group.page.click("#form-maladministration button")
        assert group.flash() == "Jenis maladministrasi disimpan."
        group.shot("01-kelas-ditetapkan", full_page=True)
        group.close()

        # The admin answers within the SOP's 3 days with the interim text, links LAPOR!.
        admin = officer("admin1")
        admin.open_case(supervised)
        assert not admin.page.is_visible("#form-class")
        draft = admin.page.input_value("#reply-text")
        assert "sedang ditindaklanjuti" in draft and "paling lambat Senin, 22 Februari 2027" in draft
        admin.page.click("#aksi-reply button.primary")
        deliver(rt)
        admin.page.fill("#tracking-id", "https://www.lapor.go.id/pengaduan/1916449")
        admin.page.select_option("#report-type", "pengaduan")
        admin.page.click("#form-lapor button")
        assert admin.flash() == "Data SP4N-LAPOR! disimpan."
        assert admin.page.get_attribute("#lapor-link", "href") == \
            "https://www.lapor.go.id/pengaduan/1916449"
        assert "tepat waktu" in admin.page.inner_text("#sla-clock")
        assert "sisa 60 hari kerja" in admin.page.inner_text("#resolution-clock")
        admin.shot("02-dijawab-sementara", full_page=True)

        # The second case is another agency's matter.
        admin.open_case(referral)
        admin.page.select_option("#refer-agency", "bpjs_kesehatan")
        admin.page.check("#aksi-refer input[name=forwarded]")
        admin.page.click("#aksi-refer button")
        assert admin.flash().startswith("Ditutup sebagai bukan wewenang")
        deliver(rt)
        admin.open_case(referral)
        assert "BPJS Kesehatan" in admin.page.inner_text("#outcome")
        assert admin.page.inner_text("#sla-clock").startswith("Bukan wewenang")
        admin.shot("03-bukan-wewenang", full_page=True)
        admin.close()

        # The supervisor reads both clocks and changes nothing.
        supervisor = officer("pengawas1")
        supervisor.open_case(supervised)
        assert supervisor.page.is_visible("#resolution-clock")
        for form in ("#form-class", "#form-maladministration", "#form-lapor", "#form-follow-up",
                     "#aksi-refer"):
            assert not supervisor.page.is_visible(form), form
        supervisor.close()

    sent = Outbox.get(Outbox.case == referral.id)
    assert "BPJS Kesehatan" in sent.text and sent.status == "sent"
    assert Case.get_by_id(supervised.id).answered_at <= Case.get_by_id(supervised.id).due_at

    with time_machine.travel(wib(2027, 2, 22, 10), tick=True):   # day 60: due today
        admin = officer("admin1")
        admin.open_case(supervised)
        assert "HARI INI" in admin.page.inner_text("#resolution-clock")
        admin.close()

    with time_machine.travel(wib(2027, 2, 23, 9), tick=True):    # day 61: late
        admin = officer("admin1")
        admin.page.goto(f"{server.url}/?overdue=1")
        assert supervised.reference in admin.page.inner_text("table.cases")
        assert "TINDAK LANJUT TERLAMBAT" in admin.page.inner_text("table.cases")
        admin.page.goto(f"{server.url}/dasbor")
        assert admin.page.inner_text("#card-resolution").split()[0] == "1"
        admin.open_case(supervised)
        assert "TINDAK LANJUT TERLAMBAT" in admin.page.inner_text("#resolution-clock")
        admin.shot("04-hari-ke-61", full_page=True)

        admin.page.fill("#follow-up-text", "Inspektorat memeriksa petugas; uang dikembalikan.")
        admin.page.click("#form-follow-up button")
        assert admin.flash() == "Tindak lanjut dicatat."
        deliver(rt)
        admin.open_case(supervised)
        assert "TERLAMBAT dari batas tindak lanjut" in admin.page.inner_text("#resolution-clock")
        assert "Kabar tindak lanjut: Terkirim" in admin.page.inner_text("ul.outbox")
        # the built-in news carries what was done
        assert "Inspektorat memeriksa petugas; uang dikembalikan." in \
            Outbox.get(Outbox.purpose == "follow_up").text
        assert "Tindak lanjut dicatat" in admin.page.inner_text("ol.history")
        admin.shot("05-tindak-lanjut", full_page=True)
        admin.close()
    assert Case.get_by_id(supervised.id).outcome == "resolved"
    assert csp == []
