"""Webhook deliveries that cannot be ingested: refused at the door, or kept and set aside.

A body nested deeper than :data:`MAX_DEPTH` is refused by the receiver before it is stored
(:func:`too_deep`): no platform sends one, and parsing it would overflow the stack of every
later step that reads it. Any other signed delivery is kept, and one that cannot be ingested —
its body is not a JSON object, it names a phone number or page that is not in config.toml, or
ingesting it failed five times — is *set aside*: ``failed`` with its ``cause`` and a reason a
person can act on, counted on the dashboard, in ``aduan status`` and on the superuser's
*Item tersisih* page, and told to the superusers once per cause (:func:`set_aside`). The
deliveries after it go on. :func:`requeue` puts them back once the cause is fixed (``aduan
reprocess``, the page's button, and at every daemon start for a configuration cause); reading
a delivery again stores nothing twice (the unique message index).
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

import peewee as pw

from inbox.models import WebhookDelivery, utcnow
from inbox.notify import notices as notify

#: Meta's envelopes are about eight levels deep; nothing real comes near this.
MAX_DEPTH = 64
#: cause -> what it means, for the lists.
CAUSES: dict[str, str] = {
    "unreadable": "isi kiriman tidak dapat dibaca",
    "unknown_account": "akun tidak ada di config.toml",
    "error": "gagal diproses berulang kali",
}
#: Causes a corrected config.toml can cure: retried at every daemon start.
CONFIG_CAUSES = ("unknown_account",)

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # "unrolled": linear and fast
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_PARENS = bytes.maketrans(b"[{]}", b"(())")
_OPEN = ord("(")


def too_deep(body: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects nest deeper than ``limit`` in ``body`` (brackets inside
    strings do not count; brackets left open count as nested). Never recursive, so it is safe on
    exactly the bodies that would overflow a parser, and quick on any: a few passes of C string
    operations remove the innermost bracket pairs (each pass lowers the depth by one, and leaves
    a flat body almost nothing), then a count that stops as soon as the limit is passed."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # too few openings to nest that deep: the usual delivery stops here
    shape = _STRING.sub(b"", raw).translate(_PARENS, _NOT_BRACKET)
    passes = 0
    while passes < 3 and b"()" in shape:
        shape = shape.replace(b"()", b"")
        passes += 1
    depth = passes
    for byte in shape:
        depth += 1 if byte == _OPEN else -1
        if depth > limit:
            return True
    return False


def set_aside(config: Any, row: WebhookDelivery, cause: str, reason: str) -> None:
    """Mark ``row`` failed with ``cause`` and ``reason`` and tell the superusers, once per
    cause (a repeated ingest error, once a day). Call inside the write transaction."""
    WebhookDelivery.update(status="failed", cause=cause, error=reason[:1000], processed_at=utcnow(),
                           lease_until=None).where(WebhookDelivery.id == row.id).execute()
    occurrence = f"webhook:{cause}:{hashlib.sha256(reason.encode()).hexdigest()[:16]}"
    if cause == "error":
        occurrence = f"webhook:error:{notify.local_day(config)}"
    notify.office_event(config, "set_aside", occurrence,
                        f"Kiriman webhook Meta tidak dapat diproses dan disisihkan: {reason}. "
                        "Perbaiki sebabnya, lalu tekan \"Proses ulang\" di halaman Item tersisih "
                        "atau jalankan aduan reprocess.", path="/kelola/tersisih")


def requeue(causes: tuple[str, ...] | None = None) -> int:
    """Put failed deliveries (of ``causes``, or all) back to ``pending`` with fresh tries; the
    number put back."""
    condition = WebhookDelivery.status == "failed"
    if causes is not None:
        condition &= WebhookDelivery.cause.in_(causes)
    return WebhookDelivery.update(status="pending", attempts=0, lease_until=None, cause=None,
                                  error=None, processed_at=None).where(condition).execute()


def failed_total() -> int:
    return WebhookDelivery.select().where(WebhookDelivery.status == "failed").count()


def summary(limit: int = 5) -> list[dict[str, Any]]:
    """The reasons of the failed deliveries, most frequent first: ``{reason, count, last}``."""
    rows = (WebhookDelivery.select(WebhookDelivery.error, pw.fn.COUNT(WebhookDelivery.id),
                                   pw.fn.MAX(WebhookDelivery.received_at))
            .where(WebhookDelivery.status == "failed").group_by(WebhookDelivery.error)
            .order_by(pw.fn.COUNT(WebhookDelivery.id).desc()).limit(limit).tuples())
    return [{"reason": error or "tanpa keterangan", "count": count,
             "last": WebhookDelivery.received_at.python_value(last)} for error, count, last in rows]


def recent(limit: int = 100) -> pw.ModelSelect:
    """The failed deliveries for the *Item tersisih* page, newest first (without their bodies)."""
    return (WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.received_at,
                                   WebhookDelivery.source, WebhookDelivery.cause,
                                   WebhookDelivery.error, WebhookDelivery.attempts)
            .where(WebhookDelivery.status == "failed")
            .order_by(WebhookDelivery.id.desc()).limit(limit))
