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
from inbox.models import (Case, Division, Event, Message, Outbox, Template, User, utcnow)
from inbox.sop import workflow
from inbox.understand.classify import INTENT_LABELS
from inbox.web.auth import login_required
from inbox.web.cases import category_choices
from inbox.web.current import runtime
from inbox.web.display import (KIND_LABELS, OUTBOX_LABELS, PURPOSE_LABELS, channel_label,
                               division_names, event_line, handles_case, reply_window, sla_clock,
                               unsure)
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
}


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
    actions = workflow.allowed_actions(user, case)
    drafts = dict(drafts or {})
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
        fold=FOLD_CHARS,
    ), status


@bp.route("/pengaduan/<int:case_id>/aksi/<action>", methods=["POST"])
@login_required
def act(case_id: int, action: str) -> Any:
    """Run one workflow action on the case, if the user's role allows it."""
    case = get_case(case_id)
    if action not in DONE or action not in workflow.allowed_actions(g.user, case):
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
        if action == "division_answer" and case.public and pii.has_personal_data(text):
            confirm = action  # not published yet: the official may confirm, the admin edits
        fresh = Case.get_by_id(case.id)
        return render_case(fresh, {action: text} if action in TEXT_ACTIONS else None, 422, confirm)
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
