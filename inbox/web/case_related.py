"""The case page's newer parts: suggested answers (and the local model's wording), the mass
incident the case belongs to, and the citizen's other cases (linked, and probably the same
person on another channel). ``case_page.render_case`` shows ``extras(...)``; its routes for
these parts call ``reword``, ``link`` and ``unlink`` here."""
from __future__ import annotations

from typing import Any

from flask import flash, g, request

from inbox.models import Case, Incident, IncidentCase, User
from inbox.sop import related, suggestions
from inbox.sop.workflow import render_template, visible_cases
from inbox.understand import wording
from inbox.web.current import runtime

#: The text actions whose box a suggestion may fill (and the box's id on the page).
BOXES = {"reply": "reply-text", "division_answer": "division-text"}


def may_link(user: User) -> bool:
    return user.active and (user.is_superuser or user.role in ("admin", "group_admin"))


def extras(case: Case, actions: list[str], drafts: dict[str, str]) -> dict[str, Any]:
    """What the case page shows of these parts; may fill ``drafts`` with a chosen suggestion."""
    rt = runtime()
    user: User = g.user
    action = next((a for a in BOXES if a in actions), None)
    shown: list[suggestions.Shown] = []
    choice = g.get("suggestion_choice")
    if action is not None:
        shown = suggestions.for_case(rt, case)
        key = request.args.get("saran", "")
        if choice is None and key:
            picked = next((s for s in shown if s.key == key), None)
            if picked is not None and action not in drafts:
                drafts[action] = picked.text
                choice = {"key": picked.key, "text": picked.text, "worded": False}
        if choice is not None and action not in drafts:
            drafts[action] = choice["text"]
    link = (IncidentCase.select(IncidentCase, Incident).join(Incident)
            .where(IncidentCase.case == case).first())
    linking = may_link(user)
    return {
        "suggestions": shown, "suggest_action": action, "suggest_box": BOXES.get(action or ""),
        "suggestion_choice": choice, "llm_on": bool(rt.config.suggest.get("llm_url")),
        "suggestions_preparing": bool(action) and suggestions.preparing(rt),
        "incident_link": link, "linked_cases": related.linked(case),
        "same_person": related.candidates(rt, case, visible_cases(user)) if linking else [],
        "may_link": linking,
    }


def record(case: Case, action: str, form: Any, text: str) -> None:
    """After a reply (or a bidang's answer) was accepted: what became of the suggestions."""
    if action not in BOXES or not form.get("suggestions_shown"):
        return
    shown = [k for k in form.get("suggestions_shown", "").split(",") if k]
    chosen = form.get("suggestion") or None
    suggestions.record_outcome(case, g.user, shown, chosen, form.get("suggestion_text") if chosen
                               else None, text, worded=form.get("suggestion_worded") == "1")


def reword(case: Case, key: str) -> bool:
    """Ask the local language model to word suggestion ``key`` for this citizen; the draft (or
    the suggestion as it was) becomes the page's choice. False when ``key`` is not a current
    suggestion of the case."""
    rt = runtime()
    picked = suggestions.find(rt, case, key)
    if picked is None:
        return False
    text = wording.draft(rt.config.suggest, picked.suggestion.text, suggestions.case_question(case),
                         [case.contact.name, case.contact.handle])
    if text is None:
        flash("Model bahasa lokal tidak memberi draf (mati, terlalu lama atau galat); saran "
              "dipakai apa adanya.", "error")
        g.suggestion_choice = {"key": picked.key, "text": picked.text, "worded": False}
    else:
        flash("Draf dari model bahasa lokal: periksa dan sunting sebelum dikirim.", "success")
        g.suggestion_choice = {"key": picked.key, "text": render_template(rt, text, case),
                               "worded": True}
    return True
