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

#: ``cache_size`` is per connection, in KiB: 8 MB. Every web request opens its thread's
#: connection and closes it at the end, so its page cache lives for one request; at 32 MB one
#: inbox request on a year of data filled 30 MB of it, freed into that thread's malloc arena, and
#: eight web threads kept up to 8 x 32 MB (issue 29, bench/RESULTS.md). Pages beyond it are read
#: again from the operating system's file cache, not from the disk.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -8000,
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


def url_problem(url: str) -> str | None:
    """Why ``url`` names no lasting database, in one sentence naming the key; else None.

    An empty or in-memory SQLite path would run, migrate and hand out a superuser password,
    and lose everything at exit. ``sqlite://data/aduan.db`` (two slashes) is read as the host
    ``data`` and the file ``aduan.db``: the path loses its first part."""
    if not url.startswith("sqlite:"):
        return None
    if not url.startswith("sqlite:///"):
        rest = url[len("sqlite:"):].lstrip("/")
        if rest in ("", ":memory:"):
            return MEMORY_PROBLEM.format(url=url)
        return (f"database.url: {url!r} perlu tiga garis miring sesudah 'sqlite:' "
                f"(sqlite:///{rest}, relatif terhadap folder config.toml; jalur lengkap: "
                "sqlite:////opt/aduan/data/aduan.db atau sqlite:///C:/aduan/data/aduan.db), "
                "sebab dengan dua garis miring bagian pertama jalurnya hilang")
    if url[len("sqlite:///"):].strip() in ("", ":memory:"):
        return MEMORY_PROBLEM.format(url=url)
    return None


MEMORY_PROBLEM = ("database.url: {url!r} adalah database di memori yang hilang seluruhnya saat aduan "
                  "berhenti; tulis jalur berkasnya, misalnya sqlite:///data/aduan.db")


def sqlite_file(url: str, base_dir: Path | None = None) -> Path | None:
    """The database file a SQLite ``url`` names (absolute once ``base_dir`` is given); None for
    another kind of database or a URL :func:`url_problem` refuses."""
    if base_dir is not None:
        url = resolve_sqlite_path(url, base_dir)
    if url_problem(url) is not None or not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///"):])


def sqlite_path_problem(url: str, base_dir: Path | None = None) -> str | None:
    """Why the SQLite file of ``url`` cannot be used, in one sentence naming the key; else None.

    The URL must name a file (:func:`url_problem`). Its folder must exist and be writable, or
    be creatable (its nearest existing parent writable: ``data/`` is made by ``aduan init``);
    an existing file must be writable."""
    if base_dir is not None:
        url = resolve_sqlite_path(url, base_dir)
    problem = url_problem(url)
    if problem or not url.startswith("sqlite:///"):
        return problem
    file = Path(url[len("sqlite:///"):])
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


def create_sqlite_file(file: Path) -> None:
    """Make a new, empty database file readable by its owner only (0600), and each missing folder
    above it 0700: the file holds citizens' NIKs. SQLite gives its ``-wal`` and ``-shm`` files
    the same mode as the database file."""
    missing = []
    folder = file.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=0o700)
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise DatabaseError(f"database.url: {file} cannot be created ({exc.strerror}); change "
                            "the path of the database file") from None


def open_database(url: str, base_dir: Path | None = None, create: bool = True) -> peewee.Database:
    """Connect the proxy to ``url`` and return the real database object.

    With ``create`` false a SQLite file that does not exist yet is refused rather than made
    (only ``aduan init`` and the first ``aduan run`` make one: a typo in the path must not
    silently start an empty database). Raises DatabaseError with one sentence when the URL is
    unusable."""
    if base_dir is not None:
        url = resolve_sqlite_path(url, base_dir)
    if url.startswith("sqlite:"):
        problem = sqlite_path_problem(url)
        if problem:
            raise DatabaseError(problem)
        file = Path(url[len("sqlite:///"):])
        if not file.exists():
            if not create:
                raise DatabaseError(
                    f"database.url: {file} belum ada; jalankan `aduan init` untuk membuat database "
                    "baru, atau perbaiki database.url bila database kantor ada di tempat lain")
            create_sqlite_file(file)
        db = peewee.SqliteDatabase(str(file), pragmas=SQLITE_PRAGMAS, timeout=10)
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
