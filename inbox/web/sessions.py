"""Server-side web sessions: a session is a ``WebSession`` row, checked on every request.

Flask's signed cookie alone cannot be revoked: a cookie copied before ``/keluar`` would still
open the inbox afterwards. So the cookie carries a random token (``session["sid"]``) and the
row its SHA-256; logging out, changing or resetting the password and deactivating the user
delete rows, and a session unused for ``web.idle_minutes`` is deleted at its next request.

``web.secure_cookies``: ``"auto"`` (the default) marks the cookie ``Secure`` when the request
came over HTTPS (directly, or through a proxy waitress trusts); ``true``/``false`` force it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from inbox.models import User, WebSession, utcnow

IDLE_MINUTES = 120
# last_seen_at is written at most this often: a write per request would cost the daemon
# SQLite's one writer slot for nothing.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _idle_limit() -> timedelta:
    web = current_app.extensions["aduan_runtime"].config.web
    return timedelta(minutes=web.get("idle_minutes", IDLE_MINUTES))


def start(user: User) -> None:
    """A new session for ``user`` (the old cookie's content is dropped: no session fixation)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    WebSession.create(token_hash=_digest(token), user=user,
                      address=(request.remote_addr or "")[:64])
    session["sid"] = token


def current_user() -> User | None:
    """The user of this request's session, or None (and the cookie emptied) when it has ended."""
    token = session.get("sid")
    if not isinstance(token, str):
        return None  # anonymous (the session may hold the login form's CSRF token)
    row = WebSession.get_or_none(WebSession.token_hash == _digest(token))
    now = utcnow()
    if row is None or row.last_seen_at < now - _idle_limit():
        if row is not None:
            row.delete_instance()
        session.clear()
        return None
    if row.last_seen_at < now - TOUCH_EVERY:
        WebSession.update(last_seen_at=now).where(WebSession.id == row.id).execute()
    user = User.get_or_none(User.id == row.user_id)
    if user is None or not user.active:
        end_all(row.user_id)
        session.clear()
        return None
    return user


def end_current() -> None:
    """Log this browser out: its row is deleted, so a saved copy of the cookie opens nothing."""
    token = session.get("sid")
    if isinstance(token, str):
        WebSession.delete().where(WebSession.token_hash == _digest(token)).execute()
    session.clear()


def end_all(user_id: int, keep_current: bool = False) -> int:
    """End every session of a user (all but this request's with ``keep_current``); the count."""
    query = WebSession.delete().where(WebSession.user == user_id)
    token = session.get("sid") if keep_current else None
    if isinstance(token, str):
        query = query.where(WebSession.token_hash != _digest(token))
    return query.execute()


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie with ``Secure`` set as ``web.secure_cookies`` says."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = app.config.get("ADUAN_SECURE_COOKIES", "auto")
        if mode == "auto":
            return request.is_secure
        return bool(mode)
