"""Personal data under UU No. 27/2022 (PDP): erasure on request and the retention period.

``aduan privacy erase`` removes one citizen's personal data. The citizen is found by handle
(with or without ``@``), by platform user id, or by phone number in any usual form (``0812…``,
``62812…``, ``+62 812-…``): a WhatsApp contact has no handle, its id is the number. Every text
of their cases (their messages, the office's replies, notes, answers and errors in the history,
which may quote them, the satisfaction survey's comment) becomes a placeholder, platform
payloads and links go, the thread ids (a WhatsApp thread id is the phone number) are replaced,
attachment files are deleted, the contact loses handle, name and platform id. What past reports count stays: case numbers, timestamps, status,
categories, channel, division. The index of the free-text search follows by its triggers; on
SQLite the file is then vacuumed and its WAL truncated, so the erased bytes are not left in free
pages. Backups made before the erasure still hold the data until rotation removes them.

``[privacy] retention_months`` reduces closed cases older than that to their masked form (texts
through ``pii.mask``, payloads, links and attachments gone) and empties Meta's raw webhook
deliveries ingested before the same cutoff; the daemon does it every hour. An erasure empties
the ingested deliveries that name the person too.
Both are audited: an event per case and one for the whole act, which never names the person.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import peewee as pw

from inbox import pii
from inbox.db import atomic_write, database
from inbox.models import (CLOSED_STATUSES, Account, Attachment, Case, CaseMark, Contact, Event,
                          Message, Outbox, SetAside, SurveyResponse, User, WebhookDelivery, utcnow)

log = logging.getLogger(__name__)

ERASED = "[dihapus atas permintaan pemilik data]"
ERASED_DELIVERY = '{"dihapus": "isi kiriman Meta dihapus (data pribadi)"}'
TEXT_KEYS = ("text", "note", "before", "after", "error")  # an Event's details that may quote
BATCH = 200


@dataclass
class Erased:
    contacts: int = 0
    cases: int = 0
    messages: int = 0
    attachments: int = 0


def _remove_files(data_dir: Path, attachments: pw.ModelSelect, reason: str) -> int:
    removed = 0
    root = data_dir.resolve()
    for row in attachments:
        if row.path:
            path = (data_dir / row.path).resolve()
            if path.is_relative_to(root) and path.is_file():
                path.unlink()
                removed += 1
        Attachment.update(path=None, url=None, name="", platform_id=None, status="skipped",
                          reason=reason).where(Attachment.id == row.id).execute()
    return removed


def _rewrite(cases: list[int], message_ids: list[int], clean: Callable[[str], str],
             summary: Callable[[Case], str]) -> None:
    """Texts of ``cases`` and ``message_ids`` through ``clean``; payloads and links dropped."""
    for message in Message.select().where(Message.id.in_(message_ids)):
        Message.update(text=clean(message.text), raw=None, permalink=None).where(
            Message.id == message.id).execute()
    for case in Case.select().where(Case.id.in_(cases)):
        Case.update(summary=summary(case), alert=None).where(Case.id == case.id).execute()
    # The keyed hashes of the numbers the citizen wrote (inbox.sop.related) go with the texts.
    CaseMark.delete().where(CaseMark.case.in_(cases)).execute()
    for row in Outbox.select().where(Outbox.case.in_(cases)):
        Outbox.update(text=clean(row.text), last_error=None).where(Outbox.id == row.id).execute()
    for event in Event.select().where(Event.case.in_(cases)):
        detail = {k: clean(v) if k in TEXT_KEYS and isinstance(v, str) else v
                  for k, v in (event.detail or {}).items()}
        if detail != event.detail:
            Event.update(detail=detail).where(Event.id == event.id).execute()


PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


def contact_keys(identifier: str) -> set[str]:
    """What an officer's ``identifier`` may be stored as: the handle with and without ``@``, the
    id as typed, and a mobile number in each form the platforms use (lower case: an e-mail
    address matches however it was written)."""
    text = identifier.strip()
    bare = text.lstrip("@")
    if not bare:
        return set()
    keys = {text, bare, f"@{bare}"}
    number = PHONE_SEPARATORS.sub("", text)
    if re.fullmatch(r"\+?\d{8,16}", number):
        digits = number.lstrip("+")
        national = (digits[1:] if digits.startswith("0") else
                    digits[2:] if digits.startswith("62") else digits)
        keys.add(digits)
        if national.startswith("8"):
            keys |= {f"62{national}", f"+62{national}", f"0{national}"}
    return {key.lower() for key in keys}


def find_contacts(identifier: str, channel: str | None = None) -> list[Contact]:
    """The contacts ``identifier`` names by handle, platform user id (a WhatsApp BSUID too), the
    second id kept beside it (a WhatsApp number, ``Contact.alias_id``) or phone number; only on
    ``channel`` (a connector kind) when given."""
    keys = contact_keys(identifier)
    if not keys:
        return []
    query = Contact.select().where(pw.fn.LOWER(Contact.handle).in_(keys)
                                   | pw.fn.LOWER(Contact.platform_user_id).in_(keys)
                                   | pw.fn.LOWER(Contact.alias_id).in_(keys))
    if channel:
        query = query.where(Contact.kind == channel)
    return list(query.order_by(Contact.id))


def _holds(field: pw.Field, needle: str) -> pw.Expression:
    """``field``'s stored text contains ``needle``. Not ``field.contains``: on a JSON field that
    would JSON-encode the pattern (``'"%needle%"'``) and match nothing."""
    return pw.Expression(field, pw.OP.ILIKE, pw.Value(f"%{needle}%", converter=False))


def erase_contact(data_dir: Path, identifier: str, actor: User, reason: str,
                  channel: str | None = None) -> Erased:
    """Erase the personal data of the citizen(s) ``identifier`` names (see the module
    docstring and :func:`find_contacts`)."""
    contacts = find_contacts(identifier, channel)
    report = Erased(contacts=len(contacts))
    if not contacts:
        return report
    contact_ids = [c.id for c in contacts]
    with atomic_write():
        cases = [c.id for c in Case.select(Case.id).where(Case.contact.in_(contact_ids))]
        messages = [m.id for m in Message.select(Message.id).where(
            Message.case.in_(cases) | Message.contact.in_(contact_ids))]
        report.cases, report.messages = len(cases), len(messages)
        report.attachments = _remove_files(
            data_dir, Attachment.select().where(Attachment.message.in_(messages)), ERASED)
        _rewrite(cases, messages, lambda _text: ERASED, lambda _case: ERASED)
        SurveyResponse.update(comment=ERASED).where(
            SurveyResponse.case.in_(cases) & (SurveyResponse.comment != "")).execute()
        for case_id in cases:  # a WhatsApp thread is the phone number, a Telegram one the chat
            erased_thread = f"dihapus-{case_id}"
            Case.update(thread_id=erased_thread).where(Case.id == case_id).execute()
            Message.update(thread_id=erased_thread, in_reply_to=None).where(
                Message.case == case_id).execute()
            Outbox.update(thread_id=erased_thread).where(
                (Outbox.case == case_id) & Outbox.thread_id.is_null(False)).execute()
        for contact in contacts:
            for needle in {contact.platform_user_id, contact.alias_id or "",
                           contact.handle.lstrip("@")} - {""}:
                SetAside.update(raw=None, context={}, reason=ERASED).where(
                    _holds(SetAside.raw, needle)).execute()
                # Meta's raw deliveries (the WhatsApp number is the platform id) once ingested.
                WebhookDelivery.update(body=ERASED_DELIVERY, error=None).where(
                    (WebhookDelivery.status != "pending")
                    & WebhookDelivery.body.contains(needle)).execute()
            # A status answer with no case is addressed by the platform id (a WhatsApp number).
            Outbox.update(recipient_id=f"dihapus-{contact.id}", thread_id=f"dihapus-{contact.id}",
                          last_error=None).where(
                Outbox.recipient_id.in_([contact.platform_user_id, contact.alias_id or ""])
                & Outbox.account.in_(
                    Account.select(Account.id).where(Account.kind == contact.kind))).execute()
            # A new message from the same person starts a new contact: the old one is nobody now.
            Contact.update(handle=f"dihapus-{contact.id}", name="", alias_id=None,
                           platform_user_id=f"dihapus-{contact.id}").where(
                Contact.id == contact.id).execute()
        for case_id in cases:
            Event.record("privacy_erased", case=Case.get_by_id(case_id), actor=actor)
        Event.record("privacy_erase", actor=actor, reason=pii.mask(reason),
                     contacts=report.contacts, cases=report.cases, messages=report.messages,
                     attachments=report.attachments)
    scrub_free_pages()
    return report


def scrub_free_pages() -> None:
    """On SQLite, rewrite the file so erased text is not left in free pages or the WAL."""
    if not isinstance(database.obj, pw.SqliteDatabase):
        return
    for table in ("search_text", "search_contact"):
        if database.table_exists(table):
            database.execute_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    database.execute_sql("VACUUM")
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# --- retention ---------------------------------------------------------------------------------

def reduce_expired(data_dir: Path, months: int, now: datetime | None = None, limit: int = BATCH
                   ) -> int:
    """Reduce up to ``limit`` closed cases older than ``months`` to their masked form; return
    how many (0 when retention is off or nothing is due)."""
    if months <= 0:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(days=round(months * 30.44))
    WebhookDelivery.update(body=ERASED_DELIVERY).where(  # their messages are rows by now
        (WebhookDelivery.status != "pending") & (WebhookDelivery.received_at < cutoff)
        & (WebhookDelivery.body != ERASED_DELIVERY)).execute()
    done = Event.select(Event.case).where(Event.action.in_(["retention_reduced", "privacy_erased"]))
    cases = [c.id for c in Case.select(Case.id).where(
        Case.status.in_(CLOSED_STATUSES) & (Case.closed_at < cutoff) & Case.id.not_in(done))
        .order_by(Case.id).limit(limit)]
    if not cases:
        return 0
    with atomic_write():
        messages = [m.id for m in Message.select(Message.id).where(Message.case.in_(cases))]
        reason = f"dihapus setelah masa simpan {months} bulan"
        _remove_files(data_dir, Attachment.select().where(Attachment.message.in_(messages)), reason)
        _rewrite(cases, messages, pii.mask, lambda case: pii.mask(case.summary))
        for case_id in cases:
            Event.record("retention_reduced", case=Case.get_by_id(case_id), months=months)
    return len(cases)


def schedule_retention(rt: Any, scheduler: Any, guard: Callable[[Callable[[], Any]], Any]) -> None:
    def apply_retention() -> int:
        total = 0
        while (n := reduce_expired(rt.data_dir, rt.config.privacy["retention_months"])):
            total += n
        if total:
            log.info("masa simpan: %d pengaduan selesai disamarkan", total)
        return total
    scheduler.every(3600).seconds.do(guard(apply_retention))
