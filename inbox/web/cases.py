"""The inbox list and the work queues (group admin, each bidang), plus the new-case counter the
list page polls so new complaints show up without a manual reload."""
from __future__ import annotations

from typing import Any

import peewee as pw
from flask import Blueprint, abort, g, jsonify, render_template, request, url_for

from inbox.labels import label
from inbox.models import Account, Case, Division, Event, Outbox, utcnow
from inbox.sop import workflow
from inbox.understand.classify import CATEGORY_LABELS
from inbox.web import home
from inbox.web.auth import login_required, roles_required
from inbox.web.current import runtime
from inbox.web.display import channel_label, due_badge, unsure
from inbox.web.params import id_param
from inbox.web.queries import (InboxFilter, apply_filter, newer_than, oldest_first, page,
                               queue_counts)

bp = Blueprint("cases", __name__)

def category_choices() -> list[tuple[str, str]]:
    """(code, Indonesian label) of the service categories, for filters and editing."""
    return sorted(CATEGORY_LABELS.items(), key=lambda item: item[1])


def before_arg() -> int | None:
    return id_param(request.args, "sebelum")


def list_page(title: str, query: pw.ModelSelect, flt: InboxFilter, show_tabs: bool,
              base_endpoint: str, waiting: bool = False, **endpoint_args: Any) -> str:
    """Render one page of ``query`` (already narrowed to what the user may see); ``waiting``:
    the list of what waits for the user, the longest waiting first."""
    rt = runtime()
    now = utcnow()
    visible = workflow.visible_cases(g.user)
    before = None if waiting else before_arg()
    offset = (id_param(request.args, "mulai") or 0) if waiting else 0
    if waiting:
        rows, next_offset = oldest_first(apply_filter(query, flt, now, rt.config.tz), offset)
        next_id = None
    else:
        rows, next_id = page(apply_filter(query, flt, now, rt.config.tz, before), before)
        next_offset = None
    # A reply that may or may not have gone out waits for a person: flag it here, not only on
    # the case page, so nobody sends the answer again by hand.
    uncertain = {o.case_id for o in Outbox.select(Outbox.case).where(
        Outbox.case.in_([c.id for c in rows]) & (Outbox.status == "uncertain"))} if rows else set()
    # The classifier's doubt, from the page's "opened" events (one indexed query).
    confidence = Event.opened_confidence([c.id for c in rows])
    items = [{"case": c, "channel": channel_label(c), "badge": due_badge(c, now, rt.config.tz),
              "uncertain": c.id in uncertain, "unsure": unsure(c, confidence.get(c.id))}
             for c in rows]
    newest = visible.clone().select(pw.fn.MAX(Case.id)).order_by().scalar() or 0
    return render_template(
        "cases/list.html", title=title, items=items, flt=flt, next_id=next_id,
        first_page=before is None and not offset, newest=newest, waiting=waiting,
        counts=queue_counts(workflow.visible_cases(g.user, by_status=True), now, rt.config.tz)
        if show_tabs else None,
        tabs=home.tabs(g.user), waiting_filter=home.WAITING,
        # the list behind the header's count is one of the inbox's, not of a queue page
        can_wait=base_endpoint == "cases.index" and g.user.role in workflow.WAITING_STATUSES,
        accounts=list(Account.select().order_by(Account.name)),
        # A division user sees one bidang's cases: a choice of the others would only mislead.
        divisions=[] if workflow.division_scoped(g.user) else list(
            Division.select().where(Division.active == True).order_by(Division.name)),  # noqa: E712
        categories=category_choices(), category_names=dict(category_choices()),
        count_url=url_for("cases.new_count"),
        form_url=url_for(base_endpoint, **endpoint_args),
        reload_url=url_for(base_endpoint, **endpoint_args, **flt.as_args()),
        next_url=url_for(base_endpoint, **endpoint_args, **flt.as_args(), sebelum=next_id)
        if next_id else url_for(base_endpoint, **endpoint_args, **flt.as_args(), mulai=next_offset)
        if next_offset else None)


@bp.route("/")
@login_required
def index() -> str:
    """The inbox: every case the user may see, newest first, with filters; with
    ``status=menunggu``, the cases waiting for the user's action (the header's count)."""
    flt = InboxFilter.from_args(request.args)
    if flt.status == home.WAITING:
        return list_page(label("home", "waiting_title"), workflow.waiting_cases(g.user), flt,
                         True, "cases.index", waiting=True)
    return list_page(label("home", "inbox_title"), workflow.visible_cases(g.user), flt, True,
                     "cases.index")


@bp.route("/antrian/group-admin")
@roles_required("admin", "group_admin", "supervisor")
def group_admin_queue() -> str:
    """The group admin's queue: complaints the admin escalated."""
    flt = InboxFilter.from_args(request.args)
    flt.status = "escalated"
    return list_page(label("home", "group_admin_queue"), workflow.visible_cases(g.user), flt,
                     False, "cases.group_admin_queue")


@bp.route("/antrian/bidang/<code>")
@roles_required("admin", "group_admin", "supervisor", "division")
def division_queue(code: str) -> str:
    """A bidang's queue: complaints waiting for its answer (a bidang sees only its own)."""
    division = Division.get_or_none(Division.code == code)
    if division is None:
        abort(404)
    user = g.user
    if user.role == "division" and not user.is_superuser and user.division_id != division.id:
        abort(403)
    flt = InboxFilter.from_args(request.args)
    flt.division = str(division.id)
    if not flt.status:
        flt.status = "at_division"
    title = label("home", "division_queue_title").format(name=division.name)
    return list_page(title, workflow.visible_cases(user), flt, False,
                     "cases.division_queue", code=code)


@bp.route("/jumlah-baru.json")
@login_required
def new_count() -> Any:
    """How many cases arrived after the newest one on screen (polled by static/app.js)."""
    last = id_param(request.args, "setelah")
    count = newer_than(workflow.visible_cases(g.user), last) if last is not None else 0
    return jsonify({"baru": count})
