"""Personal data under UU No. 27/2022 (PDP): erasure on request and the retention period.

``aduan privacy erase`` removes one citizen's personal data: every text of their cases (their
messages, the office's replies, notes and answers in the history, which may quote them) becomes
a placeholder, platform payloads and links go, attachment files are deleted, the contact loses
handle, name and platform id. What past reports count stays: case numbers, timestamps, status,
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import peewee as pw

from inbox import pii
from inbox.db import atomic_write, database
from inbox.models import (CLOSED_STATUSES, Account, Attachment, Case, Contact, Event, Message,
                          Outbox, SetAside, User, WebhookDelivery, utcnow)

log = logging.getLogger(__name__)

ERASED = "[dihapus atas permintaan pemilik data]"
ERASED_DELIVERY = '{"dihapus": "isi kiriman Meta dihapus (data pribadi)"}'
TEXT_KEYS = ("text", "note", "before", "after")
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
    for row in Outbox.select().where(Outbox.case.in_(cases)):
        Outbox.update(text=clean(row.text), last_error=None).where(Outbox.id == row.id).execute()
    for event in Event.select().where(Event.case.in_(cases)):
        detail = {k: clean(v) if k in TEXT_KEYS and isinstance(v, str) else v
                  for k, v in (event.detail or {}).items()}
        if detail != event.detail:
            Event.update(detail=detail).where(Event.id == event.id).execute()


def find_contacts(handle: str) -> list[Contact]:
    bare = handle.strip().lstrip("@")
    if not bare:
        return []
    return list(Contact.select().where(Contact.handle.in_([bare, f"@{bare}"])))


def erase_contact(data_dir: Path, handle: str, actor: User, reason: str) -> Erased:
    """Erase the personal data of the citizen(s) with ``handle`` (see the module docstring)."""
    contacts = find_contacts(handle)
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
        for contact in contacts:
            for needle in {contact.platform_user_id, contact.handle.lstrip("@")} - {""}:
                SetAside.update(raw=None, context={}).where(SetAside.raw.contains(needle)).execute()
                # Meta's raw deliveries (the WhatsApp number is the platform id) once ingested.
                WebhookDelivery.update(body=ERASED_DELIVERY).where(
                    (WebhookDelivery.status != "pending")
                    & WebhookDelivery.body.contains(needle)).execute()
            # A status answer with no case is addressed by the platform id (a WhatsApp number).
            Outbox.update(recipient_id=f"dihapus-{contact.id}").where(
                (Outbox.recipient_id == contact.platform_user_id) & Outbox.account.in_(
                    Account.select(Account.id).where(Account.kind == contact.kind))).execute()
            # A new message from the same person starts a new contact: the old one is nobody now.
            Contact.update(handle=f"dihapus-{contact.id}", name="",
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
