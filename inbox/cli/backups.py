"""``aduan backup [--out DIR]`` and ``aduan restore FILE [--to URL] [--data-dir DIR] [--force]``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
    ctx.print("  " + ", ".join(f"{t} {n}" for t, n in m["tables"].items() if n))
    if result.removed:
        ctx.print(f"  rotasi: {len(result.removed)} cadangan lama dihapus")
    return 0


def cmd_restore(args: argparse.Namespace, ctx: Any) -> int:
    """Check a backup and restore it (database, attachments), then run pending migrations."""
    from inbox.cli.common import UserError
    from inbox.records.restore import restore_backup
    ctx.config  # a bad config.toml is reported before anything is read
    try:
        result = restore_backup(ctx.config, Path(args.file), to=args.to, force=args.force,
                                data_dir=args.data_dir,
                                ignore_running_daemon=args.ignore_running_daemon)
    except BackupError as exc:
        raise UserError(f"pemulihan ditolak: {exc}", exit_code=1) from None
    m = result.manifest
    ctx.print(f"dipulihkan dari {args.file} (dibuat {m['created_local']}, {m['office']})")
    ctx.print(f"  ke {result.target}: " + ", ".join(f"{t} {n}" for t, n in result.tables.items() if n))
    ctx.print(f"  lampiran: {result.attachments} berkas ke {result.data_dir / 'attachments'}")
    if result.recaps is not None:
        ctx.print(f"  rekap: {result.recaps} berkas ke {result.data_dir / 'recaps'}")
    if result.recaps_missing:
        ctx.print(f"  {result.recaps_missing} rekap yang tercatat tidak punya berkas (cadangan ini "
                  "dibuat sebelum berkas rekap ikut dicadangkan); buat ulang di halaman Rekap "
                  "atau dengan aduan recap daily/monthly")
    for name in result.migrations:
        ctx.print(f"  migrasi diterapkan: {name}")
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("backup", cmd_backup, "write a checked, compressed backup (database + attachments)")
    p.add_argument("--out", help="folder (default: backup.folder, else data_dir/backups)")
    p = add("restore", cmd_restore, "restore a backup made by aduan backup")
    p.add_argument("file")
    p.add_argument("--to", help="database URL to restore into (default: the configured one)")
    p.add_argument("--data-dir", help="with --to: where the attachments and recap files go "
                   "(default: the folder of the --to SQLite file)")
    p.add_argument("--force", action="store_true", help="overwrite a database that holds data")
    p.add_argument("--ignore-running-daemon", action="store_true",
                   help="restore although a daemon's heartbeat on the target is fresh (it will "
                        "keep writing into the restored data: stop it instead)")
