"""The SOP's "3 hari kerja" on the Indonesian calendar, the reply window of private messages,
and when the clock stops."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inbox.arrive.ingest import ingest
from inbox.cli.export import export_case
from inbox.cli.status import status_data
from inbox.models import Account, Case
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from inbox.sla import WorkCalendar, calendar_from_config, reply_window_closes_at
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from tests.conftest import write_config
from tests.factories import msg
from tests.workflow_helpers import FakeConnector, fresh, make_users, open_case, use_connector

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkCalendar()


def wib(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


# (opened, due day at 16:00 WIB, why)
DUE_TABLE = [
    (wib(2026, 11, 23), date(2026, 11, 26), "Monday: Tue, Wed, Thu"),
    (wib(2026, 11, 27), date(2026, 12, 2), "Friday: the weekend does not count"),
    (wib(2026, 11, 28), date(2026, 12, 2), "Saturday: the day of receipt never counts"),
    (wib(2026, 11, 29, 23, 59), date(2026, 12, 2), "Sunday night"),
    (wib(2026, 3, 17), date(2026, 3, 27), "Nyepi, Idul Fitri and cuti bersama 18-24 Mar 2026"),
    (wib(2026, 3, 19), date(2026, 3, 27), "opened on Nyepi itself"),
    (wib(2026, 12, 23), date(2026, 12, 30), "cuti bersama 24 Dec and Christmas 2026"),
    (wib(2026, 8, 14), date(2026, 8, 20), "Independence Day Monday 17 Aug 2026"),
    (wib(2026, 5, 13), date(2026, 5, 20), "Ascension 14 May and cuti bersama 15 May 2026"),
    (wib(2026, 12, 31), date(2027, 1, 7), "New Year, the year boundary and Isra Mikraj 2027"),
    (wib(2027, 3, 8), date(2027, 3, 18), "Nyepi and Idul Fitri 2027 (9-15 Mar)"),
    (wib(2027, 3, 24), date(2027, 3, 31), "Good Friday and its cuti bersama 2027"),
    (wib(2027, 12, 23), date(2027, 12, 29), "Christmas cuti bersama 2027"),
    (wib(2025, 3, 27), date(2025, 4, 10), "Nyepi and Idul Fitri 2025 (28 Mar - 7 Apr)"),
    (wib(2025, 12, 24), date(2025, 12, 31), "Christmas and cuti bersama 2025"),
    (wib(2025, 8, 15), date(2025, 8, 21), "Independence Day Sunday + cuti bersama Monday 2025"),
]


@pytest.mark.parametrize("opened,due_day,why", DUE_TABLE, ids=[row[2] for row in DUE_TABLE])
def test_the_answer_is_due_at_the_end_of_the_third_working_day(
        opened: datetime, due_day: date, why: str) -> None:
    due = CAL.due_at(opened)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due.astimezone(WIB) == datetime.combine(due_day, time(16, 0), tzinfo=WIB)


@pytest.mark.parametrize("local,due_day", [
    # 23:30 WIB Monday is still Monday 16:30 UTC: counted from Monday.
    (wib(2026, 11, 23, 23, 30), date(2026, 11, 26)),
    # 00:30 WIB Tuesday is Monday 17:30 UTC: the WIB day (Tuesday) counts, not the UTC day.
    (wib(2026, 11, 24, 0, 30), date(2026, 11, 27)),
    # 06:59 WIB Friday is Thursday in UTC.
    (wib(2026, 11, 27, 6, 59), date(2026, 12, 2)),
    # After office hours on a working day: still that day of receipt.
    (wib(2026, 11, 23, 16, 1), date(2026, 11, 26)),
])
def test_the_office_day_is_the_wib_day_not_the_utc_day(local: datetime, due_day: date) -> None:
    as_utc = local.astimezone(timezone.utc)
    assert CAL.due_at(as_utc).astimezone(WIB) == datetime.combine(due_day, time(16), tzinfo=WIB)


def test_extra_closure_days_push_the_deadline() -> None:
    closed = WorkCalendar(closures=frozenset({date(2026, 11, 25)}))
    assert closed.due_at(wib(2026, 11, 23)).astimezone(WIB) == wib(2026, 11, 27, 16)
    assert closed.holiday_name(date(2026, 11, 25)) == "Hari libur kantor"
    assert not closed.is_working_day(date(2026, 11, 25))


@pytest.mark.parametrize("day,working", [
    (date(2026, 11, 23), True), (date(2026, 11, 28), False), (date(2026, 11, 29), False),
    (date(2026, 3, 18), False), (date(2026, 12, 24), False), (date(2027, 3, 15), False),
    (date(2025, 4, 7), False), (date(2025, 4, 8), True),
])
def test_working_days_exclude_weekends_holidays_and_cuti_bersama(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_working_days_between_counts_after_the_first_day() -> None:
    assert CAL.working_days_between(wib(2026, 11, 23), wib(2026, 11, 26, 16)) == 3
    assert CAL.working_days_between(wib(2026, 11, 27), wib(2026, 11, 30)) == 1
    assert CAL.working_days_between(wib(2026, 11, 23), wib(2026, 11, 23, 20)) == 0


def test_working_days_end_of_day_and_closures_come_from_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, sla='working_days = 5\nend_of_day = "15:30"\n'
                                      'extra_closures = ["2026-11-30"]')
    calendar = calendar_from_config(load_config(path))
    assert (calendar.working_days, calendar.end_of_day) == (5, time(15, 30))
    # Mon 23 Nov + 5 working days, skipping the closure on Mon 30 Nov: Tue 1 Dec.
    assert calendar.due_at(wib(2026, 11, 23)).astimezone(WIB) == wib(2026, 12, 1, 15, 30)


def test_government_holidays_can_be_left_out_by_config() -> None:
    public_only = WorkCalendar(categories=("public",))
    assert public_only.is_working_day(date(2026, 12, 24))  # cuti bersama only
    assert public_only.due_at(wib(2026, 12, 23)).astimezone(WIB) == wib(2026, 12, 29, 16)


def test_ingest_sets_the_deadline_and_the_private_reply_window(rt: Runtime) -> None:
    opened = wib(2026, 11, 27, 20).astimezone(timezone.utc)
    dm = open_case(rt, 1, public=False, at=opened)
    mention = open_case(rt, 2, public=True, at=opened)
    assert dm.due_at == wib(2026, 12, 2, 16).astimezone(timezone.utc)
    assert dm.reply_window_closes_at == opened + timedelta(hours=24)
    assert mention.reply_window_closes_at is None
    # The citizen writes again: the platform's window restarts from that message.
    later = opened + timedelta(hours=30)
    ingest(Account.get(Account.name == "sandbox"),
           [msg("in-1-2", thread="thread-1", author="warga1", public=False, at=later,
                text="min gimana?")], None, rt.ingest_options)
    assert fresh(dm).reply_window_closes_at == later + timedelta(hours=24)
    assert reply_window_closes_at(later, False, 24 * 7) == later + timedelta(days=7)


def test_the_clock_stops_when_the_answer_is_delivered_not_when_it_is_queued(rt: Runtime) -> None:
    users = make_users()
    case = open_case(rt, 1, at=wib(2026, 11, 23).astimezone(timezone.utc))
    use_connector(rt, FakeConnector(script=[]))
    with time_machine.travel(wib(2026, 11, 26, 15, 0), tick=False):
        workflow.reply(rt, case, users["admin"], "Baik, kami cek.")
    queued_only = wib(2026, 11, 26, 17, 0)
    with time_machine.travel(queued_only, tick=False):
        assert fresh(case) in Case.overdue()  # a queued reply is not an answer yet
        assert status_data(rt)["cases"]["overdue"] == 1
        assert export_case(fresh(case))["overdue"] is True
        assert deliver_one(rt, "w1")
        case = fresh(case)
        assert case.answered_at == queued_only.astimezone(timezone.utc)
        assert case not in Case.overdue()
        exported = export_case(case)
        assert (exported["overdue"], exported["answered_late"]) == (False, True)
        assert status_data(rt)["cases"]["overdue"] == 0


def test_an_answer_before_the_deadline_is_on_time(rt: Runtime) -> None:
    users = make_users()
    case = open_case(rt, 1, at=wib(2026, 11, 23).astimezone(timezone.utc))
    use_connector(rt, FakeConnector())
    with time_machine.travel(wib(2026, 11, 26, 15, 59), tick=False):
        workflow.reply(rt, case, users["admin"], "Baik, kami cek.")
        deliver_one(rt, "w1")
    exported = export_case(fresh(case))
    assert exported["answered_late"] is False and exported["due_at"] == fresh(case).due_at.isoformat()


def test_a_dismissed_case_has_no_deadline(rt: Runtime) -> None:
    case = open_case(rt, 1)
    with time_machine.travel(wib(2027, 1, 1), tick=False):
        workflow.dismiss(rt, case, make_users()["admin"], "greeting")
        assert fresh(case) not in Case.overdue()
        assert fresh(case).due_at is None
