"""Issue 16's "done when" in headless Chromium: the group admin sets up e-mail notifications on
its own page, the admin escalates a case, and exactly one e-mail reaches the group admin; the
group admin assigns the bidang and the bidang's user is told."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from inbox.models import NotificationPreference
from tests.mailservers import PASSWORD as SMTP_PASSWORD
from tests.notify_helpers import SEND_URL, World, address, make_world, sink_cert  # noqa: F401
from tests.test_web_e2e import Officer, browser, pytestmark  # noqa: F401
from tests.workflow_helpers import open_case


@pytest.fixture
def live(tmp_path: Path, sink_cert, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, Any]]:
    from inbox.cli.serve import WebServer
    monkeypatch.setenv("ADUAN_TEST_NOTIFY_PASSWORD", SMTP_PASSWORD)
    # Real time in a browser test: quiet hours off so the hour the suite runs at does not matter.
    world = make_world(tmp_path, *sink_cert, extra="quiet_hours = false")
    NotificationPreference.delete().where(
        NotificationPreference.user == world.users["group_admin"].id).execute()
    NotificationPreference.update(channels=["email"]).execute()
    web = WebServer(world.rt, host="127.0.0.1", port=0).start()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, SEND_URL, callback=world.telegram_reply)
        yield world, web
    web.close()
    world.rt.close()


def test_an_escalation_in_the_browser_mails_the_group_admin_once(live, browser, tmp_path) -> None:
    world, web = live
    u = world.users
    shots = tmp_path / "screenshots"
    shots.mkdir()
    csp: list[str] = []
    case = open_case(world.rt, 1, text="Blangko KTP di kecamatan habis, kapan ada lagi?")

    group = Officer(browser, web.url, shots, csp)
    group.login(u["group_admin"].username, lands_on="/antrian/group-admin")  # its own queue
    group.page.click("text=Notifikasi")
    group.page.fill("#email", address(u["group_admin"]))
    group.page.check("input[name=channels][value=email]")
    group.shot("notifikasi-saya")
    group.page.click("button:has-text('Simpan')")
    assert "Pengaturan notifikasi disimpan" in group.flash()

    admin = Officer(browser, web.url, shots, csp)
    admin.login(u["admin"].username)
    admin.open_case(case)
    admin.page.fill("#escalate-text", "Mohon jawaban soal blangko.")
    admin.page.click("button:has-text('Teruskan ke Group Admin')")
    assert "diteruskan ke Group Admin" in admin.flash()
    world.deliver_all()
    [mail] = world.mails()
    assert mail["To"] == address(u["group_admin"]) and case.reference in mail["Subject"]

    world.sink.received.clear()
    group.open_case(case)
    group.page.select_option("#assign-division", value="dafduk")
    group.page.click("button:has-text('Serahkan ke bidang')")
    world.deliver_all()
    assert [m["To"] for m in world.mails()] == [address(u["division"])]
    assert csp == []
    group.close()
    admin.close()
