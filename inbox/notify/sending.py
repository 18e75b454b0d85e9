"""Sending notifications exactly once, and the daemon's notification jobs.

The protocol is the replies' (``inbox.sop.outbox``), with its pieces: a row is claimed with the
conditional UPDATE of :func:`inbox.leases.claim_next` (``pending`` -> ``sending``, a lease),
sent, and recorded with :func:`inbox.sop.outbox.release` only while this worker still holds it. A
transient error puts it back ``pending`` with the replies' backoff; a permanent one, or
``MAX_ATTEMPTS`` transient ones, makes it ``failed``; an unknown outcome makes it
``uncertain``. Neither SMTP nor Telegram can be asked afterwards whether a message arrived, so
a row found ``sending`` after its worker died is ``uncertain`` too, never sent again blindly.
Failed and uncertain rows show on the dashboard.

Digest: when the row claimed has more than ``notify.digest_threshold`` due rows for the same
address (typically the morning after quiet hours), this worker claims them all and sends one
message listing them; each row is then recorded as that message.
"""
from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorError
from inbox import pii
from inbox.db import atomic_write
from inbox.dates import format_datetime_id
from inbox.labels import label
from inbox.leases import (LEASE, MAX_ATTEMPTS, OFFLINE_RETRY, claim_next, claim_stale,
                          next_attempt_at, release)
from inbox.models import (OPEN_STATUSES, STATUS_LABELS, BackupRun, Case, Notification,
                          NotificationPreference, utcnow)
from inbox.notify import notices as notify
from inbox.notify.channels import channel
from inbox.sla import NO_CLOCK_INTENTS

if TYPE_CHECKING:
    from inbox.setup.config import Config
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

SCAN_SECONDS = 300
UNKNOWN = "pengiriman terputus; tidak diketahui apakah notifikasi sudah sampai"


@dataclass
class Sent:
    """What one step did: the rows it handled and the outcome."""

    ids: list[int]
    outcome: str  # sent | retry | failed | uncertain
    detail: str = ""


def deliver_next(rt: Runtime, worker_id: str, now: datetime | None = None) -> Sent | None:
    """Settle one dead worker's row, else send the next due row (or digest); None when idle."""
    now = now or utcnow()
    stale = claim_stale(worker_id, now, model=Notification)
    if stale is not None:
        _close([stale], worker_id, "uncertain", UNKNOWN)
        return Sent([stale.id], "uncertain", UNKNOWN)
    row = claim_next(worker_id, now, model=Notification)
    if row is None:
        return None
    batch = [row] + _claim_digest(rt.config, row, worker_id, now)
    subject, text = (row.subject, row.text) if len(batch) == 1 else digest_message(rt.config, batch)
    try:
        platform_id = channel(rt.config.notify, row.channel).send(row.destination, subject, text)
    except ConnectorError as exc:
        return _on_error(batch, worker_id, exc)
    except Exception as exc:  # a bug after the message may have left: unknown outcome
        log.exception("notification %s: unexpected error while sending", row.id)
        reason = f"kesalahan tak terduga saat mengirim ({type(exc).__name__})"
        _close(batch, worker_id, "uncertain", reason)
        return Sent([r.id for r in batch], "uncertain", reason)
    sent_at = utcnow()
    with atomic_write():
        for member in batch:
            release(member, worker_id, status="sent", platform_id=platform_id, sent_at=sent_at,
                    last_error=None)
    return Sent([r.id for r in batch], "sent", platform_id)


def _claim_digest(config: Config, row: Notification, worker_id: str,
                  now: datetime) -> list[Notification]:
    """The other due rows for ``row``'s address, leased to this worker, when there are more than
    the digest threshold in all; else none (each goes on its own)."""
    due = ((Notification.status == "pending") & (Notification.next_attempt_at <= now)
           & (Notification.channel == row.channel)
           & (Notification.destination == row.destination) & (Notification.id != row.id))
    if Notification.select().where(due).count() + 1 <= config.notify["digest_threshold"]:
        return []
    Notification.update(status="sending", lease_owner=worker_id, lease_until=now + LEASE,
                        attempts=Notification.attempts + 1, digest=row.id).where(due).execute()
    return list(Notification.select().where(
        (Notification.digest == row.id) & (Notification.status == "sending")
        & (Notification.lease_owner == worker_id) & (Notification.id != row.id))
        .order_by(Notification.id))


def digest_message(config: Config, rows: list[Notification]) -> tuple[str, str]:
    """One message for many: each row's subject, the case's status and deadline as they are
    now (issue 28: a line without them sent the officer to open every case), and its link."""
    cases = {c.id: c for c in Case.select().where(
        Case.id.in_([r.case_id for r in rows if r.case_id] or [0]))}
    lines = [f"Ada {len(rows)} notifikasi untuk Anda:", ""]
    for member in rows:
        link = next((line for line in member.text.splitlines() if line.startswith("Buka: ")), "")
        case = cases.get(member.case_id)
        state = (f" ({STATUS_LABELS.get(case.status, case.status)}; batas "
                 f"{format_datetime_id(case.due_at, config.tz, 'EEEE, d MMMM HH.mm') or '–'})"
                 if case is not None else "")
        lines.append(f"- {member.subject}{state}" + (f" — {link[len('Buka: '):]}" if link else ""))
    base = notify.base_url(config)
    lines += ["", notify.FOOTER.format(base=base)]
    return f"[aduan] Ringkasan {len(rows)} notifikasi", pii.mask("\n".join(lines))


def _on_error(batch: list[Notification], worker_id: str, exc: ConnectorError) -> Sent:
    reason = pii.mask(exc.message)
    ids = [r.id for r in batch]
    if exc.uncertain:
        _close(batch, worker_id, "uncertain", reason)
        return Sent(ids, "uncertain", reason)
    if exc.unreachable:  # the office is offline: wait for the line without using up a try
        at = utcnow() + OFFLINE_RETRY
        with atomic_write():
            for member in batch:
                release(member, worker_id, status="pending", next_attempt_at=at, last_error=reason,
                        digest=None, attempts=member.attempts - 1)
        return Sent(ids, "retry", reason)
    attempts = max(r.attempts for r in batch)
    if exc.permanent or attempts >= MAX_ATTEMPTS:
        more = "" if exc.permanent else f" (sudah {attempts} kali dicoba)"
        _close(batch, worker_id, "failed", reason + more)
        return Sent(ids, "failed", reason + more)
    at = next_attempt_at(attempts, exc.retry_at)
    with atomic_write():
        for member in batch:
            release(member, worker_id, status="pending", next_attempt_at=at, last_error=reason,
                    digest=None)
    return Sent(ids, "retry", reason)


def _close(batch: list[Notification], worker_id: str, status: str, reason: str) -> None:
    with atomic_write():
        for member in batch:
            release(member, worker_id, status=status, last_error=reason)
    log.warning("notifikasi %s %s: %s", ",".join(str(r.id) for r in batch),
                label("outbox", status), reason)


def problems(limit: int = 20, now: datetime | None = None) -> list[Notification]:
    """Failed or uncertain notifications of the last 7 days, for the dashboard."""
    since = (now or utcnow()) - timedelta(days=7)
    return list(Notification.select().where(
        Notification.status.in_(("failed", "uncertain")) & (Notification.created_at >= since))
        .order_by(Notification.id.desc()).limit(limit))


# --- the daemon's scan: deadlines and stale backups ----------------------------------------

def queue_reminders(rt: Runtime, now: datetime | None = None) -> int:
    """Queue today's deadline reminders (each case, event and day at most once) and the stale
    backup warning: on a working day only, and with quiet hours in office hours only (a
    weekend's or an evening's reminders would arrive together with the next morning's)."""
    config = rt.config
    now = now or utcnow()
    today, next_day = notify.reminder_days(config, now, rt.calendar)
    if not config.notify["enabled"] or not rt.calendar.is_working_day(today) \
            or notify.send_at(config, now, rt.calendar) != now:
        return 0
    queued = 0
    open_cases = Case.select().where(Case.status.in_(OPEN_STATUSES) & Case.due_at.is_null(False)
                                     & (Case.due_at < notify.end_of(next_day, config)))
    for case in list(open_cases.order_by(Case.id)):
        if case.effective_intent in NO_CLOCK_INTENTS:
            continue  # a thank-you or a greeting waits on no clock: no deadline reminder
        due_day = case.due_at.astimezone(config.tz).date()
        event = ("overdue" if case.due_at < now else "due_today" if due_day == today
                 else "due_tomorrow" if due_day == next_day else None)
        if event is not None:
            # One short transaction per case: a scan over hundreds of overdue cases must not
            # hold SQLite's write lock while the polls and the web wait.
            with atomic_write():
                queued += notify.case_event(config, case, event, today.isoformat(), now=now)
    queued += _resolution_reminders(config, now, today, next_day)
    with atomic_write():
        queued += _stale_backup(config, now)
    return queued


def _resolution_reminders(config: Config, now: datetime, today: date, next_day: date) -> int:
    """A complaint class's follow-up deadline (issue 30), like the answer's: reminded today and
    on the working day before, then every working day once it has passed with no follow-up
    recorded. The clock runs on answered cases too, so the scan reads the class's own fields."""
    queued = 0
    # running, and due by the end of the next working day (or already past)
    running = Case.select().where(Case.resolution_overdue_condition(notify.end_of(next_day, config)))
    for case in list(running.order_by(Case.id)):
        event = "resolution_overdue" if case.resolution_due_at < now else "resolution_due"
        with atomic_write():
            queued += notify.case_event(config, case, event, today.isoformat(), now=now)
    return queued


def _stale_backup(config: Config, now: datetime) -> int:
    if not config.backup["enabled"]:
        return 0
    good = BackupRun.last_good()
    if good is None or now - good.started_at < timedelta(days=config.backup["max_age_days"]):
        return 0
    return notify.office_event(config, "backup_stale", notify.local_day(config, now).isoformat(),
                               f"Cadangan database terakhir sudah lebih dari "
                               f"{config.backup['max_age_days']} hari; periksa apakah layanan "
                               f"aduan berjalan dan folder cadangan bisa ditulis.", now=now)


NEW_CASES_EVERY = timedelta(hours=1)
NEW_CASES_LISTED = 20


def queue_new_cases(rt: Runtime, now: datetime | None = None) -> int:
    """The admins' summary of the new cases since their last one (issue 28 item 8): nobody keeps
    the inbox open all day. At most one an hour per admin, each line with the case's status and
    deadline; under quiet hours only in office hours, so the first one of the morning covers the
    night. An admin who switched the event off, or has no channel, gets none."""
    config = rt.config
    now = now or utcnow()
    if not config.notify["enabled"] or notify.send_at(config, now, rt.calendar) != now:
        return 0
    queued = 0
    for user in notify.users_with_role("admin"):
        if not notify.destinations(config, [user], "new_cases"):
            continue
        last = (Notification.select(Notification.created_at)
                .where((Notification.user == user.id) & (Notification.event == "new_cases"))
                .order_by(Notification.created_at.desc()).first())
        if last is not None and now - last.created_at < NEW_CASES_EVERY:
            continue
        pref = NotificationPreference.get(NotificationPreference.user == user.id)
        since = last.created_at if last is not None else max(pref.updated_at, now - timedelta(days=1))
        fresh = list(Case.select().where((Case.status == "new") & (Case.opened_at >= since)
                                         & (Case.opened_at < now)).order_by(Case.id))
        if not fresh:
            continue
        subject, text = new_cases_message(config, fresh)
        with atomic_write():
            queued += notify.enqueue(config, "new_cases",
                                     f"new_cases:u{user.id}:{now.strftime('%Y%m%d%H%M')}", [user],
                                     subject, text, now=now)
    return queued


def new_cases_message(config: Config, cases: list[Case]) -> tuple[str, str]:
    base = notify.base_url(config)
    lines = [f"{len(cases)} pengaduan baru menunggu jawaban Admin:", ""]
    for case in cases[:NEW_CASES_LISTED]:
        lines.append(f"- {case.reference} ({STATUS_LABELS.get(case.status, case.status)}; batas "
                     f"{format_datetime_id(case.due_at, config.tz, 'EEEE, d MMMM HH.mm') or '–'})"
                     f" — {base}/pengaduan/{case.id}")
    if len(cases) > NEW_CASES_LISTED:
        lines.append(f"- dan {len(cases) - NEW_CASES_LISTED} lainnya: {base}/?status=new")
    lines += ["", notify.FOOTER.format(base=base)]
    return f"[aduan] {len(cases)} pengaduan baru", "\n".join(lines)


def release_held(config: Config, now: datetime | None = None) -> int:
    """With quiet hours switched off, the messages they held (never tried, waiting for the
    morning) go now instead of at the hour they were held until; a retry's wait is kept."""
    if config.notify["quiet_hours"]:
        return 0
    now = now or utcnow()
    return Notification.update(next_attempt_at=now).where(
        (Notification.status == "pending") & (Notification.attempts == 0)
        & (Notification.next_attempt_at > now)).execute()


def schedule_notifications(rt: Runtime, worker_id: str, stopping: threading.Event,
                           scheduler: Any, guard: Callable[[Callable[[], Any]], Callable[[], Any]]
                           ) -> None:
    """The daemon's jobs: send due notifications beside the replies; queue reminders."""
    def deliver_due_notifications() -> int:
        done = 0
        while not stopping.is_set() and deliver_next(rt, worker_id) is not None:
            done += 1
        return done
    guard(functools.partial(release_held, rt.config))()  # the config just read may have them off
    scheduler.every(rt.config.schedule["outbox_interval_seconds"]).seconds.do(
        guard(deliver_due_notifications))
    scheduler.every(SCAN_SECONDS).seconds.do(guard(functools.partial(queue_reminders, rt)))
    scheduler.every(SCAN_SECONDS).seconds.do(guard(functools.partial(queue_new_cases, rt)))
