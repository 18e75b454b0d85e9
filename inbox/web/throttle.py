"""Login throttling that an attacker cannot turn into a lock-out.

Wrong passwords are counted per client address and per typed user name (whether or not that
user exists, so the answers tell nothing about which names exist). The first
``web.login_attempts`` failures of a key cost nothing; after that each failure makes the next
attempt wait twice as long (2 s, 4 s, 8 s ... up to ``web.lockout_minutes``). An attempt made
while a key must wait is refused without counting, so the delay grows only as fast as the
guesses it allows. A key's count is forgotten a day after its last failure and at a
successful login.

The name delay alone could still keep a person out who is being attacked from many addresses,
so a browser that has logged in as that name before carries a signed *device cookie* and is
exempt from that name's delay (never from its own address's): the OWASP "device cookie"
pattern. Superusers see and clear throttles under *Pengguna → Pembatasan masuk*.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from inbox.models import LoginThrottle, utcnow

DEVICE_COOKIE = "aduan_perangkat"
DEVICE_DAYS = 180
FORGET_AFTER = timedelta(days=1)
MAX_NAMES = 10


def _web() -> dict[str, Any]:
    return current_app.extensions["aduan_runtime"].config.web


def address_key() -> str:
    return "addr:" + (request.remote_addr or "?")[:64]


def name_key(username: str) -> str:
    return "name:" + username.strip().lower()[:150]


def delay_after(failures: int) -> timedelta:
    """How long the next attempt waits after ``failures`` failures in a row."""
    free = max(int(_web().get("login_attempts", 5)), 1)
    if failures < free:
        return timedelta(0)
    longest = max(int(_web().get("lockout_minutes", 15)), 1) * 60
    return timedelta(seconds=min(2 ** min(failures - free + 1, 30), longest))


def wait_seconds(keys: list[str]) -> int:
    """Seconds until every key in ``keys`` may try again (0: now)."""
    now = utcnow()
    waits = [row.wait_until for row in LoginThrottle.select().where(
        LoginThrottle.key.in_(keys) & (LoginThrottle.wait_until > now))]
    return max((int((w - now).total_seconds()) + 1 for w in waits), default=0)


def record_failure(keys: list[str]) -> None:
    """Count one failed login for each key and set its next allowed attempt."""
    now = utcnow()
    for key in keys:
        row = LoginThrottle.get_or_none(LoginThrottle.key == key)
        failures = 1 if row is None or row.last_failure_at < now - FORGET_AFTER else row.failures + 1
        wait = delay_after(failures)
        fields = {"failures": failures, "last_failure_at": now,
                  "wait_until": now + wait if wait else None}
        (LoginThrottle.insert(key=key, **fields)
         .on_conflict(conflict_target=[LoginThrottle.key], update=fields).execute())


def forget(keys: list[str]) -> None:
    LoginThrottle.delete().where(LoginThrottle.key.in_(keys)).execute()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="aduan-device")


def trusted_names() -> list[str]:
    """The user names this browser has logged in as (from its signed device cookie)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        names = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def remember_device(response: Any, username: str) -> None:
    """Add ``username`` to this browser's device cookie."""
    key = username.strip().lower()
    names = [key] + [n for n in trusted_names() if n != key]
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(names[:MAX_NAMES]),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.session_interface.get_cookie_secure(current_app))
