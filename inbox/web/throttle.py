"""Login throttling that an attacker cannot turn into a lock-out, and that an office behind one
address does not feel.

Wrong passwords are counted mainly per typed user name (whether or not that user exists, so the
answers tell nothing about which names exist): the first ``web.login_attempts`` failures of a
name cost nothing; after that each failure makes the next attempt wait twice as long (2 s, 4 s,
8 s ... up to ``web.lockout_minutes``). An attempt made while a key must wait is refused without
counting, so the delay grows only as fast as the guesses it allows. A name's count is forgotten
a day after its last failure and at its successful login.

Per client address only a much higher count holds (``web.address_login_attempts``): behind the
reverse proxy or tunnel a WhatsApp webhook needs, every internet client may share one address
(unless ``web.trusted_proxy`` names the proxy, so waitress reads the real one), and so does an
office behind one router. It catches one address spraying many names, and forgets one failure
every :data:`ADDRESS_FORGIVE_EVERY`, so a busy office's typos never add up; a success does not
clear it (that would reset a guesser's count for every other name).

A browser that has logged in as a name before carries a signed *device cookie* (the OWASP
"device cookie" pattern): for that name it is held back only by its own wrong passwords (its
``dev:`` key), never by a guesser elsewhere attacking the name nor by others sharing its address,
so a known device's right password is never refused because of someone else. Superusers see and
clear throttles under *Pengguna → Pembatasan masuk*.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from inbox.models import LoginThrottle, utcnow

DEVICE_COOKIE = "aduan_perangkat"
DEVICE_DAYS = 180
FORGET_AFTER = timedelta(days=1)
#: An address's count loses one failure for each such stretch without a failure.
ADDRESS_FORGIVE_EVERY = timedelta(minutes=10)
MAX_NAMES = 10


def _web() -> dict[str, Any]:
    return current_app.extensions["aduan_runtime"].config.web


def address_key() -> str:
    return "addr:" + (request.remote_addr or "?")[:64]


def name_key(username: str) -> str:
    return "name:" + username.strip().lower()[:150]


def device_key(device: str) -> str:
    return "dev:" + device[:64]


def free_failures(key: str) -> int:
    """How many failures of ``key`` cost nothing: many more for an address than for a name."""
    setting = "address_login_attempts" if key.startswith("addr:") else "login_attempts"
    return max(int(_web().get(setting, 50 if key.startswith("addr:") else 5)), 1)


def delay_after(failures: int, free: int | None = None) -> timedelta:
    """How long the next attempt waits after ``failures`` failures in a row (``free`` of them
    cost nothing; by default a name's allowance)."""
    free = free if free is not None else max(int(_web().get("login_attempts", 5)), 1)
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
        if row is None or row.last_failure_at < now - FORGET_AFTER:
            failures = 1
        elif key.startswith("addr:"):
            forgiven = int((now - row.last_failure_at) / ADDRESS_FORGIVE_EVERY)
            failures = max(row.failures - forgiven, 0) + 1
        else:
            failures = row.failures + 1
        wait = delay_after(failures, free_failures(key))
        fields = {"failures": failures, "last_failure_at": now,
                  "wait_until": now + wait if wait else None}
        (LoginThrottle.insert(key=key, **fields)
         .on_conflict(conflict_target=[LoginThrottle.key], update=fields).execute())


def forget(keys: list[str]) -> None:
    LoginThrottle.delete().where(LoginThrottle.key.in_(keys)).execute()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="aduan-device")


def _device() -> tuple[str | None, list[str]]:
    """This browser's device id and the user names it has logged in as (signed cookie)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None, []
    try:
        data = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None, []
    if isinstance(data, list):  # a cookie from before devices had an id
        data = {"names": data}
    if not isinstance(data, dict):
        return None, []
    device = data.get("id") if isinstance(data.get("id"), str) else None
    names = data.get("names") if isinstance(data.get("names"), list) else []
    return device, [n for n in names if isinstance(n, str)]


def trusted_names() -> list[str]:
    """The user names this browser has logged in as (from its signed device cookie)."""
    return _device()[1]


def known_device(username: str) -> str | None:
    """This browser's device id when it has logged in as ``username`` before, else None."""
    device, names = _device()
    return device if device and username.strip().lower() in names else None


def remember_device(response: Any, username: str) -> None:
    """Add ``username`` to this browser's device cookie (giving the browser an id if new)."""
    device, names = _device()
    key = username.strip().lower()
    names = [key] + [n for n in names if n != key]
    data = {"id": device or secrets.token_urlsafe(16), "names": names[:MAX_NAMES]}
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(data),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.session_interface.get_cookie_secure(current_app))
