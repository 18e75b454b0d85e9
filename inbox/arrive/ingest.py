"""Turn a batch of normalised messages into Contacts, Messages and Cases (SOP step 1).

The whole batch and the account's new cursor are written in one transaction: a crash at any
instant leaves either all of it or none of it, and the unique index on (account, external_id)
makes the same batch ingested twice change nothing.

Threading rule: a case is one citizen's thread on one account, so an inbound message joins the
newest case with the same (account, thread_id, contact). An open case gains the message; an
answered or dismissed one is reopened (with an Event), except that a bare thank-you on an
answered case is only recorded; anything else opens a new case.

Cost: a poll brings up to a few hundred messages and each used to cost about ten statements
(duplicate check, contact, thread lookup, counter, case, category rows, event, message), most
of the time going into building SQL rather than running it. A batch is now read with a handful
of queries (existing ids, contacts, the cases of its threads), decided in memory message by
message in ``created_at`` order exactly as before, and written with one multi-row INSERT per
table; only updates of cases that already existed stay one statement per message.
"""
from __future__ import annotations

import dataclasses
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

import peewee as pw

from connectors.base import InboundMessage
from connectors.items import SetAsideItem
from inbox import pii
from inbox.arrive import attachments as attachment_rows
from inbox.arrive import identities, selfservice
from inbox.db import atomic_write, database
from inbox.models import (CLOSED_STATUSES, Account, Attachment, Case, CaseCategory, Contact,
                          Counter, Event, IgnoredCount, Message, Outbox, SetAside,
                          UTCDateTimeField, Usage, utcnow)
from inbox.setup.runtime import IngestOptions
from inbox.sla import reply_window_closes_at
from inbox.understand.classify import Classifier
from inbox.understand.lapor import find_tracking_id
from inbox.understand.maladministration import suggest as suggest_maladministration
from inbox.understand.training import shipped_classifier

log = logging.getLogger(__name__)

ACK_TEXT = ("Halo {nama}, terima kasih telah menghubungi {kantor}. Pesan Anda kami terima dengan "
            "nomor {nomor} dan akan kami jawab paling lambat {batas_waktu}.")
NO_ACK_INTENTS = ("spam", "greeting", "thanks")
#: Ids per IN (...) list and bound values per INSERT on PostgreSQL: within SQLite's oldest
#: limit (999). On SQLite an INSERT takes as many as the connection allows (32,766 by default
#: since 3.32), up to ROWS_PER_INSERT rows, so a usual poll's rows go in one statement per
#: table: the search index's FTS5 triggers write an index segment per statement, and fewer
#: segments made ingest ~7% faster.
CHUNK = 500
MAX_PARAMS = 999
#: Rows per INSERT at most. Python's sqlite3 keeps the last 128 statements it prepared, and a
#: prepared INSERT holds ~2 KB per row: uncapped, a daemon catching up 5,000 messages a poll
#: grew by ~25 MB a poll up to ~430 MB (bench/memory_bench.py); at 100 rows the cache stays
#: under ~30 MB.
ROWS_PER_INSERT = 100


@dataclass
class IngestReport:
    stored: int = 0
    duplicates: int = 0
    new_cases: int = 0
    joined: int = 0
    reopened: int = 0
    outbound: int = 0
    set_aside: int = 0
    ignored: int = 0
    attachments: int = 0
    cases: list[str] = field(default_factory=list)


def ingest(account: Account, messages: list[InboundMessage], cursor: dict[str, Any] | None = None,
           options: IngestOptions | None = None, requests: int = 0, resources: int = 0,
           set_aside: list[SetAsideItem] | None = None,
           ignored: dict[str, int] | None = None) -> IngestReport:
    """Store ``messages`` for ``account`` and, in the same transaction, the items the poll set
    aside, the counts of the items it ignored and its new ``cursor``.

    ``cursor=None`` leaves the account's cursor alone (``aduan import``). Raises whatever the
    database raises; then nothing of the batch is stored."""
    options = options or IngestOptions()
    outermost = not database.in_transaction()
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            return _ingest_once(account, messages, cursor, options, requests, resources,
                                set_aside, ignored)
        except Exception as exc:  # noqa: BLE001 - re-raised unless PostgreSQL's deadlock
            # PostgreSQL ends one of two transactions that wait on each other (two workers
            # re-keying the same citizen); its advice is to run that transaction again. Inside
            # a caller's transaction the caller must (it was aborted with ours).
            if not (outermost and attempt < DEADLOCK_TRIES and _is_deadlock(exc)):
                raise
            log.info("penyimpanan pesan %s diulang setelah deadlock database (percobaan %d)",
                     account.name, attempt + 1)
    raise AssertionError("unreachable")


#: Attempts of one batch when PostgreSQL reports a deadlock or a serialization failure.
DEADLOCK_TRIES = 5


def _is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL's deadlock_detected (40P01) or serialization_failure (40001), raised by
    psycopg2 as it is or wrapped by peewee (the original is then its context)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if getattr(seen, "pgcode", None) in ("40P01", "40001"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _ingest_once(account: Account, messages: list[InboundMessage], cursor: dict[str, Any] | None,
                 options: IngestOptions, requests: int, resources: int,
                 set_aside: list[SetAsideItem] | None,
                 ignored: dict[str, int] | None) -> IngestReport:
    report = IngestReport()
    with atomic_write():
        batch = _Batch(account, options, report)
        fresh = identities.canonical(account.kind, batch.new_messages(messages))
        batch.load(fresh)
        batch.classify_ahead(fresh)
        for message in fresh:
            batch.store(message)
            report.stored += 1
        batch.write()
        report.set_aside = store_set_aside(account, set_aside or [])
        report.ignored = count_ignored(account, ignored or {})
        if cursor is not None:
            Account.update(cursor=cursor).where(Account.id == account.id).execute()
            account.cursor = cursor
            _count_usage(account, requests, resources, report.stored, options.calendar.tz)
    return report


class _CaseState:
    """What threading needs of one case: a row read from the database, or a new case whose
    whole row is kept here and inserted once, in its final state, at the end of the batch."""

    __slots__ = ("id", "row", "status", "public", "last_inbound_at", "intent", "contact")

    def __init__(self, id: int | None, status: str, public: bool, last_inbound_at: datetime | None,
                 row: dict[str, Any] | None = None, intent: str | None = None,
                 contact: Any = None) -> None:
        self.id, self.row, self.status, self.public = id, row, status, public
        self.last_inbound_at, self.intent, self.contact = last_inbound_at, intent, contact

    def update(self, **fields: Any) -> None:
        """Apply a change: on the pending row of a new case, or as an UPDATE of an existing one
        (with the same expressions as always, e.g. ``personal_data OR flag``)."""
        if self.row is not None:
            for name, value in fields.items():
                if isinstance(value, (_Or, _Plus)):
                    current = self.row.get(name, getattr(Case, name).default)
                    value = (bool(current) or value.flag) if isinstance(value, _Or) \
                        else current + value.amount
                self.row[name] = value
            return
        sql = {name: (getattr(Case, name) | value.flag if isinstance(value, _Or)
                      else getattr(Case, name) + value.amount if isinstance(value, _Plus)
                      else value) for name, value in fields.items()}
        Case.update(**sql).where(Case.id == self.id).execute()


@dataclass
class _Or:
    """``column = column OR flag`` (a case keeps its personal-data flag once set)."""

    flag: bool


@dataclass
class _Plus:
    """``column = column + amount`` (the reopen count)."""

    amount: int


class _Batch:
    """One call of ``ingest``: reads once, decides per message, writes once."""

    def __init__(self, account: Account, options: IngestOptions, report: IngestReport) -> None:
        self.account, self.options, self.report = account, options, report
        self.contacts: dict[str, Any] = {}               # author_id -> Contact
        self.latest: dict[tuple[str, int], _CaseState] = {}  # (thread, contact id) -> newest case
        self.latest_any: dict[str, _CaseState] = {}      # thread -> newest case, any citizen
        self.new_cases: list[_CaseState] = []
        self.messages: list[tuple[dict[str, Any], _CaseState | None]] = []
        self.events: list[tuple[_CaseState, dict[str, Any]]] = []
        self.acknowledgements: list[tuple[_CaseState, dict[str, Any]]] = []
        self.attached: list[InboundMessage] = []
        self.selfservice = selfservice.Pending()
        self.classified: dict[str, Any] = {}             # external_id -> Classification
        self.deferred: list[InboundMessage] = []         # not classified ahead (classify_ahead)
        self.due_dates: dict[date, datetime] = {}       # local day opened -> due_at

    # --- reading -------------------------------------------------------------------------------

    def new_messages(self, messages: list[InboundMessage]) -> list[InboundMessage]:
        """The messages not stored yet, oldest first, each once."""
        ids = [m.external_id for m in messages]
        seen: set[str] = set()
        for chunk in range(0, len(ids), CHUNK):
            seen.update(external_id for (external_id,) in select_in(
                [Message.external_id], Message.account, self.account.id,
                Message.external_id, ids[chunk:chunk + CHUNK]))
        fresh = []
        for message in sorted(messages, key=lambda m: m.created_at):
            if message.external_id in seen:
                self.report.duplicates += 1
                continue
            seen.add(message.external_id)
            fresh.append(message)
        return fresh

    def load(self, messages: list[InboundMessage]) -> None:
        """Contacts (creating the new ones) and the existing cases of the batch's threads."""
        kind = self.account.kind
        citizens = [m for m in messages if not m.from_office]
        authors = list(dict.fromkeys(m.author_id for m in citizens))
        known = self._contacts(kind, authors)
        missing: list[dict[str, Any]] = []
        aliases: set[str | None] = {None}
        for message in citizens:  # the first message of each author decides, as one by one did
            author = message.author_id
            if author in self.contacts:
                continue
            contact = known.get(author)
            if contact is None:
                # one new contact per alias (a number seen with two BSUIDs in one batch)
                alias = message.author_alias if message.author_alias not in aliases else None
                aliases.add(alias)
                missing.append({"kind": kind, "platform_user_id": author,
                                "handle": message.author_handle, "name": message.author_name,
                                "alias_id": alias, "created_at": utcnow()})
                self.contacts[author] = None
                continue
            # A message without a name or handle keeps the ones the contact has: a later
            # WhatsApp message without a profile name must not unname the citizen.
            seen = (message.author_handle or contact.handle, message.author_name or contact.name)
            if seen != (contact.handle, contact.name) and message.author_handle != message.author_id:
                contact.handle, contact.name = seen
                contact.save()
            self.contacts[author] = contact
        if missing:
            # Another worker polling another account of the same platform may be creating the
            # same citizen right now; the unique index settles it and both use the one row.
            made = dict((author, id) for id, author in insert_rows(
                Contact, missing, ignore_conflicts=True,
                returning="platform_user_id" if can_return() else None))
            others = self._contacts(kind, [row["platform_user_id"] for row in missing
                                           if row["platform_user_id"] not in made])
            for row in missing:
                author = row["platform_user_id"]
                self.contacts[author] = (Contact(id=made[author], **row) if author in made
                                         else others[author])
        threads = list(dict.fromkeys(m.thread_id for m in messages))
        for chunk in range(0, len(threads), CHUNK):
            # Sorted here, not by ORDER BY id: with it SQLite walks the account's index (every
            # case of the account, in id order) instead of looking up the threads in the
            # (account, thread_id, contact) one: 6.6 ms a poll on 17k cases against 0.4 ms,
            # growing with the table.
            rows = sorted(select_in([Case.id, Case.thread_id, Case.contact, Case.status,
                                     Case.public, Case.last_inbound_at, Case.intent],
                                    Case.account, self.account.id,
                                    Case.thread_id, threads[chunk:chunk + CHUNK]))
            public_value, time_value = Case.public.python_value, Case.last_inbound_at.python_value
            for case_id, thread, contact_id, status, public, last, intent in rows:
                state = _CaseState(case_id, status, public_value(public), time_value(last),
                                   intent=intent)
                self.latest[(thread, contact_id)] = state
                self.latest_any[thread] = state
        self._quoted_cases(citizens)

    def _quoted_cases(self, citizens: list[InboundMessage]) -> None:
        """A message quoting a case number (``case_reference``) in a thread without a case of
        its author joins that case, if the case is the same citizen's on this account: quoting
        someone else's number never puts a message into their case."""
        quoted = [m for m in citizens if m.case_reference
                  and (m.thread_id, self.contacts[m.author_id].id) not in self.latest]
        if not quoted:
            return
        references = list(dict.fromkeys(m.case_reference for m in quoted))[:CHUNK]
        found = {reference: (_CaseState(case_id, status, public, last, intent=intent), contact_id)
                 for case_id, reference, contact_id, status, public, last, intent in
                 Case.select(Case.id, Case.reference, Case.contact, Case.status, Case.public,
                             Case.last_inbound_at, Case.intent)
                 .where((Case.account == self.account) & Case.reference.in_(references)).tuples()}
        loaded = {state.id: state for state in self.latest.values()}  # one state per case
        for message in quoted:
            contact = self.contacts[message.author_id]
            state, owner = found.get(message.case_reference, (None, None))
            if state is not None and owner == contact.id:
                state = loaded.setdefault(state.id, state)
                self.latest.setdefault((message.thread_id, contact.id), state)

    def classify_ahead(self, messages: list[InboundMessage]) -> None:
        """Classify at once every message that may open or reopen a case: the model scores a
        list as one matrix, several times faster a message than one by one. A later message of
        the same citizen's thread is left out (``deferred``): the earlier one opens or reopens
        the case, which it then joins, so its classification would not be used (15% of the
        sandbox's messages were classified for nothing). Should it be needed after all (the
        earlier one was dismissed at once, or was a thank-you on an answered case),
        ``_classify_deferred`` classifies it then."""
        wanted = []
        seen: set[tuple[str, int]] = set()
        for message in messages:
            if message.from_office:
                continue
            key = (message.thread_id, self.contacts[message.author_id].id)
            if key in seen:
                self.deferred.append(message)
                continue
            seen.add(key)
            state = self.latest.get(key)
            if state is None or state.status in CLOSED_STATUSES:
                wanted.append(message)
        for message, found in zip(wanted, classify_all(self.options, wanted)):
            self.classified[message.external_id] = found

    def _classify_deferred(self, message: InboundMessage) -> Any:
        """The classification of ``message``, which ``classify_ahead`` left out; with it, every
        deferred message after it is classified in the same matrix (once one is needed, the
        others of such a thread may well be too)."""
        at = next((i for i, m in enumerate(self.deferred) if m is message), None)
        pending = [message] + ([m for m in self.deferred[at + 1:]
                                if m.external_id not in self.classified] if at is not None else [])
        for m, found in zip(pending, classify_all(self.options, pending)):
            self.classified[m.external_id] = found
        return self.classified[message.external_id]

    def _contacts(self, kind: str, authors: list[str]) -> dict[str, Contact]:
        found: dict[str, Contact] = {}
        for chunk in range(0, len(authors), CHUNK):
            sql, params = select_in_sql(Contact._meta.sorted_fields, Contact.kind, kind,
                                        Contact.platform_user_id, authors[chunk:chunk + CHUNK])
            for contact in Contact.raw(sql, *params):
                found[contact.platform_user_id] = contact
        return found

    def case_state(self, thread_id: str, contact_id: int) -> _CaseState | None:
        """The newest case of this citizen's thread, as the batch knows it so far."""
        return self.latest.get((thread_id, contact_id))

    @staticmethod
    def state_of(case: Case) -> _CaseState:
        """What threading needs of an existing ``case`` read from the database."""
        return _CaseState(case.id, case.status, case.public, case.last_inbound_at)

    # --- deciding, one message at a time ------------------------------------------------------

    def due_at(self, opened_at: datetime) -> datetime:
        """The calendar's ``due_at``, which depends on the local day alone: worked out once per
        day in the batch (a poll's messages mostly share one)."""
        calendar = self.options.calendar
        day = opened_at.astimezone(calendar.tz).date()
        due = self.due_dates.get(day)
        if due is None:
            due = self.due_dates[day] = calendar.due_at(opened_at)
        return due

    def store(self, message: InboundMessage) -> None:
        has_pii = pii.has_personal_data(message.text)
        if message.from_office:
            self.add_message(message, self.latest_any.get(message.thread_id), None, "out", has_pii)
            self.report.outbound += 1
            return
        contact = self.contacts[message.author_id]
        if selfservice.intercept(self, message, contact, has_pii):
            return  # a status check or a bare survey rating: no case opened or reopened
        case = self.latest.get((message.thread_id, contact.id))
        classification = None  # only a new or closed case needs it
        if case is None or case.status in CLOSED_STATUSES:
            classification = (self.classified.get(message.external_id)
                              or self._classify_deferred(message))
        if case is None:
            case = self._open_case(contact, message, classification, has_pii)
            self.report.new_cases += 1
        elif case.status in CLOSED_STATUSES:
            if case.status == "answered" and classification.intent == "thanks":
                self._touch(case, message, has_pii)
                self.add_event(case, "citizen_thanked", at=message.created_at,
                               external_id=message.external_id)
                self.report.joined += 1
            else:
                self._reopen(case, message, has_pii)
                self.report.reopened += 1
        else:
            self._touch(case, message, has_pii)
            self.report.joined += 1
        self._recognise_lapor(case, message)
        self.add_message(message, case, contact, "in", has_pii)

    def _recognise_lapor(self, case: _CaseState, message: InboundMessage) -> None:
        """A message that quotes a LAPOR! link or tracking ID gives its case that ID, unless the
        case has one (an officer's entry is never overwritten). In the batch's transaction."""
        if "lapor" not in message.text.lower() and "tracking" not in message.text.lower():
            return  # the usual message: no regular expression run at all
        tracking_id = find_tracking_id(message.text)
        if not tracking_id:
            return
        if case.row is not None:  # a case this batch opens
            if case.row.get("lapor_tracking_id"):
                return
            case.row["lapor_tracking_id"] = tracking_id
        elif not Case.update(lapor_tracking_id=tracking_id).where(
                (Case.id == case.id) & Case.lapor_tracking_id.is_null()).execute():
            return
        self.add_event(case, "lapor_recognised", tracking_id=tracking_id,
                       external_id=message.external_id)

    def _open_case(self, contact: Contact, message: InboundMessage, classification: Any,
                   has_pii: bool) -> _CaseState:
        options = self.options
        now = utcnow()
        row = dict(
            reference=None, account=self.account.id, contact=contact.id,
            thread_id=message.thread_id, public=message.public,
            categories=list(classification.categories), intent=classification.intent,
            personal_data=has_pii, summary=summary_of(message, has_pii)[:280],
            maladministration_suggested=_suggested_maladministration(message, classification),
            lapor_tracking_id=None,
            opened_at=message.created_at, due_at=self.due_at(message.created_at),
            last_inbound_at=message.created_at,
            reply_window_closes_at=reply_window_closes_at(message.created_at, message.public,
                                                          options.reply_window_hours),
            updated_at=now)
        case = _CaseState(None, "new", message.public, message.created_at, row=row,
                          intent=classification.intent, contact=contact)
        self.new_cases.append(case)
        self.latest[(message.thread_id, contact.id)] = case
        self.latest_any[message.thread_id] = case
        self.add_event(case, "opened", at=now, external_id=message.external_id,
                       categories=list(classification.categories), intent=classification.intent,
                       confidence=dict(classification.confidence))
        sure = (options.auto_dismiss_sure and getattr(classification, "dismissable", False)
                and not self._has_open_case(contact, case))
        if classification.intent in options.auto_dismiss or sure:
            case.update(status="not_complaint", dismiss_reason=classification.intent,
                        closed_at=now, due_at=None)
            case.status = "not_complaint"
            extra = {}
            if sure and classification.intent not in options.auto_dismiss:
                extra = {"confidence": classification.confidence.get("intent"),
                         "why": "pengklasifikasi yakin ini bukan pengaduan dan warga ini tidak "
                                "punya pengaduan terbuka"}
            self.add_event(case, "dismissed", at=now, reason=classification.intent, automatic=True,
                        **extra)
        elif _wants_acknowledgement(case, options):
            # The event keeps its place after "opened"; its outbox id is known after the insert.
            self.add_event(case, "acknowledgement_queued")
            self.acknowledgements.append((case, self.events[-1][1]["detail"]))
        return case

    def _has_open_case(self, contact: Contact, new_case: _CaseState) -> bool:
        """Whether the citizen has an open case besides ``new_case``, stored or in this batch:
        a thank-you then may be about it, and a person should see it."""
        if any(c is not new_case and c.contact is contact and c.status not in CLOSED_STATUSES
               for c in self.new_cases):
            return True
        return Case.select().where((Case.contact == contact.id)
                                   & Case.status.not_in(CLOSED_STATUSES)).exists()

    def _touch(self, case: _CaseState, message: InboundMessage, has_pii: bool) -> None:
        """A new citizen message in an open case: the reply window starts again."""
        last = max(case.last_inbound_at or message.created_at, message.created_at)
        case.update(last_inbound_at=last, personal_data=_Or(has_pii),
                    reply_window_closes_at=reply_window_closes_at(
                        last, case.public, self.options.reply_window_hours),
                    updated_at=utcnow())
        case.last_inbound_at = last

    def _reopen(self, case: _CaseState, message: InboundMessage, has_pii: bool) -> None:
        """Back to the admin with a fresh deadline. The last round's answer and escalation are
        cleared so the new round is counted on its own; the earlier Events keep their times."""
        previous = case.status
        options = self.options
        # The last round's outcome goes too ("bukan wewenang" included): the new round decides.
        case.update(status="new", queue="admin", dismiss_reason=None, closed_at=None, alert=None,
                    referred_to=None, referral_forwarded=False,
                    answered_at=None, escalated_at=None, division_answered_at=None, recapped_on=None,
                    reopen_count=_Plus(1), last_inbound_at=message.created_at,
                    due_at=self.due_at(message.created_at),
                    reply_window_closes_at=reply_window_closes_at(message.created_at, case.public,
                                                                  options.reply_window_hours),
                    personal_data=_Or(has_pii), updated_at=utcnow())
        case.status, case.last_inbound_at = "new", message.created_at
        self.add_event(case, "reopened", previous_status=previous, external_id=message.external_id)

    def add_message(self, message: InboundMessage, case: _CaseState | None, contact: Contact | None,
                    direction: str, has_pii: bool) -> None:
        """Keep ``message`` to be written with the batch (in ``case``, when there is one)."""
        if message.attachments:
            self.attached.append(message)
        self.messages.append((dict(
            account=self.account.id, external_id=message.external_id,
            contact=contact.id if contact is not None else None, direction=direction,
            kind=message.kind, public=message.public, thread_id=message.thread_id,
            text=message.text, created_at=message.created_at, received_at=utcnow(),
            permalink=message.permalink, in_reply_to=message.in_reply_to, personal_data=has_pii,
            raw=message.raw or None), case))

    def add_event(self, case: _CaseState, action: str, at: datetime | None = None,
                  **detail: Any) -> None:
        """Keep a system Event of ``case`` to be written with the batch."""
        self.events.append((case, dict(actor=None, actor_name="system", action=action,
                                       at=at or utcnow(), detail=detail)))

    # --- writing -------------------------------------------------------------------------------

    def write(self) -> None:
        """New cases (numbered in arrival order), their category rows and acknowledgements, then
        every message and event of the batch; parents before children."""
        if self.new_cases:
            self._number_new_cases()
            returned = insert_rows(Case, [case.row for case in self.new_cases],
                                   returning="reference" if can_return() else None)
            ids: dict[str, int] = {reference: id for id, reference in returned}
            references = [case.row["reference"] for case in self.new_cases]
            for chunk in range(0, len(references), CHUNK) if not returned else ():
                ids.update(Case.select(Case.reference, Case.id).where(
                    Case.reference.in_(references[chunk:chunk + CHUNK])).tuples())
            for case in self.new_cases:
                case.id = ids[case.row["reference"]]
                self.report.cases.append(case.row["reference"])
            insert_rows(CaseCategory, [{"case": case.id, "code": code} for case in self.new_cases
                                       for code in sorted(set(case.row["categories"]))])
        if self.acknowledgements:
            self._queue_acknowledgements()
        insert_rows(Message, [dict(row, case=case.id if case is not None else None)
                              for row, case in self.messages])
        insert_rows(Event, [dict(row, case=case.id) for case, row in self.events])
        selfservice.write(self)
        self._write_attachments()

    def _write_attachments(self) -> None:
        with_files = {m.external_id: m.attachments for m in self.attached}
        if not with_files:
            return
        ids: dict[str, int] = {}
        keys = list(with_files)
        for chunk in range(0, len(keys), CHUNK):
            ids.update(Message.select(Message.external_id, Message.id).where(
                (Message.account == self.account)
                & Message.external_id.in_(keys[chunk:chunk + CHUNK])).tuples())
        found = [row for key, refs in with_files.items()
                 for row in attachment_rows.rows(ids[key], refs)]
        insert_rows(Attachment, found)
        self.report.attachments += len(found)

    def _number_new_cases(self) -> None:
        """``ADU-YYYYMM-NNNN`` per month (WIB): one counter update per month in the batch."""
        tz = self.options.calendar.tz
        months: dict[str, list[_CaseState]] = {}
        for case in self.new_cases:
            months.setdefault(case.row["opened_at"].astimezone(tz).strftime("%Y%m"), []).append(case)
        for month, cases in months.items():
            first = reserve_numbers("ADU-" + month, len(cases))
            for offset, case in enumerate(cases):
                case.row["reference"] = f"ADU-{month}-{first + offset:04d}"

    def _queue_acknowledgements(self) -> None:
        rows = [{"case": case.id, "text": acknowledgement_text(
                    self.options, case.contact, case.row["reference"], case.row["due_at"]),
                 "public": case.public, "purpose": "acknowledgement"}
                for case, _ in self.acknowledgements]
        returned = insert_rows(Outbox, rows, returning="case" if can_return() else None)
        outbox_ids: dict[int, int] = {case_id: id for id, case_id in returned}
        case_ids = [case.id for case, _ in self.acknowledgements]
        for chunk in range(0, len(case_ids), CHUNK) if not returned else ():
            outbox_ids.update(Outbox.select(Outbox.case, Outbox.id).where(
                Outbox.case.in_(case_ids[chunk:chunk + CHUNK])
                & (Outbox.purpose == "acknowledgement")).tuples())
        for case, detail in self.acknowledgements:
            detail["outbox_id"] = outbox_ids[case.id]


def insert_rows(model: type[pw.Model], rows: list[dict[str, Any]],
                ignore_conflicts: bool = False, returning: str | None = None
                ) -> list[tuple[Any, Any]]:
    """INSERT ``rows`` (dicts by field name) with a few multi-row statements; with
    ``returning`` (a field name), the ``(id, that field's value)`` of each row inserted (not
    of a row skipped by ``ignore_conflicts``), in no particular order.

    Values are converted by each field's ``db_value`` and missing fields get their defaults,
    exactly as ``Model.insert`` does; the SQL text is assembled here because peewee building
    one statement for a hundred rows cost more than the database storing them. A value that
    ``db_value`` would return unchanged (a str for a text field, an int id for a foreign key)
    is passed as it is: the calls cost about as much as the search index's triggers."""
    if not rows:
        return []
    meta = model._meta
    fields = [f for f in meta.sorted_fields
              if not (f is meta.primary_key and isinstance(f, pw.AutoField))]
    # A None that db_value keeps None (every field of ours) is passed as it is: most of a new
    # case's columns are empty, and each was a call.
    plan = [(f.name, _UNCHANGED.get(type(f)), _converter(f), f.default, f.db_value(None) is None)
            for f in fields]
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    mark = database.obj.param
    one = "(" + ", ".join([mark] * len(fields)) + ")"
    per_statement = max(1, min(ROWS_PER_INSERT, _max_params() // len(fields)))
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning is not None:
        tail += f' RETURNING "{meta.primary_key.column_name}", "{meta.fields[returning].column_name}"'
    found: list[tuple[Any, Any]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        params: list[Any] = []
        for row in chunk:
            for name, unchanged, db_value, default, keeps_none in plan:
                if name in row:
                    value = row[name]
                elif default is not None:
                    value = default() if callable(default) else default
                else:
                    value = None
                if value is None:
                    if not keeps_none:
                        value = db_value(value)
                elif unchanged is None or type(value) is not unchanged:
                    value = db_value(value)
                params.append(value)
        cursor = database.execute_sql(f'INSERT INTO "{meta.table_name}" ({names}) VALUES '
                                      + ", ".join([one] * len(chunk)) + tail, params)
        if returning is not None:
            found.extend(cursor.fetchall())
    return found


def select_in(columns: list[pw.Field], equal: pw.Field, value: Any, among: pw.Field,
              values: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``SELECT columns WHERE equal = value AND among IN (values)`` as the driver
    gives them: no field's ``python_value`` is applied (an id, a text is what peewee would
    give; convert the others). ``values`` must not be empty."""
    sql, params = select_in_sql(columns, equal, value, among, values)
    return database.execute_sql(sql, params).fetchall()


def select_in_sql(columns: list[pw.Field], equal: pw.Field, value: Any, among: pw.Field,
                  values: list[Any]) -> tuple[str, list[Any]]:
    """The SQL and parameters of :func:`select_in` (for ``Model.raw``, which makes model
    instances of the rows). Written out as ``insert_rows`` is: peewee building an IN list
    of a hundred values, a node each, took longer than running the query (the thread
    lookup of a poll: 2.0 ms against 0.8 ms on 17k cases, SQLite)."""
    mark = database.obj.param
    names = ", ".join(f'"{column.column_name}"' for column in columns)
    sql = (f'SELECT {names} FROM "{equal.model._meta.table_name}" WHERE "{equal.column_name}" '
           f'= {mark} AND "{among.column_name}" IN ({", ".join([mark] * len(values))})')
    return sql, [value, *values]


def can_return() -> bool:
    """Whether the database knows ``INSERT ... RETURNING`` (PostgreSQL; SQLite from 3.35)."""
    return not isinstance(database.obj, pw.SqliteDatabase) or sqlite3.sqlite_version_info >= (3, 35)


def _converter(field: pw.Field) -> Any:
    """``field.db_value``, or a shortcut giving the same value for the common case: an aware
    UTC datetime (``utcnow()``, a platform's timestamp) for a UTC field loses its zone and keeps
    the rest; peewee's own ``DateTimeField.db_value`` passes a datetime through as it is."""
    if type(field) is UTCDateTimeField:
        db_value = field.db_value

        def utc(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is timezone.utc:
                return value.replace(tzinfo=None)
            return db_value(value)
        return utc
    return field.db_value


#: Field classes (exactly these, not subclasses such as JSONField) whose ``db_value`` returns a
#: None or a value of this type unchanged.
_UNCHANGED: dict[type[pw.Field], type] = {pw.CharField: str, pw.TextField: str,
                                          pw.IntegerField: int, pw.BooleanField: bool,
                                          pw.ForeignKeyField: int}


def _max_params() -> int:
    if isinstance(database.obj, pw.SqliteDatabase):
        return database.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return MAX_PARAMS


def reserve_numbers(key: str, count: int) -> int:
    """Advance counter ``key`` by ``count`` inside the caller's transaction; return the first
    number reserved (``Counter.next`` for several at once)."""
    updated = Counter.update(value=Counter.value + count).where(Counter.key == key).execute()
    if not updated:
        Counter.insert(key=key, value=count).on_conflict(
            conflict_target=[Counter.key], update={Counter.value: Counter.value + count}).execute()
    return Counter.get_by_id(key).value - count + 1


def next_reference(opened_at: datetime, tz: Any) -> str:
    """``ADU-YYYYMM-NNNN``, numbered per month (WIB) inside the caller's transaction."""
    month = opened_at.astimezone(tz).strftime("%Y%m")
    return f"ADU-{month}-{Counter.next('ADU-' + month):04d}"


def _suggested_maladministration(message: InboundMessage, classification: Any) -> str | None:
    """The maladministration type the new case's first message suggests (a person confirms)."""
    found = suggest_maladministration(message.text, list(classification.categories),
                                      classification.intent)
    return found.code if found else None


def classify_all(options: IngestOptions, messages: list[InboundMessage]) -> list[Any]:
    """The categories and intent of each message, in order, the model scoring them as one
    matrix. A message that is only a photo or a file has no words to judge: it is a question
    for a person, never a greeting to dismiss (a photo of a rejection slip is a complaint
    waiting to be read)."""
    if not messages:
        return []
    found = (options.classifier or _default_classifier()).classify_many([m.text for m in messages])
    return [dataclasses.replace(c, intent="question") if m.attachments and not m.text.strip() else c
            for m, c in zip(messages, found)]


def summary_of(message: InboundMessage, has_pii: bool | None = None) -> str:
    """The case summary: the masked text, or what was attached when there is no text.
    ``has_pii``: ``pii.has_personal_data`` of the text when already known (False: nothing to
    mask, the text is not searched again)."""
    text = (message.text if has_pii is False else pii.mask(message.text)).strip()
    if message.attachments:
        marks = attachment_rows.placeholder([a.kind for a in message.attachments])
        return f"{marks} {text}" if text else marks
    return text


def store_set_aside(account: Account, items: list[SetAsideItem]) -> int:
    """Record the items a poll could not read, inside the caller's transaction: a new row per
    item, or the same row counted again when the platform sends it again."""
    now = utcnow()
    for item in items:
        SetAside.insert(account=account.id, key=item.key[:200], surface=item.surface[:60],
                        platform_id=(item.platform_id or None) and item.platform_id[:200],
                        reason=item.reason, raw=item.raw, context=item.context,
                        first_seen_at=now, last_seen_at=now, seen_count=1).on_conflict(
            conflict_target=[SetAside.account, SetAside.key],
            update={SetAside.last_seen_at: now, SetAside.seen_count: SetAside.seen_count + 1,
                    SetAside.reason: item.reason}).execute()
    if items:
        log.warning("saluran %s: %d pesan disisihkan (lihat aduan status)", account.name, len(items))
    return len(items)


def count_ignored(account: Account, counts: dict[str, int]) -> int:
    """Add the items a poll read past (by kind) to the account's counts, inside the caller's
    transaction; the number added."""
    now = utcnow()
    for kind, count in sorted(counts.items()):
        if count <= 0:
            continue
        IgnoredCount.insert(account=account.id, kind=kind[:80], count=count, first_seen_at=now,
                            last_seen_at=now).on_conflict(
            conflict_target=[IgnoredCount.account, IgnoredCount.kind],
            update={IgnoredCount.count: IgnoredCount.count + count,
                    IgnoredCount.last_seen_at: now}).execute()
    return sum(c for c in counts.values() if c > 0)


def _wants_acknowledgement(case: Any, options: IngestOptions) -> bool:
    if case.intent in NO_ACK_INTENTS:
        return False
    return options.acknowledge_public if case.public else options.acknowledge_private


def acknowledgement_text(options: IngestOptions, contact: Contact, reference: str,
                         due_at: datetime) -> str:
    return (options.acknowledgement_text or ACK_TEXT).format(
        # masked: sent with no person reading it, and a NIK typed into a name must not go out
        nama=pii.mask(contact.name or contact.handle or ""), nomor=reference, kantor=options.office_name,
        batas_waktu=_due_text(due_at, options.calendar.tz))


@lru_cache(maxsize=256)
def _due_text(due_at: datetime, tz: Any) -> str:
    # Babel is slow and a batch has few distinct due dates (one per working day).
    from inbox.dates import format_datetime_id
    return format_datetime_id(due_at, tz)


def enqueue_acknowledgement(case: Case, contact: Contact, options: IngestOptions) -> Outbox:
    """Queue the reference number and due date for the citizen (a first response, not the answer)."""
    text = acknowledgement_text(options, contact, case.reference, case.due_at)
    row = Outbox.create(case=case, text=text, public=case.public, purpose="acknowledgement")
    Event.record("acknowledgement_queued", case=case, outbox_id=row.id)
    return row


def set_category_rows(case: Case) -> None:
    """Rewrite the indexed category rows from the case's effective categories."""
    CaseCategory.delete().where(CaseCategory.case == case).execute()
    codes = sorted(set(case.effective_categories))
    if codes:
        CaseCategory.insert_many([{"case": case.id, "code": c} for c in codes]).execute()


def _count_usage(account: Account, requests: int, resources: int, messages: int, tz: Any) -> None:
    # the office's day (WIB), as every day an officer reads: 06.28 WIB on 2 December is the 2nd
    day: date = utcnow().astimezone(tz).date()
    updated = (Usage.update(polls=Usage.polls + 1, requests=Usage.requests + requests,
                            resources=Usage.resources + resources,
                            messages=Usage.messages + messages)
               .where((Usage.account == account) & (Usage.day == day)).execute())
    if not updated:
        Usage.create(account=account, day=day, polls=1, requests=requests, resources=resources,
                     messages=messages)


_classifier: Classifier | None = None


def _default_classifier() -> Classifier:
    global _classifier
    if _classifier is None:
        _classifier = shipped_classifier()
    return _classifier
