"""Run every benchmark in turn, each printing its figures and their ratio to its baseline.

    .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --postgres postgresql://postgres@127.0.0.1:5432

Issue 29's figures come from ``memory_bench.py`` (``aduan run`` after 100,000 messages and two
passes of every page), ``load_bench.py`` (8 clients on the year), ``webhook_bench.py`` (five runs
beside a worker), ``ingest_bench.py`` and ``backup_bench.py``; each prints whether its target is
met beside its same-run baseline and the machine's load.

With ``--postgres`` (a server URL without a database) the ingest, web, load, backup and recap
benchmarks run on PostgreSQL too, each in a database of its own (created when missing):
``aduan_bench_ingest`` (emptied on every run), ``aduan_bench_year`` (the web, load and backup
benchmarks) and ``aduan_bench_recap`` (generated once, reused).
The first run generates a year of data for SQLite and one for PostgreSQL (a few minutes each).
The scripts run one after another, never together: they would slow each other down.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATABASES = {"ingest": "aduan_bench_ingest", "web": "aduan_bench_year",
             "recap": "aduan_bench_recap"}


def create_databases(server: str) -> dict[str, str]:
    """The URL of each benchmark's database on ``server``, creating the missing ones."""
    import psycopg2
    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in DATABASES.values():
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return {bench: f"{server}/{name}" for bench, name in DATABASES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="SERVER_URL",
                        help="e.g. postgresql://postgres@127.0.0.1:5432 (no database name)")
    args = parser.parse_args(argv)
    urls = create_databases(args.postgres.rstrip("/")) if args.postgres else {}
    runs = [["classify_eval.py"],
            ["ingest_bench.py", *(["--postgres", urls["ingest"]] if urls else [])],
            ["web_bench.py"]]
    if urls:
        runs.append(["web_bench.py", "--postgres", urls["web"]])
    runs.append(["recap_bench.py"])
    if urls:
        runs.append(["recap_bench.py", "--postgres", urls["recap"]])
    runs += [["memory_bench.py"], ["load_bench.py"]]
    if urls:
        runs.append(["load_bench.py", "--postgres", urls["web"]])
    runs += [["webhook_bench.py"], ["backup_bench.py"]]
    if urls:
        runs.append(["backup_bench.py", "--postgres", urls["web"]])
    failed = []
    for script, *options in runs:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(BENCH / script), *options])
        print(f"   ({script} {' '.join(options)}: exit {done.returncode}, "
              f"{time.perf_counter() - started:.0f} s)\n", flush=True)
        if done.returncode != 0:
            failed.append(script)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
