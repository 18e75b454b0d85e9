"""Mass incidents (*gangguan massal*): one answer for many citizens writing about one outage.

The steps, each one function a test can call without the web:

- proposals and automatic links are ``inbox.sop.incident_watch`` (the daemon, every minute);
- ``confirm``: an admin gives the incident a title and one answer; the answer is queued once
  for every linked case, on that case's own channel, through the outbox (``send_answer``). A
  linked case's ``answer_outbox`` is set by a conditional UPDATE in the same transaction as
  its outbox row, so no case gets the answer twice, whoever clicks or retries.
- ``link`` / ``unlink`` by hand; ``reject`` a proposal; ``close`` an open incident, optionally
  sending a follow-up ("layanan sudah pulih") to every case that got the answer.

A case the answer cannot go to is skipped with a reason the incident page shows: already
answered or closed, another reply on its way, or the platform's reply window shut (Meta takes a
person's reply up to 7 days after the citizen's last message; WhatsApp 24 hours, after that only
an approved template, which is what an individual answer sends too, never a follow-up).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from inbox import pii
from inbox.db import atomic_write
from inbox.models import (OPEN_STATUSES, Case, Event, Incident, IncidentCase, Outbox,
                          User, utcnow)
from inbox.sop import workflow

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

#: The statuses from which an incident's answer may go to a case (not while another reply of
#: it is on its way, nor after it was answered or dismissed).
ANSWERABLE = tuple(s for s in OPEN_STATUSES if s != "replying")
META_WINDOW = timedelta(days=7)
WHATSAPP_WINDOW = timedelta(hours=24)
DEFAULT_FOLLOWUP = ("Halo {nama}, layanan {kantor} sudah pulih dan dapat digunakan kembali. "
                    "Terima kasih atas kesabarannya. (Pengaduan {nomor})")


class IncidentError(workflow.WorkflowError):
    """Refused; ``str(exc)`` is one Indonesian sentence for the officer."""


# --- an officer's actions -------------------------------------------------------------------------

def may_act(user: User) -> bool:
    """Who may confirm, answer, link and close incidents: whoever may answer citizens."""
    return user.active and (user.is_superuser or user.role in ("admin", "group_admin"))


def _check(user: User) -> None:
    if not may_act(user):
        raise IncidentError("Hanya Admin dan Group Admin yang boleh menangani gangguan massal.")


def _check_text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise IncidentError(f"{what} tidak boleh kosong.")
    if workflow.GAP.search(text):
        raise IncidentError(f"{what} masih berisi isian {workflow.GAP.search(text).group(0)}; "
                            "ganti dulu dengan keterangan yang sebenarnya.")
    if pii.has_personal_data(text):
        raise IncidentError(f"{what} dikirim ke banyak warga, sebagian di kolom publik, jadi tidak "
                            "boleh memuat NIK, nomor KK, nomor HP atau e-mail.")
    return text


def confirm(rt: Runtime, incident: Incident, actor: User, title: str, answer: str,
            followup: str = "") -> list[IncidentCase]:
    """Proposed -> open with ``title`` and ``answer``; the answer is queued for every linked
    case (``send_answer``). Returns the links the answer was queued for."""
    _check(actor)
    title = (title or "").strip()
    if not title:
        raise IncidentError("Judul gangguan tidak boleh kosong.")
    answer = _check_text(answer, "Jawaban")
    followup = _check_text(followup, "Kabar susulan") if followup.strip() else ""
    with atomic_write():
        changed = Incident.update(status="open", title=title[:200], answer_text=answer,
                                  followup_text=followup, confirmed_at=utcnow(),
                                  confirmed_by=actor.id).where(
            (Incident.id == incident.id) & (Incident.status == "proposed")).execute()
        if changed != 1:
            raise IncidentError("Usulan gangguan ini baru saja dikonfirmasi atau ditolak petugas "
                                "lain; muat ulang halaman.")
        for (case_id,) in IncidentCase.select(IncidentCase.case).where(
                (IncidentCase.incident == incident) & (IncidentCase.state == "linked")).tuples():
            Event.record("incident_linked", case=case_id, actor=actor, incident_id=incident.id,
                         title=title)
    incident = Incident.get_by_id(incident.id)
    return send_answer(rt, incident, actor)


def send_answer(rt: Runtime, incident: Incident, actor: User) -> list[IncidentCase]:
    """Queue the incident's answer for each linked case that has neither had it nor been
    skipped; returns the links it was queued for."""
    _check(actor)
    if incident.status != "open":
        raise IncidentError("Jawaban hanya dikirim untuk gangguan yang sedang berlangsung.")
    now = utcnow()
    queued = []
    links = list(IncidentCase.select().where(
        (IncidentCase.incident == incident) & (IncidentCase.state == "linked")
        & IncidentCase.answer_outbox.is_null() & IncidentCase.answer_skipped.is_null()))
    for link in links:
        case = Case.get_by_id(link.case_id)
        reason = _why_not(rt, case, now, followup=False)
        if reason is not None:
            IncidentCase.update(answer_skipped=reason).where(
                (IncidentCase.id == link.id) & IncidentCase.answer_outbox.is_null()).execute()
            continue
        if _queue(rt, incident, link, case, actor, workflow.render_template(
                rt, incident.answer_text, case)):
            queued.append(link)
    return queued


def _queue(rt: Runtime, incident: Incident, link: IncidentCase, case: Case, actor: User,
           text: str) -> bool:
    """One case's answer, exactly once: the link, the case and the outbox row together."""
    try:
        workflow._check_personal_data(rt, case, text, False)   # a name holding a NIK, masked
    except workflow.WorkflowError as exc:
        IncidentCase.update(answer_skipped=str(exc)).where(IncidentCase.id == link.id).execute()
        return False
    try:
        with atomic_write():
            status = Case.select(Case.status).where(Case.id == case.id).scalar()
            if status not in ANSWERABLE:
                raise _Undo()
            row = Outbox.create(case=case.id, text=text, public=case.public, purpose="answer",
                                created_by=actor)
            claimed = IncidentCase.update(answer_outbox=row.id).where(
                (IncidentCase.id == link.id) & IncidentCase.answer_outbox.is_null()).execute()
            moved = Case.update(status="replying", queue="admin", updated_at=utcnow()).where(
                (Case.id == case.id) & (Case.status == status)).execute()
            if claimed != 1 or moved != 1:
                raise _Undo()
            Event.record("reply_queued", case=case.id, actor=actor, outbox_id=row.id,
                         purpose="answer", from_status=status, text=text, incident_id=incident.id)
    except _Undo:   # another officer or worker got there first: nothing of this was written
        return False
    return True


class _Undo(Exception):
    """Roll the transaction back: the case moved on, or another worker claimed the link."""


def _why_not(rt: Runtime, case: Case, now: datetime, followup: bool) -> str | None:
    """Why the incident's answer (or follow-up) cannot go to ``case`` now, or None."""
    if not followup:
        if case.status in ("answered", "not_complaint"):
            return "sudah dijawab atau ditutup sebelum jawaban gangguan dikirim"
        if case.status == "replying":
            return "balasan lain untuk pengaduan ini sedang dikirim"
    if case.public or case.last_inbound_at is None:
        return None
    kind = case.account.kind
    age = now - case.last_inbound_at
    if kind in ("facebook", "instagram") and age > META_WINDOW:
        return "jendela balasan pesan pribadi 7 hari sudah lewat; hubungi warga lewat kanal lain"
    if kind == "whatsapp" and age > WHATSAPP_WINDOW:
        if followup:
            return "lewat 24 jam sejak pesan terakhir warga; WhatsApp hanya menerima templat"
        account = rt.config.accounts.get(case.account.name)
        if not (account and account.options.get("template_name")):
            return "lewat 24 jam sejak pesan terakhir warga dan belum ada templat WhatsApp"
    return None


def link(incident: Incident, case: Case, actor: User) -> None:
    """Link ``case`` by hand (from another incident too, or back after an unlink)."""
    _check(actor)
    if incident.status not in ("proposed", "open"):
        raise IncidentError("Gangguan ini sudah selesai; pengaduan tidak bisa ditautkan lagi.")
    with atomic_write():
        existing = IncidentCase.get_or_none(IncidentCase.case == case)
        if existing is not None and existing.answer_outbox_id and existing.incident_id != incident.id:
            raise IncidentError(f"{case.reference} sudah menerima jawaban gangguan lain.")
        if existing is not None:
            IncidentCase.update(incident=incident.id, state="linked", how="manual",
                                linked_by=actor.id, linked_at=utcnow()).where(
                IncidentCase.id == existing.id).execute()
        else:
            IncidentCase.create(incident=incident, case=case, how="manual", linked_by=actor)
        Event.record("incident_linked", case=case, actor=actor, incident_id=incident.id,
                     title=incident.title)


def unlink(incident: Incident, case: Case, actor: User) -> None:
    """Take ``case`` out of ``incident``; the automatic linking never adds it back."""
    _check(actor)
    with atomic_write():
        changed = IncidentCase.update(state="unlinked").where(
            (IncidentCase.incident == incident) & (IncidentCase.case == case)
            & (IncidentCase.state == "linked")).execute()
        if changed:
            Event.record("incident_unlinked", case=case, actor=actor, incident_id=incident.id,
                         title=incident.title)


def reject(incident: Incident, actor: User) -> None:
    """A proposal that is no mass incident; its cases stay out of later proposals."""
    _check(actor)
    with atomic_write():
        changed = Incident.update(status="rejected", closed_at=utcnow(), closed_by=actor.id).where(
            (Incident.id == incident.id) & (Incident.status == "proposed")).execute()
        if changed != 1:
            raise IncidentError("Usulan ini sudah ditangani petugas lain; muat ulang halaman.")
        Event.record("incident_rejected", actor=actor, incident_id=incident.id)


def close(rt: Runtime, incident: Incident, actor: User, followup: str = "") -> int:
    """Open -> closed; with ``followup``, it goes once to every case that was sent the answer
    (within the platform's normal reply window). Returns how many follow-ups were queued."""
    _check(actor)
    followup = _check_text(followup, "Kabar susulan") if followup.strip() else ""
    now = utcnow()
    with atomic_write():
        changed = Incident.update(status="closed", closed_at=now, closed_by=actor.id,
                                  followup_text=followup or incident.followup_text).where(
            (Incident.id == incident.id) & (Incident.status == "open")).execute()
        if changed != 1:
            raise IncidentError("Gangguan ini sudah ditutup; muat ulang halaman.")
        Event.record("incident_closed", actor=actor, incident_id=incident.id,
                     followup=bool(followup))
    if not followup:
        return 0
    sent = 0
    links = list(IncidentCase.select().where(
        (IncidentCase.incident == incident) & (IncidentCase.state == "linked")
        & IncidentCase.answer_outbox.is_null(False) & IncidentCase.followup_outbox.is_null()
        & IncidentCase.followup_skipped.is_null()))
    for link in links:
        case = Case.get_by_id(link.case_id)
        reason = _why_not(rt, case, now, followup=True)
        text = workflow.render_template(rt, followup, case)
        with atomic_write():
            if reason is None:
                row = Outbox.create(case=case.id, text=text, public=case.public,
                                    purpose="incident_followup", created_by=actor)
                claimed = IncidentCase.update(followup_outbox=row.id).where(
                    (IncidentCase.id == link.id) & IncidentCase.followup_outbox.is_null()).execute()
                if claimed != 1:
                    Outbox.delete().where(Outbox.id == row.id).execute()
                    continue
                Event.record("reply_queued", case=case.id, actor=actor, outbox_id=row.id,
                             purpose="incident_followup", text=text, incident_id=incident.id)
                sent += 1
            else:
                IncidentCase.update(followup_skipped=reason).where(IncidentCase.id == link.id).execute()
    return sent


def summary(incident: Incident) -> dict[str, Any]:
    """Counts for a list line: linked cases, answers queued and sent, cases skipped."""
    linked = list(IncidentCase.select(IncidentCase.answer_outbox, IncidentCase.answer_skipped)
                  .where((IncidentCase.incident == incident) & (IncidentCase.state == "linked")))
    queued = [link.answer_outbox_id for link in linked if link.answer_outbox_id]
    sent = Outbox.select().where(Outbox.id.in_(queued) & (Outbox.status == "sent")).count() \
        if queued else 0
    return {"linked": len(linked), "queued": len(queued), "sent": sent,
            "skipped": sum(1 for link in linked if link.answer_skipped)}
