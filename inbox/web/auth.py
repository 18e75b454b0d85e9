"""Logging in and out, changing one's own password, and the guards every other view uses.

A login that fails ``web.login_attempts`` times in a row locks the user for
``web.lockout_minutes`` (``User.failed_logins``, ``User.locked_until``). The session holds the
user id and a fingerprint of the password hash, so changing or resetting a password, or
deactivating the user, ends every other session of that user at its next request.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from werkzeug.security import check_password_hash, generate_password_hash

from inbox.models import User, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

MIN_PASSWORD = 8
# Compared against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("tidak-ada-pengguna-ini")


def fingerprint(user: User) -> str:
    """A keyed digest of the password hash: changes when the password does, reveals nothing."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def load_user() -> None:
    """Put the logged-in, still active user on ``g.user`` (None otherwise)."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active or session.get("fp") != fingerprint(user):
        session.clear()
        return
    g.user = user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send an anonymous visitor to the login page, then back."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def roles_required(*roles: str, superuser: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Allow only users with one of ``roles`` (superusers always pass; ``superuser=True`` allows
    only superusers). Checked on the server for every request, whatever the page shows."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user: User = g.user
            if not (user.is_superuser or (not superuser and user.role in roles)):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (an open redirect would aid phishing)."""
    if not target:
        return url_for("cases.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("cases.index")
    return target


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    """Log in with user name and password."""
    if g.get("user") is not None:
        return redirect(url_for("cases.index"))
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user, error = check_login(username, password)
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            session["fp"] = fingerprint(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username=username), (401 if error else 200)


def check_login(username: str, password: str) -> tuple[User | None, str | None]:
    """The user when the password is right and the account open; else an Indonesian reason."""
    web = current_app.extensions["aduan_runtime"].config.web
    wrong = "Nama pengguna atau kata sandi salah."
    now = utcnow()
    user = User.get_or_none(User.username == username) if username else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        log.info("login refused for an unknown or inactive user")
        return None, wrong
    if not user.active:
        # Only the right password learns that the account exists but is switched off, so a
        # stranger guessing names learns nothing; the person learns whom to ask.
        log.info("login refused for an unknown or inactive user")
        if not check_password_hash(user.password_hash, password):
            return None, wrong
        return None, inactive_message()
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return None, (f"Akun terkunci karena terlalu banyak percobaan masuk yang salah. "
                      f"Coba lagi dalam {minutes} menit atau minta superuser mengatur ulang "
                      f"kata sandi.")
    if not check_password_hash(user.password_hash, password):
        failures = user.failed_logins + 1
        fields: dict[str, Any] = {"failed_logins": failures}
        if failures >= web.get("login_attempts", 5):
            fields = {"failed_logins": 0,
                      "locked_until": now + timedelta(minutes=web.get("lockout_minutes", 15))}
            log.warning("user %s locked after %d failed logins", user.username, failures)
        User.update(**fields).where(User.id == user.id).execute()
        if "locked_until" in fields:
            return None, (f"Akun terkunci selama {web.get('lockout_minutes', 15)} menit karena "
                          f"terlalu banyak percobaan masuk yang salah.")
        return None, wrong
    if user.failed_logins or user.locked_until:
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    return user, None


def inactive_message() -> str:
    """What a deactivated user reads: the account is off, and who can switch it back on."""
    admins = [u.display_name for u in User.select().where((User.is_superuser == True)  # noqa: E712
                                                          & (User.active == True))  # noqa: E712
              .order_by(User.id).limit(3)]
    who = f"superuser ({', '.join(admins)})" if admins else "superuser kantor"
    return (f"Akun Anda sedang tidak aktif, jadi belum bisa masuk. Minta {who} mengaktifkannya "
            f"kembali di menu Pengguna.")


@bp.route("/keluar", methods=["POST"])
def logout() -> Any:
    """Log out."""
    session.clear()
    flash("Anda sudah keluar.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/sandi", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Change one's own password."""
    error = None
    if request.method == "POST":
        user: User = g.user
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        repeat = request.form.get("repeat", "")
        if not check_password_hash(user.password_hash, current):
            error = "Kata sandi lama salah."
        else:
            error = password_problem(new, repeat)
        if error is None:
            user.password_hash = generate_password_hash(new)
            User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
            session["fp"] = fingerprint(user)
            flash("Kata sandi sudah diganti.", "success")
            return redirect(url_for("cases.index"))
    return render_template("password.html", error=error), (400 if error else 200)


def password_problem(new: str, repeat: str) -> str | None:
    """Why a new password cannot be used, or None."""
    if len(new) < MIN_PASSWORD:
        return f"Kata sandi baru minimal {MIN_PASSWORD} karakter."
    if new != repeat:
        return "Kata sandi baru dan ulangannya tidak sama."
    return None
