"""The backup archive's format, read and checked: what ``aduan backup`` verifies after writing
and what ``aduan restore`` checks before it writes anything.

An archive holds ``manifest.json`` first, then the database file (``database.sqlite`` or
``database.pgdump``), then the files of ``DATA_FOLDERS`` under their folder names. Anything else
is refused: an absolute path or ``..``, a backslash or a drive letter, a symbolic or hard link,
a folder or device entry, a member that appears twice, a name outside those folders. The
manifest is checked for its shape too, so a hand-edited one gives a sentence, not a traceback.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
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


try:  # Intel's ISA-L deflate: the same gzip format, four to five times zlib's speed at level 1
    from isal import isal_zlib as deflate
except ImportError:  # pragma: no cover - a platform without its wheel: the standard zlib
    deflate = zlib  # type: ignore[misc]

#: Deflate level of the archive: level 1 makes a year's 1.66 GB SQLite file 482 MB where zlib's
#: level 6 made 408 MB, at three to four times the speed; ISA-L's level 1 compresses as much as
#: zlib's at 600 MB/s on one core where zlib does 128 MB/s (bench/RESULTS.md).
COMPRESS_LEVEL = 1
#: Bytes of the tar stream compressed as one gzip member.
BLOCK = 4 << 20


def compress_workers() -> int:
    """Threads compressing at once: zlib lets go of the GIL, so two cores halve the time."""
    return max(1, min(4, os.cpu_count() or 1))


#: The gzip header of each member GzipMembers writes: magic, deflate, FEXTRA set, no time, no
#: OS, and one extra subfield ``AD`` of 4 bytes holding the member's whole size (as BGZF does),
#: so that a reader can find the next member without inflating this one (GzipBlocks).
MEMBER_HEAD = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + b"\x08\x00" + b"AD\x04\x00"


class GzipMembers:
    """A write-only file that gzips what is written to ``raw`` as a series of gzip members of
    ``BLOCK`` bytes each, compressed by a few threads at once and written in order (what
    ``pigz`` does). Concatenated members are one valid gzip file (RFC 1952): ``gzip -d``,
    ``tarfile.open(..., "r:gz")`` and older aduan read it as any other. At most two blocks a
    thread are held in memory."""

    def __init__(self, raw: Any, level: int = COMPRESS_LEVEL, workers: int | None = None) -> None:
        self.raw, self.level = raw, level
        workers = compress_workers() if workers is None else workers
        self.pool = ThreadPoolExecutor(workers, "aduan-gzip") if workers > 1 else None
        self.limit = 2 * workers
        self.pending: deque[Future[bytes]] = deque()
        self.buffer = bytearray()
        self.position = 0
        self.members = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        if len(self.buffer) >= BLOCK:
            self._submit(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def tell(self) -> int:
        return self.position

    def _compress(self, block: bytes) -> bytes:
        compressor = deflate.compressobj(self.level, zlib.DEFLATED, -15)  # raw: the header is ours
        body = compressor.compress(block) + compressor.flush()
        size = len(MEMBER_HEAD) + 4 + len(body) + 8
        return b"".join((MEMBER_HEAD, struct.pack("<I", size), body,
                         struct.pack("<II", deflate.crc32(block), len(block) & 0xFFFFFFFF)))

    def _submit(self, block: bytes) -> None:
        self.members += 1
        if self.pool is None:
            self.raw.write(self._compress(block))
            return
        self.pending.append(self.pool.submit(self._compress, block))
        while len(self.pending) > self.limit:
            self.raw.write(self.pending.popleft().result())

    def close(self) -> None:
        """Compress what is left and write every member; ``raw`` stays open."""
        try:
            if self.buffer or not self.members:
                self._submit(bytes(self.buffer))
                self.buffer.clear()
            while self.pending:
                self.raw.write(self.pending.popleft().result())
        finally:
            self.discard()

    def discard(self) -> None:
        """Stop the threads, dropping what was not written (after a failure; idempotent)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()


class GzipBlocks:
    """A read-only, forward-only file over an archive written by :class:`GzipMembers`: the
    members are found by the sizes in their headers and inflated by a few threads at once,
    each checked against its CRC-32 and length, and handed out in order. ``open_gzip`` falls
    back to ``gzip.GzipFile`` for any other gzip file (a backup made by an older aduan)."""

    def __init__(self, raw: Any, workers: int | None = None) -> None:
        self.raw = raw
        workers = compress_workers() if workers is None else workers
        self.pool = ThreadPoolExecutor(workers, "aduan-gunzip")
        self.limit = 2 * workers
        self.pending: deque[Future[bytes]] = deque()
        self.block = b""
        self.at = 0          # position in self.block
        self.position = 0    # bytes handed out
        self.ended = False

    @staticmethod
    def _inflate(body: bytes) -> bytes:
        try:
            data = deflate.decompress(body[:-8], -15)
        except (zlib.error, deflate.error) as exc:
            raise gzip.BadGzipFile(f"bagian arsip rusak ({exc})") from None
        crc, size = struct.unpack("<II", body[-8:])
        if deflate.crc32(data) != crc or len(data) & 0xFFFFFFFF != size:
            raise gzip.BadGzipFile("bagian arsip rusak (CRC)")
        return data

    def _fill(self) -> None:
        while not self.ended and len(self.pending) < self.limit:
            head = self.raw.read(len(MEMBER_HEAD) + 4)
            if not head:
                self.ended = True
                break
            if len(head) < len(MEMBER_HEAD) + 4 or head[:len(MEMBER_HEAD)] != MEMBER_HEAD:
                raise EOFError("arsip terpotong atau bagiannya tidak dikenal")
            size = struct.unpack("<I", head[len(MEMBER_HEAD):])[0] - len(head)
            body = self.raw.read(size)
            if size < 8 or len(body) != size:
                raise EOFError("arsip terpotong")
            self.pending.append(self.pool.submit(self._inflate, body))

    def read(self, size: int = -1) -> bytes:
        out = []
        wanted = size if size >= 0 else float("inf")
        while wanted > 0:
            if self.at >= len(self.block):
                self._fill()
                if not self.pending:
                    break
                self.block, self.at = self.pending.popleft().result(), 0
                continue
            piece = self.block[self.at:self.at + int(min(wanted, len(self.block) - self.at))]
            self.at += len(piece)
            wanted -= len(piece)
            out.append(piece)
        data = b"".join(out)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Forward only (all ``tarfile`` needs to read members in order)."""
        target = offset if whence == os.SEEK_SET else self.position + offset
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self.position:
            raise OSError("arsip hanya dibaca maju")
        while self.position < target:
            if not self.read(min(target - self.position, 1 << 20)):
                break
        return self.position

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()


@contextmanager
def open_gzip(path: Path) -> Iterator[Any]:
    """``path`` decompressed: by GzipBlocks when GzipMembers wrote it, else by GzipFile."""
    with open(path, "rb") as raw:
        ours = raw.read(len(MEMBER_HEAD)) == MEMBER_HEAD
        raw.seek(0)
        reader = GzipBlocks(raw) if ours else gzip.GzipFile(fileobj=raw, mode="rb")
        try:
            yield reader
        finally:
            reader.close()


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
        with open_gzip(path) as gz, tarfile.open(fileobj=gz, mode="r:") as tar:
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
    """An archive read through once and checked: its manifest, its database file (if it was
    extracted), how many files of each data folder it holds, and where they were staged (if
    asked)."""

    manifest: dict[str, Any]
    database: Path
    files: dict[str, int] = field(default_factory=dict)
    staged: Path | None = None


def unpack(path: Path, workdir: Path, stage: Path | None = None,
           extract_database: bool = True) -> Unpacked:
    """Read ``path`` once, checking every member (see the module docstring): the database is
    hash-checked as it is read and, with ``extract_database``, written to ``workdir``; with
    ``stage`` the data files go under it (folder by folder), else they are only counted. Raises
    BackupError for a foreign, damaged or unsafe archive; what was written into ``workdir`` and
    ``stage`` is the caller's to remove."""
    with opened_archive(path) as tar:
        manifest = read_manifest(tar)
        db = manifest["database"]
        target = workdir / db["file"]
        files = dict.fromkeys(DATA_FOLDERS, 0)
        seen: set[str] = set()
        digest = None
        for index, member in enumerate(tar):
            if index == 0:
                continue  # manifest.json, read above (iterating starts again at the first member)
            if member.name in seen:
                raise BackupError(f"cadangan memuat {_shown(member.name)} dua kali")
            seen.add(member.name)
            if member.name == db["file"]:
                if not member.isfile():
                    raise BackupError("berkas database di dalam cadangan bukan berkas biasa")
                digest = _copy_hashing(tar, member, target if extract_database else None)
                continue
            folder, relative = data_member(member)
            files[folder] += 1
            if stage is not None:
                _extract(tar, member, stage.joinpath(*relative.parts))
    if digest is None:
        raise BackupError("cadangan tidak memuat berkas database")
    if digest != db["sha256"]:
        raise BackupError("database di dalam cadangan tidak sama dengan yang dicatat manifest (rusak)")
    for folder, count in files.items():
        if count != manifest.get(folder, {}).get("files", 0):
            label = "lampiran" if folder == "attachments" else "berkas rekap"
            raise BackupError(f"jumlah {label} di dalam cadangan tidak sama dengan manifest")
    return Unpacked(manifest, target, files, stage)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _copy_hashing(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path | None) -> str:
    """The sha256 of ``member``, read once: written to ``target`` (0600) on the way when given,
    and hashed in a second thread while the next block is decompressed (both let go of the
    GIL), so the check costs no second reading of the file."""
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"cadangan memuat {_shown(member.name)} yang tidak terbaca")
    digest = hashlib.sha256()
    hashed: Future[None] | None = None
    with source, ThreadPoolExecutor(1, "aduan-sha256") as pool, \
            (open(target, "wb", opener=_private) if target is not None else nullcontext()) as dst:
        for block in iter(lambda: source.read(1 << 20), b""):
            if hashed is not None:
                hashed.result()
            hashed = pool.submit(digest.update, block)
            if dst is not None:
                dst.write(block)
        if hashed is not None:
            hashed.result()
    return digest.hexdigest()


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"cadangan memuat {_shown(member.name)} yang tidak terbaca")
    with source, open(target, "wb") as dst:
        shutil.copyfileobj(source, dst, 1 << 20)


# --- the database inside ---------------------------------------------------------------------

def check_sqlite_copy(path: Path, manifest: dict[str, Any]) -> None:
    """``PRAGMA quick_check`` (every page, record and constraint of the file, in one pass; the
    full ``integrity_check`` also cross-checks every index entry against its row and took
    longer than the rest of a year's backup) and the row counts of the manifest."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchall()
        if result != [("ok",)]:
            raise BackupError(f"database di dalam cadangan rusak (quick_check: {result[0][0]})")
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


def check_database_file(path: Path, manifest: dict[str, Any]) -> None:
    if manifest["database"]["kind"] == "sqlite":
        check_sqlite_copy(path, manifest)
    else:
        check_pg_dump(path, manifest)


def check_database(unpacked: Unpacked) -> None:
    check_database_file(unpacked.database, unpacked.manifest)


def verify_archive(path: Path, workdir: Path | None = None,
                   database: Path | None = None) -> dict[str, Any]:
    """Check ``path`` end to end; return its manifest or raise BackupError saying why not.

    Every member is read back and the database's bytes hashed on the way. Without
    ``database`` they are extracted into a temporary copy, which is then checked. With
    ``database``, the file the archive was just made from, nothing is extracted: bytes equal
    to the manifest's hash are that file, so the file is checked instead, in a second thread
    while the archive is read (one reading of each, not three)."""
    if database is None:
        with tempfile.TemporaryDirectory(prefix=".aduan-check-", dir=workdir or path.parent) as tmp:
            unpacked = unpack(path, Path(tmp))
            check_database(unpacked)
        return unpacked.manifest
    manifest = peek_manifest(path)
    with ThreadPoolExecutor(1, "aduan-check") as pool:
        checked = pool.submit(check_database_file, database, manifest)
        unpacked = unpack(path, database.parent, extract_database=False)  # leaving: waits
        checked.result()
    if unpacked.manifest != manifest:
        raise BackupError("manifest cadangan berubah saat diperiksa")
    return unpacked.manifest
