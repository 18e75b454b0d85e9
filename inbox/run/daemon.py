"""The polling daemon: a loop of small steps driven by one ``schedule.Scheduler``.

Each step says whether it did work (``poll_one_account() -> bool``), so tests call one step
directly. Accounts are claimed with a conditional UPDATE on a lease that expires, so several
workers can share one PostgreSQL database and a crashed worker's account passes to another.
Messages and the advanced cursor are written in one transaction with the lease check.

Outcomes live on the Account row (``last_error``, ``disabled_reason``, ``next_poll_at``) so the
dashboard and ``aduan status`` show health without reading logs.
"""
from __future__ import annotations

import functools
import logging
import os
import random
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import schedule

from connectors.base import ConnectorError
from inbox import pii
from inbox.arrive.ingest import IngestReport, ingest
from inbox.dates import format_datetime_id
from inbox.db import atomic_write, is_postgres
from inbox.models import Account, Event, Heartbeat, Notification, Outbox, utcnow
from inbox.notify import notices as notify
from inbox.run.liveness import owner_is_dead
from inbox.run.memory import Trimmer
from inbox.setup.runtime import Runtime
from inbox.text import one_line

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
#: The longest wait between polls of an account whose platform could not be connected to.
OFFLINE_POLL_WAIT = timedelta(minutes=5)


class LeaseLost(Exception):
    """Another worker took the account while this one was polling; its batch is discarded."""


@dataclass
class PollOutcome:
    account: str
    ok: bool
    report: IngestReport | None = None
    error: str | None = None
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"{self.account}: dilewati — {self.skipped}"
        if not self.ok:
            return f"{self.account}: GAGAL — {self.error}"
        r = self.report or IngestReport()
        aside = f", {r.set_aside} disisihkan (lihat aduan status)" if r.set_aside else ""
        aside += f", {r.ignored} bukan pesan warga (diabaikan)" if r.ignored else ""
        return (f"{self.account}: ok — {r.stored} pesan baru, {r.new_cases} pengaduan baru, "
                f"{r.reopened} dibuka kembali, {r.duplicates} sudah ada{aside}")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**6):06x}"


class Daemon:
    def __init__(self, runtime: Runtime, worker_id: str | None = None,
                 jitter: Callable[[], float] = random.random) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or new_worker_id()
        self.jitter = jitter
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self._downloader: Any = None
        # Memory freed by the steps and by the web's threads goes back to the system between
        # steps (inbox.run.memory): an office PC watches this process all day.
        self.trimmer = Trimmer()

    # --- polling ----------------------------------------------------------------------------

    def due_accounts(self, now: datetime) -> list[Account]:
        names = list(self.runtime.config.accounts)
        return list(Account.select().where(
            Account.name.in_(names) & (Account.enabled == True)  # noqa: E712
            & Account.disabled_reason.is_null()
            & (Account.next_poll_at.is_null() | (Account.next_poll_at <= now))
            & (Account.lease_until.is_null() | (Account.lease_until < now)),
        ).order_by(Account.next_poll_at.asc(nulls="first"), Account.id))

    def claim(self, account: Account, now: datetime, force: bool = False) -> bool:
        """Lease ``account`` to this worker; True when exactly this worker got it."""
        condition = (Account.id == account.id) & (
            Account.lease_until.is_null() | (Account.lease_until < now))
        if not force:
            condition &= Account.next_poll_at.is_null() | (Account.next_poll_at <= now)
            condition &= Account.disabled_reason.is_null()
        claimed = Account.update(lease_owner=self.worker_id, lease_until=now + LEASE).where(
            condition).execute()
        return claimed == 1

    def poll_one_account(self) -> bool:
        """Poll the most overdue account that no other worker holds; True if one was polled."""
        now = utcnow()
        for account in self.due_accounts(now):
            if self.claim(account, now):
                self.poll_claimed(Account.get_by_id(account.id))
                return True
        return False

    def poll_account(self, name: str) -> PollOutcome:
        """Poll one account now, whatever its schedule or disabled state (``aduan poll``)."""
        account = Account.get_or_none(Account.name == name)
        if account is None or name not in self.runtime.config.accounts:
            return PollOutcome(name, False, error="akun tidak ada di config.toml (jalankan aduan init)")
        if not account.enabled:
            return PollOutcome(name, True, skipped=(
                "latihan selesai: sandbox dihentikan saat kantor mulai memakai aduan"
                if account.practice and Event.went_live() is not None
                else "akun dimatikan (enabled = false)"))
        if not self.claim(account, utcnow(), force=True):
            return PollOutcome(name, True, skipped="sedang diproses oleh pekerja lain")
        return self.poll_claimed(Account.get_by_id(account.id))

    def poll_claimed(self, account: Account) -> PollOutcome:
        """Poll an account this worker holds and store the outcome on its row."""
        connector = self.runtime.connector(account.name)
        started = utcnow()
        try:
            result = connector.poll(dict(account.cursor or {}))
            with atomic_write():
                kept = Account.update(
                    last_poll_at=started, last_success_at=utcnow(), last_error=None,
                    last_error_detail=None, consecutive_failures=0, disabled_reason=None,
                    offline_since=None, warning="; ".join(result.notes) or None,
                    next_poll_at=self._next_poll(account, result.not_before),
                    lease_owner=None, lease_until=None,
                ).where((Account.id == account.id) & (Account.lease_owner == self.worker_id)).execute()
                if kept != 1:
                    raise LeaseLost(account.name)
                report = ingest(account, result.messages, result.cursor, self.runtime.ingest_options,
                                requests=result.requests, resources=result.resources,
                                set_aside=result.set_aside, ignored=result.ignored)
                if report.set_aside:
                    notify.set_aside(self.runtime.config, account, report.set_aside)
        except ConnectorError as exc:
            return self._failed(account, started, exc)
        except LeaseLost:
            log.warning("saluran %s: diambil alih pekerja lain; pesan kali ini tidak disimpan di sini",
                        account.name)
            return PollOutcome(account.name, False, error="diambil alih pekerja lain")
        except Exception as exc:  # a bug or a database error must not stop the other accounts
            log.exception("account %s: unexpected error while polling", account.name)
            return self._failed(account, started, ConnectorError(
                f"kesalahan tak terduga ({type(exc).__name__}); lihat log", detail=repr(exc)[:2000]))
        if report.stored:
            log.info("saluran %s: %d pesan baru, %d pengaduan baru", account.name, report.stored,
                     report.new_cases)
        return PollOutcome(account.name, True, report=report)

    def _next_poll(self, account: Account, not_before: datetime | None) -> datetime:
        when = utcnow() + timedelta(seconds=account.poll_interval)
        return max(when, not_before) if not_before else when

    def _failed(self, account: Account, started: datetime, exc: ConnectorError) -> PollOutcome:
        now = utcnow()
        failures = account.consecutive_failures + 1
        reason = pii.mask(exc.message)
        fields: dict[str, Any] = dict(last_poll_at=started, last_error=reason, last_error_at=now,
                                      last_error_detail=exc.detail, consecutive_failures=failures,
                                      lease_owner=None, lease_until=None)
        if exc.unreachable:
            fields["offline_since"] = account.offline_since or now
        if exc.permanent:
            fields["disabled_reason"] = reason
            log.error("saluran %s BERHENTI: %s", account.name, reason)
        elif exc.retry_at is not None:
            fields["next_poll_at"] = max(exc.retry_at, now + timedelta(seconds=5))
            log.warning("saluran %s: dibatasi platform sampai %s", account.name,
                        format_datetime_id(exc.retry_at, self.runtime.config.tz, "d MMMM y HH.mm"))
        else:
            wait = self.backoff(account.poll_interval, failures)
            if exc.unreachable:  # look again soon: the office's line may be back any minute
                wait = min(wait, OFFLINE_POLL_WAIT.total_seconds())
            fields["next_poll_at"] = now + timedelta(seconds=wait)
            log.warning("saluran %s: %s (percobaan ke-%d)", account.name, reason, failures)
        with atomic_write():
            Account.update(**fields).where(Account.id == account.id).execute()
            if exc.permanent:  # the superusers hear of it once a day per account
                notify.account_stopped(self.runtime.config, account, reason)
        return PollOutcome(account.name, False, error=reason)

    def backoff(self, interval: int, failures: int) -> float:
        """Exponential backoff with jitter, capped by ``schedule.max_backoff_seconds``."""
        cap = self.runtime.config.schedule["max_backoff_seconds"]
        base = min(cap, interval * 2 ** min(failures, 16))
        return base * (0.5 + self.jitter() / 2)

    def poll_due_accounts(self) -> int:
        polled = 0
        while not self.stopping.is_set() and self.poll_one_account():
            polled += 1
        return polled

    # --- replies ----------------------------------------------------------------------------

    def deliver_one_reply(self) -> bool:
        """Send the oldest due reply; True if one was handled (see inbox.sop.outbox)."""
        from inbox.sop.outbox import deliver_one
        return deliver_one(self.runtime, self.worker_id)

    def deliver_due_replies(self) -> int:
        sent = 0
        while not self.stopping.is_set() and self.deliver_one_reply():
            sent += 1
        return sent

    # --- webhook deliveries ---------------------------------------------------------------------

    def process_one_delivery(self) -> bool:
        """Ingest the oldest stored webhook delivery; True if one was handled."""
        from inbox.arrive.webhooks import process_one
        return process_one(self.runtime)

    def process_deliveries(self) -> int:
        done = 0
        while not self.stopping.is_set() and self.process_one_delivery():
            done += 1
        return done

    # --- attachments --------------------------------------------------------------------------

    def download_one_attachment(self) -> bool:
        """Download the oldest due attachment; True if one was handled (see inbox.arrive.attachments)."""
        if self._downloader is None:
            from inbox.arrive.attachments import Downloader
            self._downloader = Downloader(self.runtime)
        return self._downloader.download_one()

    def download_attachments_until_stopped(self) -> None:
        """The downloader thread: files are fetched beside the polls, never in their way."""
        idle = max(float(self.runtime.config.schedule["tick_seconds"]), 1.0)
        while not self.stopping.is_set():
            try:
                busy = self.download_one_attachment()
            except Exception:  # a database hiccup must not end the thread for good
                log.exception("attachment download failed")
                busy = False
            if not busy:
                self.stopping.wait(idle)
        self.runtime.db.close()

    def start_downloader(self) -> threading.Thread | None:
        if not self.runtime.config.attachments["download"]:
            return None
        thread = threading.Thread(target=self.download_attachments_until_stopped,
                                  name="aduan-attachments", daemon=True)
        thread.start()
        return thread

    def search_index_thread(self) -> None:
        """The thread building the PostgreSQL search indexes ``aduan restore`` left out (or a
        stopped build left invalid); it returns at once when they are there."""
        from inbox.setup.migrations import build_search_indexes
        started = utcnow()
        try:
            built = build_search_indexes()
        except Exception as exc:  # search still works without them, only slower
            log.warning("indeks pencarian teks belum bisa dibangun (%s); dicoba lagi saat aduan "
                        "berikutnya mulai", one_line(str(exc))[:300] or type(exc).__name__)
            built = []
        finally:
            self.runtime.db.close()
        if built:
            log.info("indeks pencarian teks dibangun: %s (%.0f detik)", ", ".join(built),
                     (utcnow() - started).total_seconds())

    def start_search_index_builder(self) -> threading.Thread | None:
        if not is_postgres():
            return None
        thread = threading.Thread(target=self.search_index_thread, name="aduan-search-index",
                                  daemon=True)
        thread.start()
        return thread

    # --- the loop ---------------------------------------------------------------------------

    def guarded(self, job: Callable[[], Any]) -> Callable[[], Any]:
        """An exception escaping a job would make ``schedule`` re-run it every tick; log it instead."""
        @functools.wraps(job)
        def run() -> Any:
            try:
                return job()
            except Exception:
                log.exception("job %s failed", getattr(job, "__name__", job))
                return None
        return run

    def schedule_jobs(self) -> None:
        sched = self.runtime.config.schedule
        self.scheduler.every(sched["tick_seconds"]).seconds.do(self.guarded(self.poll_due_accounts))
        self.scheduler.every(sched["outbox_interval_seconds"]).seconds.do(
            self.guarded(self.deliver_due_replies))
        self.scheduler.every(sched["tick_seconds"]).seconds.do(self.guarded(self.process_deliveries))
        for job in self.extra_jobs():
            job(self.scheduler, self.guarded)

    def extra_jobs(self) -> list[Callable[[schedule.Scheduler, Callable], None]]:
        """Jobs other parts of the product add (recaps); each gets the scheduler and the guard."""
        from inbox.notify.sending import schedule_notifications
        from inbox.records.retention import schedule_retention
        from inbox.records.schedule import schedule_backups
        from inbox.run.health import schedule_heartbeat
        from inbox.sop.incident_watch import schedule_incidents
        from inbox.sop.related import schedule_marks
        from inbox.understand.training import schedule_retrain
        jobs: list[Callable[[schedule.Scheduler, Callable], None]] = [
            functools.partial(schedule_heartbeat, self.runtime, self.worker_id),
            functools.partial(schedule_backups, self.runtime),  # it waits for the daily recap
            functools.partial(schedule_retention, self.runtime),
            functools.partial(schedule_notifications, self.runtime, self.worker_id, self.stopping),
            functools.partial(schedule_retrain, self.runtime),
            functools.partial(schedule_incidents, self.runtime),
            functools.partial(schedule_marks, self.runtime)]
        try:
            from recap.schedule import schedule_recaps
        except ImportError:
            return jobs
        jobs.append(functools.partial(schedule_recaps, self.runtime))
        return jobs

    def warm_up(self) -> None:
        """Load (or train) the classifier's model, and the holiday calendar's data, before the
        first poll: read inside the first ingest's transaction they would hold the database's
        write lock (for seconds, a model trained on a first start), and the web's webhook
        receiver would wait on it."""
        started = utcnow()
        self.runtime.calendar.due_at(started)   # imports this year's holidays (about 0.1 s)
        classifier = self.runtime.ingest_options.classifier
        if classifier is not None:
            _ = classifier.model
            log.info("model pengklasifikasi siap (%.1f detik)", (utcnow() - started).total_seconds())

    def release_stale(self) -> None:
        """On start: accounts disabled last time get one new try (the office may have fixed the
        token and restarted), so do webhook deliveries set aside for an unknown account, and
        leases this host's dead processes held are not waited for:
        an account's is released, a reply's expires at once so it is settled (never re-sent
        blindly). Leases of live processes and of other hosts run their course."""
        Account.update(disabled_reason=None, next_poll_at=None).where(
            Account.disabled_reason.is_null(False)).execute()
        # Webhook deliveries set aside for an account config.toml lacked: the office may have
        # corrected the id and restarted, as for a disabled account.
        from inbox.arrive.webhook_failures import CONFIG_CAUSES, requeue
        if requeue(CONFIG_CAUSES):
            log.info("webhook deliveries set aside for an unknown account are read again")
        now = utcnow()
        for account in Account.select().where(Account.lease_until > now):
            if owner_is_dead(account.lease_owner):
                released = Account.update(lease_owner=None, lease_until=None).where(
                    (Account.id == account.id) & (Account.lease_owner == account.lease_owner)
                ).execute()
                if released:
                    log.info("saluran %s: pegangan proses %s yang sudah mati dilepas", account.name,
                             account.lease_owner)
        for model in (Outbox, Notification):
            for row in model.select().where((model.status == "sending") & (model.lease_until > now)):
                if owner_is_dead(row.lease_owner):
                    # Expired, not reset: the settlement asks the platform before anything is
                    # re-sent (a notification's channel cannot tell: it becomes uncertain).
                    model.update(lease_until=now - timedelta(seconds=1)).where(
                        (model.id == row.id) & (model.lease_owner == row.lease_owner)
                        & (model.status == "sending")).execute()

    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            log.info("sinyal %s diterima; langkah yang sedang berjalan diselesaikan dulu", signum)
            self.stopping.set()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def forget_heartbeat(self) -> None:
        """A clean stop removes this worker's heartbeat: nothing beats here any more, and
        ``aduan restore`` (which refuses while a heartbeat is fresh) may run at once."""
        Heartbeat.delete().where(Heartbeat.worker_id == self.worker_id).execute()

    def run(self, install_signals: bool = True) -> int:
        """Run until SIGINT/SIGTERM; the current step finishes, then exit code 0."""
        if install_signals:
            self.install_signal_handlers()
        self.release_stale()
        self.warm_up()
        self.schedule_jobs()
        tick = self.runtime.config.schedule["tick_seconds"]
        log.info("aduan %s mulai memeriksa %d saluran", self.worker_id,
                 len(self.runtime.config.accounts))
        downloader = self.start_downloader()
        self.start_search_index_builder()
        self.guarded(self.poll_due_accounts)()
        while not self.stopping.is_set():
            self.scheduler.run_pending()
            self.trimmer.maybe()
            idle = self.scheduler.idle_seconds
            self.stopping.wait(min(max(idle if idle is not None else tick, 0.05), tick))
        if downloader is not None:
            downloader.join(timeout=60)  # a download in flight has its own timeouts
        self.guarded(self.forget_heartbeat)()
        log.info("aduan %s berhenti", self.worker_id)
        return 0
