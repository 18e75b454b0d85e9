"""Logging in and out, changing one's own password, and the guards every other view uses.

A session is a server-side row (``inbox.web.sessions``), checked on every request and ended by
logging out, by a password change (every other session of the user) or reset, and by
deactivation. Wrong passwords are throttled mainly per name, per address only at a much higher
count, with growing delays (``inbox.web.throttle``), never with a lock-out; every refusal costs
one password-hash check and says the same words whether or not the name exists.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect,
                   render_template, request, session, url_for)
from werkzeug.security import check_password_hash, generate_password_hash

from inbox.models import User
from inbox.web import sessions, throttle
from inbox.web.home import home_url

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# Compared against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("tidak-ada-pengguna-ini")


def fingerprint(user: User) -> str:
    """A keyed digest of the password hash: changes when the password does, reveals nothing."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def load_user() -> None:
    """Put the logged-in, still active user of a live session on ``g.user`` (None otherwise)."""
    g.user = None
    if request.blueprint == "webhooks":  # Meta signs its deliveries; there is no session
        return
    user = sessions.current_user()
    if user is None:
        return
    if session.get("fp") != fingerprint(user):  # the password changed under this session
        sessions.end_current()
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


def safe_next(target: str | None, home: str | None = None) -> str:
    """Only a path on this site, never another host (an open redirect would aid phishing);
    ``home`` (the inbox by default) when there is none, it is not safe, or it is ``/``.

    ``/`` is what the login page is asked to return to when someone opens the bare address, so
    it means "my start page", which is the user's own queue for a group admin or a bidang."""
    home = home or url_for("cases.index")
    if not target or target == "/":
        return home
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return home  # a line break would split the Location header: refused, never a 500
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return home
    return target


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    """Log in with user name and password."""
    if g.get("user") is not None:
        return redirect(home_url(g.user))
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user, error = check_login(username, password)
        if user is not None:
            # The answer is built before the session row is written: nothing after it can fail
            # and leave a session no browser holds.
            response = make_response(redirect(safe_next(request.args.get("next"),
                                                         home_url(user))))
            throttle.remember_device(response, username)
            sessions.start(user)
            session["fp"] = fingerprint(user)
            return response
    return render_template("login.html", error=error, username=username), (401 if error else 200)


WRONG = "Nama pengguna atau kata sandi salah."


def check_login(username: str, password: str) -> tuple[User | None, str | None]:
    """The user when the password is right and no throttle holds; else an Indonesian reason.

    Every path checks one password hash of the same kind, so an unknown name, an inactive user,
    a wrong password and a throttled attempt take the same time; the throttle's words are the
    same for any name."""
    user = User.get_or_none(User.username == username) if username else None
    device = throttle.known_device(username) if username else None
    # A browser known for this name waits only for its own wrong passwords; any other waits
    # for the name's and (at a much higher count) the address's.
    held_by = [throttle.device_key(device)] if device else [
        throttle.name_key(username), throttle.address_key()]
    wait = throttle.wait_seconds(held_by)
    matches = user is not None and check_password_hash(user.password_hash, password)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # the same work as for a real name
    if wait:
        log.info("login attempt refused: throttled for %d s", wait)
        return None, (f"Terlalu banyak percobaan masuk yang salah. Tunggu {wait} detik, lalu "
                      f"coba lagi.")
    if not matches:
        throttle.record_failure([throttle.address_key(), throttle.name_key(username)]
                                + ([throttle.device_key(device)] if device else []))
        log.info("login refused (wrong name or password)")
        return None, WRONG
    # The address's count stays: others behind it may be guessing other names.
    throttle.forget([throttle.name_key(username)] + ([throttle.device_key(device)] if device else []))
    if not user.active:
        # Only the right password learns that the account exists but is switched off, so a
        # stranger guessing names learns nothing; the person learns whom to ask.
        log.info("login refused for an inactive user")
        return None, inactive_message()
    return user, None


def inactive_message() -> str:
    """What a deactivated user reads: the account is off, and who can switch it back on."""
    admins = [u.display_name for u in User.select().where((User.is_superuser == True)  # noqa: E712
                                                          & (User.active == True))  # noqa: E712
              .order_by(User.id).limit(3)]
    who = f"pengelola aduan ({', '.join(admins)})" if admins else "pengelola aduan di kantor"
    return (f"Akun Anda sedang tidak aktif, jadi belum bisa masuk. Minta {who} mengaktifkannya "
            f"kembali di menu Pengguna.")


@bp.route("/keluar", methods=["POST"])
def logout() -> Any:
    """Log out: the session row is deleted, so a saved copy of the cookie opens nothing."""
    sessions.end_current()
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
            error = password_problem(new, repeat, user.username)
        if error is None:
            user.password_hash = generate_password_hash(new)
            User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
            sessions.end_all(user.id, keep_current=True)  # a stolen session ends here
            session["fp"] = fingerprint(user)
            flash("Kata sandi sudah diganti.", "success")
            return redirect(home_url(user))
    return render_template("password.html", error=error), (400 if error else 200)


def password_problem(new: str, repeat: str, username: str = "") -> str | None:
    """Why a new password cannot be used, or None (the rule is ``inbox.passwords``)."""
    from inbox.passwords import password_problem as problem
    return problem(new, repeat, username)
