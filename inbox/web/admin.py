"""User management and the superuser's pages (audit, throttles, the model); the quick-answer
templates are the knowledge base (``inbox.web.knowledge``)."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.security import generate_password_hash

from inbox.models import ROLES, Division, Event, LoginThrottle, User, utcnow
from inbox.setup.runtime import create_user
from inbox.web import sessions
from inbox.web.auth import password_problem, roles_required

bp = Blueprint("admin", __name__, url_prefix="/kelola")

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,80}")


def active_divisions() -> list[Division]:
    return list(Division.select().where(Division.active == True).order_by(Division.name))  # noqa: E712


@bp.route("/pengguna")
@roles_required(superuser=True)
def users() -> str:
    """All users, with forms to add, deactivate and reset."""
    return render_users({}, None)


def render_users(form: Any, error: str | None) -> Any:
    return render_template("admin/users.html", users=list(User.select().order_by(User.username)),
                           divisions=active_divisions(), form=form, error=error,
                           now=utcnow()), (400 if error else 200)


@bp.route("/pengguna/tambah", methods=["POST"])
@roles_required(superuser=True)
def add_user() -> Any:
    """Add a user with a role (and a bidang for Pejabat Bidang Teknis)."""
    form = request.form
    username = form.get("username", "").strip()
    role = form.get("role", "")
    division = None
    error = None
    if not USERNAME.fullmatch(username):
        error = "Nama pengguna 3–80 karakter: huruf, angka, titik, garis bawah atau tanda minus."
    elif User.select().where(User.username == username).exists():
        error = f"Nama pengguna {username} sudah dipakai."
    else:
        division, error = role_and_division(role, form.get("division", ""))
    if error is None:
        error = password_problem(form.get("password", ""), form.get("repeat", ""), username)
    if error is not None:
        return render_users(form, error)
    create_user(username, form["password"], role, division,
                is_superuser=form.get("superuser") == "1", full_name=form.get("full_name", "").strip())
    flash(f"Pengguna {username} ({ROLES[role]}) dibuat.", "success")
    return redirect(url_for("admin.users"))


def role_and_division(role: str, code: str) -> tuple[Division | None, str | None]:
    """The bidang a ``role`` needs, or the sentence refusing the choice: a Pejabat Bidang Teknis
    must have a bidang, and a bidang chosen for any other role is refused, not silently dropped
    (issue 28 item 9)."""
    code = (code or "").strip()
    if role not in ROLES:
        return None, "Pilih peran."
    if role != "division":
        if code:
            return None, (f"Bidang hanya untuk peran {ROLES['division']}; kosongkan bidang "
                          f"untuk peran {ROLES[role]}.")
        return None, None
    division = Division.get_or_none((Division.code == code) & (Division.active == True))  # noqa: E712
    if division is None:
        return None, "Pejabat Bidang Teknis harus punya bidang."
    return division, None


def other_user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/pengguna/<int:user_id>/aktif", methods=["POST"])
@roles_required(superuser=True)
def toggle_active(user_id: int) -> Any:
    """Deactivate a user (their sessions end at once) or activate them again."""
    user = other_user(user_id)
    if user.id == g.user.id:
        flash("Anda tidak dapat menonaktifkan akun Anda sendiri.", "error")
        return redirect(url_for("admin.users"))
    active = request.form.get("active") == "1"
    User.update(active=active).where(User.id == user.id).execute()
    if not active:
        sessions.end_all(user.id)
    flash(f"Pengguna {user.username} {'diaktifkan' if active else 'dinonaktifkan'}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/pengguna/<int:user_id>/peran", methods=["POST"])
@roles_required(superuser=True)
def change_role(user_id: int) -> Any:
    """Change a user's role and bidang; recorded in the audit trail."""
    user = other_user(user_id)
    role = request.form.get("role", "")
    division, error = role_and_division(role, request.form.get("division", ""))
    if error is not None:
        flash(f"{user.username}: {error}", "error")
        return redirect(url_for("admin.users"))
    before = {"role": user.role, "division": user.division.code if user.division_id else None}
    after = {"role": role, "division": division.code if division else None}
    if before != after:
        User.update(role=role, division=division).where(User.id == user.id).execute()
        Event.record("user_changed", actor=g.user, user=user.username, before=before, after=after)
    where = f" — {division.name}" if division else ""
    flash(f"Peran {user.username} sekarang {ROLES[role]}{where}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/pengguna/<int:user_id>/sandi", methods=["POST"])
@roles_required(superuser=True)
def reset_password(user_id: int) -> Any:
    """Set a new password for a user; every session of theirs ends."""
    user = other_user(user_id)
    error = password_problem(request.form.get("password", ""), request.form.get("repeat", ""),
                             user.username)
    if error:
        flash(f"{user.username}: {error}", "error")
        return redirect(url_for("admin.users"))
    User.update(password_hash=generate_password_hash(request.form["password"]), failed_logins=0,
                locked_until=None).where(User.id == user.id).execute()
    sessions.end_all(user.id)
    flash(f"Kata sandi {user.username} diatur ulang. Sampaikan kepada yang bersangkutan secara "
          f"langsung.", "success")
    return redirect(url_for("admin.users"))


AUDIT_ACTIONS = ("export_unmasked", "export_unmasked_refused")


@bp.route("/audit")
@roles_required(superuser=True)
def audit() -> str:
    """Who took personal data out unmasked (and who tried with a wrong password), newest first."""
    events = list(Event.select().where(Event.action.in_(AUDIT_ACTIONS))
                  .order_by(Event.at.desc(), Event.id.desc()).limit(500))
    return render_template("admin/audit.html", events=events)


@bp.route("/cek-status")
@roles_required("admin", "group_admin", "supervisor")
def status_checks() -> str:
    """The citizens' automatic status checks (inbox.arrive.selfservice), newest first: who asked
    about which number and what they were told, also those that belong to no case."""
    from inbox.models import Case, Contact, Outbox
    events = list(Event.select().where(Event.action == "status_check")
                  .order_by(Event.at.desc(), Event.id.desc()).limit(500))
    contacts = {c.id: c for c in Contact.select().where(Contact.id.in_(
        [(e.detail or {}).get("contact_id") for e in events] or [0]))}
    rows = list(Outbox.select().where(Outbox.id.in_(
        [(e.detail or {}).get("outbox_id") for e in events] or [0])))
    outbox = {o.id: o for o in rows}
    cases = {c.id: c for c in Case.select(Case.id, Case.reference).where(
        Case.id.in_([e.case_id for e in events if e.case_id] or [0]))}
    return render_template("admin/status_checks.html", events=events, contacts=contacts,
                           outbox=outbox, cases=cases)


@bp.route("/pembatasan")
@roles_required(superuser=True)
def throttles() -> str:
    """Login throttles: addresses and names with wrong passwords, and how long they wait."""
    rows = list(LoginThrottle.select().order_by(LoginThrottle.last_failure_at.desc()).limit(500))
    return render_template("admin/throttles.html", rows=rows, now=utcnow())


@bp.route("/pembatasan/<int:throttle_id>/hapus", methods=["POST"])
@roles_required(superuser=True)
def clear_throttle(throttle_id: int) -> Any:
    """Clear one throttle: that address or name may try again at once."""
    row = LoginThrottle.get_or_none(LoginThrottle.id == throttle_id)
    if row is None:
        abort(404)
    row.delete_instance()
    flash(f"Pembatasan {throttle_label(row.key)} dihapus.", "success")
    return redirect(url_for("admin.throttles"))


def throttle_label(key: str) -> str:
    kind, _, value = key.partition(":")
    if kind == "dev":
        return "satu peramban yang pernah dipakai masuk"
    return f"alamat {value}" if kind == "addr" else f"nama pengguna {value!r}"


@bp.route("/model")
@roles_required(superuser=True)
def classifier_model() -> Any:
    """The classifier's model: when it was trained, on what, and its figures."""
    from datetime import datetime

    from inbox.dates import format_datetime_id
    from inbox.understand.model import MODEL_FILE, TrainedModel
    from inbox.web.current import runtime
    rt = runtime()
    path = rt.data_dir / MODEL_FILE
    meta, problem, trained = {}, None, None
    if path.exists():
        try:
            meta = TrainedModel.load(path).meta
            trained = format_datetime_id(datetime.fromisoformat(meta["trained_at"]), rt.config.tz)
        except (ValueError, KeyError) as exc:
            problem = str(exc)
    return render_template("admin/model.html", meta=meta, trained=trained, problem=problem,
                           exists=path.exists(), retrain=rt.config.schedule.get("retrain") or "")
