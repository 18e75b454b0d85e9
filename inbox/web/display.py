"""How a case reads on screen: the SLA clock, the reply window, event lines, channel names.

Pure functions of their arguments (plus the calendar), so they are tested without a browser.
Only wording lives here; the rules themselves are in inbox.sop.workflow and inbox.sla.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.facebook import HUMAN_AGENT_WINDOW
from inbox import pii
from inbox.dates import format_datetime_id
from inbox.labels import LABELS, detail_value, label
from inbox.models import Case, Division, Event, User
from inbox.sla import NO_CLOCK_INTENTS, WorkCalendar
from inbox.understand.classify import uncertain_of

META_KINDS = ("facebook", "instagram")  # private replies allowed up to 7 days by a person
# The tables live in inbox.labels (one place for every Indonesian word of an internal name);
# these names stay for the pages that import them.
KIND_LABELS = LABELS["kind"]
CHANNEL_LABELS = LABELS["channel"]
OUTBOX_LABELS = LABELS["outbox"]
PURPOSE_LABELS = LABELS["purpose"]
NO_REPLY_WINDOW = ("email",)  # a mail can be answered whenever; no platform closes it


def unsure(case: Case, confidence: dict[str, Any] | None) -> set[str]:
    """The classifier's categories (and ``"intent"``) of ``case`` shown as "perlu dicek": those
    it chose with a probability under ``LOW_CONFIDENCE`` (``confidence``, from
    ``Event.opened_confidence``), as long as no person has set the categories (or the intent)."""
    doubtful = set(uncertain_of(confidence))
    out = set()
    if case.categories_override is None:
        out |= doubtful & set(case.categories or [])
    if case.intent_override is None and "intent" in doubtful:
        out.add("intent")
    return out


@dataclass
class Clock:
    """The SLA line of a case and how it should stand out (``level``: ok, today, late, done)."""

    text: str
    level: str


NO_CLOCK_TEXT = "tanpa batas waktu"


def on_clock(case: Case) -> bool:
    """Whether an open case waits on the SLA's clock: a thank-you or a bare greeting does not
    (it is dismissed, not answered within 3 working days)."""
    return case.effective_intent not in NO_CLOCK_INTENTS


def sla_clock(case: Case, now: datetime, calendar: WorkCalendar) -> Clock:
    """``Batas waktu: Rabu, 2 Desember 2026 pukul 16.00 WIB — sisa 2 hari kerja`` or TERLAMBAT."""
    tz = calendar.tz
    if case.referred_to and not case.is_open:
        return Clock(f"Bukan wewenang — warga diarahkan ke {case.referred_to}; tidak dihitung "
                     f"dalam batas waktu.", "done")
    if case.status == "not_complaint":
        return Clock("Bukan pengaduan — tidak ada batas waktu.", "done")
    if case.is_open and not on_clock(case):
        return Clock(f"{label('intent', case.effective_intent)}: tidak menunggu batas waktu "
                     f"{calendar.working_days} hari kerja; tandai bukan pengaduan bila tidak perlu "
                     f"dijawab.", "done")
    if case.status == "answered" and case.answered_at:
        late = case.due_at is not None and case.answered_at > case.due_at
        verdict = "TERLAMBAT dari batas waktu" if late else "tepat waktu"
        return Clock(f"Selesai dijawab {format_datetime_id(case.answered_at, tz)} — {verdict}.",
                     "late" if late else "done")
    if case.due_at is None:
        return Clock("Belum ada batas waktu.", "ok")
    return _countdown(f"Batas waktu: {format_datetime_id(case.due_at, tz)}", case.due_at, now,
                      calendar, "TERLAMBAT")


def _countdown(line: str, due: datetime, now: datetime, calendar: WorkCalendar,
               late: str) -> Clock:
    """``line`` followed by ``late`` once ``due`` passed, HARI INI on its day, or the working
    days left."""
    tz = calendar.tz
    if due < now:
        return Clock(f"{line} — {late}", "late")
    if due.astimezone(tz).date() == now.astimezone(tz).date():
        return Clock(f"{line} — HARI INI", "today")
    return Clock(f"{line} — sisa {calendar.working_days_between(now, due)} hari kerja", "ok")


def resolution_clock(case: Case, now: datetime, calendar: WorkCalendar,
                     class_name: str | None) -> Clock | None:
    """The class's resolution line (None for a case without a class): its deadline and what is
    left, TERLAMBAT once it passed, or when the follow-up was recorded and whether in time."""
    if not case.complaint_class or case.referred_to or case.status == "not_complaint":
        return None
    tz = calendar.tz
    name = class_name or case.complaint_class
    if case.resolved_at is not None:
        late = case.resolution_due_at is not None and case.resolved_at > case.resolution_due_at
        verdict = "TERLAMBAT dari batas tindak lanjut" if late else "tepat waktu"
        return Clock(f"Kelas {name}: tindak lanjut dicatat {format_datetime_id(case.resolved_at, tz)}"
                     f" — {verdict}.", "late" if late else "done")
    if case.resolution_due_at is None:
        return Clock(f"Kelas {name}: belum ada batas tindak lanjut.", "ok")
    return _countdown(f"Kelas {name}: batas tindak lanjut "
                      f"{format_datetime_id(case.resolution_due_at, tz)}", case.resolution_due_at,
                      now, calendar, "TINDAK LANJUT TERLAMBAT")


def due_badge(case: Case, now: datetime, tz: Any) -> tuple[str, str] | None:
    """The short badge on a list row: (text, level) when overdue or due today, on the answer
    clock or on the class's resolution clock; a thank-you or a greeting is on no clock."""
    if case.resolution_open and case.resolution_due_at is not None \
            and case.resolution_due_at < now and not (case.is_open and case.due_at
                                                      and case.due_at < now):
        return "TINDAK LANJUT TERLAMBAT", "late"
    if not case.is_open or case.due_at is None:
        return None
    if not on_clock(case):
        return NO_CLOCK_TEXT, "muted"
    if case.due_at < now:
        return "TERLAMBAT", "late"
    if case.due_at.astimezone(tz).date() == now.astimezone(tz).date():
        return "Batas hari ini", "today"
    return None


def reply_window(case: Case, now: datetime, tz: Any) -> Clock | None:
    """The platform's reply window of a private case (None for public cases)."""
    closes = case.reply_window_closes_at
    if case.public or closes is None or not case.is_open or case.account.kind in NO_REPLY_WINDOW:
        return None
    when = format_datetime_id(closes, tz)
    if case.account.kind == "whatsapp" and closes <= now:
        template = _whatsapp_template(case)
        if template:
            return Clock(f"Lewat 24 jam sejak pesan terakhir warga ({when}): WhatsApp hanya menerima "
                         f"templat, jadi yang terkirim adalah templat \"{template}\" dengan nomor "
                         f"pengaduan, bukan teks jawaban.", "today")
        return Clock(f"Lewat 24 jam sejak pesan terakhir warga ({when}) dan belum ada templat "
                     "WhatsApp di config.toml: balasan akan ditolak. Hubungi warga lewat kanal lain.",
                     "late")
    if case.account.kind in META_KINDS and closes <= now < case.last_inbound_at + HUMAN_AGENT_WINDOW:
        last = format_datetime_id(case.last_inbound_at + HUMAN_AGENT_WINDOW, tz)
        return Clock(f"Lewat 24 jam sejak pesan terakhir warga: balasan masih bisa dikirim sebagai "
                     f"jawaban petugas sampai {last}.", "today")
    if closes <= now:
        return Clock(f"Batas balas pesan pribadi sudah lewat ({when}). Platform bisa menolak "
                     f"balasan biasa; jawab secepatnya bila warga menulis lagi.", "late")
    hours = int((closes - now).total_seconds() // 3600)
    left = f"sisa {hours} jam" if hours >= 1 else "kurang dari 1 jam lagi"
    return Clock(f"Pesan pribadi: balas sebelum {when} ({left}), setelah itu platform bisa "
                 f"menolak balasan.", "today" if hours < 6 else "ok")


def _whatsapp_template(case: Case) -> str:
    from inbox.web.current import runtime  # late: display helpers are also used outside a request
    account = runtime().config.accounts.get(case.account.name)
    return str(account.options.get("template_name") or "") if account else ""


def channel_label(case: Case) -> str:
    account = case.account
    kind = label("channel", account.kind)
    name = account.label or account.name
    return name if name == kind else f"{kind} · {name}"


def handles_case(user: User, case: Case) -> bool:
    """Whether ``user`` works on this case and may read its personal data unmasked.

    The supervisor only reads: every text it sees is masked like a recap."""
    if user.is_superuser or user.role in ("admin", "group_admin"):
        return True
    return user.role == "division" and user.division_id is not None \
        and user.division_id == case.division_id


def event_line(event: Event, divisions: dict[str, str], masked: bool) -> dict[str, Any]:
    """One row of the history: when, who, what, and the detail worth reading."""
    clean = pii.mask if masked else (lambda t: t)
    details = []
    for key, value in (event.detail or {}).items():
        if key not in LABELS["detail"] or value in (None, "", []):
            continue
        text = divisions.get(value, value) if key == "division" else detail_value(key, value)
        details.append((label("detail", key), clean(str(text))))
    if event.action == "dismissed" and event.detail.get("automatic"):
        details.append(("Oleh", "sistem (otomatis)"))
    return {"at": event.at, "who": "sistem" if event.actor_name == "system" else event.actor_name,
            "what": label("event", event.action), "details": details}


def division_names() -> dict[str, str]:
    return {d.code: d.name for d in Division.select()}
