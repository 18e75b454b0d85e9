"""The knowledge base's pages (*Basis pengetahuan*, also the quick-answer templates): list, add,
edit, check, switch off, history, and who may manage it. Superusers and the users they allow."""
from __future__ import annotations

import functools
from datetime import date
from typing import Any, Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from inbox.labels import CATEGORY_LABELS
from inbox.models import KnowledgeEditor, Template, TemplateRevision, User, utcnow
from inbox.sop import knowledge
from inbox.web.auth import login_required
from inbox.web.current import runtime
from inbox.web.params import as_id

bp = Blueprint("knowledge", __name__, url_prefix="/kelola")

CHANGES = {"created": "dibuat", "edited": "diubah", "checked": "ditandai sudah diperiksa",
           "switched_off": "dimatikan", "switched_on": "diaktifkan"}


def managers_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Superusers and the users they allowed; everyone else 403."""
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not knowledge.can_manage(g.user):
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def _entry(entry_id: int) -> Template:
    entry = Template.get_or_none(Template.id == entry_id)
    if entry is None:
        abort(404)
    return entry


def _form(source: Any) -> knowledge.EntryForm:
    until = source.get("valid_until", "").strip()
    try:
        valid_until = date.fromisoformat(until) if until else None
    except ValueError:
        valid_until = None
    return knowledge.EntryForm(
        name=source.get("name", "").strip(), text=source.get("text", "").replace("\r\n", "\n"),
        categories=[c for c in source.getlist("categories") if c] if hasattr(source, "getlist") else [],
        keywords=source.get("keywords", "").replace("\r\n", "\n").strip(),
        valid_until=valid_until, checked=source.get("checked") == "1")


@bp.route("/templat", methods=["GET", "POST"])
@bp.route("/basis-pengetahuan", methods=["GET", "POST"])
@managers_only
def index() -> Any:
    """The entries, with the form to add or change one."""
    form: dict[str, Any] = {}
    error = None
    editing = Template.get_or_none(Template.id == as_id(request.args.get("ubah", ""))) \
        if as_id(request.args.get("ubah", "")) is not None else None
    if editing is not None:
        form = {"id": editing.id, "name": editing.name, "text": editing.text,
                "categories": editing.categories or [], "keywords": editing.keywords,
                "valid_until": editing.valid_until.isoformat() if editing.valid_until else ""}
    if request.method == "POST":
        entry_id = as_id(request.form.get("id", ""))
        parsed = _form(request.form)
        bad_date = request.form.get("valid_until", "").strip() and parsed.valid_until is None
        try:
            if bad_date:
                raise knowledge.KnowledgeError("Tanggal berlaku sampai tidak terbaca; pilih tanggalnya lagi.")
            knowledge.save(parsed, g.user, entry_id)
        except knowledge.KnowledgeError as exc:
            error = str(exc)
            form = {"id": entry_id, "name": parsed.name, "text": parsed.text,
                    "categories": parsed.categories, "keywords": parsed.keywords,
                    "valid_until": request.form.get("valid_until", "")}
        else:
            flash(f"Templat {parsed.name} disimpan.", "success")
            return redirect(url_for("knowledge.index"))
    today = utcnow().astimezone(runtime().config.tz).date()
    rows = list(Template.select().order_by(Template.active.desc(), Template.name))
    editors = list(User.select().join(KnowledgeEditor, on=(KnowledgeEditor.user == User.id))
                   .order_by(User.username)) if g.user.is_superuser else []
    others = list(User.select().where((User.active == True) & (User.is_superuser == False)  # noqa: E712
                                      & User.id.not_in([u.id for u in editors] or [0]))
                  .order_by(User.username)) if g.user.is_superuser else []
    return render_template("knowledge/index.html", entries=[(e, knowledge.state(e, today)) for e in rows],
                           form=form, error=error, variables=knowledge.VARIABLES,
                           categories=CATEGORY_LABELS, editors=editors, others=others), \
        (400 if error else 200)


@bp.route("/templat/<int:template_id>/aktif", methods=["POST"])
@managers_only
def toggle(template_id: int) -> Any:
    """Switch an entry off (no longer offered or suggested) or on again."""
    entry = _entry(template_id)
    active = request.form.get("active") == "1"
    knowledge.switch(entry, g.user, active)
    flash(f"Templat {entry.name} {'diaktifkan' if active else 'dimatikan'}.", "success")
    return redirect(url_for("knowledge.index"))


@bp.route("/basis-pengetahuan/<int:template_id>/diperiksa", methods=["POST"])
@managers_only
def checked(template_id: int) -> Any:
    """Mark an entry checked as it stands."""
    entry = _entry(template_id)
    try:
        knowledge.mark_checked(entry, g.user)
    except knowledge.KnowledgeError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{entry.name} ditandai sudah diperiksa.", "success")
    return redirect(url_for("knowledge.index"))


@bp.route("/basis-pengetahuan/<int:template_id>/riwayat")
@managers_only
def history(template_id: int) -> str:
    """Every version of an entry, newest first."""
    entry = _entry(template_id)
    revisions = list(entry.revisions.order_by(TemplateRevision.at.desc(), TemplateRevision.id.desc()))
    return render_template("knowledge/history.html", entry=entry, revisions=revisions,
                           changes=CHANGES, categories=CATEGORY_LABELS)


@bp.route("/basis-pengetahuan/pengelola", methods=["POST"])
@managers_only
def add_editor() -> Any:
    """A superuser allows a user to manage the knowledge base."""
    if not g.user.is_superuser:
        abort(403)
    user = User.get_or_none(User.id == as_id(request.form.get("user", "")))
    if user is None:
        flash("Pilih pengguna.", "error")
    else:
        knowledge.grant(user, g.user)
        flash(f"{user.username} boleh mengelola basis pengetahuan.", "success")
    return redirect(url_for("knowledge.index"))


@bp.route("/basis-pengetahuan/pengelola/<int:user_id>/hapus", methods=["POST"])
@managers_only
def remove_editor(user_id: int) -> Any:
    """A superuser withdraws that permission."""
    if not g.user.is_superuser:
        abort(403)
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    knowledge.revoke(user, g.user)
    flash(f"Izin {user.username} mengelola basis pengetahuan dicabut.", "success")
    return redirect(url_for("knowledge.index"))
