"""The inbox's filters and counts as peewee queries (unexecuted where they can be).

Pagination is by key: ``WHERE id < last_id ORDER BY id DESC LIMIT 50`` walks the (status, id)
and primary-key indexes and costs the same on page 1 and page 400, where ``OFFSET`` would read
and throw away every row before the page. The category filter goes through the indexed
``CaseCategory`` rows, never through the JSON column. Free-text search (``search_condition``)
is a LIKE check per case, narrowed by the trigram index of migration 3 to the cases it names.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from functools import reduce
from typing import Any

import peewee as pw

from inbox.arrive.selfservice import status_reference
from inbox.db import database, is_postgres
from inbox.sla import NO_CLOCK_INTENTS
from inbox.models import (OPEN_STATUSES, SEARCH_KEY, SQLITE_SEARCH_TABLES, STATUS_LABELS, Account,
                          Case, CaseCategory, Contact, Division, Message)

PAGE_SIZE = 50
OPEN = "terbuka"
#: The status filter's values besides a case status: every open case, and what waits for the
#: user (``inbox.web.home.WAITING``).
STATUS_FILTERS = (OPEN, "menunggu")
#: SQLite: search index hits read, newest case first, to choose how to search.
NEWEST_HITS = 1000
#: Hits are "close together" when at least one case in DENSE has one: checking cases one by one
#: then fills a page of 50 after about 2,000 of them.
DENSE = 40
#: PostgreSQL: the planner's estimate of the hits below which every hit is read, and above which
#: the newest cases are checked one by one (in between, both: see _postgres_search).
FEW_HITS = 2_000
MANY_HITS = 60_000


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
        """The filter of a request's query string; raises params.BadParameter for a NUL or an
        ``account``/``division`` that is not an id."""
        from inbox.web.params import id_param, text_param
        from inbox.web.params import BadParameter
        flt = cls(**{f.name: text_param(args, f.name) for f in fields(cls)})
        id_param(args, "account", "saluran")
        id_param(args, "division", "bidang")
        if flt.status and flt.status not in STATUS_FILTERS and flt.status not in STATUS_LABELS:
            # an unknown status lists nothing rather than every case (issue 28 item 11)
            raise BadParameter("Isian status tidak dikenal; pilih status dari daftar.")
        return flt

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


def apply_filter(query: pw.ModelSelect, flt: InboxFilter, now: datetime, tz: Any,
                 before: int | None = None) -> pw.ModelSelect:
    """Narrow a Case query by the filter bar, and to the cases below ``before`` (the start of the
    page: a search then looks there first)."""
    if flt.status == OPEN:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    elif flt.status in STATUS_LABELS:
        query = query.where(Case.status == flt.status)
    from inbox.web.params import as_id
    if as_id(flt.account) is not None:
        query = query.where(Case.account == as_id(flt.account))
    if as_id(flt.division) is not None:
        query = query.where(Case.division == as_id(flt.division))
    if flt.category:
        query = query.where(pw.fn.EXISTS(
            CaseCategory.select(CaseCategory.id).where(
                (CaseCategory.code == flt.category) & (CaseCategory.case == Case.id))))
    if flt.overdue:  # on the answer clock or on a class's resolution clock (issue 30)
        query = query.where(Case.overdue_condition(now))
    if flt.due_today:
        start, end = day_bounds(now, tz)
        query = query.where(Case.status.in_(OPEN_STATUSES) & (Case.due_at >= max(start, now))
                            & (Case.due_at < end))
    if flt.visibility == "publik":
        query = query.where(Case.public == True)  # noqa: E712
    elif flt.visibility == "pribadi":
        query = query.where(Case.public == False)  # noqa: E712
    if before is not None:
        query = query.where(Case.id < before)
    term = search_term(flt.q)
    reference = status_reference(term) if term else None
    if reference:
        # any form the citizen's status check accepts: "adu 202612 13", "ADU2026120013"
        query = query.where(Case.reference == reference)
    elif term:
        query = query.where(search_condition(term, before))
    return query


def search_term(q: str) -> str:
    """What is searched for: ``@budiamin111`` and ``#ktp`` look for ``budiamin111`` and ``ktp``.

    Platforms store handles with or without the ``@`` (and officers type one either way), so
    the sign is dropped; without it the search still finds the text with the sign."""
    return q.strip().lstrip("@#").strip()


def search_condition(text: str, before: int | None = None) -> pw.Expression:
    """Free text over the reference, the citizen's handle and name, and the message texts.

    What it finds is ``text_matches``; the search index of migration 3 only narrows the cases
    that check reads, starting below ``before`` when a page starts there (the condition then
    holds for the cases below ``before`` only). Without the index, or for fewer than three
    characters (no trigram), the check alone decides."""
    hits = index_hits(text)
    if hits is None:
        return text_matches(text, per_case=len(text) < 3)
    exact = text_matches(text, per_case=True)
    top = before - 1 if before is not None else Case.select(pw.fn.MAX(Case.id)).scalar() or 0
    if is_postgres():
        return _postgres_search(text, hits, exact, top)
    return _sqlite_search(hits, exact, top)


def _sqlite_search(hits: list[IndexHits], exact: pw.Expression, top: int) -> pw.Expression:
    """SQLite's index lists hits newest case first, so the newest are cheap to read:

    - fewer than NEWEST_HITS hits (a name, a NIK, a reference, a rare word): every hit is known
      and only those cases are read;
    - the newest hits close together (a common word): the newest cases are checked one by one,
      and a page is full after a few hundred;
    - otherwise (a word common in one old month): the newest hits, then the older ones.
    """
    bound, newest = 0, set()
    for source in hits:
        found = source.newest(NEWEST_HITS, below=top + 1)
        newest.update(found)
        if len(found) >= NEWEST_HITS:  # complete only down to its last case
            bound = max(bound, found[-1])
    if not bound:
        return Case.id.in_(sorted(newest)) & exact
    newest = {case_id for case_id in newest if case_id >= bound}
    if len(newest) * DENSE >= top - bound + 1:
        return exact
    older = reduce(operator.or_, (source.older(bound) for source in hits))
    # CASE fixes the order of evaluation: the cheap candidate test first, the LIKEs after, and
    # the older hits are collected only when the walk reaches them.
    candidate = pw.Case(None, [(Case.id >= bound, Case.id.in_(sorted(newest)))], older)
    return pw.Case(None, [(candidate, exact)], False)


def _postgres_search(text: str, hits: list[IndexHits], exact: pw.Expression, top: int
                     ) -> pw.Expression:
    """pg_trgm's indexes find hits in no order, and PostgreSQL reads each hit's row to confirm it
    (~5 µs a hit) where checking a case costs ~15 µs; the planner's estimate of the hits decides:

    - fewer than FEW_HITS: every hit is read and only those cases are checked;
    - more than MANY_HITS (a common word): the newest cases are checked one by one;
    - in between: the DENSE * PAGE_SIZE newest cases up to ``top`` are checked one by one (a page
      is full there when the word is common lately), older ones against every hit, collected once.
    """
    estimate = sum(source.estimate() for source in hits)
    if estimate < FEW_HITS:
        found = {case_id for source in hits for case_id in source.every()}
        return Case.id.in_(sorted(found)) & exact
    if estimate > MANY_HITS:
        return exact
    recent = top - DENSE * PAGE_SIZE
    return pw.Case(None, [(Case.id > recent, exact)], text_matches(text, per_case=False))


def text_matches(text: str, per_case: bool = True) -> pw.Expression:
    """The cases a search for ``text`` finds: its reference, its citizen's handle or name, or one
    of its messages contains ``text``, ignoring case (LIKE on SQLite: ASCII letters only; ILIKE on
    PostgreSQL), with ``%`` and ``_`` taken literally.

    ``per_case`` checks each case the query reaches (quick when matches are common); otherwise
    every matching message is collected first (the same cost whatever the word)."""
    if not per_case:
        in_messages = Message.select(Message.case).where(Message.text.contains(text))
        in_contacts = Contact.select(Contact.id).where(Contact.handle.contains(text)
                                                       | Contact.name.contains(text))
        return (Case.reference.contains(text) | Case.contact.in_(in_contacts)
                | Case.id.in_(in_messages))
    messages = Message.select(Message.id).where((Message.case == Case.id)
                                                & Message.text.contains(text))
    contacts = Contact.select(Contact.id).where(
        (Contact.id == Case.contact)
        & (Contact.handle.contains(text) | Contact.name.contains(text)))
    # OFFSET 0 stops PostgreSQL from turning EXISTS into a hash of every match in the year.
    return (Case.reference.contains(text) | pw.fn.EXISTS(contacts.offset(0))
            | pw.fn.EXISTS(messages.offset(0)))


@dataclass
class IndexHits:
    """The cases the search index names in one table for one search (a superset of what
    ``text_matches`` finds there). ``sql`` is ``FROM … WHERE …`` with ``params``; ``key`` orders
    the hits and equals ``case id * scale``."""

    sql: str
    params: list[Any]
    case_id: str = "id"
    key: str = "id"
    scale: int = 1
    #: The hits of cases below any bound as a condition, when one is cheaper than ``older``'s.
    all_hits: pw.Expression | None = None

    def newest(self, limit: int, below: int | None = None) -> list[int]:
        """Case ids of the newest ``limit`` hits (of cases below ``below``), newest first, a case
        once per hit."""
        where, params = "", [*self.params]
        if below is not None:
            where, params = f" AND {self.key} < {self._mark}", [*params, below * self.scale]
        return [case_id for (case_id,) in database.execute_sql(
            f"SELECT {self.case_id} {self.sql}{where} ORDER BY {self.key} DESC "
            f"LIMIT {self._mark}", [*params, limit])]

    def every(self) -> list[int]:
        return [case_id for (case_id,) in database.execute_sql(
            f"SELECT {self.case_id} {self.sql}", self.params)]

    def older(self, below: int) -> pw.Expression:
        """A condition true for the hits of cases below ``below`` (and maybe for others)."""
        if self.all_hits is not None:
            return self.all_hits
        return Case.id.in_(pw.SQL(
            f"(SELECT {self.case_id} {self.sql} AND {self.key} < {self._mark})",
            [*self.params, below * self.scale]))

    def estimate(self) -> int:
        """PostgreSQL's estimate of the hits (a plan, not a count: a few milliseconds)."""
        plan = database.execute_sql(f"EXPLAIN (FORMAT JSON) SELECT {self.case_id} {self.sql}",
                                    self.params).fetchone()[0]
        return int(plan[0]["Plan"]["Plan Rows"])

    @property
    def _mark(self) -> str:
        return database.obj.param


def index_hits(text: str) -> list[IndexHits] | None:
    """Where migration 3's search index finds candidate cases for ``text``; None without an index
    or for fewer than three characters (a trigram index has nothing to look up)."""
    if len(text) < 3:
        return None
    if is_postgres():
        if not database.execute_sql("SELECT to_regclass('message_text_trgm') IS NOT NULL"
                                    ).fetchone()[0]:
            return None
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [IndexHits("FROM message WHERE text ILIKE %s AND case_id IS NOT NULL", [like],
                          case_id="case_id", key="case_id"),
                IndexHits('FROM "case" WHERE lower(reference) LIKE lower(%s)', [like]),
                IndexHits('FROM "case" c JOIN contact t ON t.id = c.contact_id '
                          "WHERE (t.handle ILIKE %s OR t.name ILIKE %s)", [like, like],
                          case_id="c.id", key="c.id")]
    if not database.table_exists(SQLITE_SEARCH_TABLES[0]):
        return None
    match = trigram_query(text)
    contacts = "SELECT rowid FROM search_contact WHERE search_contact MATCH ?"
    return [IndexHits("FROM search_text WHERE search_text MATCH ?", [match],
                      case_id=f"rowid / {SEARCH_KEY}", key="rowid", scale=SEARCH_KEY),
            IndexHits(f'FROM "case" WHERE contact_id IN ({contacts})', [match],
                      all_hits=Case.contact.in_(pw.SQL(f"({contacts})", [match])))]


def trigram_query(text: str) -> str:
    """An FTS5 query for rows holding the trigrams of ``text`` (one in three narrows enough; the
    LIKE check decides). FTS5 folds case as LIKE does for ASCII, and beyond ASCII too."""
    grams = [text[i:i + 3] for i in range(0, len(text) - 2, 3)] + [text[-3:]]
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in dict.fromkeys(grams))


def list_columns() -> tuple[pw.Field, ...]:
    """The columns a list row reads (``cases/list.html``, ``display.due_badge``,
    ``display.unsure``, ``display.channel_label``); a row's other fields are left at their
    defaults, so a list must not show one without adding it here. A case row is wide (forty
    columns, its account's twenty more): building every column of a page's 51 rows was a fifth
    of the inbox's time on a year of data."""
    return (Case.id, Case.reference, Case.account, Case.contact, Case.public, Case.status,
            Case.division, Case.categories, Case.categories_override, Case.intent,
            Case.intent_override, Case.summary, Case.alert, Case.opened_at, Case.due_at,
            Case.complaint_class, Case.resolution_due_at, Case.resolved_at, Case.referred_to,
            Account.id, Account.kind, Account.label, Account.name,
            Contact.id, Contact.handle, Contact.name, Division.id, Division.name)


def listed(query: pw.ModelSelect) -> pw.ModelSelect:
    """``query`` (of Case) selecting what a list row shows, with its account, citizen and bidang."""
    return (query.select(*list_columns())
            .join_from(Case, Account).join_from(Case, Contact)
            .join_from(Case, Division, pw.JOIN.LEFT_OUTER))


def page(query: pw.ModelSelect, before: int | None) -> tuple[list[Case], int | None]:
    """One page of cases, newest first, and the id to continue from (None on the last page)."""
    query = listed(query)
    if before is not None:
        query = query.where(Case.id < before)
    rows = list(query.order_by(Case.id.desc()).limit(PAGE_SIZE + 1))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].id if more and rows else None)


def oldest_first(query: pw.ModelSelect, offset: int = 0,
                 size: int = PAGE_SIZE) -> tuple[list[Case], int | None]:
    """One page of what waits for a user, the longest waiting first (issue 28 item 10): the
    cases on the SLA's clock by their deadline — a bidang's answer to forward, its deadline
    days old, before this morning's new cases — then thanks and greetings, which wait on no
    clock; and the offset of the next page (None on the last). The list is the user's own
    queue, a few hundred at most, so an offset is cheap here."""
    no_clock = (Case.intent_override.in_(NO_CLOCK_INTENTS)
                | (Case.intent_override.is_null() & Case.intent.in_(NO_CLOCK_INTENTS)))
    query = listed(query)
    rows = list(query.order_by(pw.Case(None, [(no_clock, 1)], 0), Case.due_at.asc(nulls="LAST"),
                               Case.id).offset(offset).limit(size + 1))
    return rows[:size], (offset + size if len(rows) > size else None)


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
    counts["overdue"] = visible.clone().where(Case.overdue_condition(now)).count()
    counts["due_today"] = open_.clone().where((Case.due_at >= now) & (Case.due_at < end)
                                              & (Case.due_at >= start)).count()
    return counts


def newer_than(visible: pw.ModelSelect, last_id: int) -> int:
    """How many visible cases arrived after the newest one on the officer's screen."""
    return visible.clone().where(Case.id > last_id).count()
