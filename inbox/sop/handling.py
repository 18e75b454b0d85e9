"""Government-grade case handling beside the SOP's answer clock (issue 30): complaint classes with
their own resolution clocks, the follow-up that closes them, *bukan wewenang* (another agency's
matter), the maladministration type, and the case's SP4N-LAPOR! data.

Every case keeps the SOP's clock for the **answer** to the citizen (``due_at``, 3 working days).
A case may also be put in a **class** (``[resolution] classes`` of config.toml: *ringan* 2,
*normatif* 5, *tidak berkadar pengawasan* 14, *berkadar pengawasan* 60 working days) whose clock
is for its **resolution**: ``resolution_due_at`` counts the class's working days from the day
of receipt on the same calendar. The citizen still gets an answer within the SOP's days (the
interim text says the matter is followed up and by when); the case stays on its class clock
until someone records the follow-up (``record_follow_up``), optionally with news for the
citizen (an outbox row of purpose ``follow_up``, which changes neither status nor answer time).

Each function checks the actor (``workflow.check`` for the fixed rules, config's ``set_by`` for
the class), refuses before writing anything, and writes its Event in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inbox.dates import format_datetime_id
from inbox.db import atomic_write
from inbox.labels import MALADMINISTRATION_LABELS, NO_MALADMINISTRATION, REPORT_TYPES
from inbox.models import ROLES, Case, Event, Outbox, User, utcnow
from inbox.setup.handling_config import agencies, classes
from inbox.sop import workflow
from inbox.sop.workflow import WorkflowError
from inbox.understand.lapor import clean_tracking_id

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

#: The built-in texts (config may replace each; the variables are those of the quick answers).
INTERIM_TEXT = ("Terima kasih, {nama}. Pengaduan Anda nomor {nomor} sudah kami terima dan sedang "
                "ditindaklanjuti. Penanganannya memerlukan waktu lebih lama; hasilnya kami "
                "sampaikan paling lambat {batas_penyelesaian}. Salam, {kantor}.")
FOLLOW_UP_TEXT = ("Kabar tindak lanjut pengaduan nomor {nomor}: {tindak_lanjut} Terima kasih atas "
                  "kesabaran Anda. Salam, {kantor}.")
REFERRAL_TEXT = ("Terima kasih, {nama}. Hal yang Anda sampaikan (nomor {nomor}) bukan wewenang "
                 "{kantor}, melainkan wewenang {instansi}. Silakan menghubungi {petunjuk}."
                 "{diteruskan}")
FORWARDED_SENTENCE = " Pengaduan Anda juga sudah kami teruskan kepada {instansi}."
#: The agency code of "another agency" whose name the admin types.
OTHER_AGENCY = "lainnya"


@dataclass(frozen=True)
class ComplaintClass:
    code: str
    name: str
    days: int
    set_by: tuple[str, ...]


def class_list(rt: Runtime) -> list[ComplaintClass]:
    """The office's classes, in config order."""
    return [ComplaintClass(c["code"], c["name"], int(c["days"]), tuple(c["set_by"]))
            for c in classes(rt.config.resolution)]


def class_named(rt: Runtime, code: str | None) -> ComplaintClass | None:
    return next((c for c in class_list(rt) if c.code == code), None)


def agency_list(rt: Runtime) -> list[dict[str, str]]:
    return agencies(rt.config.referral)


# --- who may do what ---------------------------------------------------------------------------

def check_set_class(rt: Runtime, user: User, case: Case, chosen: ComplaintClass | None) -> None:
    """Raise WorkflowError unless ``user`` may put ``case`` in ``chosen`` (or out of its class,
    for None): a role of the class's ``set_by`` (a superuser always), its own bidang's case for
    a division user, a case that is a complaint and still on its clock."""
    if not user.active:
        raise WorkflowError("Akun pengguna ini tidak aktif.")
    if not workflow.can_view(user, case):
        raise WorkflowError(f"Pengaduan {case.reference} bukan untuk bidang Anda.")
    if user.role == "supervisor" and not user.is_superuser:
        raise WorkflowError("Pengawas hanya boleh melihat pengaduan, tidak boleh mengubahnya.")
    # Moving a case out of its class needs the right to that class too (a class only the group
    # admin may set is not undone by a bidang).
    roles = set(chosen.set_by) if chosen else {r for c in class_list(rt) for r in c.set_by}
    current = class_named(rt, case.complaint_class)
    if current is not None:
        roles &= set(current.set_by)
    if not user.is_superuser and user.role not in roles:
        what = f"kelas \"{chosen.name}\"" if chosen else "kelas pengaduan"
        raise WorkflowError(f"{ROLES.get(user.role, user.role)} tidak boleh menetapkan {what} "
                            f"(config.toml [resolution] set_by).")
    if case.status == "not_complaint" or case.referred_to:
        raise WorkflowError(f"Pengaduan {case.reference} sudah ditutup sebagai bukan pengaduan atau "
                            f"bukan wewenang; tidak ada kelas yang perlu ditetapkan.")
    if case.resolved_at is not None:
        raise WorkflowError(f"Tindak lanjut pengaduan {case.reference} sudah dicatat; kelasnya "
                            f"tidak diubah lagi.")


def allowed_actions(rt: Runtime, user: User, case: Case) -> list[str]:
    """``workflow.allowed_actions`` plus ``set_class`` when config lets ``user`` set a class."""
    actions = workflow.allowed_actions(user, case)
    try:
        check_set_class(rt, user, case, None)
    except WorkflowError:
        return actions
    return actions + ["set_class"]


# --- the class and its follow-up -----------------------------------------------------------------

def set_class(rt: Runtime, case: Case, actor: User, code: str, note: str = "") -> None:
    """Put ``case`` in the class ``code`` (or out of any class, for ``""``) for the reason
    ``note`` (required when setting one: the SOP event says who and why); its resolution clock is
    the class's working days from the day of receipt."""
    code = (code or "").strip()
    chosen = class_named(rt, code) if code else None
    if code and chosen is None:
        names = ", ".join(f"{c.code} ({c.name})" for c in class_list(rt))
        raise WorkflowError(f"Kelas \"{code}\" tidak dikenal; pilih salah satu: {names}.")
    check_set_class(rt, actor, case, chosen)
    note = (note or "").strip()
    if chosen is not None and not note:
        raise WorkflowError("Tulis alasan penetapan kelas (tercatat di riwayat pengaduan).")
    if (case.complaint_class or "") == code:
        raise WorkflowError("Kelas itu sudah tercatat; tidak ada yang diubah.")
    due = rt.calendar.due_at(case.opened_at, chosen.days) if chosen else None
    before = class_named(rt, case.complaint_class)
    with atomic_write():
        _update(case, complaint_class=chosen.code if chosen else None, resolution_due_at=due)
        detail: dict[str, Any] = {"class": code or None, "class_name": chosen.name if chosen
                                  else "tanpa kelas",
                                  "before": before.code if before else None}
        if due is not None:
            detail["resolution_due"] = format_datetime_id(due, rt.calendar.tz)
        if note:
            detail["note"] = note
        Event.record("class_set", case=case, actor=actor, **detail)


def record_follow_up(rt: Runtime, case: Case, actor: User, follow_up: str, message: str = "",
                     confirm_personal_data: bool = False) -> Outbox | None:
    """Record what was done about a classed case (its resolution clock stops now) and, when
    ``message`` is given, send it to the citizen (outbox purpose ``follow_up``)."""
    workflow.check(actor, case, "follow_up")
    if not case.resolution_open:
        raise WorkflowError(f"Pengaduan {case.reference} tidak punya kelas yang menunggu tindak "
                            f"lanjut.")
    follow_up = (follow_up or "").strip()
    if not follow_up:
        raise WorkflowError("Tindak lanjut tidak boleh kosong: tulis apa yang sudah dilakukan.")
    message = (message or "").strip()
    if message:
        workflow._check_personal_data(rt, case, message, confirm_personal_data)
    now = utcnow()
    with atomic_write():
        changed = Case.update(resolved_at=now, follow_up=follow_up, updated_at=now).where(
            (Case.id == case.id) & Case.resolved_at.is_null()).execute()
        if changed != 1:
            raise WorkflowError(f"Pengaduan {case.reference} baru saja diubah oleh petugas lain; "
                                f"muat ulang lalu coba lagi.")
        case.resolved_at, case.follow_up = now, follow_up
        row = None
        if message:
            row = Outbox.create(case=case, text=message, public=case.public, purpose="follow_up",
                                created_by=actor)
        late = case.resolution_due_at is not None and now > case.resolution_due_at
        Event.record("follow_up_recorded", case=case, actor=actor, text=follow_up,
                     late=late, outbox_id=row.id if row else None)
    return row


def interim_text(rt: Runtime, case: Case) -> str:
    """The answer within the SOP's days for a case whose class needs longer."""
    text = rt.config.resolution.get("interim_text") or INTERIM_TEXT
    return workflow.render_template(rt, text, case)


def follow_up_message(rt: Runtime, case: Case, follow_up: str = "") -> str:
    """The news for the citizen when the follow-up is recorded, with what was done."""
    follow_up = " ".join(follow_up.split())
    if follow_up and follow_up[-1] not in ".!?":
        follow_up += "."
    text = rt.config.resolution.get("follow_up_text") or FOLLOW_UP_TEXT
    return workflow.render_template(rt, text, case, {"tindak_lanjut": follow_up})


def needs_interim(case: Case) -> bool:
    """Whether the class's resolution ends after the answer's deadline (the answer is then the
    interim one)."""
    return bool(case.resolution_open and case.resolution_due_at and case.due_at
                and case.resolution_due_at > case.due_at)


# --- bukan wewenang -----------------------------------------------------------------------------

def agency_of(rt: Runtime, code: str, other_name: str = "") -> dict[str, str]:
    """The agency chosen (config's, or "another" one the admin named), or WorkflowError."""
    if code == OTHER_AGENCY:
        name = " ".join((other_name or "").split())
        if not name:
            raise WorkflowError("Tulis nama instansi yang berwenang.")
        if len(name) > 200:
            raise WorkflowError("Nama instansi terlalu panjang (paling banyak 200 huruf).")
        return {"code": OTHER_AGENCY, "name": name, "where": name}
    found = next((a for a in agency_list(rt) if a["code"] == code), None)
    if found is None:
        raise WorkflowError("Pilih instansi yang berwenang dari daftar, atau \"instansi lain\" "
                            "lalu tulis namanya.")
    return found


def referral_text(rt: Runtime, case: Case, agency: dict[str, str], forwarded: bool) -> str:
    """The answer telling the citizen where to go (and that the office forwarded it)."""
    text = rt.config.referral.get("answer_text") or REFERRAL_TEXT
    name = agency["name"]
    return workflow.render_template(rt, text, case, {
        "instansi": name, "petunjuk": agency.get("where") or name,
        "diteruskan": FORWARDED_SENTENCE.format(instansi=name) if forwarded else ""})


def refer(rt: Runtime, case: Case, actor: User, agency_code: str, text: str = "",
          forwarded: bool = False, other_name: str = "", confirm_personal_data: bool = False) -> Outbox:
    """Close ``case`` as another agency's matter: the answer (``text``, or the built-in one)
    tells the citizen where to go; the case is answered like any other, counted apart in the
    recaps and never as a missed deadline (recap.figures)."""
    workflow.check(actor, case, "refer")
    agency = agency_of(rt, agency_code, other_name)
    text = (text or "").strip() or referral_text(rt, case, agency, forwarded)
    with atomic_write():
        row = workflow._queue_answer(rt, case, actor, text, confirm_personal_data, case.status,
                                     referred_to=agency["name"], forwarded=forwarded)
        Event.record("referred", case=case, actor=actor, agency=agency["name"],
                     forwarded=bool(forwarded), outbox_id=row.id)
    return row


# --- maladministration and LAPOR! ---------------------------------------------------------------

def set_maladministration(rt: Runtime, case: Case, actor: User, code: str) -> None:
    """Confirm or change the case's maladministration type (``none`` for none)."""
    workflow.check(actor, case, "maladministration")
    code = (code or "").strip()
    if code != NO_MALADMINISTRATION and code not in MALADMINISTRATION_LABELS:
        raise WorkflowError("Pilih salah satu jenis maladministrasi, atau \"tidak ada\".")
    with atomic_write():
        _update(case, maladministration=code)
        Event.record("maladministration_set", case=case, actor=actor, maladministration=code,
                     suggested=case.maladministration_suggested)


def set_lapor(rt: Runtime, case: Case, actor: User, tracking_id: str, report_type: str) -> None:
    """The citizen's LAPOR! tracking ID (typed, or the report's link pasted; empty to remove)
    and LAPOR!'s klasifikasi (empty: read from the intent)."""
    workflow.check(actor, case, "lapor")
    typed = (tracking_id or "").strip()
    cleaned = clean_tracking_id(typed) if typed else None
    if typed and cleaned is None:
        raise WorkflowError("ID LAPOR! berupa 5–10 angka (misalnya 1916449) atau tautan "
                            "lapor.go.id/pengaduan/… ; periksa lagi.")
    report_type = (report_type or "").strip() or None
    if report_type is not None and report_type not in REPORT_TYPES:
        raise WorkflowError("Klasifikasi LAPOR! harus pengaduan, aspirasi atau permintaan "
                            "informasi.")
    if (cleaned, report_type) == (case.lapor_tracking_id, case.report_type):
        raise WorkflowError("Data LAPOR! itu sudah tercatat; tidak ada yang diubah.")
    with atomic_write():
        _update(case, lapor_tracking_id=cleaned, report_type=report_type)
        Event.record("lapor_linked", case=case, actor=actor, tracking_id=cleaned,
                     report_type=report_type)


def _update(case: Case, **fields: Any) -> None:
    fields["updated_at"] = utcnow()
    Case.update(**fields).where(Case.id == case.id).execute()
    for name, value in fields.items():
        setattr(case, name, value)
