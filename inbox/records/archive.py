"""The backup archive's format, read and checked: what ``aduan backup`` verifies after writing
and what ``aduan restore`` checks before it writes anything.

An archive holds ``manifest.json`` first, then the database file (``database.sqlite`` or
``database.pgdump``), then the files of ``DATA_FOLDERS`` under their folder names. Anything else
is refused: an absolute path or ``..``, a backslash or a drive letter, a symbolic or hard link,
a folder or device entry, a member that appears twice, a name outside those folders. The
manifest is checked for its shape too, so a hand-edited one gives a sentence, not a traceback.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from inbox.db import redact_url
from inbox.models import MODELS, SchemaMigration
from inbox.text import one_line

FORMAT = "aduan-backup"
VERSION = 1
DB_MEMBER = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
#: The folders of the data folder a backup carries beside the database: the files its rows name
#: (attachments, and the recap files the *Rekap* page lists). A manifest written before recaps
#: were carried has no ``recaps``.
DATA_FOLDERS = ("attachments", "recaps")
PG_DUMP_MISSING = ("pg_dump tidak ditemukan; pasang paket postgresql-client (Debian/Ubuntu: "
                   "sudo apt-get install postgresql-client; Windows: PostgreSQL dari "
                   "postgresql.org dengan 'Command Line Tools') lalu ulangi")
UNSAFE_PART = re.compile(r"[\\:\x00-\x1f\x7f]")


class BackupError(Exception):
    """A backup or restore cannot go on; the message is one sentence for the officer."""


def table_names() -> list[str]:
    return [m._meta.table_name for m in [*MODELS, SchemaMigration]]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in table_names() if name in present}


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


# --- the manifest ----------------------------------------------------------------------------

def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_manifest(manifest: dict[str, Any]) -> None:
    """Refuse, in one sentence, a manifest whose parts are missing or of the wrong kind."""
    db = manifest.get("database")
    if not isinstance(db, dict) or db.get("kind") not in DB_MEMBER \
            or db.get("file") != DB_MEMBER[db["kind"]] or not isinstance(db.get("sha256"), str):
        raise BackupError("manifest cadangan tidak menyebut database yang dikenal")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables \
            or not all(isinstance(k, str) and _count(v) for k, v in tables.items()):
        raise BackupError("manifest cadangan rusak: jumlah baris per tabel ('tables') tidak ada "
                          "atau tidak terbaca")
    for folder in DATA_FOLDERS:
        part = manifest.get(folder, {} if folder != "attachments" else None)
        if not isinstance(part, dict) or not all(_count(part.get(k, 0)) for k in ("files", "bytes")) \
                or (folder == "attachments" and "files" not in part):
            raise BackupError(f"manifest cadangan rusak: jumlah berkas '{folder}' tidak terbaca")
    for key in ("office", "created_local"):
        if not isinstance(manifest.get(key), str):
            raise BackupError(f"manifest cadangan rusak: '{key}' tidak ada atau bukan teks")


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
        raise BackupError(f"cadangan versi {one_line(str(manifest.get('version')))[:20]} tidak "
                          "dikenal oleh aduan ini")
    check_manifest(manifest)
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


def peek_manifest(path: Path) -> dict[str, Any]:
    """The checked manifest alone (the archive's first member: cheap to read)."""
    with opened_archive(path) as tar:
        return read_manifest(tar)


# --- the members -----------------------------------------------------------------------------

def _shown(name: str) -> str:
    return repr(one_line(name)[:120])


def data_member(member: tarfile.TarInfo) -> tuple[str, PurePosixPath]:
    """The folder and the safe relative path of a data file member; BackupError otherwise."""
    name = member.name
    path = PurePosixPath(name)
    if path.parts[:1] and path.parts[0] not in DATA_FOLDERS:
        raise BackupError(f"cadangan memuat berkas yang tidak dikenal: {_shown(name)}")
    if (path.is_absolute() or len(path.parts) < 2 or ".." in path.parts or "//" in name
            or any(UNSAFE_PART.search(part) for part in path.parts)):
        raise BackupError(f"cadangan memuat jalur yang tidak aman: {_shown(name)}")
    if not member.isfile():
        what = ("tautan simbolik" if member.issym() else "tautan keras" if member.islnk()
                else "folder" if member.isdir() else "berkas khusus")
        raise BackupError(f"cadangan memuat {what} {_shown(name)}; hanya berkas biasa yang diterima")
    return path.parts[0], path


@dataclass
class Unpacked:
    """An archive read through once and checked: its manifest, its database file, how many
    files of each data folder it holds, and where they were staged (if asked)."""

    manifest: dict[str, Any]
    database: Path
    files: dict[str, int] = field(default_factory=dict)
    staged: Path | None = None


def unpack(path: Path, workdir: Path, stage: Path | None = None) -> Unpacked:
    """Read ``path`` once, checking every member (see the module docstring): the database goes
    to ``workdir`` and is hash-checked; with ``stage`` the data files go under it (folder by
    folder), else they are only counted. Raises BackupError for a foreign, damaged or unsafe
    archive; what was written into ``workdir`` and ``stage`` is the caller's to remove."""
    with opened_archive(path) as tar:
        manifest = read_manifest(tar)
        db = manifest["database"]
        target = workdir / db["file"]
        files = dict.fromkeys(DATA_FOLDERS, 0)
        seen: set[str] = set()
        for index, member in enumerate(tar):
            if index == 0:
                continue  # manifest.json, read above (iterating starts again at the first member)
            if member.name in seen:
                raise BackupError(f"cadangan memuat {_shown(member.name)} dua kali")
            seen.add(member.name)
            if member.name == db["file"]:
                if not member.isfile():
                    raise BackupError("berkas database di dalam cadangan bukan berkas biasa")
                _extract(tar, member, target)
                continue
            folder, relative = data_member(member)
            files[folder] += 1
            if stage is not None:
                _extract(tar, member, stage.joinpath(*relative.parts))
    if not target.exists():
        raise BackupError("cadangan tidak memuat berkas database")
    if sha256_file(target) != db["sha256"]:
        raise BackupError("database di dalam cadangan tidak sama dengan yang dicatat manifest (rusak)")
    for folder, count in files.items():
        if count != manifest.get(folder, {}).get("files", 0):
            label = "lampiran" if folder == "attachments" else "berkas rekap"
            raise BackupError(f"jumlah {label} di dalam cadangan tidak sama dengan manifest")
    return Unpacked(manifest, target, files, stage)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"cadangan memuat {_shown(member.name)} yang tidak terbaca")
    with source, open(target, "wb") as dst:
        shutil.copyfileobj(source, dst, 1 << 20)


# --- the database inside ---------------------------------------------------------------------

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


def check_database(unpacked: Unpacked) -> None:
    if unpacked.manifest["database"]["kind"] == "sqlite":
        check_sqlite_copy(unpacked.database, unpacked.manifest)
    else:
        check_pg_dump(unpacked.database, unpacked.manifest)


def verify_archive(path: Path, workdir: Path | None = None) -> dict[str, Any]:
    """Check ``path`` end to end; return its manifest or raise BackupError saying why not."""
    with tempfile.TemporaryDirectory(prefix=".aduan-check-", dir=workdir or path.parent) as tmp:
        unpacked = unpack(path, Path(tmp))
        check_database(unpacked)
    return unpacked.manifest
