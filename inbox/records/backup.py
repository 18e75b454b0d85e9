"""``aduan backup``: one compressed, self-checking archive of the database and the attachments.

A consistent copy is taken while the daemon and the web keep writing: on SQLite through the
online backup API in one step (a read snapshot; in WAL mode writers are not blocked), on
PostgreSQL through ``pg_dump`` on a snapshot exported from a REPEATABLE READ transaction, in
which the row counts of the manifest are read too, so counts and dump describe the same moment.

The archive (``aduan-<office>-YYYYMMDD-HHMMSS-WIB.tar.gz``) holds ``manifest.json`` first, then
the database file, then ``attachments/``. It is written under a hidden ``.partial`` name and
renamed only after :func:`verify_archive` has read it back, restored the database into a
temporary copy and checked it (``PRAGMA integrity_check`` and the row counts), so a backup that
is killed half-way never carries a name that counts as a backup.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

from inbox.db import redact_url, resolve_sqlite_path
from inbox.models import MODELS, SchemaMigration, utcnow
from inbox.setup.config import Config

FORMAT = "aduan-backup"
VERSION = 1
DB_MEMBER = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
NAME_RE = re.compile(r"^aduan-(?P<office>[a-z0-9-]+)-(?P<stamp>\d{8}-\d{6})-[A-Za-z+0-9]+\.tar\.gz$")
PG_DUMP_MISSING = ("pg_dump tidak ditemukan; pasang paket postgresql-client (Debian/Ubuntu: "
                   "sudo apt-get install postgresql-client; Windows: PostgreSQL dari "
                   "postgresql.org dengan 'Command Line Tools') lalu ulangi")


class BackupError(Exception):
    """A backup or restore cannot go on; the message is one sentence for the officer."""


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


def table_names() -> list[str]:
    return [m._meta.table_name for m in [*MODELS, SchemaMigration]]


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
    folder = out or config.backup["folder"]
    return (config.base_dir / folder).resolve() if folder else config.data_dir / "backups"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- taking the copy ------------------------------------------------------------------------

def sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in table_names() if name in present}


def snapshot_sqlite(source: Path, target: Path) -> dict[str, int]:
    """Copy the live database into ``target`` in one backup step; return its row counts."""
    if not source.exists():
        raise BackupError(f"{source}: berkas database tidak ada; jalankan aduan init dulu")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)  # pages=-1: the whole file from one read snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        return sqlite_counts(dst)
    finally:
        src.close()
        dst.close()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password (which goes in PGPASSWORD, never on a command line)."""
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts), env


def run_pg_tool(argv: list[str], env: dict[str, str], url: str) -> subprocess.CompletedProcess:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(PG_DUMP_MISSING)
    done = subprocess.run([tool, *argv[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["tanpa keterangan"])[0]
        raise BackupError(f"{argv[0]} gagal untuk {redact_url(url)}: {first.replace(url, redact_url(url))}")
    return done


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


def attachment_files(data_dir: Path) -> Iterator[Path]:
    root = data_dir / "attachments"
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path


def write_archive(partial: Path, manifest: dict[str, Any], db_file: Path, data_dir: Path) -> None:
    with open(partial, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
        body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(body), int(time.time())
        tar.addfile(info, io.BytesIO(body))
        tar.add(db_file, arcname=manifest["database"]["file"], recursive=False)
        for path in attachment_files(data_dir):
            tar.add(path, arcname=path.relative_to(data_dir).as_posix(), recursive=False)
        tar.close()
        raw.flush()
        os.fsync(raw.fileno())  # the rename below must not name bytes still in the page cache


def create_backup(config: Config, out: str | None = None, now: datetime | None = None
                  ) -> BackupResult:
    """Write, check and name one backup; raise BackupError with a sentence when it cannot."""
    started = time.monotonic()
    now = now or utcnow()
    url = resolve_sqlite_path(config.database["url"], config.base_dir)
    kind = database_kind(url)
    folder = backup_folder(config, out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"{folder}: folder cadangan tidak bisa dibuat ({exc.strerror})") from None
    name = archive_name(config, now)
    final, partial = folder / name, folder / f".{name}.partial"
    with tempfile.TemporaryDirectory(prefix=".aduan-backup-", dir=folder) as tmp:
        db_file = Path(tmp) / DB_MEMBER[kind]
        counts = (snapshot_sqlite(sqlite_path(url, config), db_file) if kind == "sqlite"
                  else snapshot_postgres(url, db_file))
        files = list(attachment_files(config.data_dir))
        manifest = {
            "format": FORMAT, "version": VERSION, "office": config.office["name"],
            "created_at": now.isoformat(), "created_local": now.astimezone(config.tz).isoformat(),
            "database": {"kind": kind, "file": DB_MEMBER[kind], "sha256": sha256_file(db_file),
                         "size": db_file.stat().st_size},
            "tables": counts,
            "attachments": {"files": len(files), "bytes": sum(p.stat().st_size for p in files)},
        }
        try:
            write_archive(partial, manifest, db_file, config.data_dir)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BackupError(f"{folder}: cadangan tidak bisa ditulis ({exc.strerror})") from None
    try:
        verify_archive(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    return BackupResult(final, final.stat().st_size, manifest, time.monotonic() - started)


def check_sqlite_copy(path: Path, manifest: dict[str, Any]) -> None:
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise BackupError(f"database di dalam cadangan rusak (integrity_check: {result[0][0]})")
        counts = sqlite_counts(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"database di dalam cadangan tidak terbaca ({exc})") from None
    finally:
        conn.close()
    if counts != manifest["tables"]:
        raise BackupError("jumlah baris database di dalam cadangan tidak sama dengan manifest")


def check_pg_dump(path: Path, manifest: dict[str, Any]) -> None:
    done = run_pg_tool(["pg_restore", "--list", str(path)], dict(os.environ), "pg_restore")
    listed = set(re.findall(r'TABLE DATA \S+ "?([a-z_]+)"? ', done.stdout))
    missing = [t for t in manifest["tables"] if t not in listed]
    if missing:
        raise BackupError(f"dump PostgreSQL di dalam cadangan tidak memuat tabel {', '.join(missing)}")


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != "manifest.json" or not first.isfile():
        raise BackupError("bukan berkas cadangan aduan (manifest.json tidak ada di awal berkas)")
    try:
        manifest = json.loads(tar.extractfile(first).read())
    except ValueError:
        raise BackupError("manifest.json di dalam cadangan rusak") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("bukan berkas cadangan aduan (format manifest tidak dikenal)")
    if manifest.get("version") != VERSION:
        raise BackupError(f"cadangan versi {manifest.get('version')} tidak dikenal oleh aduan ini")
    return manifest


@contextmanager
def opened_archive(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise BackupError(f"{path}: berkas tidak ditemukan")
    try:
        with tarfile.open(path, "r:gz") as tar:
            yield tar
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise BackupError(f"{path.name}: bukan cadangan aduan atau berkasnya rusak/terpotong "
                          f"({type(exc).__name__})") from None


def unpack_database(path: Path, workdir: Path) -> tuple[dict[str, Any], Path, int]:
    """Read the archive through once: the manifest, the database (into ``workdir``, hash
    checked) and the number of attachment files. Raises BackupError for a foreign or damaged file."""
    with opened_archive(path) as tar:
        manifest = read_manifest(tar)
        db = manifest.get("database") or {}
        if db.get("kind") not in DB_MEMBER or db.get("file") != DB_MEMBER[db.get("kind")]:
            raise BackupError("manifest cadangan tidak menyebut database yang dikenal")
        target, files = workdir / db["file"], 0
        for member in tar:
            if member.name == db["file"] and member.isfile():
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            elif member.isfile() and member.name.startswith("attachments/"):
                files += 1
    if not target.exists():
        raise BackupError("cadangan tidak memuat berkas database")
    if sha256_file(target) != db.get("sha256"):
        raise BackupError("database di dalam cadangan tidak sama dengan yang dicatat manifest (rusak)")
    if files != (manifest.get("attachments") or {}).get("files", 0):
        raise BackupError("jumlah lampiran di dalam cadangan tidak sama dengan manifest")
    return manifest, target, files


def verify_archive(path: Path, workdir: Path | None = None) -> dict[str, Any]:
    """Check ``path`` end to end; return its manifest or raise BackupError saying why not."""
    with tempfile.TemporaryDirectory(prefix=".aduan-check-", dir=workdir or path.parent) as tmp:
        manifest, db_file, _ = unpack_database(path, Path(tmp))
        if manifest["database"]["kind"] == "sqlite":
            check_sqlite_copy(db_file, manifest)
        else:
            check_pg_dump(db_file, manifest)
    return manifest
