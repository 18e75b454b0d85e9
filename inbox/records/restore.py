"""``aduan restore FILE [--to URL] [--data-dir DIR] [--force]``: put a backup back.

Nothing is written until everything was checked, and what is written replaces the old in one
step each:

1. the manifest (its shape included), the kind of database and the office;
2. the target: a daemon whose heartbeat is fresh refuses the restore (``--force`` does not skip
   that, only ``--ignore-running-daemon`` does): it would go on writing into the restored data,
   re-deliver messages and hand out case numbers twice; a target that holds rows needs
   ``--force``;
3. every member of the archive (``inbox.records.archive``): the database is extracted and
   checked (hash, integrity, counts), the attachments and recap files are staged in a hidden
   folder beside their final place;
4. only then the database is replaced — SQLite through the backup API into the target file in
   one transaction (so a ``-wal`` beside it cannot mix old pages with new ones), or, for a new
   file, by renaming the checked copy into place; PostgreSQL by
   ``pg_restore --clean --single-transaction`` — and the staged folders are renamed into place,
   the old ones removed;
5. the pending migrations run, so a backup made by an older aduan opens in this one.

On PostgreSQL the text-search indexes (``PG_SEARCH_INDEXES``) are left out of the restore: on a
year of messages they were about half of its time, and search works without them, only
slower. ``aduan run`` or ``aduan worker`` builds them when it starts, in the background and
without blocking writers (``inbox.setup.migrations.build_search_indexes``).

The files follow the restored database: into the configured database they go to the configured
data folder; with ``--to`` another SQLite file, to that file's folder (or ``--data-dir``); with
``--to`` another PostgreSQL database, ``--data-dir`` must say where. A restore never puts files
into the data folder of the database in use unless it restores that database.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee

from inbox.db import (create_sqlite_file, database, open_database, redact_url, resolve_sqlite_path,
                      sqlite_file, url_problem)
from inbox.models import PG_SEARCH_INDEXES, Heartbeat, Recap, utcnow
from inbox.records.archive import (DATA_FOLDERS, BackupError, Unpacked, check_database,
                                   libpq_target, peek_manifest, run_pg_tool, sqlite_counts,
                                   table_names, unpack)
from inbox.setup.config import Config

#: A heartbeat younger than this many of its intervals means a daemon is running (the rule of
#: ``/healthz``, ``inbox.run.health``; records sits below run, so it reads the model itself).
MISSED_BEATS = 3
STOP_HINT = ("hentikan dulu (Ctrl+C di jendela aduan run; sebagai layanan: sudo systemctl stop "
             "aduan, atau di Windows: schtasks /End /TN aduan) lalu ulangi")


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    target: str
    tables: dict[str, int]
    attachments: int
    migrations: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    recaps: int | None = None          # None: a backup made before recap files were carried
    recaps_missing: int = 0            # recap rows whose file is not there after the restore
    search_indexes_later: bool = False  # PostgreSQL: the search indexes are built by aduan run


# --- the target --------------------------------------------------------------------------------

def _open_existing(url: str) -> peewee.Database | None:
    """The target database opened, or None when it is a SQLite file that does not exist yet."""
    file = sqlite_file(url)
    if file is not None and not file.exists():
        return None
    return open_database(url, create=False)


def rows_in(db: peewee.Database) -> int:
    """How many rows the aduan tables of ``db`` hold (0 for a new or empty database)."""
    total = 0
    for name in table_names():
        if db.table_exists(name):
            total += db.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    return total


def running_daemon(db: peewee.Database) -> tuple[str, int] | None:
    """The worker id and heartbeat age (seconds) of a daemon beating on ``db`` now, if any."""
    if not db.table_exists(Heartbeat._meta.table_name):
        return None
    now = utcnow()
    for row in Heartbeat.select().order_by(Heartbeat.beat_at.desc()):
        age = max(0, int((now - row.beat_at).total_seconds()))
        if age <= MISSED_BEATS * row.interval_seconds:
            return row.worker_id, age
    return None


def check_target(url: str, force: bool, ignore_running_daemon: bool) -> None:
    """Refuse a target a daemon is writing to, or one holding rows without ``force``."""
    db = _open_existing(url)
    if db is None:
        return
    try:
        daemon = None if ignore_running_daemon else running_daemon(db)
        existing = rows_in(db)
    finally:
        db.close()
    if daemon is not None:
        worker, age = daemon
        host = worker.split(":", 1)[0]
        raise BackupError(f"aduan sedang berjalan memakai database {redact_url(url)} (detak terakhir "
                          f"{age} detik lalu, di komputer {host}); {STOP_HINT}")
    if existing and not force:
        raise BackupError(f"database tujuan {redact_url(url)} sudah berisi {existing} baris; "
                          "tambahkan --force untuk menimpanya dengan isi cadangan")


def files_folder(config: Config, url: str, data_dir: str | None) -> Path:
    """Where the attachments and recap files of the restored database go (module docstring)."""
    configured = resolve_sqlite_path(config.database["url"], config.base_dir)
    if _same_database(url, configured):
        if data_dir and Path(data_dir).resolve() != config.data_dir:
            raise BackupError(f"--data-dir hanya dipakai bersama --to: lampiran database yang "
                              f"dikonfigurasi selalu berada di office.data_dir ({config.data_dir})")
        return config.data_dir
    file = sqlite_file(url)
    if data_dir:
        folder = Path(data_dir).resolve()
    elif file is not None:
        folder = file.parent.resolve()
    else:
        raise BackupError("--to ke database PostgreSQL lain perlu --data-dir FOLDER: ke mana "
                          "lampiran dan berkas rekap dipulihkan")
    if folder == config.data_dir:
        raise BackupError(f"lampiran dan rekap cadangan akan menimpa milik database yang sedang "
                          f"dipakai ({folder}); pilih folder lain dengan --data-dir")
    return folder


def _same_database(a: str, b: str) -> bool:
    def normal(url: str) -> str:
        file = sqlite_file(url)
        return str(file.resolve()) if file is not None else url.replace("postgres://", "postgresql://", 1)
    return normal(a) == normal(b)


# --- writing ---------------------------------------------------------------------------------

def restore_sqlite(copy: Path, target: Path) -> dict[str, int]:
    """Put the checked ``copy`` in place of ``target``. A new target (no file, no ``-wal`` or
    ``-shm`` beside it, so nothing can be reading it) is the copy itself, renamed into place:
    no second writing of the whole file. Otherwise the backup API copies it into the target in
    one transaction. The copy is gone or to be removed afterwards."""
    fresh = not any(Path(f"{target}{end}").exists() for end in ("", "-wal", "-journal", "-shm"))
    if not target.exists():
        create_sqlite_file(target)  # its folders 0700 and the file 0600, as for a new database
    if fresh:
        try:
            os.chmod(copy, 0o600)
            os.replace(copy, target)
        except OSError:
            pass  # another disk (--data-dir elsewhere): copied below
        else:
            conn = sqlite3.connect(target, timeout=30)
            try:
                return sqlite_counts(conn)
            finally:
                conn.close()
    src, dst = sqlite3.connect(copy), sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # one transaction on the target: all of the copy or nothing
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


#: A line of ``pg_restore --list`` naming an index: ``4012; 1259 17003 INDEX public name owner``.
TOC_INDEX = re.compile(r"^\d+; \d+ \d+ INDEX \S+ (\S+)(?:\s|$)")


def restore_postgres(dump: Path, url: str) -> dict[str, int]:
    """``dump`` into ``url`` in one transaction, without the search indexes (module docstring)."""
    dsn, env = libpq_target(url)
    later = {name for name, _, _ in PG_SEARCH_INDEXES}
    listing = run_pg_tool(["pg_restore", "--list", str(dump)], env, url).stdout.splitlines()
    chosen = dump.with_name(dump.name + ".list")
    chosen.write_text("\n".join(line for line in listing
                                if not ((m := TOC_INDEX.match(line)) and m.group(1) in later)) + "\n",
                      encoding="utf-8")
    run_pg_tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", f"--use-list={chosen}", f"--dbname={dsn}", str(dump)],
                env, url)
    return postgres_counts(url)


def swap_in(stage: Path, folder: Path, names: list[str]) -> None:
    """Rename each staged folder of ``names`` into ``folder``, the old one aside into ``stage``
    (removed with it); a rename that fails puts the old folder back."""
    for name in names:
        final, new, old = folder / name, stage / name, stage / f"{name}.lama"
        new.mkdir(mode=0o700, exist_ok=True)  # the backup had none: the folder is empty now
        moved = final.exists() or final.is_symlink()
        if moved:
            os.replace(final, old)
        try:
            os.replace(new, final)
        except OSError:
            if moved:
                os.replace(old, final)
            raise


def _missing_recaps(folder: Path) -> int:
    root = (folder / "recaps").resolve()
    return sum(1 for row in Recap.select(Recap.path)
               if not (folder / row.path).resolve().is_relative_to(root)
               or not (folder / row.path).is_file())


def restore_backup(config: Config, archive: Path, to: str | None = None, force: bool = False,
                   data_dir: str | None = None, ignore_running_daemon: bool = False
                   ) -> RestoreResult:
    """Restore ``archive`` into ``to`` (default: the configured database) and its files into
    the data folder that goes with it; raise BackupError with one sentence when the file is
    foreign, damaged or unsafe, a daemon runs on the target, or the target holds data without
    ``force``. A refused restore has written nothing outside its own temporary folders."""
    from inbox.setup.migrations import migrate
    url = resolve_sqlite_path(to or config.database["url"], config.base_dir)
    problem = url_problem(url)
    if problem:
        raise BackupError(problem)
    folder = files_folder(config, url, data_dir)
    manifest = peek_manifest(archive)
    kind = manifest["database"]["kind"]
    target_kind = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    if target_kind != kind:
        raise BackupError(f"cadangan ini berisi database {kind}; tujuan {redact_url(url)} "
                          f"bukan {kind} (pakai --to dengan URL {kind})")
    if manifest["office"] != config.office["name"] and not force:
        raise BackupError(f"cadangan ini milik kantor lain ({manifest['office']!r}); "
                          "tambahkan --force bila memang ingin memulihkannya di sini")
    check_target(url, force, ignore_running_daemon)

    made = folder
    while not made.parent.exists() and made.parent != made:
        made = made.parent  # the highest folder this restore makes: removed if it is refused
    made_folder = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".pemulihan-", dir=folder))
    try:
        unpacked = unpack(archive, stage, stage=stage)
        check_database(unpacked)
        tables = _write_database(unpacked, url)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if made_folder:
            shutil.rmtree(made, ignore_errors=True)
        raise
    try:
        swap_in(stage, folder, [f for f in DATA_FOLDERS if f == "attachments" or f in unpacked.manifest])
    except OSError as exc:
        raise BackupError(f"database sudah dipulihkan, tetapi lampiran dan rekap tidak bisa "
                          f"dipindahkan ke {folder} ({exc.strerror}); berkasnya ada di {stage}: "
                          "tutup program yang memakainya lalu pindahkan isinya") from None
    shutil.rmtree(stage, ignore_errors=True)
    open_database(url, create=False)
    try:
        migrations = migrate()
        missing = _missing_recaps(folder)
    finally:
        database.close()
    return RestoreResult(unpacked.manifest, redact_url(url), tables, unpacked.files["attachments"],
                         migrations, folder,
                         unpacked.files["recaps"] if "recaps" in unpacked.manifest else None, missing,
                         search_indexes_later=kind == "postgresql")


def _write_database(unpacked: Unpacked, url: str) -> dict[str, int]:
    file = sqlite_file(url)
    tables = (restore_sqlite(unpacked.database, file) if file is not None
              else restore_postgres(unpacked.database, url))
    unpacked.database.unlink(missing_ok=True)  # its disk space, before the folders are renamed
    if tables != unpacked.manifest["tables"]:
        raise BackupError("jumlah baris setelah pemulihan tidak sama dengan manifest; "
                          "database tujuan perlu diperiksa")
    return tables
