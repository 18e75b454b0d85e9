"""The daily recap (*rekap harian*, SOP step 5) of one WIB day: XLSX, printable PDF and HTML.

Making it also marks the answered cases as recapped (``recapped_on``, the SOP's output
"selesai direkap") with a ``recapped`` Event each, in one transaction. The recap is made at
16:00 while answers can go out later, and not on weekends and holidays, so a case answered
after the last recap is marked by the next one; the look-back is ``CARRY_OVER_DAYS`` so a first
recap on an old database does not sweep years of history into one day. A case is marked again
when it was reopened and answered after its last recap.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from inbox.db import atomic_write, is_postgres
from inbox.models import Case, Event, User, utcnow
from inbox.records.practice import Scope, scope as practice_scope
from recap import figures as fg
from recap.figures import CaseRow, Period

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

CARRY_OVER_DAYS = 14


@dataclass
class DailyFigures:
    """The numbers of one day, each a list of cases so a count can be checked case by case."""

    period: Period
    received: list[CaseRow]
    answered: list[CaseRow]
    escalated: list[CaseRow]
    dismissed: list[CaseRow]
    open_cases: list[CaseRow]
    overdue: list[CaseRow]
    recapped: list[CaseRow]
    marked: int  # cases this run marked as recapped
    referred: list[CaseRow] = field(default_factory=list)           # bukan wewenang that day
    resolution_overdue: list[CaseRow] = field(default_factory=list)  # class clocks run out
    scope: Scope = field(default_factory=lambda: Scope(False))  # practice cases left out or not

    def answered_by_path(self) -> dict[str, int]:
        counts = Counter(c.path for c in self.answered)
        return {path: counts.get(path, 0) for path in fg.PATH_LABELS}

    def received_by_channel(self, channels: dict[int, str]) -> list[tuple[str, int]]:
        counts = Counter(channels.get(c.account_id, "?") for c in self.received)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def received_by_category(self) -> list[tuple[str, int]]:
        counts = Counter(code for c in self.received for code in (c.categories or [fg.NO_CATEGORY]))
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def dismissed_by_reason(self) -> list[tuple[str, int]]:
        counts = Counter(c.dismiss_reason or "" for c in self.dismissed)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def day_cases(self) -> list[CaseRow]:
        """The cases something happened to that day, in order of arrival."""
        seen: dict[int, CaseRow] = {}
        for group in (self.received, self.answered, self.escalated, self.dismissed, self.referred,
                      self.recapped):
            for c in group:
                seen.setdefault(c.id, c)
        return sorted(seen.values(), key=lambda c: (c.opened_at, c.id))


def mark_recapped(p: Period, actor: User | None, tz: Any, scope: Scope | None = None) -> int:
    """Set ``recapped_on`` on the answered cases not yet recapped since their answer, with an
    Event each, in one transaction; return how many were marked (never a practice case in an
    official recap)."""
    since = p.start - timedelta(days=CARRY_OVER_DAYS)
    now = utcnow()
    with atomic_write():
        query = (scope or Scope(False)).narrow(
            Case.select(Case.id, Case.answered_at, Case.recapped_on).where(
                (Case.status == "answered") & (Case.answered_at >= since)
                & (Case.answered_at < p.as_of)))
        if is_postgres():
            query = query.for_update()  # two officers pressing the button mark each case once
        ids = [i for i, answered, recapped in query.tuples()
               if recapped is None or recapped < answered.astimezone(tz).date()]
        for chunk in range(0, len(ids), fg.CHUNK):
            part = ids[chunk:chunk + fg.CHUNK]
            Case.update(recapped_on=p.first_day).where(Case.id.in_(part)).execute()
            Event.insert_many([{"case": i, "actor": actor, "actor_name": actor.username if actor
                                else "system", "action": "recapped", "at": now,
                                "detail": {"day": p.first_day.isoformat()}} for i in part]).execute()
    return len(ids)


def daily_figures(rt: Runtime, day: date, actor: User | None = None, mark: bool = True) -> DailyFigures:
    """The figures of ``day`` (WIB); with ``mark`` the answered cases are marked recapped first."""
    tz = rt.config.tz
    p = fg.day_period(day, tz)
    scope = practice_scope()
    marked = mark_recapped(p, actor, tz, scope) if mark else 0
    since = p.start - timedelta(days=CARRY_OVER_DAYS)
    recapped_ids = [i for (i,) in scope.narrow(Case.select(Case.id).where(
        (Case.answered_at >= since) & (Case.answered_at < p.as_of)
        & (Case.recapped_on == p.first_day))).tuples()]
    rows = fg.load_cases(p, recapped_ids, scope.excluded)
    cases = sorted(rows.values(), key=lambda c: (c.opened_at, c.id))
    return DailyFigures(
        period=p,
        received=[c for c in cases if c.received_in(p)],
        answered=[c for c in cases if c.answered_in(p)],
        escalated=[c for c in cases if c.escalated_in(p)],
        dismissed=[c for c in cases if c.dismissed_in(p)],
        open_cases=[c for c in cases if c.open_at_end(p)],
        overdue=[c for c in cases if c.overdue_at_end(p)],
        recapped=[c for c in cases if c.recapped_on == p.first_day],
        marked=marked,
        referred=[c for c in cases if c.referred_in(p)],
        resolution_overdue=[c for c in cases if c.resolution_due_at is not None
                            and not c.referred_to and c.status != "not_complaint"
                            and c.complaint_class and c.resolution_due_at < p.as_of
                            and (c.resolved_at is None or c.resolved_at >= p.as_of)],
        scope=scope)
