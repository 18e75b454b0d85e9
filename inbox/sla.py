"""The SOP's deadline: "3 hari kerja" on the Indonesian working-day calendar.

``due_at`` is the end of the office day (default 16:00 WIB) of the Nth working day (default 3)
after the day the case was opened, in the office's time zone; the day of receipt does not count,
whether or not it is itself a working day. Working days are Monday–Friday minus Indonesian
public holidays and cuti bersama (the ``holidays`` package, categories public and government,
language ``id``) minus extra closure days from config. Everything here is a pure function of
its arguments so it can be table-tested.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WIB = ZoneInfo("Asia/Jakarta")
#: What a case is about when it waits for a person (to be dismissed) but on no SLA clock: a
#: thank-you or a bare greeting is not answered within 3 working days (issue 28 item 10). Its
#: ``due_at`` stays, should a person correct the intent; the lists, the case page and the
#: reminders read this instead.
NO_CLOCK_INTENTS = ("thanks", "greeting")


@lru_cache(maxsize=64)
def _holidays(year: int, categories: tuple[str, ...]) -> dict[date, str]:
    return dict(holidays.Indonesia(years=year, categories=categories, language="id"))


@dataclass(frozen=True)
class WorkCalendar:
    """The office's calendar: which days are working days and when the office day ends."""

    tz: ZoneInfo = WIB
    working_days: int = 3
    end_of_day: time = time(16, 0)
    categories: tuple[str, ...] = ("public", "government")
    closures: frozenset[date] = field(default_factory=frozenset)

    def holiday_name(self, day: date) -> str | None:
        if day in self.closures:
            return "Hari libur kantor"
        return _holidays(day.year, self.categories).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The nth working day strictly after ``day``."""
        current, found = day, 0
        while found < n:
            current += timedelta(days=1)
            if self.is_working_day(current):
                found += 1
        return current

    def due_at(self, opened_at: datetime, days: int | None = None) -> datetime:
        """When the answer is due for a case opened at ``opened_at`` (returned in UTC); with
        ``days``, the end of that many working days instead of the SOP's (a complaint class's
        resolution clock, inbox.sop.handling)."""
        local_day = opened_at.astimezone(self.tz).date()
        due_day = self.nth_working_day_after(local_day, self.working_days if days is None else days)
        return datetime.combine(due_day, self.end_of_day, tzinfo=self.tz).astimezone(timezone.utc)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after ``start``'s local day up to and including ``end``'s local day."""
        first, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        count, current = 0, first
        while current < last:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count


def reply_window_closes_at(last_inbound_at: datetime, public: bool, hours: int = 24) -> datetime | None:
    """When the platform stops accepting a normal reply to a private message (None if public)."""
    if public:
        return None
    return last_inbound_at + timedelta(hours=hours)


def calendar_from_config(config: object) -> WorkCalendar:
    """Build the calendar from a loaded :class:`inbox.setup.config.Config`."""
    sla = config.sla  # type: ignore[attr-defined]
    return WorkCalendar(
        tz=config.tz,  # type: ignore[attr-defined]
        working_days=sla["working_days"],
        end_of_day=time.fromisoformat(sla["end_of_day"]),
        categories=tuple(sla["holiday_categories"]),
        closures=frozenset(config.closures),  # type: ignore[attr-defined]
    )
