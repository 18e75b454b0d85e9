"""Delivery of queued replies (SOP step 4): one small step, ``deliver_one``, the daemon repeats.

A row moves ``pending`` -> ``sending`` by a conditional UPDATE that exactly one worker wins; the
lease it takes expires, so a crashed worker's row is found again. What happens next:

- sent: the row, an outbound Message (so a later poll that sees our own reply is a duplicate),
  the case (``answered`` for an answer; ``first_response_at`` for an acknowledgement) and the
  ``delivered`` Event are written in one transaction;
- transient error: back to ``pending`` later (exponential backoff with jitter);
- no connection to the platform at all (``ConnectorError.unreachable``: the office is offline):
  back to ``pending`` without using up one of the row's tries, every :data:`OFFLINE_RETRY`, and
  the account's other due rows wait with it, so a day offline keeps a day of replies queued and
  they go out, once each, when the line is back; the account is marked ``offline_since``;
- permanent error: ``failed``; an answer's case returns to the admin's queue with an alert;
- unknown outcome (timeout after the request left, or any unexpected error inside ``send``):
  ``uncertain``; a person settles it with ``workflow.confirm_delivery``. Never re-sent blindly,
  because a blind re-send could post the answer twice on a public page.

A row found in ``sending`` with an expired lease (the worker died between claim and record) is
settled the same careful way: a connector with ``confirms_delivery`` is asked whether the reply
is on the platform; otherwise the row becomes ``uncertain``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.base import Connector, ConnectorError, OutboundReply
from inbox import pii
from inbox.arrive.selfservice import AUTOMATIC_PURPOSES, queue_survey, survey_too_late
from inbox.db import atomic_write
from inbox.leases import (MAX_ATTEMPTS, OFFLINE_RETRY, claim_next, claim_stale, next_attempt_at,
                          release)
from inbox.models import Account, Case, Event, Message, Outbox, utcnow

if TYPE_CHECKING:  # for type hints only; no import cycle with inbox.setup.runtime at run time
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

#: How long after an unknown outcome the platform is asked whether the reply is there (a post
#: made just before a 5xx may take a moment to show).
SETTLE_AFTER = timedelta(seconds=30)


@dataclass
class Delivery:
    """What one step did to one row, as a line for ``aduan deliver``."""

    outbox_id: int
    reference: str
    outcome: str  # sent | retry | offline | failed | uncertain | requeued | skipped | checking
    detail: str = ""

    def line(self) -> str:
        words = {"sent": "terkirim", "retry": "dicoba lagi nanti", "failed": "GAGAL",
                 "offline": "belum terkirim (tidak tersambung ke platform); dicoba lagi nanti",
                 "uncertain": "BELUM PASTI (perlu dipastikan petugas)",
                 "requeued": "tidak ditemukan di platform, diantrekan lagi",
                 "skipped": "dibatalkan",
                 "checking": "belum pasti; diperiksa di platform sebelum dikirim lagi"}
        extra = f" — {self.detail}" if self.detail else ""
        return f"{self.reference} balasan #{self.outbox_id}: {words[self.outcome]}{extra}"


def deliver_one(rt: Runtime, worker_id: str) -> bool:
    """Handle one row (a stale ``sending`` row first, else the oldest due ``pending`` one).

    True when a row was handled, whatever the outcome; False when there was nothing to do."""
    return deliver_next(rt, worker_id) is not None


def deliver_next(rt: Runtime, worker_id: str) -> Delivery | None:
    now = utcnow()
    row = claim_stale(worker_id, now)
    if row is not None:
        return _settle_stale(rt, row, worker_id)
    row = claim_next(worker_id, now)
    if row is None:
        return None
    return _send(rt, row, worker_id)


def build_reply(row: Outbox) -> OutboundReply:
    """The reply as the connector needs it: answering the citizen's newest message, or, for a
    row addressed to one message (a status check), that message."""
    if row.thread_id is not None:
        asked = Message.get_or_none((Message.account == row.account_id)
                                    & (Message.external_id == row.in_reply_to))
        return OutboundReply(
            reply_id=row.id, case_reference=_reference(row),
            text=row.text, public=row.public, thread_id=row.thread_id, in_reply_to=row.in_reply_to,
            recipient_id=row.recipient_id or "", kind=row.reply_kind or "dm",
            last_inbound_at=asked.created_at if asked else None)
    case: Case = row.case
    last = latest_inbound(case)
    return OutboundReply(
        reply_id=row.id, case_reference=case.reference, text=row.text, public=row.public,
        thread_id=case.thread_id, in_reply_to=last.external_id if last else None,
        # A contact's alias, where it has one, is the address every send API takes (WhatsApp:
        # the phone number beside the BSUID; inbox.arrive.identities).
        recipient_id=case.contact.alias_id or case.contact.platform_user_id,
        kind=last.kind if last else ("comment" if row.public else "dm"),
        last_inbound_at=case.last_inbound_at)


def _send(rt: Runtime, row: Outbox, worker_id: str) -> Delivery:
    case: Case | None = row.case if row.case_id else None
    reason = None
    if row.purpose == "acknowledgement" and (not case.is_open or case.first_response_at):
        # The answer (or a dismissal) came first; a receipt now would only confuse the citizen.
        reason = "tanda terima tidak dikirim karena pengaduan sudah ditanggapi"
    elif row.purpose == "survey" and survey_too_late(case, utcnow()):
        reason = "pertanyaan survei tidak dikirim: jendela balasan tertutup atau pengaduan dibuka lagi"
    if reason:
        _finish(row, worker_id, "failed", reason, "delivery_failed", alert=None)
        return Delivery(row.id, _reference(row), "skipped", reason)
    account = _account_name(row)
    try:
        connector = rt.connector(account)
        reply = build_reply(row)
    except Exception as exc:  # account removed from config, unknown kind: nothing was sent
        reason = f"akun {account} tidak bisa dipakai untuk mengirim ({type(exc).__name__})"
        return _failed(row, worker_id, reason)
    try:
        platform_id = connector.send(reply)
    except ConnectorError as exc:
        if exc.uncertain and connector.confirms_delivery:
            return _settle_later(row, worker_id, pii.mask(exc.message))
        if exc.unreachable:
            return _offline(row, worker_id, account, pii.mask(exc.message))
        return _on_error(row, worker_id, exc)
    except Exception as exc:
        # A bug after the request may have left (parsing the platform's answer): unknown outcome.
        log.exception("outbox %s: unexpected error while sending", row.id)
        return _uncertain(row, worker_id, f"kesalahan tak terduga saat mengirim ({type(exc).__name__})")
    with atomic_write():
        recorded = record_delivered(row, platform_id, utcnow(), expected_status="sending",
                                    lease_owner=worker_id, rt=rt)
        Account.update(offline_since=None).where((Account.name == account)
                                                 & Account.offline_since.is_null(False)).execute()
    if not recorded:
        log.warning("outbox %s: sent, but another worker settled the row meanwhile", row.id)
    return Delivery(row.id, _reference(row), "sent", platform_id or "")


def _reference(row: Outbox) -> str:
    """The case number a delivery line names; ``cek status`` for a row of no case."""
    return row.case.reference if row.case_id else "cek status"


def _account_name(row: Outbox) -> str:
    return row.case.account.name if row.case_id else Account.get_by_id(row.account_id).name


def record_delivered(row: Outbox, platform_id: str | None, sent_at: datetime,
                     expected_status: str, lease_owner: str | None = None,
                     rt: Runtime | None = None) -> bool:
    """Record ``row`` as delivered; call inside a write transaction. False (and nothing written)
    when the row is no longer in ``expected_status`` (or no longer leased to ``lease_owner``).

    With ``rt``, a delivered answer also queues the satisfaction question (inbox.arrive.selfservice)."""
    condition = (Outbox.id == row.id) & (Outbox.status == expected_status)
    if lease_owner is not None:
        condition &= Outbox.lease_owner == lease_owner
    changed = Outbox.update(status="sent", platform_id=platform_id, sent_at=sent_at,
                            lease_owner=None, lease_until=None, last_error=None).where(
        condition).execute()
    if changed != 1:
        return False
    reply = build_reply(row)
    if row.case_id is None:  # a status answer to someone who has no case: the message and event
        Message.insert(
            account=row.account_id, external_id=platform_id or f"outbox-{row.id}", case=None,
            contact=None, direction="out", kind=reply.kind, public=row.public,
            thread_id=reply.thread_id, text=row.text, created_at=sent_at, received_at=utcnow(),
            in_reply_to=reply.in_reply_to, personal_data=False, raw=None).on_conflict_ignore().execute()
        Event.record("delivered", at=sent_at, outbox_id=row.id, purpose=row.purpose,
                     platform_id=platform_id)
        return True
    case: Case = Case.get_by_id(row.case_id)
    # Keyed by the platform id so the poll that later sees our own reply stores nothing twice.
    Message.insert(
        account=case.account_id, external_id=platform_id or f"outbox-{row.id}", case=case.id,
        contact=None, direction="out", kind=reply.kind, public=row.public,
        thread_id=reply.thread_id, text=row.text, created_at=sent_at, received_at=utcnow(),
        in_reply_to=reply.in_reply_to, personal_data=pii.has_personal_data(row.text),
        author=row.created_by_id, raw=None,
    ).on_conflict_ignore().execute()
    first = Case.first_response_at.is_null()
    if row.purpose == "answer":
        Case.update(status="answered", queue="admin", answered_at=sent_at, closed_at=sent_at,
                    alert=None, updated_at=utcnow()).where(
            (Case.id == case.id) & (Case.status == "replying")).execute()
    if row.purpose in ("answer", "acknowledgement"):  # a status answer is no response to the complaint
        Case.update(first_response_at=sent_at).where((Case.id == case.id) & first).execute()
    Event.record("delivered", case=case, at=sent_at, outbox_id=row.id, purpose=row.purpose,
                 platform_id=platform_id)
    if rt is not None and row.purpose == "answer":
        queue_survey(rt, case.id, sent_at)
    return True


def _on_error(row: Outbox, worker_id: str, exc: ConnectorError) -> Delivery:
    reason = pii.mask(exc.message)
    if exc.uncertain:
        return _uncertain(row, worker_id, reason)
    if exc.permanent:
        return _failed(row, worker_id, reason)
    if row.attempts >= MAX_ATTEMPTS:
        return _failed(row, worker_id, f"{reason} (sudah {row.attempts} kali dicoba)")
    next_at = next_attempt_at(row.attempts, exc.retry_at)
    with atomic_write():
        if release(row, worker_id, status="pending", next_attempt_at=next_at, last_error=reason):
            Event.record("delivery_retry", case=row.case_id, outbox_id=row.id, error=reason,
                         attempts=row.attempts, next_attempt_at=next_at.isoformat())
    return Delivery(row.id, _reference(row), "retry", reason)


def _offline(row: Outbox, worker_id: str, account_name: str, reason: str) -> Delivery:
    """Nothing reached the platform: the row waits for the line to come back without counting
    the attempt (a day offline must not use up its tries), and so do the account's other rows
    due before then, so each interval costs one connection attempt, not one per reply. The
    case's history says so once, not at every retry."""
    now = utcnow()
    next_at = now + OFFLINE_RETRY
    account = Account.get(Account.name == account_name)
    with atomic_write():
        if not release(row, worker_id, status="pending", attempts=row.attempts - 1,
                       next_attempt_at=next_at, last_error=reason):
            return Delivery(row.id, _reference(row), "offline", reason)
        if row.last_error != reason:
            Event.record("delivery_retry", case=row.case_id, outbox_id=row.id, error=reason,
                         attempts=row.attempts - 1, next_attempt_at=next_at.isoformat())
        Account.update(offline_since=now).where((Account.id == account.id)
                                                & Account.offline_since.is_null()).execute()
        of_account = (Outbox.account == account.id) | Outbox.case.in_(
            Case.select(Case.id).where(Case.account == account.id))
        Outbox.update(next_attempt_at=next_at).where(
            (Outbox.status == "pending") & (Outbox.next_attempt_at < next_at) & of_account).execute()
    return Delivery(row.id, _reference(row), "offline", reason)


def _settle_later(row: Outbox, worker_id: str, reason: str) -> Delivery:
    """An unknown outcome on a platform that can be asked: the row stays ``sending`` with a
    short lease, so the next delivery step settles it as it settles a dead worker's row (the
    platform is asked whether the reply is there) before anything is sent again."""
    with atomic_write():
        if release(row, worker_id, last_error=reason, lease_owner=worker_id,
                   lease_until=utcnow() + SETTLE_AFTER):
            Event.record("delivery_checking", case=row.case_id, outbox_id=row.id, error=reason)
    return Delivery(row.id, _reference(row), "checking", reason)


def _failed(row: Outbox, worker_id: str, reason: str) -> Delivery:
    alert = None
    if row.purpose in ("answer", "follow_up"):  # a person wrote it and waits for it to arrive
        alert = f"Balasan gagal dikirim: {reason}. Periksa lalu kirim ulang jawabannya."
    _finish(row, worker_id, "failed", reason, "delivery_failed", alert)
    return Delivery(row.id, _reference(row), "failed", reason)


def _uncertain(row: Outbox, worker_id: str, reason: str) -> Delivery:
    if row.purpose in AUTOMATIC_PURPOSES:
        # Nobody wrote it and a status answer may have no case to show it on: closed as failed
        # (never re-sent, so never twice) instead of waiting for a person.
        _finish(row, worker_id, "failed", f"{reason}; tidak dikirim ulang", "delivery_uncertain",
                alert=None)
        return Delivery(row.id, _reference(row), "failed", reason)
    alert = (f"Balasan mungkin sudah terkirim ({reason}); lihat di platform lalu pastikan "
             f"terkirim atau tidak.")
    _finish(row, worker_id, "uncertain", reason, "delivery_uncertain", alert)
    return Delivery(row.id, _reference(row), "uncertain", reason)


def _finish(row: Outbox, worker_id: str, status: str, reason: str, action: str,
            alert: str | None) -> None:
    """Close the row as ``failed`` or ``uncertain``; a failed answer returns to the admin."""
    with atomic_write():
        if not release(row, worker_id, status=status, last_error=reason):
            return
        if row.case_id is None:
            Event.record(action, outbox_id=row.id, purpose=row.purpose, error=reason)
            return
        fields: dict[str, Any] = {"updated_at": utcnow()}
        if alert:
            fields["alert"] = alert
        if status == "failed" and row.purpose == "answer":
            fields["status"] = _status_before_reply(row)
            fields["queue"] = "admin"
        condition = Case.id == row.case_id
        if "status" in fields:
            # Only a case still waiting for this reply goes back; a reopened one stays as it is.
            condition &= Case.status == "replying"
        Case.update(**fields).where(condition).execute()
        Event.record(action, case=row.case_id, outbox_id=row.id, purpose=row.purpose, error=reason)


def _status_before_reply(row: Outbox) -> str:
    """Where a failed answer's case goes back to: ``division_answered`` when it was a forwarded
    division answer (the admin can forward it again), else ``new``."""
    queued = (Event.select().where((Event.case == row.case_id) & (Event.action == "reply_queued"))
              .order_by(Event.id.desc()))
    for event in queued:
        if (event.detail or {}).get("outbox_id") == row.id:
            return "division_answered" if event.detail.get("from_status") == "division_answered" \
                else "new"
    return "new"


def _settle_stale(rt: Runtime, row: Outbox, worker_id: str) -> Delivery:
    """A row whose worker died after claiming it: the send may or may not have happened."""
    reference = _reference(row)
    try:
        connector: Connector = rt.connector(_account_name(row))
        reply = build_reply(row)
    except Exception as exc:
        return _uncertain(row, worker_id, f"pengiriman terputus dan akun tidak bisa dipakai "
                                          f"({type(exc).__name__})")
    if not connector.confirms_delivery:
        return _uncertain(row, worker_id, "pengiriman terputus; tidak diketahui apakah sudah terkirim")
    try:
        platform_id = connector.find_delivered(reply)
    except ConnectorError as exc:
        # Ask again when the lease runs out; the row stays out of everyone's way meanwhile.
        log.warning("outbox %s: cannot check delivery: %s", row.id, pii.mask(exc.message))
        return Delivery(row.id, reference, "retry", pii.mask(exc.message))
    if platform_id is not None:
        with atomic_write():
            record_delivered(row, platform_id, utcnow(), expected_status="sending",
                             lease_owner=worker_id, rt=rt)
        return Delivery(row.id, reference, "sent", platform_id)
    reason = "pengiriman terputus sebelum sampai ke platform; dikirim lagi"
    with atomic_write():
        if release(row, worker_id, status="pending", next_attempt_at=utcnow(), last_error=reason):
            Event.record("delivery_retry", case=row.case_id, outbox_id=row.id, error=reason,
                         attempts=row.attempts)
    return Delivery(row.id, reference, "requeued", reason)


def latest_inbound(case: Case) -> Message | None:
    """The citizen's newest message in the case (what a reply answers)."""
    return (Message.select().where((Message.case == case) & (Message.direction == "in"))
            .order_by(Message.created_at.desc(), Message.id.desc()).first())
