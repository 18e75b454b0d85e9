"""When notifications go and how they fail: quiet hours on the SLA calendar, the digest, retries
then ``failed`` on the dashboard, ``uncertain`` never re-sent, and no NIK in any message."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.leases import MAX_ATTEMPTS
from inbox.models import Case, Notification
from inbox.notify import notices as notify
from inbox.sla import WIB
from inbox.sop import workflow
from inbox.web.app import create_app
from tests.notify_helpers import World, address, at, sink_cert, world  # noqa: F401
from tests.web_helpers import login, page_text
from tests.workflow_helpers import PASSWORD, open_case

FRIDAY_EVENING = datetime(2026, 12, 4, 18, 0, tzinfo=WIB)
MONDAY = datetime(2026, 12, 7, 7, 30, tzinfo=WIB)


def quiet_config(quiet: bool = True) -> SimpleNamespace:
    return SimpleNamespace(notify={"quiet_hours": quiet, "office_start": "07:30"},
                           sla={"end_of_day": "16:00", "working_days": 3,
                                "holiday_categories": ["public", "government"],
                                "extra_closures": []},
                           tz=WIB, closures=set())


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 12, 2, 9, 0), datetime(2026, 12, 2, 9, 0)),      # Wednesday, office hours
    (datetime(2026, 12, 2, 6, 0), datetime(2026, 12, 2, 7, 30)),     # before the office opens
    (datetime(2026, 12, 2, 16, 0), datetime(2026, 12, 3, 7, 30)),    # the office day has ended
    (datetime(2026, 12, 4, 18, 0), datetime(2026, 12, 7, 7, 30)),    # Friday evening -> Monday
    (datetime(2026, 12, 5, 10, 0), datetime(2026, 12, 7, 7, 30)),    # Saturday
    (datetime(2026, 12, 23, 17, 0), datetime(2026, 12, 28, 7, 30)),  # before cuti bersama + Natal
    (datetime(2026, 12, 24, 10, 0), datetime(2026, 12, 28, 7, 30)),  # on the cuti bersama
    (datetime(2026, 3, 17, 20, 0), datetime(2026, 3, 25, 7, 30)),    # Nyepi and Idul Fitri
])
def test_quiet_hours_hold_a_message_until_the_next_office_morning(now, expected) -> None:
    held = notify.send_at(quiet_config(), now.replace(tzinfo=WIB))
    assert held == expected.replace(tzinfo=WIB)


def test_without_quiet_hours_a_message_goes_at_once() -> None:
    assert notify.send_at(quiet_config(False), FRIDAY_EVENING) == FRIDAY_EVENING


def escalate_many(w: World, count: int, first: int = 1) -> None:
    for n in range(first, first + count):
        workflow.escalate(w.rt, open_case(w.rt, n), w.users["admin"], "mohon bantuan")


def test_an_escalation_on_friday_evening_waits_for_monday_morning(world: World) -> None:
    with at(FRIDAY_EVENING):
        escalate_many(world, 1)
        assert world.deliver_all() == []
    with at(MONDAY - timedelta(minutes=1)):
        assert world.deliver_all() == []
    with at(MONDAY + timedelta(minutes=1)):
        assert [s.outcome for s in world.deliver_all()] == ["sent", "sent"]
    assert len(world.mails(to=address(world.users["group_admin"]))) == 1


def test_before_a_holiday_the_message_waits_past_it(world: World) -> None:
    with at(datetime(2026, 12, 23, 17, 0, tzinfo=WIB)):
        escalate_many(world, 1)
    [row] = Notification.select().where(Notification.channel == "email")
    assert row.next_attempt_at == datetime(2026, 12, 28, 7, 30, tzinfo=WIB)


def test_many_held_for_one_person_go_as_one_digest(world: World) -> None:
    with at(FRIDAY_EVENING):
        escalate_many(world, 7)
    with at(MONDAY + timedelta(minutes=1)):
        steps = world.deliver_all()
    group_admin = world.users["group_admin"]
    [mail] = world.mails(to=address(group_admin))
    assert mail["Subject"] == "[aduan] Ringkasan 7 notifikasi"
    text = mail.get_content()
    for case_id in range(1, 8):
        assert f"/pengaduan/{case_id}" in text
    assert len(world.chats(group_admin)) == 1 and len(steps) == 2
    rows = list(Notification.select().where(Notification.channel == "email"))
    assert {r.status for r in rows} == {"sent"} and len({r.platform_id for r in rows}) == 1


def test_up_to_the_threshold_each_goes_on_its_own(world: World) -> None:
    with at(FRIDAY_EVENING):
        escalate_many(world, 5)
    with at(MONDAY + timedelta(minutes=1)):
        world.deliver_all()
    assert len(world.mails()) == 5 and not any("Ringkasan" in m["Subject"] for m in world.mails())


def test_a_failing_channel_retries_then_shows_failed_on_the_dashboard(world: World) -> None:
    from inbox.models import NotificationPreference
    NotificationPreference.update(channels=["telegram"]).execute()
    error = (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    world.telegram_status[:] = [error] * MAX_ATTEMPTS
    now = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)
    with at(now):
        escalate_many(world, 1)
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        with at(Notification.get().next_attempt_at + timedelta(seconds=1)):
            outcomes += [s.outcome for s in world.deliver_all()]
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    row = Notification.get()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and "Telegram" in row.last_error
    app = create_app(world.rt, testing=True)
    client = app.test_client()
    login(client, world.users["superuser"].username, PASSWORD)
    page = page_text(client.get("/dasbor"))
    assert "1 notifikasi tidak terkirim" in page and "GAGAL dikirim" in page
    division = app.test_client()
    login(division, world.users["division"].username, PASSWORD)
    assert "notifikasi tidak terkirim" not in page_text(division.get("/dasbor"))


def test_a_refused_chat_fails_at_once_without_retrying(world: World) -> None:
    from inbox.models import NotificationPreference
    NotificationPreference.update(channels=["telegram"]).execute()
    world.telegram_status[:] = [(403, {"ok": False, "error_code": 403,
                                       "description": "Forbidden: bot was blocked by the user"})]
    with at(datetime(2026, 12, 2, 9, 0, tzinfo=WIB)):
        escalate_many(world, 1)
        assert [s.outcome for s in world.deliver_all()] == ["failed"]


def test_a_send_with_an_unknown_outcome_is_uncertain_and_never_sent_again(world: World) -> None:
    from inbox.models import NotificationPreference
    NotificationPreference.update(channels=["telegram"]).execute()
    world.telegram_status[:] = [requests.ReadTimeout("read timed out")]
    with at(datetime(2026, 12, 2, 9, 0, tzinfo=WIB)):
        escalate_many(world, 1)
        assert [s.outcome for s in world.deliver_all()] == ["uncertain"]
    with at(datetime(2026, 12, 3, 9, 0, tzinfo=WIB)):
        assert world.deliver_all() == []
    assert world.telegram == [] and Notification.get().status == "uncertain"


NIKS = st.builds(lambda province, rest: f"{province}{rest}",
                 st.sampled_from(["33", "32", "31", "11", "92"]),
                 st.from_regex(r"[0-9]{4}(0[1-9]|[12][0-9]|[4-6][0-9])(0[1-9]|1[0-2])[0-9]{6}",
                               fullmatch=True))
WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "Zs", "P"]), max_size=40)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(before=WORDS, nik=NIKS, after=WORDS, separator=st.sampled_from(["", " ", ".", "-"]))
def test_no_notification_ever_contains_a_nik(world: World, before: str, nik: str, after: str,
                                             separator: str) -> None:
    """The NIK in the citizen's text, the admin's note, the bidang's answer, an account's error
    and a backup's error: none of it reaches a notification."""
    written = separator.join([nik[:6], nik[6:12], nik[12:]]) if separator else nik
    text = f"{before} NIK {written} {after}"
    n = Notification.select().count() + 1000 + len(world.sink.received)
    with at(datetime(2026, 12, 2, 9, 0, tzinfo=WIB)):
        case = open_case(world.rt, f"nik-{n}-{nik}", text=text)
        workflow.escalate(world.rt, case, world.users["admin"], text)
        workflow.assign_division(world.rt, Case.get_by_id(case.id),
                                 world.users["group_admin"], "dafduk", note=text)
        workflow.division_answer(world.rt, Case.get_by_id(case.id),
                                 world.users["division"], text, confirm_personal_data=True)
        notify.backup_failed(world.rt.config, text)
        notify.account_stopped(world.rt.config, case.account, text)
    rows = list(Notification.select())
    assert {r.event for r in rows} >= {"escalated", "assigned", "division_answered",
                                       "backup_failed", "account_stopped"}
    for row in rows:
        for part in (row.subject, row.text):
            assert nik not in re.sub(r"[ .\-]", "", part)
            assert not re.search(r"\d{16}", re.sub(r"[ .\-]", "", part))


def test_the_office_hours_start_is_in_the_calendar_of_send_at() -> None:
    config = quiet_config()
    assert notify.office_hours(config) == (time(7, 30), time(16, 0))
