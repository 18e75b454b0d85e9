"""Backup and restore of a year of one busy office, against a plain file copy in the same run.

    .venv/bin/python bench/backup_bench.py

Uses the year of ``bench/web_bench.py`` (``bench/out/year.db``, generated once). Measures the
plain copy of the database file (the baseline: what copying ``data/`` by hand costs, without
consistency or checking), ``aduan backup`` (snapshot, compression, the check that restores it
into a temporary copy), and ``aduan restore --to`` a new file; then compares every table of the
restored database with the original, row by row (a SHA-256 over the rows in rowid order).
SQLite only for now.
"""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, header, ratio  # noqa: E402
from bench.web_bench import YEAR_DB, prepare  # noqa: E402


def table_digests(path: Path) -> dict[str, tuple[int, str]]:
    from inbox.backup import table_names
    conn = sqlite3.connect(path)
    try:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        out = {}
        for name in table_names():
            if name in present:
                digest, count = hashlib.sha256(), 0
                for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                    digest.update(repr(row).encode())
                    count += 1
                out[name] = (count, digest.hexdigest())
        return out
    finally:
        conn.close()


def main() -> int:
    from inbox.backup import create_backup
    from inbox.restore import restore_backup
    header("backup and restore of a year")
    rt = prepare(None)
    rt.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.db.close()
    work = OUT / "backup-bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    size = YEAR_DB.stat().st_size
    started = time.perf_counter()
    shutil.copyfile(YEAR_DB, work / "plain-copy.db")
    plain = time.perf_counter() - started
    print(f"   plain file copy: {plain:.1f} s, {size / 1e6:,.0f} MB")

    result = create_backup(rt.config, str(work / "backups"))
    m = result.manifest
    print(f"   aduan backup: {result.seconds:.1f} s ({ratio(result.seconds, plain)} the plain copy), "
          f"{result.size / 1e6:,.0f} MB ({result.size / size:.2f}x the database file); "
          f"{m['tables']['case']:,} cases, {m['tables']['message']:,} messages")

    target = work / "restored.db"
    started = time.perf_counter()
    restore_backup(rt.config, result.path, to=f"sqlite:///{target}")
    restore = time.perf_counter() - started
    print(f"   aduan restore --to a new file: {restore:.1f} s ({ratio(restore, plain)} the plain copy)")

    original, restored = table_digests(work / "plain-copy.db"), table_digests(target)
    same = original == restored
    print(f"   every table row by row identical after the round trip: {'yes' if same else 'NO'}")
    for name in sorted(set(original) | set(restored)):
        if original.get(name) != restored.get(name):
            print(f"     differs: {name} {original.get(name)} vs {restored.get(name)}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
