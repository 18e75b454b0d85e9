"""``aduan backup``: one compressed, self-checking archive of the database and the attachments.

A consistent copy is taken while the daemon and the web keep writing: on SQLite through the
online backup API in one step (a read snapshot; in WAL mode writers are not blocked), on
PostgreSQL through ``pg_dump`` on a snapshot exported from a REPEATABLE READ transaction, in
which the row counts of the manifest are read too, so counts and dump describe the same moment.

The archive (``aduan-<office>-YYYYMMDD-HHMMSS-WIB.tar.gz``, its format in
``inbox.records.archive``) holds ``manifest.json`` first, then the database file, then
``attachments/`` and ``recaps/`` (the recap files the *Rekap* page lists). It is written under a
hidden ``.partial`` name and renamed only after :func:`verify_archive` has read it back,
restored the database into a temporary copy and checked it (``PRAGMA integrity_check`` and the
row counts), so a backup that is killed half-way never carries a name that counts as a backup.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from inbox.db import resolve_sqlite_path
from inbox.models import utcnow
from inbox.records.archive import (DATA_FOLDERS, DB_MEMBER, FORMAT, PG_DUMP_MISSING, VERSION,
                                   BackupError, GzipMembers, libpq_target, run_pg_tool,
                                   sha256_file, sqlite_counts, table_names, verify_archive)
from inbox.setup.config import Config

__all__ = ["BackupError", "BackupResult", "create_backup", "verify_archive", "table_names",
           "libpq_target", "lower_priority", "office_slug", "backup_folder", "NAME_RE"]

NAME_RE = re.compile(r"^aduan-(?P<office>[a-z0-9-]+)-(?P<stamp>\d{8}-\d{6})-[A-Za-z+0-9]+\.tar\.gz$")


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: dict[str, Any]
    seconds: float
    removed: list[Path] = field(default_factory=list)  # what rotation deleted afterwards


#: The nice value a backup runs at: the web and the polls go first on a busy office PC.
BACKUP_NICE = 10


def lower_priority() -> int | None:
    """Run the calling thread (and the ``pg_dump`` it starts, which inherits it) at
    ``BACKUP_NICE``; on Linux the nice value is per thread, so the daemon's other threads keep
    theirs. Returns the nice value set, or None where the system has no such call (Windows)."""
    if not hasattr(os, "setpriority"):
        return None
    try:
        nice = max(os.getpriority(os.PRIO_PROCESS, 0), BACKUP_NICE)
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except OSError:
        return None
    return nice


def office_slug(config: Config) -> str:
    name = config.office.get("short_name") or config.office["name"]
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "kantor"


def database_kind(url: str) -> str:
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def sqlite_path(url: str, config: Config) -> Path:
    resolved = resolve_sqlite_path(url, config.base_dir)
    path = resolved[len("sqlite:///"):]
    if not path or path == ":memory:":
        raise BackupError("database.url: database di memori tidak bisa dicadangkan")
    return Path(path)


def backup_folder(config: Config, out: str | None = None) -> Path:
    return (config.base_dir / out).resolve() if out else config.backup_dir


# --- taking the copy ------------------------------------------------------------------------

def snapshot_sqlite(source: Path, target: Path) -> tuple[dict[str, int], str]:
    """Copy the live database into ``target`` in one backup step; return its row counts and
    its sha256 (hashed in a second thread while the rows are counted)."""
    if not source.exists():
        raise BackupError(f"{source}: berkas database tidak ada; jalankan aduan init dulu")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)  # pages=-1: the whole file from one read snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        with ThreadPoolExecutor(1, "aduan-sha256") as pool:
            digest = pool.submit(sha256_file, target)
            return sqlite_counts(dst), digest.result()
    finally:
        src.close()
        dst.close()


def snapshot_postgres(url: str, target: Path) -> dict[str, int]:
    """pg_dump of one exported snapshot, and the row counts read in that same snapshot."""
    import psycopg2
    if shutil.which("pg_dump") is None:
        raise BackupError(PG_DUMP_MISSING)
    dsn, env = libpq_target(url)
    conn = psycopg2.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            counts = {}
            for name in table_names():
                cur.execute("SELECT to_regclass(%s)", [f'"{name}"'])
                if cur.fetchone()[0] is not None:
                    cur.execute(f'SELECT count(*) FROM "{name}"')
                    counts[name] = cur.fetchone()[0]
            # The snapshot lives as long as this transaction: pg_dump must run inside it.
            run_pg_tool(["pg_dump", "--format=custom", "--compress=0", "--no-owner",
                         f"--snapshot={snapshot}", f"--file={target}", f"--dbname={dsn}"], env, url)
        conn.rollback()
    finally:
        conn.close()
    return counts


# --- writing and checking the archive ------------------------------------------------------

def archive_name(config: Config, now: datetime) -> str:
    local = now.astimezone(config.tz)
    zone = re.sub(r"[^A-Za-z0-9+]", "", local.tzname() or "UTC") or "UTC"
    return f"aduan-{office_slug(config)}-{local:%Y%m%d-%H%M%S}-{zone}.tar.gz"


def data_files(data_dir: Path, folder: str) -> Iterator[Path]:
    """The finished files under ``data_dir/folder`` (a ``.part`` download or a hidden recap
    being written is not one)."""
    root = data_dir / folder
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part") and not path.name.startswith("."):
                yield path


def private(path: str, flags: int) -> int:
    """An ``open`` opener that makes a new file readable by its owner only."""
    return os.open(path, flags, 0o600)


def write_archive(partial: Path, manifest: dict[str, Any], db_file: Path, data_dir: Path,
                  files: dict[str, list[Path]]) -> None:
    """The archive of ``manifest``, ``db_file`` and ``files`` (the same list the manifest
    counted: a photo downloaded meanwhile waits for the next backup)."""
    # 0600: a backup holds every citizen's messages and NIKs (a share's own rules may add to it).
    # Compressed at level 1 by a few threads (GzipMembers): level 6 in one thread took most of
    # a year's backup (~4x the time) for an archive 15% smaller.
    with open(partial, "wb", opener=private) as raw:
        gz = GzipMembers(raw)
        try:
            with tarfile.open(fileobj=gz, mode="w", copybufsize=1 << 20) as tar:
                _add_members(tar, manifest, db_file, data_dir, files)
            gz.close()
        finally:
            gz.discard()
        raw.flush()
        os.fsync(raw.fileno())  # the rename below must not name bytes still in the page cache


def _add_members(tar: tarfile.TarFile, manifest: dict[str, Any], db_file: Path, data_dir: Path,
                 files: dict[str, list[Path]]) -> None:
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    info = tarfile.TarInfo("manifest.json")
    info.size, info.mtime = len(body), int(time.time())
    tar.addfile(info, io.BytesIO(body))
    tar.add(db_file, arcname=manifest["database"]["file"], recursive=False)
    for paths in files.values():
        for path in paths:
            tar.add(path, arcname=path.relative_to(data_dir).as_posix(), recursive=False)


def create_backup(config: Config, out: str | None = None, now: datetime | None = None
                  ) -> BackupResult:
    """Write, check and name one backup; raise BackupError with a sentence when it cannot."""
    started = time.monotonic()
    now = now or utcnow()
    url = resolve_sqlite_path(config.database["url"], config.base_dir)
    kind = database_kind(url)
    folder = backup_folder(config, out)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"{folder}: folder cadangan tidak bisa dibuat ({exc.strerror})") from None
    name = archive_name(config, now)
    final, partial = folder / name, folder / f".{name}.partial"
    with tempfile.TemporaryDirectory(prefix=".aduan-backup-", dir=folder) as tmp:
        db_file = Path(tmp) / DB_MEMBER[kind]
        if kind == "sqlite":
            counts, digest = snapshot_sqlite(sqlite_path(url, config), db_file)
        else:
            counts = snapshot_postgres(url, db_file)
            digest = sha256_file(db_file)
        files = {folder: list(data_files(config.data_dir, folder)) for folder in DATA_FOLDERS}
        manifest = {
            "format": FORMAT, "version": VERSION, "office": config.office["name"],
            "created_at": now.isoformat(), "created_local": now.astimezone(config.tz).isoformat(),
            "database": {"kind": kind, "file": DB_MEMBER[kind], "sha256": digest,
                         "size": db_file.stat().st_size},
            "tables": counts,
            **{folder: {"files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}
               for folder, paths in files.items()},
        }
        try:
            write_archive(partial, manifest, db_file, config.data_dir, files)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BackupError(f"{folder}: cadangan tidak bisa ditulis ({exc.strerror})") from None
        try:
            # Read back and hashed; the copy it was made from checked meanwhile (verify_archive).
            verify_archive(partial, database=db_file)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, final)
    return BackupResult(final, final.stat().st_size, manifest, time.monotonic() - started)
