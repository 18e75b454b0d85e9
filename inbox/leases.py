"""Work leased to one worker at a time: the claim-and-lease machinery both outboxes use (the
replies' ``Outbox`` in ``inbox.sop.outbox``, the ``Notification`` rows in
``inbox.notify.sending``).

A row moves ``pending`` -> ``sending`` by a conditional UPDATE that exactly one worker wins;
the lease it takes expires, so a crashed worker's row is found again by :func:`claim_stale`.
A worker writes its outcome only while it still holds the row (:func:`release`).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from inbox.models import Outbox, utcnow

#: Longer than any connector's timeouts, so a slow send is not taken for a crash.
LEASE = timedelta(minutes=5)
FIRST_RETRY_SECONDS = 30
#: After this many attempts a transient error counts as permanent: the admin must look.
MAX_ATTEMPTS = 8
#: How often a row is tried again while its platform cannot be connected to at all (the office
#: is offline); such attempts do not count against MAX_ATTEMPTS.
OFFLINE_RETRY = timedelta(minutes=2)


def claim_next(worker_id: str, now: datetime | None = None,
               model: type[Any] = Outbox) -> Any | None:
    """Lease the oldest due pending row of ``model`` (the replies' Outbox, or any table with the
    same status/lease columns, such as ``Notification``) to ``worker_id`` (pending -> sending)."""
    now = now or utcnow()
    candidates = (model.select(model.id)
                  .where((model.status == "pending") & (model.next_attempt_at <= now))
                  .order_by(model.next_attempt_at, model.id).limit(5))
    for candidate in list(candidates):
        won = model.update(status="sending", lease_owner=worker_id, lease_until=now + LEASE,
                           attempts=model.attempts + 1).where(
            (model.id == candidate.id) & (model.status == "pending")).execute()
        if won == 1:
            return model.get_by_id(candidate.id)
    return None


def claim_stale(worker_id: str, now: datetime | None = None,
                model: type[Any] = Outbox) -> Any | None:
    """Lease a ``sending`` row whose worker's lease ran out (it crashed or was killed)."""
    now = now or utcnow()
    for candidate in list(model.select(model.id).where(
            (model.status == "sending") & (model.lease_until < now)).order_by(model.id).limit(5)):
        won = model.update(lease_owner=worker_id, lease_until=now + LEASE).where(
            (model.id == candidate.id) & (model.status == "sending")
            & (model.lease_until < now)).execute()
        if won == 1:
            return model.get_by_id(candidate.id)
    return None


def release(row: Any, worker_id: str, **fields: Any) -> bool:
    """Write ``fields`` on a row this worker still holds in ``sending`` (clearing its lease);
    False, and nothing written, when another worker settled or re-leased it meanwhile. Call
    inside a write transaction."""
    model = type(row)
    fields.setdefault("lease_owner", None)
    fields.setdefault("lease_until", None)
    return model.update(**fields).where(
        (model.id == row.id) & (model.status == "sending")
        & (model.lease_owner == worker_id)).execute() == 1


def next_attempt_at(attempts: int, retry_at: datetime | None = None,
                    now: datetime | None = None) -> datetime:
    """When a transient failure is tried again: exponential backoff with jitter, never before
    the platform's own ``retry_at`` (``ConnectorError.retry_at``)."""
    now = now or utcnow()
    wait = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), 6 * 3600) * (0.75 + random.random() / 2)
    at = now + timedelta(seconds=wait)
    return max(at, retry_at) if retry_at is not None else at
