"""What every entry point (command line, daemon, web) shares: the loaded config, the open
database, the calendar and one connector instance per account.

Also the idempotent set-up behind ``aduan init``: numbered migrations recorded in the database,
accounts and divisions synchronised from config, and the first superuser.
"""
from __future__ import annotations

import logging
import logging.handlers
import secrets
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee
import requests
from werkzeug.security import generate_password_hash

from connectors.base import Connector, connector_class
from inbox import pii
from inbox.config import Config
from inbox.db import database, open_database
from inbox.ingest import IngestOptions
from inbox.models import (MODELS, Account, Attachment, BackupRun, Case, Division, Heartbeat,
                          LoginThrottle, Notification, NotificationPreference, Outbox, Recap,
                          SchemaMigration, SetAside, SurveyResponse, User, WebhookDelivery,
                          WebSession,
                          drop_search_index, pg_search_index_sql, sqlite_search_index_sql)
from inbox.sla import WorkCalendar, calendar_from_config

log = logging.getLogger(__name__)


def _migration_1(db: peewee.Database) -> None:
    db.create_tables(MODELS, safe=True)


def _migration_2(db: peewee.Database) -> None:
    # Migration 1 creates the indexes the models declare today; a database made before
    # case(status, due_at), case(status, closed_at) and case(escalated_at) were declared lacks them.
    Case._schema.create_indexes(safe=True)


def _migration_3(db: peewee.Database) -> None:
    """Trigram indexes for the inbox's free-text search (``inbox.web.queries.search_condition``).

    Where the database cannot have them (SQLite older than 3.34, PostgreSQL without the pg_trgm
    extension or the right to create it) search keeps working without them, only slower; the
    log says how to add them later."""
    if isinstance(db, peewee.PostgresqlDatabase):
        try:
            with db.atomic():  # a savepoint: a refused CREATE EXTENSION must not end the migration
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except peewee.DatabaseError as exc:
            log.warning("pg_trgm is not available (%s); text search works without its index but "
                        "reads every message. To add it, have the database owner run CREATE "
                        "EXTENSION pg_trgm and then: %s", str(exc).strip().splitlines()[0],
                        "; ".join(pg_search_index_sql()))
            return
        for statement in pg_search_index_sql():
            db.execute_sql(statement)
        return
    try:
        with db.atomic():
            drop_search_index(db)  # a schema dropped and made again leaves the FTS tables behind
            for statement in sqlite_search_index_sql():
                db.execute_sql(statement)
    except peewee.OperationalError as exc:  # no FTS5 or no trigram tokenizer (SQLite < 3.34)
        log.warning("SQLite %s has no FTS5 trigram tokenizer (%s); text search works without "
                    "its index but reads every message", sqlite3.sqlite_version, exc)


def _migration_4(db: peewee.Database) -> None:
    # Before the unique (kind, period, fmt) index, two processes making the same recap at the
    # same moment could both add a row; keep the newest of each and let the index forbid more.
    newest = (Recap.select(peewee.fn.MAX(Recap.id))
              .group_by(Recap.kind, Recap.period, Recap.fmt))
    Recap.delete().where(Recap.id.not_in(newest)).execute()
    Recap._schema.create_indexes(safe=True)


def _migration_5(db: peewee.Database) -> None:
    # Items set aside by the connectors and the attachments of messages (real platform payloads).
    db.create_tables([SetAside, Attachment], safe=True)


def _migration_6(db: peewee.Database) -> None:
    # Server-side web sessions (logout and password changes end them) and login throttles
    # (growing delays per address and per name instead of a lock-out an attacker controls).
    db.create_tables([WebSession, LoginThrottle], safe=True)


def _migration_7(db: peewee.Database) -> None:
    # Notifications (an outbox of their own) and each user's choice of channels and events.
    db.create_tables([NotificationPreference, Notification], safe=True)


def _migration_8(db: peewee.Database) -> None:
    """Satisfaction responses, and outbox rows that answer one message rather than a case (the
    citizen's status check, inbox.selfservice): the case becomes optional and the row carries
    its own address. Migration 1 makes today's tables, so each change is made only if missing."""
    from playhouse.migrate import SchemaMigrator, migrate as apply
    db.create_tables([SurveyResponse], safe=True)
    table = Outbox._meta.table_name
    columns = {c.name: c for c in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    steps = [migrator.add_column(table, name, peewee.CharField(max_length=length, null=True))
             for name, length in (("thread_id", 200), ("recipient_id", 120),
                                  ("in_reply_to", 200), ("reply_kind", 20))
             if name not in columns]
    if "account_id" not in columns:
        steps.append(migrator.add_column(table, "account_id", peewee.ForeignKeyField(
            Account, null=True, field=Account.id, on_delete="CASCADE")))
    if not columns["case_id"].null:
        steps.append(migrator.drop_not_null(table, "case_id"))
    apply(*steps)
    Outbox._schema.create_indexes(safe=True)


def _migration_9(db: peewee.Database) -> None:
    # The outcome of every backup run and the daemon's heartbeat (status, dashboard, /healthz).
    db.create_tables([BackupRun, Heartbeat], safe=True)


def _migration_10(db: peewee.Database) -> None:
    # Webhook deliveries (WhatsApp); numbers 6-9 belong to work merged separately.
    db.create_tables([WebhookDelivery], safe=True)


def _migration_11(db: peewee.Database) -> None:
    # The SQLite receiver's spool files become rows named after them (inbox.webhooks.spool).
    # Migration 10 makes the table from today's model, column included; older ones lack it.
    if "spool_name" not in {c.name for c in db.get_columns(WebhookDelivery._meta.table_name)}:
        from playhouse.migrate import SchemaMigrator, migrate as apply
        field = WebhookDelivery.spool_name
        apply(SchemaMigrator.from_database(db).add_column(
            WebhookDelivery._meta.table_name, "spool_name",
            peewee.CharField(max_length=field.max_length, null=True)))
    WebhookDelivery._schema.create_indexes(safe=True)


#: Numbered schema migrations. Append; never edit one that has shipped.
MIGRATIONS: list[tuple[int, str, Callable[[peewee.Database], None]]] = [
    (1, "initial schema", _migration_1),
    (2, "indexes for the overdue and dashboard queries", _migration_2),
    (3, "text search index", _migration_3),
    (4, "one recap row per file", _migration_4),
    (5, "set-aside items and attachments", _migration_5),
    (6, "web sessions and login throttles", _migration_6),
    (7, "notifications and notification preferences", _migration_7),
    (8, "satisfaction responses and status-check answers", _migration_8),
    (9, "backup runs and the daemon's heartbeat", _migration_9),
    (10, "webhook deliveries", _migration_10),
    (11, "webhook spool names", _migration_11),
]


class Runtime:
    """The loaded config with its database open and its connectors at hand."""

    def __init__(self, config: Config, session_factory: Callable[[], requests.Session] | None = None
                 ) -> None:
        self.config = config
        self.db = open_database(config.database["url"], config.base_dir)
        self.calendar: WorkCalendar = calendar_from_config(config)
        self.ingest_options = IngestOptions.from_config(config)
        self._session_factory = session_factory
        self._connectors: dict[str, Connector] = {}

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def connector(self, account_name: str) -> Connector:
        """The connector instance of a configured account (built once)."""
        if account_name not in self._connectors:
            acc = self.config.accounts[account_name]
            cls = connector_class(acc.kind)
            session = self._session_factory() if self._session_factory else None
            self._connectors[account_name] = cls(acc.name, acc.options, session=session,
                                                 data_dir=str(self.data_dir))
        return self._connectors[account_name]

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def migrate() -> list[str]:
    """Apply the migrations not yet recorded; return their names (empty when up to date)."""
    database.create_tables([SchemaMigration], safe=True)
    done = {m.number for m in SchemaMigration.select(SchemaMigration.number)}
    applied = []
    for number, name, apply in MIGRATIONS:
        if number in done:
            continue
        with database.atomic():
            apply(database.obj)
            SchemaMigration.insert(number=number, name=name).on_conflict_ignore().execute()
        applied.append(f"{number:03d} {name}")
    return applied


def needs_migration() -> bool:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return True
    done = {m.number for m in SchemaMigration.select(SchemaMigration.number)}
    return any(number not in done for number, _, _ in MIGRATIONS)


def sync_from_config(config: Config) -> None:
    """Make the Division and Account rows match config; removed ones are deactivated, not deleted
    (their cases stay readable)."""
    with database.atomic():
        codes = set()
        for div in config.divisions:
            codes.add(div["code"])
            Division.insert(code=div["code"], name=div["name"], active=True).on_conflict(
                conflict_target=[Division.code],
                update={Division.name: div["name"], Division.active: True}).execute()
        Division.update(active=False).where(Division.code.not_in(codes or {""})).execute()
        names = set()
        for acc in config.accounts.values():
            names.add(acc.name)
            Account.insert(name=acc.name, kind=acc.kind, label=acc.label, enabled=acc.enabled,
                           poll_interval=acc.poll_interval).on_conflict(
                conflict_target=[Account.name],
                update={Account.kind: acc.kind, Account.label: acc.label,
                        Account.enabled: acc.enabled, Account.poll_interval: acc.poll_interval},
            ).execute()
        Account.update(enabled=False).where(Account.name.not_in(names or {""})).execute()


def create_user(username: str, password: str, role: str, division: Division | None = None,
                is_superuser: bool = False, full_name: str = "") -> User:
    return User.create(username=username, password_hash=generate_password_hash(password),
                       role=role, division=division, is_superuser=is_superuser,
                       full_name=full_name)


def ensure_superuser() -> tuple[str, str] | None:
    """Create the first superuser when there is none; return (username, password) once."""
    if User.select().where(User.is_superuser == True).exists():  # noqa: E712
        return None
    username = "admin"
    if User.select().where(User.username == username).exists():
        username = f"admin{secrets.randbelow(900) + 100}"
    password = secrets.token_urlsafe(9)
    create_user(username, password, role="admin", is_superuser=True, full_name="Administrator")
    return username, password


def setup(config: Config) -> tuple[list[str], tuple[str, str] | None]:
    """``aduan init``: migrate, sync config, first superuser. Safe to run again."""
    applied = migrate()
    sync_from_config(config)
    return applied, ensure_superuser()


class _ConsoleHandler(logging.StreamHandler):
    """Log lines on whatever ``sys.stderr`` is when a line is written (a test's capture or the
    console), with personal data masked."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(pii.MaskingFilter())
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


class _FileHandler(logging.handlers.RotatingFileHandler):
    """``log_dir/aduan.log``, rotated at 5 MB (10 kept), with personal data masked."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(log_dir / "aduan.log", maxBytes=5 * 1024 * 1024, backupCount=10,
                         encoding="utf-8")
        self.addFilter(pii.MaskingFilter())
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def configure_logging(level: int = logging.INFO, log_dir: Path | None = None) -> None:
    """Log lines on stderr, and into ``log_dir/aduan.log`` when given, with personal data masked
    (a NIK must never reach a log file).

    Called once by ``main()`` before any command runs, so no command logs through Python's
    default handler, which prints messages and tracebacks as they are; ``run`` and ``worker``
    call it again with the log folder, because a service has no terminal. Calling it again
    replaces aduan's handlers; handlers someone else added (pytest's, a service wrapper's) are
    kept."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, (_ConsoleHandler, _FileHandler))]
    root.addHandler(_ConsoleHandler())
    if log_dir is not None:
        root.addHandler(_FileHandler(log_dir))
    root.setLevel(level)
    for noisy in ("urllib3", "matplotlib", "PIL", "fontTools", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
