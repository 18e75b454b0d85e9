"""Everyone is told what waits for them (issue 28, item 8): the admins' hourly summary of new
cases under quiet hours, reminders that name the real deadline ("Senin, 7 Desember", not
"besok" on a Friday), summaries whose lines carry each case's status and deadline, and what
quiet hours held released once they are switched off. E-mail goes to a real SMTP sink."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from inbox.models import Case, Notification, NotificationPreference
from inbox.notify.sending import queue_new_cases, queue_reminders, release_held
from inbox.sop import workflow
from tests.notify_helpers import World, address, at, make_world, sink_cert, world  # noqa: F401
from tests.workflow_helpers import fresh, open_case

WIB = timezone(timedelta(hours=7))


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


def test_the_admin_gets_one_summary_of_new_cases_an_hour_with_deadlines(world: World) -> None:
    admin = world.users["admin"]
    NotificationPreference.update(updated_at=wib(12, 1, 7)).execute()
    with at(wib(12, 1, 8)):  # Tuesday
        first = open_case(world.rt, 1, at=wib(12, 1, 8))
        second = open_case(world.rt, 2, text="Akta kelahiran anak saya kapan jadi?",
                           at=wib(12, 1, 8))
    with at(wib(12, 1, 9)):
        assert queue_new_cases(world.rt) == 2  # e-mail and Telegram of the one admin
        assert queue_new_cases(world.rt) == 0  # not again within the hour
        world.deliver_all()
    mails = world.mails(address(admin))
    assert [m["Subject"] for m in mails] == ["[aduan] 2 pengaduan baru"]
    body = mails[0].get_content()
    assert f"- {first.reference} (Baru; batas Jumat, 4 Desember 16.00 WIB)" in body
    assert f"- {second.reference} (Baru; batas" in body
    assert {m["To"] for m in world.mails()} == {address(admin)}  # admins only
    world.sink.received.clear()
    with at(wib(12, 1, 9, 30)):
        third = open_case(world.rt, 3, at=wib(12, 1, 9, 30))
        assert queue_new_cases(world.rt) == 0  # within the hour
    with at(wib(12, 1, 10, 1)):
        assert queue_new_cases(world.rt) == 2
        world.deliver_all()
    body = world.mails(address(admin))[0].get_content()
    assert third.reference in body and first.reference not in body


def test_the_new_cases_summary_waits_for_office_hours_and_covers_the_night(world: World) -> None:
    NotificationPreference.update(updated_at=wib(12, 1, 7)).execute()
    with at(wib(12, 1, 15)):
        assert queue_new_cases(world.rt) == 0  # nothing new yet
    with at(wib(12, 1, 21)):
        night = open_case(world.rt, 1, at=wib(12, 1, 21))
        assert queue_new_cases(world.rt) == 0  # quiet hours
    with at(wib(12, 2, 7, 31)):
        assert queue_new_cases(world.rt) == 2
        world.deliver_all()
    assert night.reference in world.mails(address(world.users["admin"]))[0].get_content()


def test_an_admin_who_switched_new_cases_off_gets_none(world: World) -> None:
    NotificationPreference.update(events_off=["new_cases"]).execute()
    with at(wib(12, 1, 8)):
        open_case(world.rt, 1, at=wib(12, 1, 8))
    with at(wib(12, 1, 9)):
        assert queue_new_cases(world.rt) == 0


def test_a_fridays_reminder_names_monday_not_besok(world: World) -> None:
    u = world.users
    with at(wib(12, 2, 9)):  # Wednesday 2 December: due Monday 7 December 16.00
        case = open_case(world.rt, 1, at=wib(12, 2, 9))
    assert fresh(case).due_at == wib(12, 7, 16)
    with at(wib(12, 4, 8)):  # Friday: the next working day is Monday
        queue_reminders(world.rt)
        world.deliver_all()
    mail = world.mails(address(u["admin"]))[0]
    assert mail["Subject"] == f"[{case.reference}] Batas waktu pengaduan Senin, 7 Desember"
    body = mail.get_content()
    assert "paling lambat Senin, 7 Desember 2026 pukul 16.00 WIB." in body
    assert "besok" not in body and "besok" not in mail["Subject"]


def test_a_summary_line_carries_the_cases_status_and_deadline(world: World) -> None:
    u = world.users
    with at(wib(12, 1, 9)):
        cases = [open_case(world.rt, n, at=wib(12, 1, 9)) for n in range(1, 8)]
        for case in cases:
            workflow.escalate(world.rt, fresh(case), u["admin"], "mohon bantuan")
        world.deliver_all()  # 7 escalations for the one group admin: one summary
    mails = world.mails(address(u["group_admin"]))
    assert [m["Subject"] for m in mails] == ["[aduan] Ringkasan 7 notifikasi"]
    body = mails[0].get_content()
    for case in cases:
        assert (f"- [{case.reference}] Pengaduan diteruskan ke Group Admin (Diteruskan ke Group "
                f"Admin; batas Jumat, 4 Desember 16.00 WIB)") in body


def test_switching_quiet_hours_off_releases_what_they_held(
        tmp_path: Path, sink_cert, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.mailservers import PASSWORD
    monkeypatch.setenv("ADUAN_TEST_NOTIFY_PASSWORD", PASSWORD)
    (tmp_path / "quiet").mkdir()
    (tmp_path / "loud").mkdir()
    quiet = make_world(tmp_path / "quiet", *sink_cert)
    with at(wib(12, 1, 20)):  # evening: held until 07:30 tomorrow
        case = open_case(quiet.rt, 1, at=wib(12, 1, 20))
        workflow.escalate(quiet.rt, fresh(case), quiet.users["admin"], "mohon bantuan")
    held = [(n.key, n.next_attempt_at) for n in Notification.select()]
    assert held and all(when == wib(12, 2, 7, 30) for _, when in held)
    assert release_held(quiet.rt.config, wib(12, 1, 20, 5)) == 0  # quiet hours still on
    quiet.rt.close()
    # the office switches quiet hours off and restarts aduan (a new runtime on a new database
    # here, so the held rows are made again as the first runtime left them)
    loud = make_world(tmp_path / "loud", *sink_cert, extra="quiet_hours = false")
    now = wib(12, 1, 20, 5)
    for key, when in held:
        Notification.create(key=key, event="escalated", channel="email",
                            destination="grup1@dukcapil.test", subject="s", text="t",
                            next_attempt_at=when)
    retry = Notification.create(key="retry", event="escalated", channel="email",
                                destination="x@dukcapil.test", subject="s", text="t",
                                attempts=2, next_attempt_at=now + timedelta(minutes=10))
    assert release_held(loud.rt.config, now) == len(held)
    assert all(n.next_attempt_at == now for n in Notification.select().where(Notification.key != "retry"))
    assert Notification.get_by_id(retry.id).next_attempt_at == now + timedelta(minutes=10)
    loud.rt.close()


def test_thanks_and_greetings_get_no_deadline_reminder(world: World) -> None:
    with at(wib(12, 1, 9)):
        thanks = open_case(world.rt, 1, text="terima kasih min", at=wib(12, 1, 9))
        Case.update(intent="thanks", status="new").where(Case.id == thanks.id).execute()
        complaint = open_case(world.rt, 2, at=wib(12, 1, 9))
    with at(wib(12, 4, 8)):  # both due today (Friday 4 December)
        queue_reminders(world.rt)
    reminded = {n.case_id for n in Notification.select().where(Notification.event == "due_today")}
    assert reminded == {complaint.id}
