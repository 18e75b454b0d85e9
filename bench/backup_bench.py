"""Backup and restore of a year of one busy office, against the plainest copy in the same run,
and the web inbox's answer time while a backup runs.

    .venv/bin/python bench/backup_bench.py [--postgres URL] [--requests 60] [--web-only]

Uses the year of ``bench/web_bench.py`` (``bench/out/year.db``, or the PostgreSQL database
``--postgres`` names, generated once). Measures:

- the baseline: on SQLite a plain copy of the database file (what copying ``data/`` by hand
  costs, without consistency or checking); on PostgreSQL a bare ``pg_dump --format=custom
  --compress=0`` to a file, without the snapshot's row counts, the archive or the check;
- ``aduan backup`` (snapshot, compression, the check that restores it into a temporary copy);
- ``aduan restore --to`` a new database (a new file; on PostgreSQL a database made empty first);
  then every table of the restored database is compared with the original, row by row; on
  PostgreSQL also beside a bare ``pg_restore --single-transaction`` of the baseline's dump,
  which builds every index, the text-search indexes included: ``aduan restore`` leaves those
  to ``aduan run``, which builds them in the background; the bench times a search before
  they are there and then their build;
- the inbox (``/``) and a search, requested one after the other from one logged-in client:
  their p95 without a backup, then while ``aduan backup`` runs in another process, as it does
  when the daemon makes the nightly backup beside the web. Target (issue 18): within 2x.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, REPO, header, percentile, ratio  # noqa: E402
from bench.web_bench import YEAR_DB, login, prepare  # noqa: E402

PAGES = [("inbox", "/"), ("search 'akta kelahiran'", "/?q=akta+kelahiran")]


def sqlite_digests(path: Path) -> dict[str, tuple[int, str]]:
    from inbox.records.backup import table_names
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


def pg_digests(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the row count and an MD5 over the rows' text in primary-key order."""
    import psycopg2
    from inbox.records.backup import table_names
    conn = psycopg2.connect(url)
    try:
        out = {}
        with conn.cursor() as cur:
            for name in table_names():
                cur.execute("SELECT to_regclass(%s)", (f'"{name}"',))
                if cur.fetchone()[0] is None:
                    continue
                cur.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), \'\')) '
                            f'FROM "{name}" t')
                count, digest = cur.fetchone()
                out[name] = (count, digest)
        return out
    finally:
        conn.close()


def fresh_pg_database(url: str, name: str) -> str:
    """An empty database ``name`` on the server of ``url``; its URL."""
    import psycopg2
    base, _, _ = url.rpartition("/")
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"{base}/{name}"


def baseline(url: str | None, work: Path) -> tuple[float, int, str]:
    """Seconds, bytes and a label of the plainest copy of the database."""
    started = time.perf_counter()
    if url is None:
        shutil.copyfile(YEAR_DB, work / "plain-copy.db")
        return time.perf_counter() - started, YEAR_DB.stat().st_size, "plain file copy"
    from inbox.records.backup import libpq_target
    target, env = libpq_target(url)
    out = work / "plain.dump"
    subprocess.run(["pg_dump", "--format=custom", "--compress=0", "--no-owner", "--file", str(out),
                    target], env=env, check=True)
    return time.perf_counter() - started, out.stat().st_size, "bare pg_dump (custom, no compression)"


def bare_pg_restore(url: str, work: Path) -> float:
    """Seconds of a bare ``pg_restore --single-transaction`` of the baseline's dump into a new
    database: PostgreSQL loading the rows and building the same indexes (the trigram search
    index among them), without aduan's checks."""
    from inbox.records.backup import libpq_target
    target, env = libpq_target(fresh_pg_database(url, "aduan_bench_bare_restore"))
    started = time.perf_counter()
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                    f"--dbname={target}", str(work / "plain.dump")], env=env, check=True)
    seconds = time.perf_counter() - started
    fresh_pg_database(url, "aduan_bench_bare_restore")  # emptied: a year's copy is 1.3 GB
    return seconds


def search_indexes_after(url: str, plain: float, restore: float) -> None:
    """On the restored PostgreSQL database: one inbox search before the search indexes are
    there, then their build as ``aduan run`` does it in the background after a restore."""
    from inbox.db import database, open_database
    from inbox.models import Case
    from inbox.setup.migrations import build_search_indexes
    from inbox.web.queries import search_condition
    open_database(url, create=False)
    try:
        started = time.perf_counter()
        hits = list(Case.select(Case.id).where(search_condition("akta kelahiran"))
                    .order_by(Case.id.desc()).limit(51))
        searched = time.perf_counter() - started
        started = time.perf_counter()
        built = build_search_indexes()
        seconds = time.perf_counter() - started
    finally:
        database.close()
    print(f"   meanwhile a search for 'akta kelahiran' (first page, {len(hits)} cases) without "
          f"the search indexes: {searched:.1f} s ({load()})")
    print(f"   then aduan run builds the search indexes in the background ({', '.join(built)}): "
          f"{seconds:.1f} s; restore and indexes together {restore + seconds:.1f} s "
          f"({ratio(restore + seconds, plain)} the baseline) ({load()})")


def answer_times(client: Any, count: int, until: Callable[[], bool] | None = None) -> list[float]:
    """Request each page in turn ``count`` times (or, with ``until``, until it is true and at
    least ``count`` times); the seconds of each request."""
    times: list[float] = []
    rounds = 0
    while rounds < count or (until is not None and not until()):
        for _, url in PAGES:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code}")
        rounds += 1
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="the year in this PostgreSQL database")
    parser.add_argument("--requests", type=int, default=60, help="rounds of the pages, at least")
    parser.add_argument("--web-only", action="store_true",
                        help="only the web's answer times beside a backup (no round trip)")
    parser.add_argument("--round-trip-only", action="store_true",
                        help="only the backup and restore round trip (not the web beside it)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    header(f"backup and restore of a year ({'PostgreSQL' if args.postgres else 'SQLite'})")
    rt = prepare(args.postgres)
    if args.postgres is None:
        rt.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.db.close()
    work = OUT / ("backup-bench-pg" if args.postgres else "backup-bench")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    same = args.web_only or round_trip(rt, args.postgres, work)
    if not args.round_trip_only:
        web_beside_backup(args.postgres, work, args.requests)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if same else 1


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): the cores are shared."""
    return "load " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def round_trip(rt: Any, url: str | None, work: Path) -> bool:
    """Baseline, backup, restore into a new database, and the row-by-row comparison. The
    baseline is taken right before the backup and again right before the restore: on a shared
    machine the same copy varies several times over within minutes."""
    from inbox.records.backup import create_backup
    from inbox.records.restore import restore_backup
    plain, plain_size, label = baseline(url, work)
    print(f"   baseline, {label}: {plain:.1f} s, {plain_size / 1e6:,.0f} MB ({load()})")
    result = create_backup(rt.config, str(work / "backups"))
    m = result.manifest
    print(f"   aduan backup: {result.seconds:.1f} s ({ratio(result.seconds, plain)} the baseline; "
          f"target ≤ 10x: {'met' if result.seconds <= 10 * plain else 'NOT met'}), "
          f"{result.size / 1e6:,.0f} MB ({result.size / plain_size:.2f}x the baseline's size); "
          f"{m['tables']['case']:,} cases, {m['tables']['message']:,} messages ({load()})")
    plain, _, _ = baseline(url, work)
    print(f"   baseline again, {label}: {plain:.1f} s ({load()})")

    if url:
        target_url = fresh_pg_database(url, "aduan_bench_restored")
    else:
        target_url = f"sqlite:///{work / 'restored.db'}"
    started = time.perf_counter()
    # another database gets its attachments and recaps in a folder of its own (issue 26)
    restore_backup(rt.config, result.path, to=target_url,
                   data_dir=str(work / "restored-files") if url else None)
    restore = time.perf_counter() - started
    print(f"   aduan restore --to a new database: {restore:.1f} s ({ratio(restore, plain)} the baseline; "
          f"target ≤ 5x: {'met' if restore <= 5 * plain else 'NOT met'}) ({load()})")
    if url:
        search_indexes_after(target_url, plain, restore)
        bare = bare_pg_restore(url, work)
        print(f"   baseline for the restore, bare pg_restore --single-transaction of the bare dump "
              f"into a new database: {bare:.1f} s; aduan restore is {ratio(restore, bare)} of it "
              f"({load()})")
        original, restored = pg_digests(url), pg_digests(target_url)
    else:
        original, restored = sqlite_digests(work / "plain-copy.db"), sqlite_digests(work / "restored.db")
    same = original == restored
    print(f"   every table row by row identical after the round trip: {'yes' if same else 'NO'}")
    for name in sorted(set(original) | set(restored)):
        if original.get(name) != restored.get(name):
            print(f"     differs: {name} {original.get(name)} vs {restored.get(name)}")
    for path in work.glob("restored.db*"):
        path.unlink()
    return same


def web_beside_backup(url: str | None, work: Path, requests: int) -> None:
    """The pages' p95 alone, then while ``aduan backup`` runs in another process."""
    from inbox.web.app import create_app
    rt = prepare(url)  # a restore opens another database
    client = create_app(rt).test_client()
    login(client)
    answer_times(client, 3)  # warm caches
    quiet = answer_times(client, requests)
    backup = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(rt.config.path),
                               "backup", "--out", str(work / "during")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    busy = answer_times(client, requests, until=lambda: backup.poll() is not None)
    _, err = backup.communicate()
    if backup.returncode != 0:
        print(f"   the backup beside the web failed: {err.decode(errors='replace').strip()[-300:]}")
    q95, b95 = percentile([t * 1000 for t in quiet], 95), percentile([t * 1000 for t in busy], 95)
    print(f"   web inbox and search, p95 without a backup: {q95:.1f} ms ({len(quiet)} requests); "
          f"while aduan backup runs: {b95:.1f} ms ({len(busy)} requests) = {ratio(b95, q95)}")
    print(f"   target: within 2x: {'met' if b95 <= 2 * q95 else 'NOT met'}")
    rt.close()


if __name__ == "__main__":
    sys.exit(main())
