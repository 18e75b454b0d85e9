"""The daemon's heartbeat and the health a monitor reads at ``GET /healthz`` (Uptime Kuma,
Zabbix, a cron curl; the route is ``inbox.web.healthz``).

The daemon writes its heartbeat every *interval*: the shortest poll interval of its accounts,
at most a minute. ``/healthz`` needs no login and so says nothing personal and counts no cases:
only ages in seconds and "ok"/"fail". It answers 503 when the database cannot be read, when
no daemon has beaten for three of its intervals, or when a webhook delivery has waited more than
:data:`WEBHOOK_STUCK` to be ingested (the daemon beats, but what arrives goes nowhere); an old
backup is reported but stays 200, so a monitor tells "aduan is down" from "backups need a look"
(the dashboard shows the latter).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import peewee

from inbox.models import Account, Heartbeat, WebhookDelivery, utcnow
from inbox.records.schedule import backup_health
from inbox.run.liveness import owner_is_dead

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

MISSED_BEATS = 3
MAX_INTERVAL = 60
#: A webhook delivery waiting this long with nothing holding it back means the intake is stuck.
WEBHOOK_STUCK = timedelta(minutes=15)


def heartbeat_interval(rt: Runtime) -> int:
    intervals = [acc.poll_interval for acc in rt.config.accounts.values() if acc.enabled]
    return max(1, min([MAX_INTERVAL, *intervals]))


def service_kind(environ: Mapping[str, str] | None = None) -> str:
    """What started this process: ``systemd`` (it sets INVOCATION_ID for every service it
    starts), ``windows`` (the scheduled task of ``aduan service install`` runs as SYSTEM, whose
    user name ends in ``$``), the value of ``ADUAN_SERVICE`` for any other manager, or ``""``
    for a terminal."""
    env = os.environ if environ is None else environ
    if env.get("ADUAN_SERVICE"):
        return env["ADUAN_SERVICE"][:20]
    if env.get("INVOCATION_ID"):
        return "systemd"
    user = env.get("USERNAME", "")
    if sys.platform == "win32" and (user.upper() == "SYSTEM" or user.endswith("$")):
        return "windows"
    return ""


def beat(worker_id: str, interval: int, now: datetime | None = None, service: str = "") -> None:
    now = now or utcnow()
    Heartbeat.insert(worker_id=worker_id, beat_at=now, interval_seconds=interval,
                     service=service).on_conflict(
        conflict_target=[Heartbeat.worker_id],
        update={Heartbeat.beat_at: now, Heartbeat.interval_seconds: interval,
                Heartbeat.service: service}).execute()


def live_daemons(now: datetime | None = None) -> list[Heartbeat]:
    """The daemons beating now (within three of their intervals), newest first; a dead
    process's row on this host is left out at once (``inbox.run.liveness``)."""
    now = now or utcnow()
    rows = Heartbeat.select().where(Heartbeat.beat_at > now - MISSED_BEATS * timedelta(
        seconds=MAX_INTERVAL)).order_by(Heartbeat.beat_at.desc())
    return [row for row in rows
            if now - row.beat_at <= MISSED_BEATS * timedelta(seconds=row.interval_seconds)
            and not owner_is_dead(row.worker_id)]


def schedule_heartbeat(rt: Runtime, worker_id: str, scheduler: Any,
                       guard: Callable[[Callable[[], Any]], Callable[[], Any]]) -> None:
    interval = heartbeat_interval(rt)
    service = service_kind()

    def heartbeat() -> None:
        beat(worker_id, interval, service=service)
    guard(heartbeat)()
    scheduler.every(interval).seconds.do(guard(heartbeat))


def webhook_backlog_age(rt: Runtime, now: datetime) -> int | None:
    """Seconds the oldest webhook delivery has been waiting to be ingested while nothing holds
    it back (a failed one waiting for its retry does not count), or None when none waits."""
    from inbox.arrive.webhooks import spooled, uses_spool
    oldest = (WebhookDelivery.select(WebhookDelivery.received_at)
              .where((WebhookDelivery.status == "pending")
                     & (WebhookDelivery.lease_until.is_null() | (WebhookDelivery.lease_until < now)))
              .order_by(WebhookDelivery.id).first())
    times = [oldest.received_at] if oldest is not None else []
    files = spooled(rt) if uses_spool() else []
    if files:  # a spool file is named after the nanosecond it was received
        times.append(datetime.fromtimestamp(int(files[0].split("-", 1)[0]) / 1e9, timezone.utc))
    return max(0, int((now - min(times)).total_seconds())) if times else None


def office_offline_since(rt: Runtime) -> datetime | None:
    """Since when no platform can be connected to at all (the office's internet is down), or
    None. Every running account that polls its platform must be failing to connect (its
    ``offline_since``); an account that never polls (WhatsApp) counts once one of its sends
    failed to connect, and a sandbox never counts. The time is when the last of them failed:
    from then on nothing got through."""
    from connectors.registry import RegistryError, connector_class
    offline, polled = [], []
    for account in Account.select().where(
            Account.name.in_(list(rt.config.accounts)) & (Account.enabled == True)  # noqa: E712
            & Account.disabled_reason.is_null()):
        try:
            cls = connector_class(account.kind)
        except RegistryError:
            continue
        if account.offline_since is not None:
            offline.append(account.offline_since)
        elif cls.polls_network:
            polled.append(account)
    if not offline or polled:
        return None
    return max(offline)


def health(rt: Runtime, now: datetime | None = None) -> tuple[dict[str, Any], int]:
    """The body and HTTP status of ``/healthz``."""
    now = now or utcnow()
    try:
        newest = Heartbeat.select().order_by(Heartbeat.beat_at.desc()).first()
        backup = backup_health(rt.config, now)
    except peewee.DatabaseError:
        return {"status": "fail", "database": "fail", "daemon": None, "backup": None}, 503
    daemon: dict[str, Any] = {"status": "fail", "last_heartbeat_age_seconds": None}
    if newest is not None:
        age = max(0, int((now - newest.beat_at).total_seconds()))
        stuck = webhook_backlog_age(rt, now)
        daemon = {"status": "ok" if age <= MISSED_BEATS * newest.interval_seconds else "fail",
                  "last_heartbeat_age_seconds": age, "interval_seconds": newest.interval_seconds,
                  "webhook_waiting_age_seconds": stuck}
        if stuck is not None and stuck > WEBHOOK_STUCK.total_seconds():
            daemon["status"] = "fail"  # it beats, but the messages it receives go nowhere
    body = {
        "status": daemon["status"], "database": "ok", "daemon": daemon,
        "backup": {"status": "warn" if backup["warning"] else "ok",
                   "last_good_age_seconds": backup["last_good_age_seconds"],
                   "last_failed": backup["last_failed_at"] is not None},
    }
    return body, 200 if daemon["status"] == "ok" else 503
