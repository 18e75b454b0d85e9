"""The monthly report (*laporan bulanan*) for the complaint-handling team's monthly meeting:
A4 PDF with charts, XLSX (a sheet per table and the month's cases), CSV of the cases.

Every figure is counted from the same ``CaseRow``s (see ``recap.figures`` for the definitions)
and compared with the previous month counted the same way. Times are in office hours
(``WorkClock``): time to first response over the cases received in the month, time to answer
over the cases answered in the month.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from inbox.models import Division
from inbox.records.practice import Scope, scope as practice_scope
from recap import figures as fg
from recap.figures import CaseRow, Period, WorkClock, percentile, share

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

TOP_PROBLEMS = 5
EXCERPTS = 3
EXCERPT_CHARS = 140
NO_DIVISION = "Tanpa bidang (dijawab Admin/Group Admin)"


@dataclass
class Headline:
    """The headline figures of one month (and what the comparison with another needs)."""

    received: int
    answered: int
    on_time: int
    escalated: int
    dismissed: int
    open_end: int
    overdue_end: int
    first_response_hours: list[float] = field(default_factory=list)
    answer_hours: list[float] = field(default_factory=list)
    referred: int = 0  # bukan wewenang: counted apart (recap.handling)

    @property
    def compliance(self) -> float | None:
        return share(self.on_time, self.answered)


@dataclass
class DivisionLine:
    code: str
    name: str
    assigned: int = 0          # cases handed to the bidang in the month
    division_answered: int = 0  # the bidang's answers given in the month
    answered: int = 0           # of its cases, answered to the citizen in the month
    on_time: int = 0
    waiting_end: int = 0        # handed to it and not yet answered by it at the end
    answer_hours: list[float] = field(default_factory=list)  # assignment -> bidang's answer


@dataclass
class MonthlyFigures:
    period: Period
    previous: Period
    rows: list[CaseRow]
    before_rows: list[CaseRow]
    current: Headline
    before: Headline
    channels: dict[int, str]
    divisions: dict[int, tuple[str, str]]
    division_lines: list[DivisionLine]
    clock: WorkClock
    scope: Scope = field(default_factory=lambda: Scope(False))  # practice cases left out or not

    def received(self) -> list[CaseRow]:
        return [c for c in self.rows if c.received_in(self.period)]

    def answered(self) -> list[CaseRow]:
        return [c for c in self.rows if c.answered_in(self.period)]

    def open_cases(self) -> list[CaseRow]:
        """Open at the end of the month: overdue first, then by due date."""
        p = self.period
        found = [c for c in self.rows if c.open_at_end(p)]
        return sorted(found, key=lambda c: (not c.overdue_at_end(p), c.due_at or c.opened_at, c.id))

    def _pick(self, previous: bool) -> tuple[list[CaseRow], Period]:
        return (self.before_rows, self.previous) if previous else (self.rows, self.period)

    def sla_by(self, key: str, previous: bool = False) -> dict[str, tuple[int, int]]:
        """label -> (answered, on time) per channel or per division, for the month's answers."""
        rows, p = self._pick(previous)
        tally: dict[str, list[int]] = {}
        for c in rows:
            if not c.answered_in(p):
                continue
            if key == "channel":
                label = self.channels.get(c.account_id, "?")
            else:
                label = self.divisions[c.division_id][1] if c.division_id in self.divisions \
                    else NO_DIVISION
            counts = tally.setdefault(label, [0, 0])
            counts[0] += 1
            counts[1] += c.on_time
        return {k: (a, t) for k, (a, t) in tally.items()}

    def received_by(self, key: str, previous: bool = False) -> Counter[str]:
        """Cases received per channel label or per category code (a case counts in each of its
        categories; one without any counts as ``NO_CATEGORY``)."""
        rows, p = self._pick(previous)
        received = [c for c in rows if c.received_in(p)]
        if key == "channel":
            return Counter(self.channels.get(c.account_id, "?") for c in received)
        return Counter(code for c in received for code in (c.categories or [fg.NO_CATEGORY]))

    def trend(self) -> list[tuple[date, int, int]]:
        """(day, received, answered) for every day of the month, by WIB day."""
        tz = self.clock.calendar.tz
        received = Counter(c.opened_at.astimezone(tz).date() for c in self.received())
        answered = Counter(c.answered_at.astimezone(tz).date() for c in self.answered())
        return [(d, received.get(d, 0), answered.get(d, 0)) for d in self.period.days()]

    def complaints_by_category(self, previous: bool = False) -> Counter[str]:
        """Complaints and questions received per category: a dismissed case, and a thanks,
        greeting or spam left open, is no problem (issue 19 item 8)."""
        rows, p = self._pick(previous)
        return Counter(code for c in rows if c.received_in(p) and is_problem(c)
                       for code in c.categories)

    def top_problems(self) -> list[tuple[str, int, int, list[str]]]:
        """The most frequent categories among the month's complaints: (code, this month,
        previous month, a few short masked excerpts of the newest distinct summaries)."""
        counts, before = self.complaints_by_category(), self.complaints_by_category(previous=True)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PROBLEMS]
        newest = sorted((c for c in self.received() if is_problem(c)),
                        key=lambda c: (c.opened_at, c.id), reverse=True)
        out = []
        for code, n in top:
            excerpts: list[str] = []
            for c in newest:
                if code not in c.categories:
                    continue
                text = fg.clean(" ".join(c.summary.split()))
                if text and text not in excerpts:
                    excerpts.append(text if len(text) <= EXCERPT_CHARS
                                    else text[:EXCERPT_CHARS - 1].rstrip() + "…")
                if len(excerpts) == EXCERPTS:
                    break
            out.append((code, n, before.get(code, 0), excerpts))
        return out


PROBLEM_INTENTS = ("complaint", "question")


def is_problem(c: CaseRow) -> bool:
    """A case that can be among "Masalah yang paling sering": not dismissed, and a complaint
    or a question by its effective intent (a case with no intent, from before the classifier
    set one, counts)."""
    return c.status != "not_complaint" and (c.intent is None or c.intent in PROBLEM_INTENTS)


def headline(rows: list[CaseRow], p: Period, clock: WorkClock) -> Headline:
    h = Headline(0, 0, 0, 0, 0, 0, 0)
    for c in rows:
        if c.received_in(p):
            h.received += 1
            if c.first_response_at is not None:
                h.first_response_hours.append(clock.hours(c.opened_at, c.first_response_at))
        if c.answered_in(p):
            h.answered += 1
            h.on_time += c.on_time
            h.answer_hours.append(clock.hours(c.opened_at, c.answered_at))
        h.escalated += c.escalated_in(p)
        h.dismissed += c.dismissed_in(p)
        h.referred += c.referred_in(p)
        if c.open_at_end(p):
            h.open_end += 1
            h.overdue_end += c.overdue_at_end(p)
    return h


def division_lines(rows: dict[int, CaseRow], p: Period, divisions: dict[int, tuple[str, str]],
                   clock: WorkClock) -> list[DivisionLine]:
    """One line per bidang, from the month's events and cases (an inactive bidang only when
    it had work in the month)."""
    by_code = {code: DivisionLine(code, name) for code, name in divisions.values()}
    code_of = {i: code for i, (code, _) in divisions.items()}
    assigned_at: dict[int, list[datetime]] = {}
    assigned_seen: set[tuple[int, str]] = set()
    for case_id, action, detail, at in fg.period_events(p, ("assigned",)):
        if case_id not in rows:  # a practice case left out of an official report
            continue
        code = (detail or {}).get("division")
        assigned_at.setdefault(case_id, []).append(at)
        if code in by_code and (case_id, code) not in assigned_seen:
            assigned_seen.add((case_id, code))
            by_code[code].assigned += 1
    earlier = _assignments_before(rows, p)
    for c in rows.values():
        line = by_code.get(code_of.get(c.division_id, ""))
        if line is None:
            continue
        if p.has(c.division_answered_at):
            line.division_answered += 1
            handed = [t for t in assigned_at.get(c.id, []) + earlier.get(c.id, [])
                      if t <= c.division_answered_at]
            if handed:
                line.answer_hours.append(clock.hours(max(handed), c.division_answered_at))
        if c.answered_in(p):
            line.answered += 1
            line.on_time += c.on_time
        if c.open_at_end(p) and c.escalated_at is not None and c.escalated_at < p.as_of \
                and (c.division_answered_at is None or c.division_answered_at >= p.as_of):
            line.waiting_end += 1
    active = {code for (code,) in Division.select(Division.code).where(
        Division.active == True).tuples()}  # noqa: E712
    return [d for d in by_code.values() if d.code in active
            or (d.assigned, d.division_answered, d.answered, d.waiting_end) != (0, 0, 0, 0)]


def _assignments_before(rows: dict[int, CaseRow], p: Period) -> dict[int, list[datetime]]:
    """When the cases a bidang answered this month were handed to it before the month."""
    from inbox.models import Event
    ids = [c.id for c in rows.values() if p.has(c.division_answered_at)]
    found: dict[int, list[datetime]] = {}
    for chunk in range(0, len(ids), fg.CHUNK):
        for case_id, at in (Event.select(Event.case, Event.at)
                            .where(Event.case.in_(ids[chunk:chunk + fg.CHUNK])
                                   & (Event.action == "assigned") & (Event.at < p.start)).tuples()):
            found.setdefault(case_id, []).append(at)
    return found


def monthly_figures(rt: Runtime, year: int, month: int) -> MonthlyFigures:
    tz = rt.config.tz
    p = fg.month_period(year, month, tz)
    previous = fg.previous_month(p, tz)
    clock = WorkClock(rt.calendar)
    scope = practice_scope()
    div_event_ids = [case_id for case_id, *_ in fg.period_events(p, ("assigned", "division_answered"))]
    rows = fg.load_cases(p, div_event_ids, scope.excluded)
    divisions = fg.division_names()
    before_rows = list(fg.load_cases(previous, excluded_accounts=scope.excluded).values())
    ordered = sorted(rows.values(), key=lambda c: (c.opened_at, c.id))
    return MonthlyFigures(
        period=p, previous=previous, rows=ordered, before_rows=before_rows,
        current=headline(ordered, p, clock), before=headline(before_rows, previous, clock),
        channels=fg.channel_labels(),
        divisions=divisions, division_lines=division_lines(rows, p, divisions, clock), clock=clock,
        scope=scope)


def time_stats(hours: list[float]) -> tuple[float | None, float | None]:
    """(median, 90th percentile) in office hours."""
    return percentile(hours, 50), percentile(hours, 90)
