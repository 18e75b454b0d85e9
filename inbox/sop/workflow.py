"""The SOP as a state machine (DESIGN.md, "The SOP as a state machine").

Every transition is one function that checks the actor (role, and for a division user its own
bidang), checks the case's current status, then changes the status with a conditional UPDATE
and writes its Event in the same transaction. A refusal is a :class:`WorkflowError` whose text
is one Indonesian sentence an officer can act on.

Who may do what (a superuser may do everything any role may do; the status rules still hold):

=================  ===========================  ==========================================
action             role                         case status
=================  ===========================  ==========================================
reply              admin / group_admin          new / escalated
escalate           admin                        new
assign             group_admin                  escalated (or at_division: re-route)
division_answer    division (own bidang)        at_division
forward            admin                        division_answered
dismiss            admin                        new
note               admin, group_admin, division any (division: own bidang's cases)
categorise         admin, group_admin           any
confirm_delivery   admin, group_admin           a reply of the case is ``uncertain``
refer              admin                        new / division_answered (bukan wewenang)
lapor              admin                        any
maladministration  group_admin, division        any but not_complaint
follow_up          admin, group_admin, division any but not_complaint, while its class runs
set_class          ``[resolution] set_by``      any but not_complaint (inbox.sop.handling)
=================  ===========================  ==========================================

The last five (issue 30) are in ``inbox.sop.handling``: a complaint class's resolution clock
beside the answer clock, "bukan wewenang", the maladministration type and SP4N-LAPOR!.

A supervisor only reads. The division's answer is never sent to the citizen by the division:
it is stored on the ``division_answered`` Event (``detail["text"]``) and the admin forwards it.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import peewee as pw

from inbox import labels, pii
from inbox.dates import format_datetime_id
from inbox.db import atomic_write
from inbox.models import ROLES, STATUS_LABELS, Case, Division, Event, Outbox, User, utcnow
from inbox.notify import notices as notify
from inbox.sop.outbox import record_delivered

if TYPE_CHECKING:  # for type hints only; no import cycle with inbox.setup.runtime at run time
    from inbox.setup.runtime import Runtime

DISMISS_REASONS = labels.DISMISS_REASONS  # the admin's choices of why a case is not one

ACTION_LABELS: dict[str, str] = {
    "reply": "Jawab langsung",
    "escalate": "Teruskan ke Group Admin",
    "assign": "Serahkan ke bidang",
    "division_answer": "Kirim jawaban bidang ke Admin",
    "forward": "Teruskan jawaban ke warga",
    "dismiss": "Tandai bukan pengaduan",
    "note": "Tambah catatan internal",
    "categorise": "Ubah kategori",
    "confirm_delivery": "Pastikan status pengiriman",
    "refer": "Bukan wewenang: arahkan ke instansi lain",
    "lapor": "SP4N-LAPOR!",
    "maladministration": "Jenis maladministrasi",
    "follow_up": "Catat tindak lanjut",
    "set_class": "Kelas pengaduan",
}

# What each action does, in the words of a refusal ("... tidak boleh <verb>").
_VERBS: dict[str, str] = {
    "reply": "menjawab pengaduan ini",
    "escalate": "meneruskan pengaduan ke Group Admin",
    "assign": "menyerahkan pengaduan ke bidang",
    "division_answer": "menulis jawaban bidang",
    "forward": "meneruskan jawaban bidang kepada warga",
    "dismiss": "menandai pengaduan sebagai bukan pengaduan",
    "note": "menambah catatan",
    "categorise": "mengubah kategori",
    "confirm_delivery": "memastikan status pengiriman",
    "refer": "menutup pengaduan sebagai bukan wewenang",
    "lapor": "mengubah data SP4N-LAPOR!",
    "maladministration": "menetapkan jenis maladministrasi",
    "follow_up": "mencatat tindak lanjut",
    "set_class": "menetapkan kelas pengaduan",
}

_ANY = tuple(STATUS_LABELS)
_COMPLAINT = tuple(s for s in STATUS_LABELS if s != "not_complaint")
#: action -> role -> the case statuses in which that role may do it.
RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "reply": {"admin": ("new",), "group_admin": ("escalated",)},
    "escalate": {"admin": ("new",)},
    "assign": {"group_admin": ("escalated", "at_division")},
    "division_answer": {"division": ("at_division",)},
    "forward": {"admin": ("division_answered",)},
    "dismiss": {"admin": ("new",)},
    "note": {"admin": _ANY, "group_admin": _ANY, "division": _ANY},
    "categorise": {"admin": _ANY, "group_admin": _ANY},
    "confirm_delivery": {"admin": _ANY, "group_admin": _ANY},
    "refer": {"admin": ("new", "division_answered")},
    "lapor": {"admin": _ANY},
    "maladministration": {"group_admin": _COMPLAINT, "division": _COMPLAINT},
    "follow_up": {"admin": _COMPLAINT, "group_admin": _COMPLAINT, "division": _COMPLAINT},
}

KIND_LABELS = {"nik": "NIK", "kk": "Nomor KK", "phone": "Nomor HP", "email": "Email"}
TEMPLATE_VARIABLE = re.compile(r"\{(nama|nomor|batas_waktu|kantor|kelas|batas_penyelesaian)\}")
#: A gap of a knowledge-base entry or a suggested answer still to be written in ("[[alamat
#: kantor]]", "[[NIK]]"): a reply holding one is refused, so a citizen never reads it.
GAP = re.compile(r"\[\[[^\[\]]{0,80}\]\]")


class WorkflowError(Exception):
    """The action is refused; ``str(exc)`` is one Indonesian sentence for the officer."""


# --- who may see and do what -------------------------------------------------------------------

def can_view(user: User, case: Case) -> bool:
    """Everyone sees every case except a division user, who sees its own bidang's cases."""
    if not user.active:
        return False
    if user.is_superuser or user.role != "division":
        return True
    return user.division_id is not None and case.division_id == user.division_id


def division_scoped(user: User) -> bool:
    """True when ``user`` sees only its own bidang's cases (and so no office-wide figures)."""
    return user.role == "division" and not user.is_superuser


def visible_cases(user: User, by_status: bool = False) -> pw.ModelSelect:
    """The cases ``user`` may see, as an unexecuted query.

    ``by_status``: the caller narrows the query to a few statuses (the open ones, a queue's).
    A division user's bidang is then matched as ``division + 0``, which no index serves, so the
    statuses' index is read: SQLite otherwise prefers the bidang's index, which holds the
    bidang's whole year (a count of its open cases took 81 ms on a year of one busy office
    instead of 0.2 ms; README, Performance). Without it, the bidang's index is the right one
    (its newest cases, its cases of a month)."""
    query = Case.select()
    if not user.active:
        return query.where(Case.id.is_null())
    if user.role == "division" and not user.is_superuser:
        return _of_division(query, user, by_status)
    return query


def _of_division(query: pw.ModelSelect, user: User, by_status: bool) -> pw.ModelSelect:
    if user.division_id is None:
        return query.where(Case.id.is_null())
    return query.where(((Case.division + 0) if by_status else Case.division) == user.division_id)


#: The statuses in which a case waits for an action of each role (the header's count): the admin
#: answers new cases and forwards the bidang's answers (SOP steps 2 and 4), the group admin answers
#: or routes what the admin escalated, a bidang answers what was assigned to it (step 3). A
#: supervisor only reads, so nothing waits for it.
WAITING_STATUSES: dict[str, tuple[str, ...]] = {
    "admin": ("new", "division_answered"),
    "group_admin": ("escalated",),
    "division": ("at_division",),
}


def waiting_cases(user: User) -> pw.ModelSelect:
    """The cases waiting for an action of ``user``'s role, as an unexecuted query: for a division
    user (a superuser too) its own bidang's only; none for an inactive user or a role nothing
    waits for. It is on every page (the header's count), so it reads the statuses' index only
    (see ``visible_cases``)."""
    statuses = WAITING_STATUSES.get(user.role, ())
    if not statuses:
        return Case.select().where(Case.id.is_null())
    query = visible_cases(user, by_status=True).where(Case.status.in_(statuses))
    if user.role == "division" and user.is_superuser:  # sees every bidang, waits for its own
        query = _of_division(query, user, by_status=True)
    return query


def _statuses_for(user: User, action: str) -> tuple[str, ...]:
    rules = RULES[action]
    if user.is_superuser:
        return tuple(s for s in STATUS_LABELS if any(s in v for v in rules.values()))
    return rules.get(user.role, ())


def check(user: User, case: Case, action: str) -> None:
    """Raise WorkflowError unless ``user`` may do ``action`` on ``case`` in its current status."""
    if not user.active:
        raise WorkflowError("Akun pengguna ini tidak aktif.")
    if not can_view(user, case):
        raise WorkflowError(f"Pengaduan {case.reference} bukan untuk bidang Anda.")
    if user.role == "supervisor" and not user.is_superuser:
        raise WorkflowError("Pengawas hanya boleh melihat pengaduan, tidak boleh mengubahnya.")
    statuses = _statuses_for(user, action)
    if not statuses:
        if user.role == "division" and action in ("reply", "forward"):
            raise WorkflowError("Pejabat Bidang Teknis tidak mengirim jawaban langsung kepada "
                                "warga; tulis jawaban bidang dan Admin yang meneruskannya.")
        raise WorkflowError(f"{ROLES.get(user.role, user.role)} tidak boleh {_VERBS[action]}.")
    if case.status not in statuses:
        allowed = " atau ".join(f"\"{STATUS_LABELS[s]}\"" for s in statuses)
        raise WorkflowError(f"Pengaduan {case.reference} berstatus \"{STATUS_LABELS[case.status]}\"; "
                            f"{_VERBS[action]} hanya bisa saat berstatus {allowed}.")


def allowed_actions(user: User, case: Case) -> list[str]:
    """The actions ``user`` may take on ``case`` now (the buttons to show), in SOP order."""
    actions = []
    for action in RULES:
        try:
            check(user, case, action)
        except WorkflowError:
            continue
        if action == "confirm_delivery" and not _uncertain_rows(case).exists():
            continue
        if action == "follow_up" and not case.resolution_open:
            continue
        actions.append(action)
    return actions


def _uncertain_rows(case: Case) -> pw.ModelSelect:
    return Outbox.select().where((Outbox.case == case) & (Outbox.status == "uncertain"))


# --- transitions -------------------------------------------------------------------------------

def _move(case: Case, expected: tuple[str, ...], **fields: Any) -> None:
    """Change the case only if its status is still one of ``expected`` (two officers may click at
    once; the second must be refused, not overwrite the first)."""
    fields.setdefault("updated_at", utcnow())
    changed = Case.update(**fields).where((Case.id == case.id) & Case.status.in_(expected)).execute()
    if changed != 1:
        raise WorkflowError(f"Pengaduan {case.reference} baru saja diubah oleh petugas lain; "
                            f"muat ulang lalu coba lagi.")
    for name, value in fields.items():
        setattr(case, name, value)


def _required(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise WorkflowError(f"{what} tidak boleh kosong.")
    return text


def personal_data_confirmable(rt: Runtime, case: Case, text: str) -> bool:
    """Whether the officer may confirm and still send ``text`` (only under ``privacy = "warn"``).

    Under the default ``"block"`` no confirmation changes the outcome, so none is offered."""
    return bool(case.public and pii.has_personal_data(text or "")
                and rt.config.privacy["public_reply_with_personal_data"] == "warn")


def _check_personal_data(rt: Runtime, case: Case, text: str, confirmed: bool) -> None:
    """A public reply must not publish a NIK, KK or phone number (config decides block or warn)."""
    if not case.public or not pii.has_personal_data(text):
        return
    found = ", ".join(personal_data_warning(text))
    if rt.config.privacy["public_reply_with_personal_data"] == "warn":
        if not confirmed:
            raise WorkflowError(f"Balasan publik ini memuat data pribadi ({found}); periksa lagi "
                                f"dan beri konfirmasi bila memang harus tampil di publik.")
        return
    raise WorkflowError(f"Balasan publik ini memuat data pribadi ({found}) dan tidak boleh tampil "
                        f"di publik. Hapus nomor itu dari balasan, atau minta warga mengirim "
                        f"pesan pribadi ke akun kantor lalu jawab di sana.")


def _queue_answer(rt: Runtime, case: Case, actor: User, text: str, confirmed: bool,
                  from_status: str, referred_to: str | None = None, forwarded: bool = False) -> Outbox:
    """Queue an answer; ``referred_to`` makes it a *bukan wewenang* answer (inbox.sop.handling.
    refer), and any other answer clears an earlier referral: the last answer decides."""
    gap = GAP.search(text)
    if gap:
        raise WorkflowError(f"Balasan masih berisi isian {gap.group(0)}; ganti dengan keterangan "
                            f"yang sebenarnya sebelum dikirim.")
    _check_personal_data(rt, case, text, confirmed)
    with atomic_write():
        _move(case, (from_status,), status="replying", queue="admin", referred_to=referred_to,
              referral_forwarded=bool(referred_to and forwarded))
        row = Outbox.create(case=case, text=text, public=case.public, purpose="answer",
                            created_by=actor)
        Event.record("reply_queued", case=case, actor=actor, outbox_id=row.id, purpose="answer",
                     from_status=from_status, text=text,
                     personal_data_confirmed=bool(confirmed and case.public
                                                  and pii.has_personal_data(text)))
    return row


def reply(rt: Runtime, case: Case, actor: User, text: str, confirm_personal_data: bool = False) -> Outbox:
    """Queue the admin's (or group admin's) own answer: new/escalated -> replying."""
    check(actor, case, "reply")
    return _queue_answer(rt, case, actor, _required(text, "Jawaban"), confirm_personal_data,
                         case.status)


def escalate(rt: Runtime, case: Case, actor: User, note: str) -> None:
    """The admin cannot answer alone and consults the group admin: new -> escalated."""
    check(actor, case, "escalate")
    note = _required(note, "Catatan untuk Group Admin")
    with atomic_write():
        _move(case, ("new",), status="escalated", queue="group_admin", escalated_at=utcnow())
        event = Event.record("escalated", case=case, actor=actor, note=note)
        notify.case_event(rt.config, case, "escalated", f"e{event.id}")


def assign_division(rt: Runtime, case: Case, actor: User, division_code: str, note: str = "") -> None:
    """The group admin hands the case to a bidang: escalated -> at_division."""
    check(actor, case, "assign")
    division = Division.get_or_none((Division.code == (division_code or "").strip())
                                    & (Division.active == True))  # noqa: E712
    if division is None:
        raise WorkflowError(f"Bidang \"{division_code}\" tidak ada; pilih salah satu bidang yang aktif.")
    with atomic_write():
        _move(case, ("escalated", "at_division"), status="at_division", queue="division",
              division=division.id)
        detail: dict[str, Any] = {"division": division.code}
        if note and note.strip():
            detail["note"] = note.strip()
        event = Event.record("assigned", case=case, actor=actor, **detail)
        notify.case_event(rt.config, case, "assigned", f"e{event.id}")


def division_answer(rt: Runtime, case: Case, actor: User, text: str,
                    confirm_personal_data: bool = False) -> None:
    """The bidang's technical answer, for the admin to review: at_division -> division_answered.

    On a public case an answer holding a NIK, KK or phone number is refused unless the official
    confirms it (issue 28 item 14): it is told when saving, not the admin only at forwarding,
    because what it writes is what the admin forwards to a public thread."""
    check(actor, case, "division_answer")
    text = _required(text, "Jawaban bidang")
    if case.public and pii.has_personal_data(text) and not confirm_personal_data:
        raise WorkflowError(
            f"Jawaban ini memuat data pribadi ({', '.join(personal_data_warning(text))}) dan "
            f"pengaduan ini publik: jawaban yang diteruskan Admin tampil di publik. Hapus nomor "
            f"itu dari jawaban, atau centang konfirmasi bila Admin memang perlu melihatnya "
            f"(Admin harus menghapusnya sebelum meneruskan).")
    with atomic_write():
        _move(case, ("at_division",), status="division_answered", queue="admin",
              division_answered_at=utcnow())
        event = Event.record("division_answered", case=case, actor=actor, text=text)
        notify.case_event(rt.config, case, "division_answered", f"e{event.id}")


def division_answer_text(case: Case) -> str | None:
    """The bidang's latest answer (what ``forward`` sends when the admin does not edit it)."""
    event = (Event.select().where((Event.case == case) & (Event.action == "division_answered"))
             .order_by(Event.at.desc(), Event.id.desc()).first())
    return (event.detail or {}).get("text") if event else None


def forward(rt: Runtime, case: Case, actor: User, text: str | None = None,
            confirm_personal_data: bool = False) -> Outbox:
    """The admin sends the (possibly edited) division answer: division_answered -> replying."""
    check(actor, case, "forward")
    if text is None or not text.strip():
        text = division_answer_text(case)
    return _queue_answer(rt, case, actor, _required(text, "Jawaban"), confirm_personal_data,
                         "division_answered")


def dismiss(rt: Runtime, case: Case, actor: User, reason: str) -> None:
    """Not a complaint (thanks, spam, ...): new -> not_complaint, with no SLA."""
    check(actor, case, "dismiss")
    if reason not in DISMISS_REASONS:
        choices = ", ".join(f"{k} ({v})" for k, v in DISMISS_REASONS.items())
        raise WorkflowError(f"Alasan \"{reason}\" tidak dikenal; pilih salah satu: {choices}.")
    now = utcnow()
    with atomic_write():
        # due_at is cleared as ingest does for automatic dismissals: no SLA for a non-complaint.
        _move(case, ("new",), status="not_complaint", dismiss_reason=reason, closed_at=now,
              due_at=None, alert=None)
        Event.record("dismissed", case=case, actor=actor, reason=reason)


def add_note(rt: Runtime, case: Case, actor: User, text: str) -> Event:
    """An internal note: never sent, visible to everyone who may see the case."""
    check(actor, case, "note")
    text = _required(text, "Catatan")
    with atomic_write():
        Case.update(updated_at=utcnow()).where(Case.id == case.id).execute()
        return Event.record("note", case=case, actor=actor, text=text)


def set_categories(rt: Runtime, case: Case, actor: User, categories: list[str],
                   intent: str | None = None) -> None:
    """A person's correction of the classifier; it wins in the recaps. Only the known category
    and intent codes (``inbox.labels``) are accepted: anything else is refused before anything
    is written, as a posted form can carry any value."""
    from inbox.arrive.ingest import set_category_rows
    check(actor, case, "categorise")
    before, intent_before = case.effective_categories, case.effective_intent
    chosen = sorted({c.strip() for c in categories if c and c.strip()})
    unknown = [c for c in chosen if c not in labels.CATEGORY_LABELS]
    if unknown:
        raise WorkflowError(f"Kategori tidak dikenal: {', '.join(unknown)[:100]}. Pilih dari "
                            "daftar kategori.")
    if intent and intent not in labels.INTENT_LABELS:
        raise WorkflowError("Jenis pesan tidak dikenal. Pilih dari daftar jenis pesan.")
    with atomic_write():
        case.categories_override = chosen
        if intent:
            case.intent_override = intent
        Case.update(categories_override=chosen, intent_override=case.intent_override,
                    updated_at=utcnow()).where(Case.id == case.id).execute()
        set_category_rows(case)
        Event.record("categories_changed", case=case, actor=actor, before=before, after=chosen,
                     intent_before=intent_before, intent_after=case.effective_intent)


def confirm_delivery(rt: Runtime, outbox: Outbox, actor: User, delivered: bool) -> None:
    """A person settles an ``uncertain`` reply after looking at the platform.

    Delivered: the reply counts as sent (the case is answered at the time of the attempt).
    Not delivered: it goes back to ``pending`` and the outbox sends it again."""
    case = Case.get_by_id(outbox.case_id)
    check(actor, case, "confirm_delivery")
    if outbox.status != "uncertain":
        raise WorkflowError("Balasan ini tidak berstatus belum pasti; tidak ada yang perlu dipastikan.")
    now = utcnow()
    with atomic_write():
        if delivered:
            attempts = (Event.select().where((Event.case == case)
                                             & (Event.action == "delivery_uncertain"))
                        .order_by(Event.id.desc()))
            attempted_at = next((e.at for e in attempts
                                 if (e.detail or {}).get("outbox_id") == outbox.id), now)
            if not record_delivered(outbox, outbox.platform_id, attempted_at,
                                    expected_status="uncertain", rt=rt):
                raise WorkflowError("Status balasan ini baru saja diubah; muat ulang lalu coba lagi.")
        else:
            changed = Outbox.update(status="pending", next_attempt_at=now, lease_owner=None,
                                    lease_until=None).where(
                (Outbox.id == outbox.id) & (Outbox.status == "uncertain")).execute()
            if changed != 1:
                raise WorkflowError("Status balasan ini baru saja diubah; muat ulang lalu coba lagi.")
        Case.update(alert=None, updated_at=now).where(Case.id == case.id).execute()
        Event.record("delivery_confirmed", case=case, actor=actor, outbox_id=outbox.id,
                     delivered=bool(delivered))
    outbox.status = "sent" if delivered else "pending"


# --- texts ------------------------------------------------------------------------------------

def render_template(rt: Runtime, template_text: str, case: Case,
                    extra: dict[str, str] | None = None) -> str:
    """Fill {nama} {nomor} {batas_waktu} {kantor}, the class's {kelas} and
    {batas_penyelesaian} (its resolution deadline), and the names of ``extra``; any other brace
    is left as written, so a template with a stray ``{`` still renders."""
    from inbox.setup.handling_config import classes
    contact = case.contact
    names = {c["code"]: c["name"] for c in classes(rt.config.resolution)}
    values = {
        "nama": pii.mask(contact.name or contact.handle or ""),  # a NIK in a name stays private
        "nomor": case.reference,
        "batas_waktu": format_datetime_id(case.due_at, rt.calendar.tz),
        "kantor": rt.config.office["short_name"] or rt.config.office["name"],
        "kelas": names.get(case.complaint_class or "", ""),
        "batas_penyelesaian": format_datetime_id(case.resolution_due_at, rt.calendar.tz)
        if case.resolution_due_at else "",
        **(extra or {}),
    }
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, values)) + r")\}") if extra \
        else TEMPLATE_VARIABLE
    return pattern.sub(lambda m: values[m.group(1)], template_text)


def personal_data_warning(text: str) -> list[str]:
    """The personal data in ``text``, masked (``NIK: 3329********0001``), for the UI."""
    return [f"{KIND_LABELS.get(f.kind, f.kind.upper())}: {f.masked}"
            for f in pii.find_personal_data(text or "")]
