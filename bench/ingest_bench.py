"""Ingest throughput: sandbox messages through ``inbox.arrive.ingest.ingest`` in poll-sized batches.

    .venv/bin/python bench/ingest_bench.py [--messages 20000] [--batch 100] [--profile]
    .venv/bin/python bench/ingest_bench.py --postgres postgresql://postgres@127.0.0.1:5432/aduan_bench_ingest

Everything a poll does is timed: duplicate check, contacts, threading, classification,
personal-data check, reference numbers, due dates, category rows, events, acknowledgements and
the cursor, one transaction per batch. The classifier's model is read (or, on a first start,
trained) and the holiday calendar loaded before the timer, as the daemon does before its first
poll; that time is printed apart. The baseline writes the same rows, batch by batch, into a
table with the product's own message schema and indexes using the driver alone (``sqlite3``
``executemany``; psycopg2 ``execute_values`` on PostgreSQL): the floor of storing the bytes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import logging
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timezone
from typing import Any

from bench.common import OUT, drop_all_tables, header, ratio, sqlite_url, write_bench_config
from connectors.base import InboundMessage
from connectors.sandbox import SandboxConnector

TARGET = 2000.0  # messages per second on SQLite (issue 9)


def sandbox_messages(count: int, per_minute: float = 6.0) -> list[InboundMessage]:
    """What the sandbox account delivers: new threads, follow-ups, DMs, a NIK now and then."""
    connector = SandboxConnector("sandbox", {"seed": 2026, "messages_per_minute": per_minute})
    epoch = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)  # a Monday, 07:00 WIB
    return [connector.message(n, epoch) for n in range(count)]


def message_row(account_id: int, m: InboundMessage) -> tuple[Any, ...]:
    """The values ``ingest`` stores for a message, as plain driver values."""
    return (account_id, m.external_id, None, None, "in", m.kind, m.public, m.thread_id, m.text,
            m.created_at.replace(tzinfo=None).isoformat(" "),
            datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" "), m.permalink,
            m.in_reply_to, False, None, json.dumps(m.raw, ensure_ascii=False, sort_keys=True))


COLUMNS = ("account_id, external_id, case_id, contact_id, direction, kind, public, thread_id, "
           "text, created_at, received_at, permalink, in_reply_to, personal_data, author_id, raw")


def run_ingest(url: str, work: Path, messages: list[InboundMessage], batch: int,
               profile: bool = False) -> dict[str, float]:
    """Time the product's ingest over every batch; returns messages/s and queries/message."""
    from inbox.arrive.ingest import ingest
    from inbox.db import database
    from inbox.models import Account, Case, Message
    from inbox.run.daemon import Daemon
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime, setup

    config = load_config(write_bench_config(work, url))
    rt = Runtime(config)
    if url.startswith("postgres"):
        drop_all_tables()
    setup(config)
    account = Account.get(Account.name == "sandbox")
    # As the daemon does before its first poll (Daemon.warm_up): read the classifier's model,
    # or train it from the shipped set on a first start (timed apart: once per data folder),
    # and load the holiday calendar.
    warm = time.perf_counter()
    Daemon(rt).warm_up()
    warm_up = time.perf_counter() - warm
    batches = [messages[i:i + batch] for i in range(0, len(messages), batch)]
    profiler = None
    if profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    started, cpu = time.perf_counter(), time.process_time()
    for number, chunk in enumerate(batches, start=1):
        ingest(account, chunk, {"seq": number * batch}, rt.ingest_options, requests=1,
               resources=len(chunk))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        OUT.mkdir(parents=True, exist_ok=True)
        target = OUT / f"ingest_profile_{'pg' if url.startswith('postgres') else 'sqlite'}.txt"
        target.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
        print(f"   profile written to {target.relative_to(OUT.parent.parent)}")
    stored, cases = Message.select().count(), Case.select().count()
    assert stored == len(messages), f"stored {stored} of {len(messages)}"

    # Queries per message, counted on one more batch of fresh messages (logging slows the run,
    # so it is not part of the timing).
    extra = sandbox_messages(len(messages) + batch)[len(messages):]
    counter = QueryCounter()
    logging.getLogger("peewee").addHandler(counter)
    logging.getLogger("peewee").setLevel(logging.DEBUG)
    try:
        ingest(account, extra, {"seq": len(messages) + batch}, rt.ingest_options)
    finally:
        logging.getLogger("peewee").removeHandler(counter)
        logging.getLogger("peewee").setLevel(logging.WARNING)
    database.close()
    return {"per_second": len(messages) / elapsed, "seconds": elapsed, "cases": cases,
            "cpu_per_message": cpu / len(messages),
            "warm_up": warm_up,
            "messages": len(messages),
            "queries_per_message": counter.count / len(extra)}


class QueryCounter(logging.Handler):
    """Counts the SQL statements peewee sends (it logs each one at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def sqlite_baseline(product_db: Path, work: Path, messages: list[InboundMessage],
                    batch: int) -> tuple[float, float]:
    """Rows/s of sqlite3 executemany into a copy of the product's message table and indexes."""
    source = sqlite3.connect(product_db)
    ddl = [sql for (sql,) in source.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'message' AND sql IS NOT NULL "
        "AND type IN ('table', 'index') ORDER BY type DESC")]  # the table, then its indexes
    # (not the search index's triggers: the baseline stays the bare table, as before migration 3)
    source.close()
    path = work / "baseline.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = wal", "synchronous = normal", "foreign_keys = 0"):
        db.execute(f"PRAGMA {pragma}")
    for statement in ddl:
        db.execute(statement)
    sql = f"INSERT INTO message ({COLUMNS}) VALUES ({', '.join('?' * 16)})"
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(messages), batch):
        rows = [message_row(1, m) for m in messages[i:i + batch]]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows)
        db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    return len(messages) / elapsed, cpu / len(messages)


def postgres_baseline(url: str, messages: list[InboundMessage], batch: int) -> tuple[float, float]:
    """Rows/s of psycopg2 execute_values into a table LIKE the product's message table."""
    import psycopg2
    from psycopg2.extras import execute_values
    conn = psycopg2.connect(url)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS bench_raw_message")
    cur.execute('CREATE TABLE bench_raw_message (LIKE "message" INCLUDING INDEXES)')
    cur.execute("ALTER TABLE bench_raw_message ALTER id ADD GENERATED BY DEFAULT AS IDENTITY")
    conn.commit()
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(messages), batch):
        rows = [message_row(1, m) for m in messages[i:i + batch]]
        execute_values(cur, f"INSERT INTO bench_raw_message ({COLUMNS}) VALUES %s", rows,
                       page_size=batch)
        conn.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    cur.execute("DROP TABLE bench_raw_message")
    conn.commit()
    conn.close()
    return len(messages) / elapsed, cpu / len(messages)


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): the cores are shared."""
    return "load " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def report(label: str, result: dict[str, float], measured: tuple[float, float],
           target: float | None) -> None:
    """The figures beside the baseline's; also the CPU seconds of this process per message (its
    own work, what the machine's other load changes least: on PostgreSQL the server's work is
    not in it, on SQLite all of it is)."""
    baseline, baseline_cpu = measured
    verdict = ""
    if target is not None:
        verdict = "  target ≥ %d/s: %s" % (target, "MET" if result["per_second"] >= target
                                           else "MISSED")
    print(f"{label}: ingest {result['per_second']:,.0f} messages/s "
          f"({result['messages']:,} messages, {result['cases']:,} cases, {result['seconds']:.1f} s, "
          f"{result['queries_per_message']:.1f} queries/message){verdict}")
    print(f"{label}: before the first poll, the classifier's model made ready (trained on a first "
          f"start, or already in this process) and the holidays loaded in {result['warm_up']:.1f} s, "
          "not timed above")
    share = result["per_second"] / baseline if baseline else 0.0
    print(f"{label}: baseline {baseline:,.0f} rows/s; ingest/baseline = "
          f"{ratio(result['per_second'], baseline)} (target ≥ 0.10x: "
          f"{'met' if share >= 0.10 else 'NOT met'}) ({load()})")
    print(f"{label}: CPU of this process per message: ingest {result['cpu_per_message'] * 1e6:,.0f} µs, "
          f"baseline {baseline_cpu * 1e6:,.1f} µs per row")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100,
                        help="messages per poll (X and Graph pages hold up to 100)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database "
                        "(its tables are dropped)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the ingest with pyinstrument into bench/out/")
    args = parser.parse_args(argv)
    header("ingest throughput")
    messages = sandbox_messages(args.messages)
    with tempfile.TemporaryDirectory(prefix="aduan-ingest-") as tmp:
        work = Path(tmp)
        db_path = work / "data" / "aduan.db"
        result = run_ingest(sqlite_url(db_path), work, messages, args.batch, args.profile)
        report("SQLite", result, sqlite_baseline(db_path, work, messages, args.batch), TARGET)
        if args.postgres:
            pg = run_ingest(args.postgres, work / "pg", messages, args.batch, args.profile)
            report("PostgreSQL", pg, postgres_baseline(args.postgres, messages, args.batch), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
