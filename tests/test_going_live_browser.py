"""Going live in the browser (issue 28, "Done when"): a fresh install with the sandbox and the
office's Telegram bot goes live through the superuser's page, the checklist shows every step
done, and the next day's recap and the month's report count no practice data — not even a
practice message a poll in flight stored after going live."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import time_machine

from inbox.models import Division
from inbox.records.practice import PRACTICE_MARK
from inbox.run.daemon import Daemon
from inbox.run.health import beat
from inbox.setup.runtime import Runtime
from recap.make import make_daily_recap, make_monthly_report
from tests.test_going_live import office, pdf_pages, poll_telegram, real_case, wib  # noqa: F401
from tests.test_web_e2e import Officer, browser, pytestmark  # noqa: F401 (fixtures)
from tests.web_helpers import make_case, make_user, make_users


def test_a_fresh_install_goes_live_and_its_recaps_count_no_practice(
        office: Runtime, browser: Any, tmp_path: Path) -> None:
    from inbox.cli.serve import WebServer
    from inbox.records.schedule import run_backup
    with time_machine.travel(wib(12, 1, 9), tick=True):  # Tuesday 1 December 2026
        users = make_users()
        assert Daemon(office).poll_account("sandbox").report.new_cases > 0
        poll_telegram(office)
        real_case(office, 1, "KTP-el saya belum jadi sejak Oktober", wib(12, 1, 8, 30))
        server = WebServer(office, host="127.0.0.1", port=0).start()
        try:
            su = Officer(browser, server.url, tmp_path, [])
            su.login(users["superuser"].username)
            su.page.goto(f"{server.url}/dasbor")
            assert "Mode latihan:" in su.page.inner_text(".mode-latihan")
            su.page.click("text=Mulai memakai aduan")
            su.page.wait_for_url(f"{server.url}/kelola/mulai")
            su.shot("01-daftar-persiapan")
            su.page.check("input[name=understood]")
            su.page.click("button:has-text('Mulai memakai aduan')")
            su.page.wait_for_url(f"{server.url}/kelola/mulai")
            assert "aduan mulai dipakai. Dihapus:" in su.flash()
            assert "pengaduan latihan" in su.flash()

            for division in Division.select().where(Division.code != "dafduk"):
                make_user(f"pejabat-{division.code}", "division", division)
            run_backup(office.config, None)
            beat("pc-kantor:4242:abc123", 10, service="systemd")
            su.page.goto(f"{server.url}/kelola/mulai")
            su.shot("02-semua-selesai", full_page=True)
            steps = su.page.locator("ol.checklist li.step")
            assert steps.count() == 6
            assert su.page.locator("ol.checklist li.step.done").count() == 6, \
                su.page.inner_text("ol.checklist")
            su.page.goto(f"{server.url}/dasbor")
            assert su.page.locator(".mode-latihan").count() == 0
            su.close()
        finally:
            server.close()
    # the next day: a real complaint, and a practice message a poll in flight still stored
    real_case(office, 2, "Akta kelahiran anak saya kapan jadi?", wib(12, 2, 9))
    make_case(office, 99, "Antrean di Losari panjang (latihan)", at=wib(12, 2, 9, 30))
    with time_machine.travel(wib(12, 2, 17), tick=False):
        daily = make_daily_recap(office, date(2026, 12, 2))
        monthly = make_monthly_report(office, 2026, 12)
    day = " ".join(pdf_pages(daily[0]))
    month = " ".join(pdf_pages(monthly[0]))
    for text in (day, month):
        assert "Sandbox" not in text and "Losari" not in text and PRACTICE_MARK not in text
        assert "Telegram @dukcapilbrebes_bot" in text
    assert "Pengaduan masuk 1" in day
    assert "Pengaduan masuk 2 0" in month  # December: the two real complaints only
