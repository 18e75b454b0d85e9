"""The case page (the whole thread, the SLA clock, warnings, history, outbox) and its actions.

Every action is a POST to ``/pengaduan/<id>/aksi/<action>``; the view only checks that the
action is among ``workflow.allowed_actions(user, case)`` and calls the workflow function, which
enforces the SOP and writes the Events. A refused action shows the WorkflowError's sentence and,
for the text actions, the page again with the officer's text kept.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from inbox import pii
from inbox.labels import MALADMINISTRATION_LABELS, NO_MALADMINISTRATION, REPORT_TYPES
from inbox.models import (Case, Division, Event, Message, Outbox, Template, User, utcnow)
from inbox.sop import handling, related, workflow
from inbox.understand.classify import INTENT_LABELS
from inbox.understand.lapor import report_type_of, report_url
from inbox.web import case_related
from inbox.web.auth import login_required
from inbox.web.cases import category_choices
from inbox.web.current import runtime
from inbox.web.display import (KIND_LABELS, OUTBOX_LABELS, PURPOSE_LABELS, channel_label,
                               division_names, event_line, handles_case, reply_window,
                               resolution_clock, sla_clock, unsure)
from inbox.web.files import thread_attachments
from inbox.web.params import as_id

bp = Blueprint("case", __name__)

#: A message longer than this shows its first part and folds the rest under "tampilkan semua".
FOLD_CHARS = 1500
TEXT_ACTIONS = ("reply", "escalate", "assign", "division_answer", "forward", "note")
DONE = {
    "reply": "Balasan disiapkan dan akan dikirim otomatis.",
    "escalate": "Pengaduan diteruskan ke Group Admin.",
    "assign": "Pengaduan diserahkan ke bidang.",
    "division_answer": "Jawaban bidang disimpan; Admin akan meneruskannya ke warga.",
    "forward": "Jawaban diteruskan dan akan dikirim otomatis.",
    "dismiss": "Ditandai bukan pengaduan.",
    "note": "Catatan disimpan.",
    "categorise": "Kategori disimpan.",
    "confirm_delivery": "Status pengiriman disimpan.",
    "refer": "Ditutup sebagai bukan wewenang; jawaban untuk warga akan dikirim otomatis.",
    "lapor": "Data SP4N-LAPOR! disimpan.",
    "maladministration": "Jenis maladministrasi disimpan.",
    "follow_up": "Tindak lanjut dicatat.",
    "set_class": "Kelas pengaduan disimpan.",
}
#: The issue-30 actions whose form keeps its text after a refusal (besides TEXT_ACTIONS).
HANDLING_TEXTS = ("refer", "follow_up")


def get_case(case_id: int) -> Case:
    """The case, if it exists (404) and the user may see it (403)."""
    case = Case.get_or_none(Case.id == case_id)
    if case is None:
        abort(404)
    if not workflow.can_view(g.user, case):
        abort(403)
    return case


@bp.route("/pengaduan/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    """One case: thread, SLA clock, warnings, categories, history, outbox and actions."""
    return render_case(get_case(case_id))


def division_answer_text(case: Case) -> str:
    """The bidang's latest answer, to pre-fill the admin's forward form."""
    finder = getattr(workflow, "division_answer_text", None)
    if finder is not None:
        return finder(case) or ""
    event = (case.events.where(Event.action == "division_answered")
             .order_by(Event.at.desc(), Event.id.desc()).first())
    return (event.detail or {}).get("text", "") if event else ""


def render_case(case: Case, drafts: dict[str, str] | None = None, status: int = 200,
                confirm_needed: str | None = None) -> Any:
    """The case page; ``drafts`` keeps the text of a refused form."""
    rt = runtime()
    user: User = g.user
    now = utcnow()
    masked = not handles_case(user, case)
    clean = pii.mask if masked else (lambda t: t)
    messages = list(case.messages.order_by(Message.created_at, Message.id))
    warnings: list[str] = []
    for m in messages:
        if m.direction == "in":
            warnings.extend(f for f in workflow.personal_data_warning(m.text) if f not in warnings)
    actions = handling.allowed_actions(rt, user, case)
    drafts = dict(drafts or {})
    if "reply" in actions and "reply" not in drafts and handling.needs_interim(case) \
            and request.args.get("templat") is None:
        # the class needs longer than the SOP's days: the answer now is the interim one
        drafts["reply"] = handling.interim_text(rt, case)
    if "forward" in actions and "forward" not in drafts:
        drafts["forward"] = division_answer_text(case)
    templates = []
    if "reply" in actions or "forward" in actions:
        templates = [(t, workflow.render_template(rt, t.text, case)) for t in
                     Template.select().where(Template.active == True).order_by(Template.name)]  # noqa: E712
    chosen_id = as_id(request.args.get("templat", ""))
    if "reply" in actions and chosen_id is not None and "reply" not in drafts:
        chosen = [text for t, text in templates if t.id == chosen_id]
        drafts["reply"] = chosen[0] if chosen else ""
    names = division_names()
    earlier = (workflow.visible_cases(user).where((Case.contact == case.contact)
                                                  & (Case.id != case.id))
               .order_by(Case.id.desc()).limit(20))
    extras = case_related.extras(case, actions, drafts)
    return render_template(
        "case.html", case=case, masked=masked, clean=clean, messages=messages,
        attachments=thread_attachments(messages, files_allowed=not masked),
        can_see_files=not masked,
        kind_labels=KIND_LABELS, channel=channel_label(case), clock=sla_clock(case, now, rt.calendar),
        window=reply_window(case, now, rt.config.tz), warnings=warnings, actions=actions,
        action_labels=workflow.ACTION_LABELS, dismiss_reasons=workflow.DISMISS_REASONS,
        drafts=drafts, confirm_needed=confirm_needed, templates=templates,
        earlier=list(earlier), events=[event_line(e, names, masked) for e in
                                       case.events.order_by(Event.at, Event.id)],
        outbox=list(case.outbox.order_by(Outbox.id)), outbox_labels=OUTBOX_LABELS,
        purpose_labels=PURPOSE_LABELS, categories=category_choices(),
        category_names=dict(category_choices()), intent_labels=INTENT_LABELS,
        divisions=list(Division.select().where(Division.active == True)  # noqa: E712
                       .order_by(Division.name)),
        division_name=names.get(case.division.code) if case.division_id else None,
        unsure=unsure(case, Event.opened_confidence([case.id]).get(case.id)),
        **handling_context(rt, case, now), **extras, fold=FOLD_CHARS,
    ), status


def handling_context(rt: Any, case: Case, now: Any) -> dict[str, Any]:
    """What the case page's handling panel shows (issue 30): the class and its clock, the
    maladministration type, the LAPOR! data, and the choices of their forms."""
    chosen = handling.class_named(rt, case.complaint_class)
    return {
        "classes": handling.class_list(rt), "class_name": chosen.name if chosen else None,
        "resolution": resolution_clock(case, now, rt.calendar, chosen.name if chosen else None),
        "interim": handling.needs_interim(case),
        "agencies": handling.agency_list(rt), "other_agency": handling.OTHER_AGENCY,
        "maladministration_types": MALADMINISTRATION_LABELS,
        "no_maladministration": NO_MALADMINISTRATION,
        "report_types": REPORT_TYPES,
        "report_type": report_type_of(case.report_type, case.effective_intent),
        "lapor_url": report_url(case.lapor_tracking_id),
    }


@bp.route("/pengaduan/<int:case_id>/aksi/<action>", methods=["POST"])
@login_required
def act(case_id: int, action: str) -> Any:
    """Run one workflow action on the case, if the user's role allows it."""
    case = get_case(case_id)
    if action not in DONE or action not in handling.allowed_actions(runtime(), g.user, case):
        abort(403)
    form = request.form
    text = form.get("text", "").strip()
    if action in TEXT_ACTIONS and action not in ("assign", "forward") and not text:
        flash("Isi teksnya dulu.", "error")
        return render_case(case, {action: text}, 400)
    try:
        perform(action, case, form, text)
    except workflow.WorkflowError as exc:
        flash(str(exc), "error")
        # the check box is offered only where ticking it changes the outcome (privacy "warn")
        confirm = action if action in ("reply", "forward") and \
            workflow.personal_data_confirmable(runtime(), case, text) else None
        if action in ("refer", "follow_up") and \
                workflow.personal_data_confirmable(runtime(), case, form.get("message", text)):
            confirm = action
        if action == "division_answer" and case.public and pii.has_personal_data(text):
            confirm = action  # not published yet: the official may confirm, the admin edits
        fresh = Case.get_by_id(case.id)
        kept = {action: text} if action in TEXT_ACTIONS + HANDLING_TEXTS else {}
        if action == "follow_up":
            kept["follow_up_message"] = form.get("message", "")
            kept["follow_up_notify"] = form.get("notify", "")
        return render_case(fresh, kept or None, 422, confirm)
    case_related.record(case, action, form, text)
    flash(DONE[action], "success")
    return redirect(url_for("case.show", case_id=case.id))


def perform(action: str, case: Case, form: Any, text: str) -> None:
    """Call the workflow function behind ``action`` with the form's values."""
    rt = runtime()
    user = g.user
    confirm = form.get("confirm_personal_data") == "1"
    if action == "reply":
        workflow.reply(rt, case, user, text, confirm_personal_data=confirm)
    elif action == "escalate":
        workflow.escalate(rt, case, user, text)
    elif action == "assign":
        workflow.assign_division(rt, case, user, form.get("division", ""), note=text)
    elif action == "division_answer":
        workflow.division_answer(rt, case, user, text, confirm_personal_data=confirm)
    elif action == "forward":
        workflow.forward(rt, case, user, text or None, confirm_personal_data=confirm)
    elif action == "dismiss":
        workflow.dismiss(rt, case, user, form.get("reason", ""))
    elif action == "note":
        workflow.add_note(rt, case, user, text)
    elif action == "categorise":
        chosen = [c for c in form.getlist("categories") if c]
        workflow.set_categories(rt, case, user, chosen, intent=form.get("intent") or None)
    elif action == "confirm_delivery":
        outbox_id = as_id(form.get("outbox_id", ""))
        row = Outbox.get_or_none(Outbox.id == outbox_id) if outbox_id is not None else None
        if row is None or row.case_id != case.id:
            abort(404)
        workflow.confirm_delivery(rt, row, user, form.get("delivered") == "1")
    elif action == "refer":
        handling.refer(rt, case, user, form.get("agency", ""), text,
                       forwarded=form.get("forwarded") == "1", other_name=form.get("other_agency", ""),
                       confirm_personal_data=confirm)
    elif action == "set_class":
        handling.set_class(rt, case, user, form.get("complaint_class", ""), note=text)
    elif action == "follow_up":
        message = form.get("message", "").strip()
        if form.get("notify") == "1" and not message:
            message = handling.follow_up_message(rt, case, text)
        handling.record_follow_up(rt, case, user, text, message if form.get("notify") == "1" else "",
                                  confirm_personal_data=confirm)
    elif action == "maladministration":
        handling.set_maladministration(rt, case, user, form.get("maladministration", ""))
    elif action == "lapor":
        handling.set_lapor(rt, case, user, form.get("tracking_id", ""), form.get("report_type", ""))


@bp.route("/pengaduan/<int:case_id>/saran/rapikan", methods=["POST"])
@login_required
def reword(case_id: int) -> Any:
    """Ask the local language model to word the chosen suggestion for this citizen."""
    case = get_case(case_id)
    if not any(a in case_related.BOXES for a in workflow.allowed_actions(g.user, case)):
        abort(403)
    if not case_related.reword(case, request.form.get("suggestion", "")):
        abort(404)
    return render_case(case)


@bp.route("/pengaduan/<int:case_id>/tautkan/<int:other_id>", methods=["POST"])
@login_required
def link(case_id: int, other_id: int) -> Any:
    """Record that another case is the same citizen's."""
    case, other = get_case(case_id), get_case(other_id)
    if not case_related.may_link(g.user):
        abort(403)
    if related.link(case, other, g.user, request.form.get("reason", "")):
        flash(f"{case.reference} dan {other.reference} ditautkan sebagai warga yang sama.", "success")
    return redirect(url_for("case.show", case_id=case.id) + "#pengaduan-lain")


@bp.route("/pengaduan/<int:case_id>/lepas-tautan/<int:other_id>", methods=["POST"])
@login_required
def unlink(case_id: int, other_id: int) -> Any:
    """Undo a link between two cases."""
    case, other = get_case(case_id), get_case(other_id)
    if not case_related.may_link(g.user):
        abort(403)
    related.unlink(case, other, g.user)
    flash(f"Tautan {case.reference} dan {other.reference} dilepas.", "success")
    return redirect(url_for("case.show", case_id=case.id) + "#pengaduan-lain")
