"""``aduan restore FILE [--to URL] [--force]``: put a backup back.

The archive is checked first exactly as after writing (manifest, hash, integrity, counts). A
database that already holds rows is never overwritten without ``--force``. SQLite is restored
through the backup API into the target file (so a ``-wal`` file beside it cannot mix old pages
with new ones), PostgreSQL through ``pg_restore --clean`` in one transaction; then the row
counts are compared with the manifest, the attachments are put back under the data folder and
the pending migrations run, so a backup made by an older aduan opens in this one.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import peewee

from inbox.db import database, open_database, redact_url, resolve_sqlite_path
from inbox.records.backup import (BackupError, check_pg_dump, check_sqlite_copy, database_kind,
                                  libpq_target, opened_archive, run_pg_tool, sqlite_counts, sqlite_path,
                                  table_names, unpack_database)
from inbox.setup.config import Config


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    target: str
    tables: dict[str, int]
    attachments: int
    migrations: list[str] = field(default_factory=list)


def rows_in(db: peewee.Database) -> int:
    """How many rows the aduan tables of ``db`` hold (0 for a new or empty database)."""
    total = 0
    for name in table_names():
        if db.table_exists(name):
            total += db.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    return total


def restore_sqlite(copy: Path, target: Path) -> dict[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(copy), sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        return sqlite_counts(dst)
    finally:
        src.close()
        dst.close()


def postgres_counts(url: str) -> dict[str, int]:
    db = open_database(url)
    try:
        return {name: db.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in table_names() if db.table_exists(name)}
    finally:
        db.close()


def restore_postgres(dump: Path, url: str) -> dict[str, int]:
    dsn, env = libpq_target(url)
    run_pg_tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", f"--dbname={dsn}", str(dump)], env, url)
    return postgres_counts(url)


def safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or path.parts[:1] != ("attachments",):
        return None
    return path


def restore_attachments(archive: Path, data_dir: Path) -> int:
    """Put ``attachments/`` back under ``data_dir``; a member that would leave it is refused."""
    restored = 0
    with opened_archive(archive) as tar:
        for member in tar:
            if not member.name.startswith("attachments/"):
                continue
            relative = safe_member(member.name)
            if relative is None or not member.isfile():
                raise BackupError(f"cadangan memuat jalur lampiran yang tidak aman: {member.name!r}")
            target = data_dir.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with tar.extractfile(member) as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            partial.replace(target)
            restored += 1
    return restored


def restore_backup(config: Config, archive: Path, to: str | None = None,
                   force: bool = False) -> RestoreResult:
    """Restore ``archive`` into ``to`` (default: the configured database); raise BackupError
    with one sentence when the file is foreign or damaged, or the target holds data."""
    from inbox.setup.migrations import migrate
    url = resolve_sqlite_path(to or config.database["url"], config.base_dir)
    with tempfile.TemporaryDirectory(prefix="aduan-restore-") as tmp:
        manifest, db_file, _ = unpack_database(archive, Path(tmp))
        kind = manifest["database"]["kind"]
        if database_kind(url) != kind:
            raise BackupError(f"cadangan ini berisi database {kind}; tujuan {redact_url(url)} "
                              f"bukan {kind} (pakai --to dengan URL {kind})")
        if manifest.get("office") != config.office["name"] and not force:
            raise BackupError(f"cadangan ini milik kantor lain ({manifest.get('office')!r}); "
                              "tambahkan --force bila memang ingin memulihkannya di sini")
        if kind == "sqlite":
            check_sqlite_copy(db_file, manifest)
        else:
            check_pg_dump(db_file, manifest)
        target_db = open_database(url)
        try:
            existing = rows_in(target_db)
        finally:
            target_db.close()
        if existing and not force:
            raise BackupError(f"database tujuan {redact_url(url)} sudah berisi {existing} baris; "
                              "tambahkan --force untuk menimpanya dengan isi cadangan")
        tables = (restore_sqlite(db_file, sqlite_path(url, config)) if kind == "sqlite"
                  else restore_postgres(db_file, url))
    if tables != manifest["tables"]:
        raise BackupError("jumlah baris setelah pemulihan tidak sama dengan manifest; "
                          "database tujuan perlu diperiksa")
    attachments = restore_attachments(archive, config.data_dir)
    open_database(url)
    try:
        migrations = migrate()
    finally:
        database.close()
    return RestoreResult(manifest, redact_url(url), tables, attachments, migrations)

