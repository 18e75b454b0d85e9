"""*Mulai memakai aduan* (issue 28, items 1-2), for superusers: the checklist from the sandbox to
the office's real use (``inbox.run.readiness``), and going live in one step
(``inbox.records.practice.go_live``, the same as ``aduan go-live``)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from inbox.models import Account, Event, Template, User
from inbox.records import practice
from inbox.run.readiness import checklist
from inbox.web.auth import roles_required
from inbox.web.current import runtime
from inbox.web.params import as_id

bp = Blueprint("golive", __name__, url_prefix="/kelola")


@bp.route("/mulai")
@roles_required(superuser=True)
def index() -> str:
    """The checklist, what practice left, and the go-live form."""
    steps = checklist(runtime())
    return render_template(
        "golive.html", steps=steps, done=sum(s.done for s in steps), left=practice.practice_data(),
        went_live=Event.went_live() is not None,
        practice_accounts=[a for a in Account.select().where(
            Account.id.in_(Account.practice_ids() or [0]))],
        users=list(User.select().where((User.active == True) & (User.id != g.user.id))  # noqa: E712
                   .order_by(User.username)),
        templates=list(Template.select().where(Template.active == True)  # noqa: E712
                       .order_by(Template.name)))


def _chosen(model: Any, name: str) -> list[Any]:
    ids = [i for i in (as_id(v) for v in request.form.getlist(name)) if i is not None]
    return list(model.select().where(model.id.in_(ids))) if ids else []


@bp.route("/mulai/jalankan", methods=["POST"])
@roles_required(superuser=True)
def go_live() -> Any:
    """Stop the sandbox and remove the practice data; say how many of each went."""
    if request.form.get("understood") != "1":
        flash("Centang dulu kotak \"Saya mengerti\" agar data latihan dihapus.", "error")
        return redirect(url_for("golive.index"))
    users = [u for u in _chosen(User, "users") if u.id != g.user.id]
    done = practice.go_live(runtime().data_dir, g.user, users, _chosen(Template, "templates"))
    flash("aduan mulai dipakai. " + " ".join(done.lines()), "success")
    return redirect(url_for("golive.index"))
