"""Notifications (issue 16, item 1): who is told of what, what the message says, and when it
may go out. Sending is ``inbox.notify.sending``; the channels are ``inbox.notify.channels``.

Events and their recipients:

==================  ====================================================================
event               recipients
==================  ====================================================================
escalated           the group admins
assigned            the users of the case's bidang
division_answered   the admins
due_tomorrow        whoever holds the case now (assignee, else its queue's users)
due_today           the same
overdue             the same, and the group admins
resolution_due      a class's follow-up deadline today or on the next working day (issue
                    30): the group admins and the users of the case's bidang
resolution_overdue  that deadline passed with no follow-up recorded: the same
account_stopped     the superusers
set_aside           the superusers
backup_failed       the superusers
backup_stale        the superusers
recap_made          the complaint team's addresses (``notify.complaint_team``)
new_cases           the admins: one summary of the new cases, at most once an hour
==================  ====================================================================

Every user chooses channels and switches events off on ``/akun/notifikasi``
(:class:`inbox.models.NotificationPreference`); a user without an address on a channel gets
nothing there. :func:`enqueue` writes one :class:`inbox.models.Notification` per recipient and
channel, keyed so that the same event is queued at most once; callers that change a case call
it inside their own transaction, so the notification exists exactly when the change does.

A message carries the case number, its status, its deadline (WIB) and a link — never the
citizen's words, not even masked: officers' notes and the division's answer are left out too,
because either may quote a NIK. Whatever text is composed still goes through ``pii.mask``.

Quiet hours (``notify.quiet_hours``): outside ``notify.office_start`` – ``sla.end_of_day`` on a
working day of the SLA calendar, a message waits until the start of the next working day.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from inbox import labels, pii
from inbox.dates import format_date_id, format_datetime_id
from inbox.models import (STATUS_LABELS, Case, Notification, NotificationPreference, User,
                          utcnow)
from inbox.notify.channels import configured_channels
from inbox.setup.handling_config import classes
from inbox.sla import WorkCalendar, calendar_from_config

if TYPE_CHECKING:
    from inbox.setup.config import Config

#: event -> the subject line a person reads (the table lives with the other labels).
EVENTS = labels.NOTIFY_EVENTS

#: What the first line of a case's message says about it.
CASE_SENTENCES: dict[str, str] = {
    "escalated": "Admin meneruskan pengaduan ini kepada Group Admin untuk ditindaklanjuti.",
    "assigned": "Group Admin menyerahkan pengaduan ini kepada bidang Anda untuk dijawab.",
    "division_answered": "Bidang sudah memberi jawaban; periksa lalu teruskan kepada warga.",
    # due_tomorrow and due_today name the real deadline (issue 28): see deadline_sentence
    "due_tomorrow": "Pengaduan ini harus dijawab paling lambat {batas}.",
    "due_today": "Pengaduan ini harus dijawab hari ini, paling lambat {batas}.",
    "overdue": "Pengaduan ini sudah melewati batas waktu 3 hari kerja dan belum dijawab.",
    # the class's resolution clock (issue 30): the follow-up, not the answer
    "resolution_due": "Tindak lanjut pengaduan ini (kelas {kelas}) harus dicatat paling lambat "
                      "{batas}.",
    "resolution_overdue": "Tindak lanjut pengaduan ini (kelas {kelas}) sudah melewati batas "
                          "waktunya dan belum dicatat.",
}
RESOLUTION_EVENTS = ("resolution_due", "resolution_overdue")

FOOTER = ("Pesan otomatis dari aduan. Isi pengaduan warga tidak disertakan untuk melindungi data "
          "pribadi; buka tautan di atas setelah masuk. Atur notifikasi Anda di {base}/akun/notifikasi")

ROLE_EVENTS: dict[str, tuple[str, ...]] = {
    "admin": ("new_cases", "division_answered", "due_tomorrow", "due_today", "overdue"),
    "group_admin": ("escalated", "due_tomorrow", "due_today", "overdue") + RESOLUTION_EVENTS,
    "division": ("assigned", "due_tomorrow", "due_today", "overdue") + RESOLUTION_EVENTS,
    "supervisor": (),
}
SUPERUSER_EVENTS = ("account_stopped", "set_aside", "backup_failed", "backup_stale")


def events_for(user: User) -> list[str]:
    """The events ``user`` can receive (the choices on its preferences page)."""
    chosen = set(ROLE_EVENTS.get(user.role, ()))
    if user.is_superuser:
        chosen |= set(SUPERUSER_EVENTS)
    return [e for e in EVENTS if e in chosen]


# --- recipients ------------------------------------------------------------------------------

def _active() -> Any:
    return User.select().where(User.active == True)  # noqa: E712


def users_with_role(role: str) -> list[User]:
    return list(_active().where(User.role == role).order_by(User.id))


def superusers() -> list[User]:
    return list(_active().where(User.is_superuser == True).order_by(User.id))  # noqa: E712


def division_users(division_id: int | None) -> list[User]:
    if division_id is None:
        return []
    return list(_active().where((User.role == "division") & (User.division == division_id))
                .order_by(User.id))


def holders(case: Case) -> list[User]:
    """Whoever holds ``case`` now: its assignee, else the users of the queue it waits in."""
    if case.assignee_id is not None:
        assignee = User.get_or_none(User.id == case.assignee_id)
        if assignee is not None and assignee.active:
            return [assignee]
    if case.queue == "division":
        return division_users(case.division_id)
    if case.queue == "group_admin":
        return users_with_role("group_admin")
    return users_with_role("admin")


def case_recipients(case: Case, event: str) -> list[User]:
    if event == "escalated":
        return users_with_role("group_admin")
    if event == "assigned":
        return division_users(case.division_id)
    if event == "division_answered":
        return users_with_role("admin")
    if event in RESOLUTION_EVENTS:  # the follow-up is the bidang's work, watched by the group admins
        return _and_group_admins(division_users(case.division_id))
    found = holders(case)
    return _and_group_admins(found) if event == "overdue" else found


def _and_group_admins(found: list[User]) -> list[User]:
    """``found`` and then every group admin not among them."""
    known = {u.id for u in found}
    return found + [u for u in users_with_role("group_admin") if u.id not in known]


# --- when ------------------------------------------------------------------------------------

def office_hours(config: Config) -> tuple[time, time]:
    return time.fromisoformat(config.notify["office_start"]), time.fromisoformat(
        config.sla["end_of_day"])


def send_at(config: Config, now: datetime, calendar: WorkCalendar | None = None) -> datetime:
    """``now`` inside office hours on a working day (or with quiet hours off); else the start of
    the next office day."""
    if not config.notify["quiet_hours"]:
        return now
    calendar = calendar or calendar_from_config(config)
    start, end = office_hours(config)
    local = now.astimezone(config.tz)
    today = local.date()
    if calendar.is_working_day(today):
        if start <= local.time() < end:
            return now
        if local.time() < start:
            return datetime.combine(today, start, tzinfo=config.tz)
    return datetime.combine(calendar.nth_working_day_after(today, 1), start, tzinfo=config.tz)


# --- what ------------------------------------------------------------------------------------

def base_url(config: Config) -> str:
    configured = (config.notify.get("base_url") or "").rstrip("/")
    return configured or f"http://{config.web['host']}:{config.web['port']}"


def deadline_words(config: Config, case: Case, now: datetime | None = None,
                   deadline: datetime | None = None) -> str:
    """``Senin, 7 Desember 2026 pukul 16.00 WIB``, with ``(besok)`` only when the deadline is
    really tomorrow: the working day after a Friday is a Monday, not "besok". The deadline is
    the answer's (``due_at``) unless another is given."""
    deadline = deadline or case.due_at
    if deadline is None:
        return "–"
    when = format_datetime_id(deadline, config.tz)
    today = local_day(config, now)
    return f"{when} (besok)" if deadline.astimezone(config.tz).date() == today + timedelta(days=1) \
        else when


def class_name(config: Config, code: str | None) -> str:
    """A complaint class's name as the office configured it (its code if it is gone)."""
    found = next((c for c in classes(config.resolution) if c.get("code") == code), None)
    return str(found.get("name") or code) if found else (code or "–")


def due_subject(config: Config, case: Case, event: str, now: datetime | None = None) -> str:
    """The reminder's subject: "besok" only when it is tomorrow, else the deadline's day."""
    if event != "due_tomorrow" or case.due_at is None:
        return EVENTS[event]
    due = case.due_at.astimezone(config.tz).date()
    if due == local_day(config, now) + timedelta(days=1):
        return EVENTS[event]
    return f"Batas waktu pengaduan {format_date_id(due, 'EEEE, d MMMM')}"


def case_message(config: Config, case: Case, event: str,
                 now: datetime | None = None) -> tuple[str, str]:
    """Subject and text about ``case``: number, status, deadline, bidang, link."""
    base = base_url(config)
    if event in RESOLUTION_EVENTS:
        deadline = case.resolution_due_at
        sentence = CASE_SENTENCES[event].format(
            kelas=class_name(config, case.complaint_class),
            batas=deadline_words(config, case, now, deadline))
        clock = f"Batas tindak lanjut: {format_datetime_id(deadline, config.tz) or '–'}"
    else:
        sentence = CASE_SENTENCES[event].format(batas=deadline_words(config, case, now))
        clock = f"Batas waktu: {format_datetime_id(case.due_at, config.tz) or '–'}"
    lines = [sentence, "", f"Nomor pengaduan: {case.reference}",
             f"Status: {STATUS_LABELS.get(case.status, case.status)}", clock]
    if case.division_id is not None:
        lines.append(f"Bidang: {case.division.name}")
    lines += [f"Buka: {base}/pengaduan/{case.id}", "", FOOTER.format(base=base)]
    return f"[{case.reference}] {due_subject(config, case, event, now)}", "\n".join(lines)


def office_message(config: Config, event: str, sentence: str, path: str = "/dasbor") -> tuple[str, str]:
    """Subject and text of a message about the office (an account, backups, the recap)."""
    base = base_url(config)
    text = f"{sentence}\n\nBuka: {base}{path}\n\n{FOOTER.format(base=base)}"
    return f"[aduan] {EVENTS[event]}", text


# --- queueing --------------------------------------------------------------------------------

def _key(base: str, channel: str, destination: str) -> str:
    digest = hashlib.sha256(destination.strip().lower().encode()).hexdigest()[:20]
    return f"{base}:{channel}:{digest}"[:200]


def destinations(config: Config, users: Iterable[User], event: str) -> list[tuple[User, str, str]]:
    """(user, channel, address) for every user who wants ``event`` on a configured channel."""
    configured = set(configured_channels(config.notify))
    users = list(users)
    prefs = {p.user_id: p for p in NotificationPreference.select().where(
        NotificationPreference.user.in_([u.id for u in users] or [0]))}
    found = []
    for user in users:
        pref = prefs.get(user.id)
        if pref is None or event in (pref.events_off or []):
            continue
        for channel in pref.channels or []:
            address = {"email": pref.email, "telegram": pref.telegram_chat_id}.get(channel) or ""
            if channel in configured and address.strip():
                found.append((user, channel, address.strip()))
    return found


def enqueue(config: Config, event: str, key: str, users: Iterable[User], subject: str, text: str,
            case: Case | None = None, addresses: Iterable[str] = (),
            now: datetime | None = None) -> int:
    """Queue ``event`` for ``users`` (on their chosen channels) and for plain e-mail
    ``addresses``; ``key`` names the occurrence, so queueing it again adds nothing. Returns the
    number of recipients (rows already queued included). Call inside the transaction of the change being told."""
    if not config.notify["enabled"]:
        return 0
    now = now or utcnow()
    at = send_at(config, now)
    subject, text = pii.mask(subject), pii.mask(text)
    targets: list[tuple[User | None, str, str]] = list(destinations(config, users, event))
    if "email" in configured_channels(config.notify):
        targets += [(None, "email", a) for a in addresses]
    for user, channel, address in targets:
        Notification.insert(
            key=_key(key, channel, address), event=event, case=case, user=user, channel=channel,
            destination=address, subject=subject, text=text, next_attempt_at=at, created_at=now,
        ).on_conflict_ignore().execute()
    return len(targets)


def local_day(config: Config, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(config.tz).date()


def case_event(config: Config, case: Case, event: str, occurrence: Any,
               now: datetime | None = None) -> int:
    """Queue a case event (``occurrence``: the workflow Event's id, or the day of a reminder)."""
    subject, text = case_message(config, case, event, now)
    return enqueue(config, event, f"{event}:c{case.id}:{occurrence}",
                   case_recipients(case, event), subject, text, case=case, now=now)


def office_event(config: Config, event: str, occurrence: Any, sentence: str,
                 path: str = "/dasbor", now: datetime | None = None) -> int:
    """Queue an event about the office for the superusers (the recap: the complaint team)."""
    subject, text = office_message(config, event, sentence, path)
    if event == "recap_made":
        return enqueue(config, event, f"{event}:{occurrence}", [], subject, text,
                       addresses=config.notify["complaint_team"], now=now)
    return enqueue(config, event, f"{event}:{occurrence}", superusers(), subject, text, now=now)


def account_stopped(config: Config, account: Any, reason: str, now: datetime | None = None) -> int:
    return office_event(config, "account_stopped", f"a{account.id}:{local_day(config, now)}",
                        f"Saluran {account.label or account.name} berhenti dan pesan warga dari "
                        f"saluran ini tidak masuk: {reason}", now=now)


def set_aside(config: Config, account: Any, count: int, now: datetime | None = None) -> int:
    return office_event(config, "set_aside", f"a{account.id}:{local_day(config, now)}",
                        f"{count} pesan dari saluran {account.label or account.name} tidak dapat "
                        f"dibaca dan disisihkan; periksa lalu jalankan aduan reprocess.",
                        path="/kelola/tersisih", now=now)


def backup_failed(config: Config, error: str, now: datetime | None = None) -> int:
    return office_event(config, "backup_failed", f"{local_day(config, now)}",
                        f"Pencadangan database gagal: {error}", now=now)


def recap_made(config: Config, day: date, now: datetime | None = None) -> int:
    return office_event(config, "recap_made", day.isoformat(),
                        f"Rekap harian {format_date_id(day, 'EEEE, d MMMM y')} sudah dibuat "
                        f"dan bisa diunduh.", path="/rekap", now=now)


def reminder_days(config: Config, now: datetime,
                  calendar: WorkCalendar | None = None) -> tuple[date, date]:
    """Today and the next working day (what "besok" means to a deadline)."""
    calendar = calendar or calendar_from_config(config)
    today = local_day(config, now)
    return today, calendar.nth_working_day_after(today, 1)


def end_of(day: date, config: Config) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.tz)
