"""Mass incidents' pages (*Gangguan massal*): the proposals, the open and past incidents, and
one incident with its cases and the actions (``inbox.sop.incidents``). Admins and group admins
act; supervisors read; a bidang has no business here."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from inbox import pii
from inbox.labels import CATEGORY_LABELS
from inbox.models import Case, Incident, IncidentCase, Outbox, INCIDENT_STATUSES, utcnow
from inbox.sop import incident_watch, incidents
from inbox.sop.incidents import IncidentError
from inbox.understand.suggest import suggester_for
from inbox.web.auth import roles_required
from inbox.web.current import runtime
from inbox.web.display import channel_label

bp = Blueprint("incidents", __name__, url_prefix="/gangguan")
READERS = ("admin", "group_admin", "supervisor")


def _incident(incident_id: int) -> Incident:
    found = Incident.get_or_none(Incident.id == incident_id)
    if found is None:
        abort(404)
    return found


@bp.route("")
@roles_required(*READERS)
def index() -> str:
    """Proposals first, then open incidents, then those of the last 60 days."""
    since = utcnow() - timedelta(days=60)
    rows = list(Incident.select().where(Incident.status.in_(("proposed", "open"))
                                        | (Incident.proposed_at >= since))
                .order_by(Incident.id.desc()))
    order = {"proposed": 0, "open": 1, "closed": 2, "rejected": 3}
    rows.sort(key=lambda i: (order.get(i.status, 9), -i.id))
    return render_template("incidents/index.html", rows=[(i, incidents.summary(i)) for i in rows],
                           statuses=INCIDENT_STATUSES)


@bp.route("/<int:incident_id>")
@roles_required(*READERS)
def show(incident_id: int) -> str:
    """One incident: what it is about, its cases and where each answer is."""
    return render_incident(_incident(incident_id))


def render_incident(incident: Incident, form: dict[str, str] | None = None, status: int = 200) -> Any:
    links = list(IncidentCase.select(IncidentCase, Case).join(Case)
                 .where(IncidentCase.incident == incident).order_by(Case.opened_at))
    outbox = {o.id: o for o in Outbox.select().where(Outbox.id.in_(
        [x for link in links for x in (link.answer_outbox_id, link.followup_outbox_id) if x] or [0]))}
    texts = incident_watch.case_texts([link.case_id for link in links])
    form = dict(form or {})
    if incident.status == "proposed":
        form.setdefault("title", incident.title)
        form.setdefault("answer", _proposed_answer(incident, texts))
    form.setdefault("followup", incident.followup_text or incidents.DEFAULT_FOLLOWUP)
    return render_template(
        "incidents/show.html", incident=incident, statuses=INCIDENT_STATUSES,
        links=[(link, channel_label(link.case), pii.mask(texts.get(link.case_id, ""))[:160])
               for link in links], outbox=outbox, summary=incidents.summary(incident),
        categories=CATEGORY_LABELS, form=form, can_act=incidents.may_act(g.user),
        waiting=sum(1 for link in links if link.state == "linked" and not link.answer_outbox_id
                    and not link.answer_skipped)), status


def _proposed_answer(incident: Incident, texts: dict[int, str]) -> str:
    """The knowledge base's best entry for the incident's messages, as the answer to start from."""
    rt = runtime()
    sample = " ".join(list(texts.values())[:5])
    if not sample:
        return ""
    found = suggester_for(rt.db, rt.config.suggest["history_days"]).suggest(
        sample, (incident.signature or {}).get("categories", []), limit=1, sources=("knowledge",))
    return found[0].text if found else ""


def _act(incident_id: int, action: Any, done: str, form: dict[str, str] | None = None) -> Any:
    incident = _incident(incident_id)
    if not incidents.may_act(g.user):
        abort(403)
    try:
        result = action(incident)
    except IncidentError as exc:
        flash(str(exc), "error")
        return render_incident(Incident.get_by_id(incident.id), form, 422)
    flash(done.format(result=result), "success")
    return redirect(url_for("incidents.show", incident_id=incident.id))


@bp.route("/<int:incident_id>/konfirmasi", methods=["POST"])
@roles_required(*READERS)
def confirm(incident_id: int) -> Any:
    """Confirm a proposal with a title and one answer; the answer goes to every linked case."""
    form = {k: request.form.get(k, "") for k in ("title", "answer", "followup")}
    return _act(incident_id, lambda i: len(incidents.confirm(
        runtime(), i, g.user, form["title"], form["answer"], form["followup"])),
        "Gangguan dikonfirmasi; jawaban disiapkan untuk {result} pengaduan dan dikirim otomatis.",
        form)


@bp.route("/<int:incident_id>/kirim", methods=["POST"])
@roles_required(*READERS)
def send(incident_id: int) -> Any:
    """Send the answer to the linked cases that have not had it yet."""
    return _act(incident_id, lambda i: len(incidents.send_answer(runtime(), i, g.user)),
                "Jawaban disiapkan untuk {result} pengaduan lagi.")


@bp.route("/<int:incident_id>/tolak", methods=["POST"])
@roles_required(*READERS)
def reject(incident_id: int) -> Any:
    """Not a mass incident."""
    return _act(incident_id, lambda i: incidents.reject(i, g.user),
                "Usulan ditandai bukan gangguan massal.")


@bp.route("/<int:incident_id>/tautkan", methods=["POST"])
@roles_required(*READERS)
def link(incident_id: int) -> Any:
    """Link a case by its number."""
    reference = request.form.get("reference", "").strip().upper()
    case = Case.get_or_none(Case.reference == reference)
    if case is None:
        flash(f"Pengaduan {reference or '(kosong)'} tidak ditemukan; tulis nomornya, misalnya "
              f"ADU-202611-0042.", "error")
        return redirect(url_for("incidents.show", incident_id=incident_id))
    return _act(incident_id, lambda i: incidents.link(i, case, g.user),
                f"{case.reference} ditautkan ke gangguan ini.")


@bp.route("/<int:incident_id>/lepas/<int:case_id>", methods=["POST"])
@roles_required(*READERS)
def unlink(incident_id: int, case_id: int) -> Any:
    """Take a case out of the incident."""
    case = Case.get_or_none(Case.id == case_id)
    if case is None:
        abort(404)
    return _act(incident_id, lambda i: incidents.unlink(i, case, g.user),
                f"{case.reference} dilepas dari gangguan ini.")


@bp.route("/<int:incident_id>/tutup", methods=["POST"])
@roles_required(*READERS)
def close(incident_id: int) -> Any:
    """Close the incident, optionally telling every citizen that the service is back."""
    followup = request.form.get("followup", "") if request.form.get("send_followup") == "1" else ""
    return _act(incident_id, lambda i: incidents.close(runtime(), i, g.user, followup),
                "Gangguan ditutup; kabar susulan disiapkan untuk {result} pengaduan.",
                {"followup": request.form.get("followup", "")})
