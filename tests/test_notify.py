"""Notifications end to end: each event reaches its recipients by e-mail (a real SMTP sink) and
Telegram (the Bot API at the ``requests`` layer), once, with the case number, status, deadline
and link and nothing of the citizen's words."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import ConnectorError, PollResult
from connectors.items import SetAsideItem
from inbox.models import BackupRun, Case, Notification, User
from inbox.notify.sending import queue_reminders
from inbox.run.daemon import Daemon
from inbox.sop import workflow
from recap.make import make_daily_recap
from tests.factories import T0, ScriptedConnector
from tests.notify_helpers import BASE, TEAM, World, address, at, sink_cert, world  # noqa: F401
from tests.workflow_helpers import fresh, open_case, use_connector

CITIZEN_TEXT = "KTP saya sudah 3 minggu belum jadi, tolong dibantu"


def recipients(w: World) -> set[str]:
    return {m["To"] for m in w.mails()}


def emails_of(*users: User) -> set[str]:
    return {address(u) for u in users}


def body(mail) -> str:
    return mail.get_content()


def test_an_escalation_tells_each_group_admin_once_by_mail_and_telegram(world: World) -> None:
    u = world.users
    with at(T0):
        case = open_case(world.rt, 1, text=CITIZEN_TEXT)
        workflow.escalate(world.rt, case, u["admin"], "mohon bantuan, saya tidak tahu jawabannya")
        done = world.deliver_all()
        assert world.deliver_all() == []
    assert [d.outcome for d in done] == ["sent", "sent"]
    assert recipients(world) == emails_of(u["group_admin"])
    [mail] = world.mails()
    text = body(mail)
    assert mail["Subject"] == f"[{case.reference}] Pengaduan diteruskan ke Group Admin"
    assert f"Nomor pengaduan: {case.reference}" in text
    assert "Status: Diteruskan ke Group Admin" in text
    assert "Batas waktu: Kamis, 26 November 2026 pukul 16.00 WIB" in text
    assert f"Buka: {BASE}/pengaduan/{case.id}" in text
    assert "KTP saya" not in text and "mohon bantuan" not in text
    [chat] = world.chats()
    assert chat["chat_id"] == str(500000 + u["group_admin"].id)
    assert case.reference in chat["text"] and "KTP saya" not in chat["text"]
    assert {n.status for n in Notification.select()} == {"sent"}


def test_assigning_tells_that_bidangs_users_and_its_answer_tells_the_admins(world: World) -> None:
    u = world.users
    with at(T0):
        case = open_case(world.rt, 2)
        workflow.escalate(world.rt, case, u["admin"], "mohon bantuan")
        world.deliver_all()
        world.sink.received.clear()
        workflow.assign_division(world.rt, fresh(case), u["group_admin"], "dafduk")
        world.deliver_all()
        assert recipients(world) == emails_of(u["division"])  # not capil's user
        assert "Bidang: Bidang Pelayanan Pendaftaran Penduduk" in body(world.mails()[0])
        world.sink.received.clear()
        # a NIK in a public case's answer is saved only when the official confirms (issue 28)
        workflow.division_answer(world.rt, fresh(case), u["division"],
                                 "KTP sudah dicetak, NIK 3329014507890001", confirm_personal_data=True)
        world.deliver_all()
    assert recipients(world) == emails_of(u["admin"])
    assert "3329014507890001" not in body(world.mails()[0])
    assert "Status: Dijawab Bidang" in body(world.mails()[0])


def test_a_user_gets_only_the_channels_and_events_chosen(world: World) -> None:
    u = world.users
    from inbox.models import NotificationPreference
    NotificationPreference.update(channels=["telegram"]).where(
        NotificationPreference.user == u["group_admin"].id).execute()
    with at(T0):
        case = open_case(world.rt, 3)
        workflow.escalate(world.rt, case, u["admin"], "mohon bantuan")
        NotificationPreference.update(events_off=["assigned"]).where(
            NotificationPreference.user == u["division"].id).execute()
        workflow.assign_division(world.rt, fresh(case), u["group_admin"], "dafduk")
        world.deliver_all()
    assert world.mails() == [] and len(world.chats(u["group_admin"])) == 1
    assert world.chats(u["division"]) == []


def test_due_reminders_go_to_whoever_holds_the_case_once_a_day(world: World) -> None:
    u = world.users
    with at(T0):
        waiting = open_case(world.rt, 4)  # due Thursday 26 Nov 16:00 WIB, with the admins
        at_division = open_case(world.rt, 5)
        workflow.escalate(world.rt, at_division, u["admin"], "mohon bantuan")
        workflow.assign_division(world.rt, fresh(at_division), u["group_admin"], "dafduk")
        world.deliver_all()
    world.sink.received.clear()
    wednesday = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
    with at(wednesday):
        queue_reminders(world.rt)
        queue_reminders(world.rt)  # a second scan the same day adds nothing
        world.deliver_all()
    tomorrow = {(m["To"], m["Subject"]) for m in world.mails()}
    assert tomorrow == {(address(u["admin"]), f"[{waiting.reference}] Batas waktu pengaduan besok"),
                        (address(u["division"]),
                         f"[{at_division.reference}] Batas waktu pengaduan besok")}
    world.sink.received.clear()
    with at(wednesday + timedelta(days=1)):
        queue_reminders(world.rt)
        world.deliver_all()
    assert {m["Subject"].split("] ")[1] for m in world.mails()} == {"Batas waktu pengaduan hari ini"}
    world.sink.received.clear()
    with at(datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)):  # Friday: both overdue
        queue_reminders(world.rt)
        world.deliver_all()
    overdue = {(m["To"], m["Subject"].split(" ")[0]) for m in world.mails()}
    assert overdue == {(address(u["admin"]), f"[{waiting.reference}]"),
                       (address(u["group_admin"]), f"[{waiting.reference}]"),
                       (address(u["division"]), f"[{at_division.reference}]"),
                       (address(u["group_admin"]), f"[{at_division.reference}]")}
    assert all("melewati batas waktu" in m["Subject"] for m in world.mails())


def test_no_reminders_are_queued_on_a_weekend(world: World) -> None:
    with at(T0):
        open_case(world.rt, 6)
    with at(datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)):  # Saturday
        assert queue_reminders(world.rt) == 0
    assert Notification.select().count() == 0


def test_a_stopped_account_and_set_aside_items_tell_the_superusers(world: World) -> None:
    daemon = Daemon(world.rt, worker_id="test-worker")
    item = SetAsideItem(surface="sandbox.message", reason="Pesan tidak dapat dibaca.",
                        raw={"id": "x1"}, platform_id="x1")
    use_connector(world.rt, ScriptedConnector("sandbox", [
        PollResult([], {"n": 1}, set_aside=[item]),
        ConnectorError("Token kedaluwarsa; buat token baru.", permanent=True)]))
    with at(T0):
        assert daemon.poll_account("sandbox").ok
        assert not daemon.poll_account("sandbox").ok
        world.deliver_all()
    superuser = address(world.users["superuser"])
    subjects = sorted(m["Subject"] for m in world.mails(to=superuser))
    assert subjects == ["[aduan] Ada pesan yang disisihkan", "[aduan] Saluran berhenti"]
    assert recipients(world) == {superuser}
    stopped = next(m for m in world.mails() if "berhenti" in m["Subject"])
    assert "Token kedaluwarsa" in body(stopped) and f"{BASE}/dasbor" in body(stopped)


def test_the_daily_recap_is_announced_to_the_complaint_team(world: World) -> None:
    with at(T0):
        open_case(world.rt, 7)
    with at(T0 + timedelta(hours=7, minutes=5)):  # 16:05 WIB: after office hours end
        make_daily_recap(world.rt, T0.date())
        assert world.deliver_all() == []  # held until the next office morning
    with at(datetime(2026, 11, 24, 0, 31, tzinfo=timezone.utc)):  # Tuesday 07:31 WIB
        world.deliver_all()
    [mail] = world.mails()
    assert mail["To"] == TEAM and mail["Subject"] == "[aduan] Rekap harian sudah dibuat"
    assert "Senin, 23 November 2026" in body(mail) and f"{BASE}/rekap" in body(mail)


def test_a_failed_backup_and_a_stale_one_tell_the_superusers(world: World, tmp_path: Path) -> None:
    from inbox.records.backup import BackupError
    from inbox.records.schedule import run_backup
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with at(T0):
        with pytest.raises(BackupError):
            run_backup(world.rt.config, out=str(blocker / "sub"))
        good = tmp_path / "old-backup.zip"
        good.write_bytes(b"zip")
        BackupRun.create(started_at=T0 - timedelta(days=3), finished_at=T0 - timedelta(days=3),
                         status="ok", path=str(good))
        queue_reminders(world.rt)
        world.deliver_all()
    subjects = sorted(m["Subject"] for m in world.mails())
    assert subjects == ["[aduan] Cadangan database sudah lama", "[aduan] Pencadangan database gagal"]
    assert recipients(world) == {address(world.users["superuser"])}


def test_reminders_wait_for_office_hours_under_quiet_hours(world: World) -> None:
    with at(T0):
        open_case(world.rt, 8)  # due Thursday 26 Nov
    with at(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)):  # Thursday 19:00 WIB: overdue
        assert queue_reminders(world.rt) == 0
    with at(datetime(2026, 11, 27, 0, 31, tzinfo=timezone.utc)):  # Friday 07:31 WIB
        assert queue_reminders(world.rt) == 4  # the admin and the group admin, on both channels
    assert {n.event for n in Notification.select()} == {"overdue"}


def test_a_class_follow_up_deadline_is_reminded_to_the_bidang_and_group_admins(world: World) -> None:
    """Issue 30's resolution clock has reminders like the answer's: the working day before and on
    the day, then every working day past it, until the follow-up is recorded."""
    from inbox.sop import handling
    u = world.users
    with at(T0):
        case = open_case(world.rt, 6)   # received Monday 23 Nov; the answer is due Thursday
        workflow.escalate(world.rt, case, u["admin"], "mohon bantuan")
        workflow.assign_division(world.rt, fresh(case), u["group_admin"], "dafduk")
        handling.set_class(world.rt, fresh(case), u["group_admin"], "ringan", note="cukup ringan")
        world.deliver_all()
    assert fresh(case).resolution_due_at == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    world.sink.received.clear()
    tuesday = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
    with at(tuesday):
        queue_reminders(world.rt)
        queue_reminders(world.rt)  # once a day
        world.deliver_all()
    subject = f"[{case.reference}] Batas tindak lanjut kelas pengaduan"
    assert {(m["To"], m["Subject"]) for m in world.mails()} == {
        (address(u["division"]), subject), (address(u["group_admin"]), subject)}
    text = body(world.mails()[0])
    assert ("Tindak lanjut pengaduan ini (kelas Ringan) harus dicatat paling lambat Rabu, "
            "25 November 2026 pukul 16.00 WIB (besok).") in text
    assert "Batas tindak lanjut: Rabu, 25 November 2026 pukul 16.00 WIB" in text
    world.sink.received.clear()
    with at(tuesday + timedelta(days=2)):  # Thursday: the class's deadline has passed
        queue_reminders(world.rt)
        world.deliver_all()
    late = {(m["To"], m["Subject"].split("] ")[1]) for m in world.mails()}
    assert (address(u["division"]), "Tindak lanjut kelas pengaduan melewati batas waktu") in late
    assert (address(u["group_admin"]), "Tindak lanjut kelas pengaduan melewati batas waktu") in late
    assert (address(u["division"]), "Batas waktu pengaduan hari ini") in late  # the answer's own
    with at(tuesday + timedelta(days=2, hours=1)):
        handling.record_follow_up(world.rt, fresh(case), u["division"], "KTP-el sudah dicetak")
    world.sink.received.clear()
    with at(tuesday + timedelta(days=3)):  # Friday: the follow-up is recorded
        queue_reminders(world.rt)
        world.deliver_all()
    assert not [m for m in world.mails() if "tindak lanjut" in m["Subject"].lower()]
    assert [m["Subject"] for m in world.mails()]  # the unanswered case itself is still late
