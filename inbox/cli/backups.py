"""``aduan backup [--out DIR]`` and ``aduan restore FILE [--to URL] [--data-dir DIR] [--force]``."""
from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox.dates import format_datetime_id
from inbox.labels import label
from inbox.records.backup import BackupError


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_backup(args: argparse.Namespace, ctx: Any) -> int:
    """Write one checked backup of the database and the attachments, then rotate."""
    from inbox.cli.common import UserError
    from inbox.records.backup import lower_priority
    from inbox.records.schedule import run_backup
    ctx.runtime()
    lower_priority()  # beside a running aduan, let the web and the polls go first
    try:
        result = run_backup(ctx.config, args.out)
    except BackupError as exc:
        raise UserError(f"cadangan gagal: {exc}", exit_code=1) from None
    m = result.manifest
    ctx.print(f"cadangan ditulis dan diperiksa: {result.path}")
    ctx.print(f"  ukuran {_size(result.size)}, {result.seconds:.1f} detik; database {m['database']['kind']} "
              f"({_size(m['database']['size'])}), {m['attachments']['files']} lampiran")
    ctx.print("  " + table_counts(m["tables"]))
    if result.removed:
        ctx.print(f"  rotasi: {len(result.removed)} cadangan lama dihapus")
    return 0


def cmd_restore(args: argparse.Namespace, ctx: Any) -> int:
    """Check a backup and restore it (database, attachments), then run pending migrations."""
    from inbox.cli.common import UserError, migrations_line
    from inbox.records.restore import restore_backup
    ctx.config  # a bad config.toml is reported before anything is read
    try:
        result = restore_backup(ctx.config, Path(args.file), to=args.to, force=args.force,
                                data_dir=args.data_dir,
                                ignore_running_daemon=args.ignore_running_daemon)
    except BackupError as exc:
        raise UserError(f"pemulihan ditolak: {exc}", exit_code=1) from None
    m = result.manifest
    made = format_datetime_id(datetime.fromisoformat(m.get("created_at") or m["created_local"]),
                              ctx.config.tz,
                              "d MMMM y HH.mm")
    ctx.print(f"dipulihkan dari {args.file} (dibuat {made}, {m['office']})")
    ctx.print(f"  ke {result.target}: " + table_counts(result.tables))
    ctx.print(f"  lampiran: {result.attachments} berkas ke {result.data_dir / 'attachments'}")
    if result.recaps is not None:
        ctx.print(f"  rekap: {result.recaps} berkas ke {result.data_dir / 'recaps'}")
    if result.recaps_missing:
        ctx.print(f"  {result.recaps_missing} rekap yang tercatat tidak punya berkas (cadangan ini "
                  "dibuat sebelum berkas rekap ikut dicadangkan); buat ulang di halaman Rekap "
                  "atau dengan aduan recap daily/monthly")
    if result.migrations:
        ctx.print(f"  skema database diperbarui: {migrations_line(result.migrations)}")
    if result.search_indexes_later:
        ctx.print("  indeks pencarian teks dibangun ulang di latar belakang begitu aduan run "
                  "(atau aduan worker) berjalan; sampai selesai, pencarian lebih lambat")
    return 0


def table_counts(tables: dict[str, int]) -> str:
    """``pengaduan 1.234, pesan 5.678, …``: each table that holds rows, named in words."""
    return ", ".join(f"{label('table', t)} {n:,}".replace(",", ".") for t, n in tables.items() if n)


def register(sub: Any, add: Any) -> None:
    p = add("backup", cmd_backup, "buat cadangan database, lampiran dan rekap (diperiksa, dimampatkan)")
    p.add_argument("--out", metavar="FOLDER",
                   help="folder tujuan (bawaan: backup.folder, atau data_dir/backups)")
    p = add("restore", cmd_restore, "pulihkan cadangan yang dibuat aduan backup")
    p.add_argument("file", metavar="BERKAS", help="berkas cadangan (.tar.gz)")
    p.add_argument("--to", metavar="URL",
                   help="database tujuan (bawaan: database di config.toml)")
    p.add_argument("--data-dir", metavar="FOLDER",
                   help="bersama --to: tempat lampiran dan berkas rekap dipulihkan (bawaan: "
                        "folder berkas SQLite tujuan)")
    p.add_argument("--force", action="store_true", help="timpa database yang sudah berisi data")
    p.add_argument("--ignore-running-daemon", action="store_true",
                   help="pulihkan walaupun aduan masih berjalan pada database tujuan (ia akan "
                        "terus menulis ke data yang dipulihkan: lebih baik hentikan dulu)")
