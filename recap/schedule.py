"""When the recaps make themselves: the daily recap at ``schedule.daily_recap_time`` (WIB) on
working days, the monthly report of the previous month on ``schedule.monthly_report_day`` at
``schedule.monthly_report_time``.

The daemon does not fire a job at an exact instant; it checks every minute whether a recap is
due and not yet made (a ``Recap`` row created at or after its scheduled moment). So a daemon
that was stopped at 16:00 makes the day's recap when it starts again, a restart never makes it
twice, and a recap an officer made by hand after the scheduled time counts as made.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import fn

from inbox.models import Case, Recap, utcnow

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

CHECK_SECONDS = 60


def _made_since(kind: str, period: str, moment: datetime) -> bool:
    return Recap.select().where((Recap.kind == kind) & (Recap.period == period)
                                & (Recap.created_at >= moment)).exists()


def first_case_day(tz: Any) -> date | None:
    """The office day of the first case ever received (None before the first one)."""
    first = Case.select(fn.MIN(Case.opened_at)).scalar()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite may hand back the stored text of an aggregate
        first = datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=timezone.utc)
    return first.astimezone(tz).date()


def due_recaps(rt: Runtime, now: datetime | None = None) -> list[tuple[str, Any]]:
    """What is due now and not made yet: ("daily", date) and/or ("monthly", (year, month)).

    Catching up starts from the first case, not the calendar: a period that ended before the
    office received its first case has nothing to report, so the first start of aduan does not
    make an empty report of the month before the office used it."""
    now = now or utcnow()
    tz = rt.config.tz
    sched = rt.config.schedule
    local = now.astimezone(tz)
    today = local.date()
    started = first_case_day(tz)
    if started is None:
        return []
    due: list[tuple[str, Any]] = []
    daily_at = datetime.combine(today, time.fromisoformat(sched["daily_recap_time"]), tzinfo=tz)
    if rt.calendar.is_working_day(today) and now >= daily_at \
            and not _made_since("daily", today.isoformat(), daily_at):
        due.append(("daily", today))
    monthly_day = today.replace(day=sched["monthly_report_day"])
    monthly_at = datetime.combine(monthly_day, time.fromisoformat(sched["monthly_report_time"]),
                                  tzinfo=tz)
    previous = today.replace(day=1) - timedelta(days=1)
    if now >= monthly_at and previous >= started \
            and not _made_since("monthly", previous.strftime("%Y-%m"), monthly_at):
        due.append(("monthly", (previous.year, previous.month)))
    return due


def make_due_recaps(rt: Runtime, now: datetime | None = None) -> list[Path]:
    """One step of the daemon: make whatever recap is due; return the files written."""
    from recap.make import make_daily_recap
    from recap.make import make_monthly_report
    paths: list[Path] = []
    for kind, when in due_recaps(rt, now):
        made = make_daily_recap(rt, when) if kind == "daily" else make_monthly_report(rt, *when)
        log.info("%s dibuat: %s", "rekap harian" if kind == "daily" else "laporan bulanan",
                 ", ".join(p.name for p in made))
        paths += made
    return paths


def schedule_recaps(rt: Runtime, scheduler: Any, guard: Callable[[Callable[[], Any]], Callable[[], Any]]
                    ) -> None:
    """Add the recap check to the daemon's ``schedule.Scheduler`` (``guard`` logs a failure
    instead of letting it escape)."""
    def make_recaps() -> list[Path]:
        return make_due_recaps(rt)
    scheduler.every(CHECK_SECONDS).seconds.do(guard(make_recaps))
