"""When backups are made, which are kept, and whether they are healthy.

The daemon checks every minute whether today's backup is due (``backup.time`` WIB, by default
the daily recap's time, and on a working day only once the day's recap is made or an hour has
passed) and not yet made; it runs in a thread of its own so polls go on meanwhile. A failed
run is retried after an hour. Each run's outcome is a :class:`BackupRun` row, so the dashboard,
``aduan status`` and ``/healthz`` tell when backups stop.

Rotation keeps the newest backup of each of the last ``keep_daily`` days, ``keep_weekly`` ISO
weeks and ``keep_monthly`` months (the grandfather-father-son scheme). It only ever deletes
files whose name is a finished backup of this office; the hidden ``.partial`` file and working
folder of a run that was killed are removed once they are a day old.
"""
from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox import pii
from inbox.arrive.webhooks import take_spool
from inbox.db import atomic_write
from inbox.models import BackupRun, Recap, utcnow
from inbox.notify import notices as notify
from inbox.records.backup import NAME_RE, BackupError, create_backup, lower_priority, office_slug
from inbox.setup.config import Config

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

CHECK_SECONDS = 60
RETRY_AFTER = timedelta(hours=1)
RECAP_WAIT = timedelta(hours=1)
PARTIAL_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Found:
    path: Path
    at: datetime  # local (office) time from the name


def finished_backups(folder: Path, config: Config) -> list[Found]:
    """This office's finished backups in ``folder``, oldest first."""
    slug, found = office_slug(config), []
    if not folder.is_dir():
        return []
    for path in folder.iterdir():
        match = NAME_RE.match(path.name)
        if match and match["office"] == slug and path.is_file():
            at = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=config.tz)
            found.append(Found(path, at))
    return sorted(found, key=lambda f: f.at)


def to_keep(backups: list[Found], daily: int, weekly: int, monthly: int) -> set[Path]:
    """The newest backup of each of the last ``daily`` days, ``weekly`` weeks, ``monthly`` months."""
    keep: set[Path] = set()
    for count, period in ((daily, lambda d: d.date()),
                          (weekly, lambda d: tuple(d.isocalendar())[:2]),
                          (monthly, lambda d: (d.year, d.month))):
        seen: list[Any] = []
        for found in sorted(backups, key=lambda f: f.at, reverse=True):
            key = period(found.at)
            if key not in seen:
                if len(seen) == count:
                    break
                seen.append(key)
                keep.add(found.path)
    return keep


def rotate(config: Config, folder: Path, now: datetime | None = None) -> list[Path]:
    """Delete the backups the policy no longer keeps, and stale partial files; return what went."""
    now = now or utcnow()
    policy = config.backup
    backups = finished_backups(folder, config)
    keep = to_keep(backups, policy["keep_daily"], policy["keep_weekly"], policy["keep_monthly"])
    removed = [f.path for f in backups if f.path not in keep]
    # A run killed half-way leaves its .partial archive and its working folder (a copy of the
    # database: personal data) behind; a day later no live run can still own them.
    for path in folder.glob(".aduan-*") if folder.is_dir() else []:
        if datetime.fromtimestamp(path.stat().st_mtime, now.tzinfo) < now - PARTIAL_MAX_AGE:
            removed.append(path)
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def run_backup(config: Config, out: str | None = None, trigger: str = "manual") -> Any:
    """One recorded backup run followed by rotation; re-raises BackupError after recording it."""
    started = utcnow()
    try:
        take_spool(config)   # a webhook delivery answered before the backup is in it
    except Exception as exc:  # noqa: BLE001 - the backup matters more; the daemon imports them
        log.warning("webhook deliveries still in the spool were not moved before the backup: %s",
                    type(exc).__name__)
    try:
        result = create_backup(config, out, now=started)
    except Exception as exc:
        error = str(exc) if isinstance(exc, BackupError) else \
            f"kesalahan tak terduga ({type(exc).__name__}); lihat log"
        with atomic_write():
            BackupRun.create(started_at=started, finished_at=utcnow(), status="failed",
                             error=error, trigger=trigger)
            notify.backup_failed(config, pii.mask(error))
        raise
    BackupRun.create(started_at=started, finished_at=utcnow(), status="ok", path=str(result.path),
                     size=result.size, trigger=trigger)
    result.removed = rotate(config, result.path.parent, utcnow())
    return result


# --- health ----------------------------------------------------------------------------------

def backup_health(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """The last good backup (whose file is still there), the last failure after it, and the
    warning in one sentence, or None when all is well."""
    now = now or utcnow()
    good = BackupRun.last_good()
    failed = (BackupRun.select().where((BackupRun.status == "failed") & (
        BackupRun.started_at > (good.started_at if good else datetime.min.replace(tzinfo=now.tzinfo))))
        .order_by(BackupRun.started_at.desc()).first())
    max_age = timedelta(days=config.backup["max_age_days"])
    warning = None
    if failed is not None:
        warning = f"Pencadangan terakhir GAGAL: {failed.error}"
    elif good is None:
        warning = "Belum ada cadangan database; jalankan aduan backup"
    elif good.started_at < now - max_age:
        warning = (f"Cadangan terakhir sudah lebih dari {config.backup['max_age_days']} hari; "
                   "periksa apakah layanan aduan berjalan dan folder cadangan bisa ditulis")
    return {
        "last_good_at": good.started_at.isoformat() if good else None,
        "last_good_path": good.path if good else None,
        "last_good_age_seconds": int((now - good.started_at).total_seconds()) if good else None,
        "last_failed_at": failed.started_at.isoformat() if failed else None,
        "last_error": failed.error if failed else None,
        "warning": warning,
    }


# --- the daemon's job ------------------------------------------------------------------------

def backup_due(rt: Runtime, now: datetime | None = None) -> bool:
    """True when today's backup should start now (see the module docstring)."""
    config = rt.config
    if not config.backup["enabled"]:
        return False
    now = now or utcnow()
    local = now.astimezone(config.tz)
    at = time.fromisoformat(config.backup["time"] or config.schedule["daily_recap_time"])
    moment = datetime.combine(local.date(), at, tzinfo=config.tz)
    if now < moment:
        return False
    runs = BackupRun.select().where(BackupRun.started_at >= moment)
    if runs.where(BackupRun.status == "ok").exists():
        return False
    if runs.where((BackupRun.status == "failed") & (BackupRun.started_at > now - RETRY_AFTER)).exists():
        return False
    if rt.calendar.is_working_day(local.date()) and now < moment + RECAP_WAIT:
        recap_at = datetime.combine(local.date(), time.fromisoformat(
            config.schedule["daily_recap_time"]), tzinfo=config.tz)
        if not Recap.select().where((Recap.kind == "daily") & (Recap.period == local.date().isoformat())
                                    & (Recap.created_at >= recap_at)).exists():
            return False
    return True


class BackupJob:
    """The daemon's backup check; the backup itself runs in its own thread."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.thread: threading.Thread | None = None

    def check(self) -> bool:
        """Start today's backup if it is due and none is running; True if one was started."""
        if (self.thread is not None and self.thread.is_alive()) or not backup_due(self.rt):
            return False
        self.thread = threading.Thread(target=self._run, name="aduan-backup", daemon=True)
        self.thread.start()
        return True

    def _run(self) -> None:
        lower_priority()  # this thread only: the polls and the web keep their priority
        try:
            result = run_backup(self.rt.config, trigger="daemon")
            log.info("cadangan ditulis: %s (%d bita, %.1f detik)", result.path, result.size, result.seconds)
        except BackupError as exc:
            log.error("pencadangan gagal: %s", exc)
        except Exception:
            log.exception("backup failed")
        finally:
            self.rt.db.close()


def schedule_backups(rt: Runtime, scheduler: Any,
                     guard: Callable[[Callable[[], Any]], Callable[[], Any]]) -> BackupJob:
    job = BackupJob(rt)
    scheduler.every(CHECK_SECONDS).seconds.do(guard(job.check))
    return job
