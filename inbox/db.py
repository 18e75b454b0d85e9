"""One database for the daemon and the web: a peewee ``DatabaseProxy`` set from the config URL.

SQLite is the default (one file under ``data/``); it runs in WAL mode with foreign keys and a
busy timeout because the daemon and the web write to the same file. PostgreSQL is chosen by a
``postgresql://`` URL (the ``postgres`` extra installs the driver).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import peewee
from playhouse.db_url import connect

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -32000,
}


class DatabaseError(Exception):
    """The database named in config cannot be opened; the message says what to fix."""


def resolve_sqlite_path(url: str, base_dir: Path) -> str:
    """Make a relative ``sqlite:///data/aduan.db`` relative to the config file's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path = url[len(prefix):]
    if path in ("", ":memory:") or os.path.isabs(path):
        return url
    return prefix + str((base_dir / path).resolve())


def sqlite_path_problem(url: str, base_dir: Path | None = None) -> str | None:
    """Why the SQLite file of ``url`` cannot be used, in one sentence naming the key; else None.

    Its folder must exist and be writable, or be creatable (its nearest existing parent
    writable: ``data/`` is made on the first run); an existing file must be writable."""
    if base_dir is not None:
        url = resolve_sqlite_path(url, base_dir)
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):]
    if path in ("", ":memory:"):
        return None
    file = Path(path)
    if file.exists():
        if file.is_dir():
            return f"database.url: {file} is a folder, not a database file"
        try:
            open(file, "r+b").close()  # what access() would say, also for root and odd mounts
        except OSError as exc:
            return (f"database.url: {file} cannot be written ({exc.strerror}); give this user "
                    f"write access or change the path")
        return None
    folder = file.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"database.url: {existing} is not a folder; change the path of the database file"
    try:
        # A real file, not os.access(): root passes access() even where nothing can be made
        # (/proc), and a read-only mount or a full disk says no only when one tries.
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as exc:
        made = "" if existing == folder else f" (needed to create {folder})"
        return (f"database.url: folder {existing} cannot be written{made} ({exc.strerror}); "
                f"give this user write access or change the path of the database file")
    return None


def open_database(url: str, base_dir: Path | None = None) -> peewee.Database:
    """Connect the proxy to ``url`` and return the real database object.

    Raises DatabaseError with one sentence when the URL is unusable."""
    if base_dir is not None:
        url = resolve_sqlite_path(url, base_dir)
    if url.startswith("sqlite:"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            problem = sqlite_path_problem(url)
            if problem:
                raise DatabaseError(problem)
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"database.url: folder {Path(path).parent} cannot be created "
                                    f"({exc.strerror}); change the path of the database file") from None
        db = peewee.SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS, timeout=10)
    elif url.startswith(("postgres://", "postgresql://")):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise DatabaseError(
                "database.url: PostgreSQL perlu driver-nya; pasang dengan "
                "pip install -e \".[postgres]\"") from None
        try:
            db = connect(url.replace("postgres://", "postgresql://", 1))
        except Exception as exc:  # playhouse raises plain errors for bad URLs
            raise DatabaseError(f"database.url: {redact_url(url)} tidak dapat dipakai: {exc}") from None
    else:
        raise DatabaseError(
            f"database.url: {redact_url(url)} tidak didukung; gunakan sqlite:///PATH atau postgresql://")
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def atomic_write() -> peewee._atomic:
    """A write transaction that takes SQLite's write lock at its start.

    A deferred SQLite transaction that reads and then writes can fail with "database is
    locked" when another process wrote in between; IMMEDIATE waits for the lock up front."""
    if isinstance(database.obj, peewee.SqliteDatabase) and not database.in_transaction():
        return database.atomic("IMMEDIATE")
    return database.atomic()


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
