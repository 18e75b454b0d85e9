"""Turn a batch of normalised messages into Contacts, Messages and Cases (SOP step 1).

The whole batch and the account's new cursor are written in one transaction: a crash at any
instant leaves either all of it or none of it, and the unique index on (account, external_id)
makes the same batch ingested twice change nothing.

Threading rule: a case is one citizen's thread on one account, so an inbound message joins the
newest case with the same (account, thread_id, contact). An open case gains the message; an
answered or dismissed one is reopened (with an Event), except that a bare thank-you on an
answered case is only recorded; anything else opens a new case.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.base import InboundMessage
from inbox import pii
from inbox.classify import Classifier
from inbox.db import atomic_write
from inbox.models import (CLOSED_STATUSES, Account, Case, CaseCategory, Contact, Counter, Event,
                          Message, Outbox, Usage, utcnow)
from inbox.sla import WorkCalendar, reply_window_closes_at

log = logging.getLogger(__name__)

ACK_TEXT = ("Halo {nama}, terima kasih telah menghubungi {kantor}. Pesan Anda kami terima dengan "
            "nomor {nomor} dan akan kami jawab paling lambat {batas_waktu}.")
NO_ACK_INTENTS = ("spam", "greeting", "thanks")


@dataclass
class IngestOptions:
    """What ingest needs from config; the defaults suit tests."""

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    classifier: Classifier | None = None
    office_name: str = "Dukcapil"
    acknowledge_private: bool = False
    acknowledge_public: bool = False
    acknowledgement_text: str = ""
    reply_window_hours: int = 24
    auto_dismiss: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Any) -> IngestOptions:
        from inbox.sla import calendar_from_config
        auto = tuple(intent for intent, on in (("spam", config.classify["auto_dismiss_spam"]),
                                               ("greeting", config.classify["auto_dismiss_greeting"]))
                     if on)
        return cls(calendar=calendar_from_config(config),
                   classifier=Classifier(extra_keywords=config.classify["extra_keywords"] or None),
                   office_name=config.office["short_name"] or config.office["name"],
                   acknowledge_private=config.sla["acknowledge_private"],
                   acknowledge_public=config.sla["acknowledge_public"],
                   acknowledgement_text=config.sla["acknowledgement_text"],
                   reply_window_hours=config.sla["reply_window_hours"],
                   auto_dismiss=auto)


@dataclass
class IngestReport:
    stored: int = 0
    duplicates: int = 0
    new_cases: int = 0
    joined: int = 0
    reopened: int = 0
    outbound: int = 0
    cases: list[str] = field(default_factory=list)


def ingest(account: Account, messages: list[InboundMessage], cursor: dict[str, Any] | None = None,
           options: IngestOptions | None = None, requests: int = 0, resources: int = 0) -> IngestReport:
    """Store ``messages`` for ``account`` and, in the same transaction, its new ``cursor``.

    ``cursor=None`` leaves the account's cursor alone (``aduan import``). Raises whatever the
    database raises; then nothing of the batch is stored."""
    options = options or IngestOptions()
    report = IngestReport()
    with atomic_write():
        ids = [m.external_id for m in messages]
        seen: set[str] = set()
        for chunk in range(0, len(ids), 500):
            seen.update(row.external_id for row in Message.select(Message.external_id).where(
                (Message.account == account) & Message.external_id.in_(ids[chunk:chunk + 500])))
        contacts: dict[str, Contact] = {}
        for message in sorted(messages, key=lambda m: m.created_at):
            if message.external_id in seen:
                report.duplicates += 1
                continue
            seen.add(message.external_id)
            _store_one(account, message, options, contacts, report)
            report.stored += 1
        if cursor is not None:
            Account.update(cursor=cursor).where(Account.id == account.id).execute()
            account.cursor = cursor
            _count_usage(account, requests, resources, report.stored)
    return report


def _store_one(account: Account, message: InboundMessage, options: IngestOptions,
               contacts: dict[str, Contact], report: IngestReport) -> None:
    has_pii = pii.has_personal_data(message.text)
    if message.from_office:
        case = (Case.select().where((Case.account == account) & (Case.thread_id == message.thread_id))
                .order_by(Case.id.desc()).first())
        _insert_message(account, message, case, None, "out", has_pii)
        report.outbound += 1
        return
    contact = _contact(account.kind, message, contacts)
    case = Case.latest_in_thread(account, message.thread_id, contact)
    classification = (options.classifier.classify(message.text) if options.classifier
                      else _default_classifier().classify(message.text))
    if case is None:
        case = _open_case(account, contact, message, classification, has_pii, options)
        report.new_cases += 1
        report.cases.append(case.reference)
    elif case.status in CLOSED_STATUSES:
        if case.status == "answered" and classification.intent == "thanks":
            _touch(case, message, has_pii, options)
            Event.record("citizen_thanked", case=case, at=message.created_at,
                         external_id=message.external_id)
            report.joined += 1
        else:
            _reopen(case, message, has_pii, options)
            report.reopened += 1
    else:
        _touch(case, message, has_pii, options)
        report.joined += 1
    _insert_message(account, message, case, contact, "in", has_pii)


def _insert_message(account: Account, message: InboundMessage, case: Case | None,
                    contact: Contact | None, direction: str, has_pii: bool) -> None:
    Message.insert(
        account=account, external_id=message.external_id, case=case, contact=contact,
        direction=direction, kind=message.kind, public=message.public,
        thread_id=message.thread_id, text=message.text, created_at=message.created_at,
        received_at=utcnow(), permalink=message.permalink, in_reply_to=message.in_reply_to,
        personal_data=has_pii, raw=message.raw or None,
    ).execute()


def _contact(kind: str, message: InboundMessage, cache: dict[str, Contact]) -> Contact:
    if message.author_id in cache:
        return cache[message.author_id]
    contact = Contact.get_or_none((Contact.kind == kind)
                                  & (Contact.platform_user_id == message.author_id))
    if contact is None:
        contact = Contact.create(kind=kind, platform_user_id=message.author_id,
                                 handle=message.author_handle, name=message.author_name)
    elif (message.author_handle, message.author_name) != (contact.handle, contact.name) \
            and message.author_handle != message.author_id:
        contact.handle, contact.name = message.author_handle, message.author_name
        contact.save()
    cache[message.author_id] = contact
    return contact


def next_reference(opened_at: datetime, tz: Any) -> str:
    """``ADU-YYYYMM-NNNN``, numbered per month (WIB) inside the caller's transaction."""
    month = opened_at.astimezone(tz).strftime("%Y%m")
    return f"ADU-{month}-{Counter.next('ADU-' + month):04d}"


def _open_case(account: Account, contact: Contact, message: InboundMessage, classification: Any,
               has_pii: bool, options: IngestOptions) -> Case:
    calendar = options.calendar
    now = utcnow()
    case = Case.create(
        reference=next_reference(message.created_at, calendar.tz), account=account,
        contact=contact, thread_id=message.thread_id, public=message.public,
        categories=list(classification.categories), intent=classification.intent,
        personal_data=has_pii, summary=pii.mask(message.text)[:280],
        opened_at=message.created_at, due_at=calendar.due_at(message.created_at),
        last_inbound_at=message.created_at,
        reply_window_closes_at=reply_window_closes_at(message.created_at, message.public,
                                                      options.reply_window_hours),
        updated_at=now)
    set_category_rows(case)
    Event.record("opened", case=case, at=now, external_id=message.external_id,
                 categories=list(classification.categories), intent=classification.intent)
    if classification.intent in options.auto_dismiss:
        Case.update(status="not_complaint", dismiss_reason=classification.intent, closed_at=now,
                    due_at=None).where(Case.id == case.id).execute()
        case.status, case.dismiss_reason = "not_complaint", classification.intent
        Event.record("dismissed", case=case, at=now, reason=classification.intent, automatic=True)
    elif _wants_acknowledgement(case, options):
        enqueue_acknowledgement(case, contact, options)
    return case


def _wants_acknowledgement(case: Case, options: IngestOptions) -> bool:
    if case.intent in NO_ACK_INTENTS:
        return False
    return options.acknowledge_public if case.public else options.acknowledge_private


def enqueue_acknowledgement(case: Case, contact: Contact, options: IngestOptions) -> Outbox:
    """Queue the reference number and due date for the citizen (a first response, not the answer)."""
    from inbox.dates import format_datetime_id
    text = (options.acknowledgement_text or ACK_TEXT).format(
        nama=contact.name or contact.handle, nomor=case.reference, kantor=options.office_name,
        batas_waktu=format_datetime_id(case.due_at, options.calendar.tz))
    row = Outbox.create(case=case, text=text, public=case.public, purpose="acknowledgement")
    Event.record("acknowledgement_queued", case=case, outbox_id=row.id)
    return row


def _touch(case: Case, message: InboundMessage, has_pii: bool, options: IngestOptions) -> None:
    """A new citizen message in an open case: the reply window starts again."""
    last = max(case.last_inbound_at or message.created_at, message.created_at)
    Case.update(last_inbound_at=last, personal_data=Case.personal_data | has_pii,
                reply_window_closes_at=reply_window_closes_at(last, case.public,
                                                              options.reply_window_hours),
                updated_at=utcnow()).where(Case.id == case.id).execute()


def _reopen(case: Case, message: InboundMessage, has_pii: bool, options: IngestOptions) -> None:
    previous = case.status
    Case.update(status="new", queue="admin", dismiss_reason=None, closed_at=None, alert=None,
                reopen_count=Case.reopen_count + 1, last_inbound_at=message.created_at,
                due_at=options.calendar.due_at(message.created_at),
                reply_window_closes_at=reply_window_closes_at(message.created_at, case.public,
                                                              options.reply_window_hours),
                personal_data=Case.personal_data | has_pii, updated_at=utcnow(),
                ).where(Case.id == case.id).execute()
    Event.record("reopened", case=case, previous_status=previous, external_id=message.external_id)


def set_category_rows(case: Case) -> None:
    """Rewrite the indexed category rows from the case's effective categories."""
    CaseCategory.delete().where(CaseCategory.case == case).execute()
    codes = sorted(set(case.effective_categories))
    if codes:
        CaseCategory.insert_many([{"case": case.id, "code": c} for c in codes]).execute()


def _count_usage(account: Account, requests: int, resources: int, messages: int) -> None:
    day: date = utcnow().date()
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
        _classifier = Classifier()
    return _classifier
