"""The counting shared by the daily recap and the monthly report.

A period is a WIB day or a WIB calendar month. Its bounds are computed in the office's time
zone and converted to UTC, and every query is a range on a UTC column (``opened_at >= start AND
opened_at < end``): portable between SQLite and PostgreSQL, and right at the edges (a message
at 23:30 WIB is in that WIB day although it is 16:30 UTC).

The cases that touch a period are read once (a few indexed range queries) into ``CaseRow``s and
every figure is counted from them in Python, so the same rows give the same numbers in the
PDF, the XLSX, the CSV and on both databases. The definitions, for a period [start, end) and
``as_of = min(end, now)``:

- received: ``opened_at`` in the period;
- answered: ``answered_at`` in the period (the SLA stops when the answer is delivered), on time
  when ``answered_at <= due_at``; the path is *direct* (never escalated), *group admin*
  (escalated, answered without a bidang) or *division* (a bidang answered);
- escalated: ``escalated_at`` in the period;
- dismissed (not a complaint): status ``not_complaint`` and ``closed_at`` in the period;
- open at the end: opened before ``as_of`` and not closed before it (``closed_at`` is set when
  the answer is delivered or the case dismissed, and cleared when a case reopens);
- overdue at the end: open at the end with ``due_at < as_of``;
- *bukan wewenang* (another agency's matter, issue 30): ``referred_to`` set and ``closed_at`` in
  the period; such a case counts apart: never as answered, on time, late, dismissed or overdue.
  The class clocks, maladministration and LAPOR! figures are in ``recap.handling``.
"""
from __future__ import annotations

import calendar as month_calendar
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

import peewee as pw

from inbox import pii
from inbox.dates import format_date_id, format_month_id
from inbox.db import database
from inbox.models import CLOSED_STATUSES, OPEN_STATUSES, Account, Case, Division, Event, utcnow
from inbox.sla import NO_CLOCK_INTENTS, WorkCalendar
from inbox.text import clean_text

#: Office hours for "working hours" (jam kerja): from this time to the calendar's end of day.
OFFICE_OPENS = time(7, 30)
NO_CATEGORY = "Tanpa kategori"
DIRECT, GROUP_ADMIN, DIVISION = "direct", "group_admin", "division"
PATH_LABELS = {DIRECT: "Langsung oleh Admin", GROUP_ADMIN: "Oleh Group Admin",
               DIVISION: "Melalui Bidang Teknis"}
CHUNK = 500
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


class RecapError(ValueError):
    """The recap cannot be made for this period; ``str(exc)`` is one Indonesian sentence."""


@lru_cache(maxsize=100_000)
def clean(text: str) -> str:
    """Every text that reaches a recap file passes through here: control characters and
    terminal sequences removed (``inbox.text``), then personal data masked. Cleaning comes
    first, so a NIK split by a NUL is joined again and masked."""
    return pii.mask(clean_text(text))


@dataclass(frozen=True)
class Period:
    """A WIB day or month as a UTC range; ``as_of`` is its end, or now if it is not over."""

    kind: str  # daily | monthly
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    as_of: datetime

    @property
    def key(self) -> str:
        return self.first_day.isoformat() if self.kind == "daily" else self.first_day.strftime("%Y-%m")

    @property
    def complete(self) -> bool:
        return self.as_of >= self.end

    def has(self, moment: datetime | None) -> bool:
        """In the period so far (up to ``as_of``: a month in progress counts up to now)."""
        return moment is not None and self.start <= moment < self.as_of

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i)
                for i in range((self.last_day - self.first_day).days + 1)]


def _bounds(first: date, last: date, tz: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    return start, end


def day_period(day: date, tz: Any, now: datetime | None = None) -> Period:
    now = now or utcnow()
    # Checked on dates first: 9999-12-31 or 0001-01-01 have no next or previous UTC day.
    if day > now.astimezone(tz).date():
        raise RecapError(f"Tanggal {format_date_id(day)} belum terjadi; rekap harian hanya "
                         f"bisa dibuat untuk hari ini atau hari yang sudah lewat.")
    if day.year < 2000:
        raise RecapError(f"Tanggal {format_date_id(day)} tidak valid; rekap harian dibuat untuk tahun "
                         f"2000 atau sesudahnya.")
    start, end = _bounds(day, day, tz)
    return Period("daily", day, day, start, end, min(end, now))


def month_period(year: int, month: int, tz: Any, now: datetime | None = None) -> Period:
    now = now or utcnow()
    if not (1 <= month <= 12 and 2000 <= year <= 9999):
        raise RecapError(f"Bulan {year}-{month:02d} tidak valid; tulis seperti 2026-11.")
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    if first > now.astimezone(tz).date():
        raise RecapError(f"Bulan {format_month_id(year, month)} belum dimulai; laporan bulanan hanya "
                         f"bisa dibuat untuk bulan ini atau bulan yang sudah lewat.")
    start, end = _bounds(first, last, tz)
    return Period("monthly", first, last, start, end, min(end, now))


def previous_month(period: Period, tz: Any) -> Period:
    before = period.first_day - timedelta(days=1)
    return month_period(before.year, before.month, tz, period.as_of)


# --- the rows -------------------------------------------------------------------------------

@dataclass(slots=True)
class CaseRow:
    """What the recaps need of one case (already converted: aware UTC datetimes, lists)."""

    id: int
    reference: str
    account_id: int
    public: bool
    status: str
    division_id: int | None
    categories: list[str]
    intent: str | None
    summary: str
    dismiss_reason: str | None
    opened_at: datetime
    due_at: datetime | None
    first_response_at: datetime | None
    escalated_at: datetime | None
    division_answered_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    recapped_on: date | None
    complaint_class: str | None = None
    resolution_due_at: datetime | None = None
    resolved_at: datetime | None = None
    maladministration: str | None = None
    maladministration_suggested: str | None = None
    referred_to: str | None = None
    lapor_tracking_id: str | None = None
    report_type: str | None = None
    follow_up: str | None = None
    referral_forwarded: bool = False

    @property
    def referred(self) -> bool:
        """Closed as another agency's matter (counted apart, never against the SLA)."""
        return bool(self.referred_to) and self.status in CLOSED_STATUSES

    def referred_in(self, p: Period) -> bool:
        return self.referred and p.has(self.closed_at)

    @property
    def on_time(self) -> bool:
        return self.answered_at is not None and (self.due_at is None or self.answered_at <= self.due_at)

    @property
    def path(self) -> str:
        if self.escalated_at is None:
            return DIRECT
        return DIVISION if self.division_answered_at is not None else GROUP_ADMIN

    def received_in(self, p: Period) -> bool:
        return p.has(self.opened_at)

    def answered_in(self, p: Period) -> bool:
        return p.has(self.answered_at) and not self.referred

    def escalated_in(self, p: Period) -> bool:
        return p.has(self.escalated_at)

    def dismissed_in(self, p: Period) -> bool:
        return self.status == "not_complaint" and p.has(self.closed_at) and not self.referred

    def open_at_end(self, p: Period) -> bool:
        if self.opened_at >= p.as_of:
            return False
        closed = self.status in CLOSED_STATUSES and self.closed_at is not None \
            and self.closed_at < p.as_of
        return not closed

    def overdue_at_end(self, p: Period) -> bool:
        """Open at the period's end past its answer deadline: a referral still in the outbox is
        no missed SLA, nor is a thank-you or a greeting left open (they wait on no clock)."""
        return self.open_at_end(p) and self.due_at is not None and self.due_at < p.as_of \
            and not self.referred_to and self.intent not in NO_CLOCK_INTENTS


_COLUMNS = (Case.id, Case.reference, Case.account, Case.public, Case.status, Case.division,
            Case.categories, Case.categories_override, Case.intent, Case.intent_override,
            Case.summary, Case.dismiss_reason, Case.opened_at, Case.due_at,
            Case.first_response_at, Case.escalated_at, Case.division_answered_at,
            Case.answered_at, Case.closed_at, Case.recapped_on,
            # issue 30 (recap.handling)
            Case.complaint_class, Case.resolution_due_at, Case.resolved_at, Case.maladministration,
            Case.maladministration_suggested, Case.referred_to, Case.lapor_tracking_id,
            Case.report_type, Case.follow_up, Case.referral_forwarded)


def _moment(value: Any) -> datetime | None:
    """A stored UTC time as an aware datetime (SQLite gives text, PostgreSQL a naive datetime).

    Converted here rather than by peewee: its generic parser was most of the time of reading a
    month of cases."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@lru_cache(maxsize=4096)
def _codes(categories: str | None, override: str | None) -> list[str]:
    """The effective categories from the two JSON columns (a person's correction wins)."""
    chosen = json.loads(override) if override is not None else json.loads(categories or "[]")
    return sorted(set(chosen or []))


def _row(t: tuple) -> CaseRow:
    (id_, ref, account, public, status, division, cats, override, intent, intent_override,
     summary, reason, opened, due, first, escalated, div_answered, answered, closed, recapped,
     klass, resolution_due, resolved, maladministration, suggested, referred, tracking,
     report_type, follow_up, forwarded) = t
    return CaseRow(id_, ref, account, bool(public), status, division, list(_codes(cats, override)),
                   intent_override or intent, summary or "", reason, _moment(opened), _moment(due),
                   _moment(first), _moment(escalated), _moment(div_answered), _moment(answered),
                   _moment(closed), _day(recapped), klass, _moment(resolution_due),
                   _moment(resolved), maladministration, suggested, referred, tracking, report_type,
                   follow_up, bool(forwarded))


def _select() -> pw.ModelSelect:
    return Case.select(*_COLUMNS)


def load_cases(p: Period, extra_ids: Iterable[int] = (),
               excluded_accounts: Sequence[int] = ()) -> dict[int, CaseRow]:
    """Every case that counts in ``p`` (plus ``extra_ids``), by id, leaving out the cases of
    ``excluded_accounts`` (the practice channels: ``inbox.records.practice.scope``).

    One indexed range query per figure rather than one query with ORs, which SQLite would
    answer by reading the whole table."""
    s, e, as_of = p.start, p.end, p.as_of

    def select() -> pw.ModelSelect:
        query = _select()
        return query.where(Case.account.not_in(list(excluded_accounts))) if excluded_accounts \
            else query
    queries = [
        select().where((Case.opened_at >= s) & (Case.opened_at < e)),
        select().where((Case.answered_at >= s) & (Case.answered_at < e)),
        select().where((Case.escalated_at >= s) & (Case.escalated_at < e)),
        select().where((Case.status == "not_complaint") & (Case.closed_at >= s) & (Case.closed_at < e)),
        select().where(Case.status.in_(OPEN_STATUSES) & (Case.opened_at < as_of)),
        select().where(Case.status.in_(CLOSED_STATUSES) & (Case.closed_at >= as_of)
                       & (Case.opened_at < as_of)),
        # the class clocks (recap.handling): followed up in or after the period, or still
        # running; read through the (resolved_at, resolution_due_at) index, which holds few
        # rows with a due date
        select().where((Case.resolved_at >= s) & (Case.opened_at < as_of)),
        select().where(Case.resolved_at.is_null() & (Case.resolution_due_at > EPOCH)
                       & (Case.opened_at < as_of)),
    ]
    missing = list(dict.fromkeys(extra_ids))
    queries += [select().where(Case.id.in_(missing[i:i + CHUNK]))
                for i in range(0, len(missing), CHUNK)]
    rows: dict[int, CaseRow] = {}
    for query in queries:
        for t in database.execute_sql(*query.sql()):
            if t[0] not in rows:  # a case in several figures is converted once
                rows[t[0]] = _row(t)
    return rows


def period_events(p: Period, actions: Sequence[str]) -> list[tuple[int, str, dict[str, Any], datetime]]:
    """(case id, action, detail, at) of the events of ``actions`` in the period."""
    return list(Event.select(Event.case, Event.action, Event.detail, Event.at)
                .where((Event.at >= p.start) & (Event.at < p.end) & Event.action.in_(list(actions))
                       & Event.case.is_null(False))
                .order_by(Event.at, Event.id).tuples())


def channel_labels() -> dict[int, str]:
    """Account id -> the name officers know the channel by."""
    return {i: label or name for i, name, label in
            Account.select(Account.id, Account.name, Account.label).tuples()}


def division_names() -> dict[int, tuple[str, str]]:
    """Division id -> (code, name), inactive ones included (their cases stay countable)."""
    return {i: (code, name) for i, code, name in
            Division.select(Division.id, Division.code, Division.name).order_by(Division.id).tuples()}


# --- working time ---------------------------------------------------------------------------

class WorkClock:
    """Durations counted in office hours (07.30 to the calendar's end of day, working days).

    Each day's office window is worked out once, and each (start, end) pair once: a report
    asks for the same durations in several tables."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self._windows: dict[date, tuple[float, float] | None] = {}
        self._hours: dict[tuple[datetime, datetime], float] = {}
        opens = datetime.combine(date(2000, 1, 3), OFFICE_OPENS)
        self.day_seconds = (datetime.combine(opens.date(), calendar.end_of_day) - opens).total_seconds()

    def is_working_day(self, day: date) -> bool:
        return self._window(day) is not None

    def _window(self, day: date) -> tuple[float, float] | None:
        """The office hours of ``day`` as UTC timestamps; None on a day off."""
        if day not in self._windows:
            tz = self.calendar.tz
            self._windows[day] = (
                datetime.combine(day, OFFICE_OPENS, tzinfo=tz).timestamp(),
                datetime.combine(day, self.calendar.end_of_day, tzinfo=tz).timestamp(),
            ) if self.calendar.is_working_day(day) else None
        return self._windows[day]

    def hours(self, start: datetime, end: datetime) -> float:
        """Office hours between two moments (0 when ``end`` is not after ``start``)."""
        key = (start, end)
        if key not in self._hours:
            tz = self.calendar.tz
            s, e = start.timestamp(), end.timestamp()
            total, day, last = 0.0, start.astimezone(tz).date(), end.astimezone(tz).date()
            while day <= last and e > s:
                window = self._window(day)
                if window is not None:
                    total += max(0.0, min(e, window[1]) - max(s, window[0]))
                day += timedelta(days=1)
            self._hours[key] = total / 3600
        return self._hours[key]

    def days(self, start: datetime, end: datetime) -> float:
        """Office hours expressed in office days (one day = one full office day)."""
        return self.hours(start, end) * 3600 / self.day_seconds


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile by linear interpolation between ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
