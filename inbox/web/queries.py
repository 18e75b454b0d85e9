"""The inbox's filters and counts as peewee queries (unexecuted where they can be).

Pagination is by key: ``WHERE id < last_id ORDER BY id DESC LIMIT 50`` walks the (status, id)
and primary-key indexes and costs the same on page 1 and page 400, where ``OFFSET`` would read
and throw away every row before the page. The category filter goes through the indexed
``CaseCategory`` rows, never through the JSON column.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Any

import peewee as pw

from inbox.models import (OPEN_STATUSES, STATUS_LABELS, Account, Case, CaseCategory, Contact,
                          Division, Message)

PAGE_SIZE = 50
OPEN = "terbuka"


@dataclass
class InboxFilter:
    """What the officer asked for in the filter bar (all optional, all strings from the URL)."""

    status: str = ""
    account: str = ""
    category: str = ""
    division: str = ""
    overdue: str = ""
    due_today: str = ""
    visibility: str = ""  # "publik" | "pribadi"
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> InboxFilter:
        return cls(**{f.name: (args.get(f.name) or "").strip()[:200] for f in fields(cls)})

    def as_args(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def day_bounds(now: datetime, tz: Any) -> tuple[datetime, datetime]:
    """The start and end of the office's local day containing ``now``."""
    local = now.astimezone(tz).date()
    start = datetime.combine(local, time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def apply_filter(query: pw.ModelSelect, flt: InboxFilter, now: datetime, tz: Any) -> pw.ModelSelect:
    """Narrow a Case query by the filter bar."""
    if flt.status == OPEN:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    elif flt.status in STATUS_LABELS:
        query = query.where(Case.status == flt.status)
    if flt.account.isdigit():
        query = query.where(Case.account == int(flt.account))
    if flt.division.isdigit():
        query = query.where(Case.division == int(flt.division))
    if flt.category:
        query = query.where(pw.fn.EXISTS(
            CaseCategory.select(CaseCategory.id).where(
                (CaseCategory.code == flt.category) & (CaseCategory.case == Case.id))))
    if flt.overdue:
        query = query.where(Case.status.in_(OPEN_STATUSES) & (Case.due_at < now))
    if flt.due_today:
        start, end = day_bounds(now, tz)
        query = query.where(Case.status.in_(OPEN_STATUSES) & (Case.due_at >= max(start, now))
                            & (Case.due_at < end))
    if flt.visibility == "publik":
        query = query.where(Case.public == True)  # noqa: E712
    elif flt.visibility == "pribadi":
        query = query.where(Case.public == False)  # noqa: E712
    if flt.q:
        query = query.where(search_condition(flt.q))
    return query


def search_condition(text: str) -> pw.Expression:
    """Free text over the reference, the citizen's handle and name, and the message texts."""
    in_messages = Message.select(Message.case).where(Message.text.contains(text))
    in_contacts = Contact.select(Contact.id).where(Contact.handle.contains(text)
                                                   | Contact.name.contains(text))
    return (Case.reference.contains(text) | Case.contact.in_(in_contacts)
            | Case.id.in_(in_messages))


def page(query: pw.ModelSelect, before: int | None) -> tuple[list[Case], int | None]:
    """One page of cases, newest first, and the id to continue from (None on the last page)."""
    query = (query.select_extend(Account, Contact, Division)
             .join_from(Case, Account).join_from(Case, Contact)
             .join_from(Case, Division, pw.JOIN.LEFT_OUTER))
    if before is not None:
        query = query.where(Case.id < before)
    rows = list(query.order_by(Case.id.desc()).limit(PAGE_SIZE + 1))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].id if more and rows else None)


def status_counts(query: pw.ModelSelect) -> dict[str, int]:
    """Cases per status within ``query`` (one GROUP BY)."""
    counted = (query.select(Case.status, pw.fn.COUNT(Case.id).alias("n"))
               .group_by(Case.status).order_by())
    return {status: n for status, n in counted.tuples()}


def queue_counts(visible: pw.ModelSelect, now: datetime, tz: Any) -> dict[str, int]:
    """The numbers on the queue tabs: per status, overdue, due today."""
    # Only open statuses have tabs; counting a year of answered cases cost ~30 ms per page.
    counts = status_counts(visible.clone().where(Case.status.in_(OPEN_STATUSES)))
    start, end = day_bounds(now, tz)
    open_ = visible.clone().where(Case.status.in_(OPEN_STATUSES))
    counts[OPEN] = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    counts["overdue"] = open_.clone().where(Case.due_at < now).count()
    counts["due_today"] = open_.clone().where((Case.due_at >= now) & (Case.due_at < end)
                                              & (Case.due_at >= start)).count()
    return counts


def newer_than(visible: pw.ModelSelect, last_id: int) -> int:
    """How many visible cases arrived after the newest one on the officer's screen."""
    return visible.clone().where(Case.id > last_id).count()
