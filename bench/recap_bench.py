"""How long the monthly report of a busy month takes: 20,000 cases into PDF, XLSX and CSV.

    .venv/bin/python bench/recap_bench.py [--cases-per-day 660] [--fresh]
    .venv/bin/python bench/recap_bench.py --postgres postgresql://postgres@127.0.0.1:5432/aduan_bench_recap

Two months (September and October 2026, about 20,000 cases each, so the report has its
previous-month comparison) are generated once by bench/generate.py into ``bench/out/recap.db``
(or the PostgreSQL database given) and reused. The report of October is then made three times;
each step is timed: reading and counting (``monthly_figures``), the document and its charts,
the PDF, the XLSX, the CSV; and the daily recap of the busiest day.

Baseline, measured in the same run on the same database: the month's case rows read by one
plain SQL statement through the bare driver (what any report must at least do), and a plain
``COUNT`` over the same rows. The headline figures are also checked against independent SQL
counts, so a fast report cannot be a wrong one.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import statistics
import tempfile
from datetime import datetime, timezone
from typing import Any

from bench.common import OUT, header, ratio, sqlite_url, stopwatch, write_bench_config

YEAR, MONTH = 2026, 10
# The generated data ends at 1 November 2026 00:00 WIB, so October is a whole month.
END = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)
DAYS = 61


def prepare(url: str | None, per_day: float, fresh: bool) -> Any:
    from bench.generate import Volume, generate
    from inbox.models import Account, Case
    from inbox.setup.config import load_config
    from inbox.setup.migrations import needs_migration
    from inbox.setup.runtime import Runtime
    work = OUT / ("recap-pg" if url else "recap")
    config = load_config(write_bench_config(work, url or sqlite_url(OUT / "recap.db")))
    rt = Runtime(config)
    generated = (not needs_migration()) and Case.select().join(Account).where(
        Account.name.startswith("bench_")).exists()
    if fresh or not generated:
        print(f"   generating {DAYS} days at {per_day:g} cases/day into {url or OUT / 'recap.db'}")
        stats = generate(rt, Volume(days=DAYS, end=END, cases_per_day=per_day), fresh=True,
                         progress=False)
        print(f"   {stats['cases']:,} cases, {stats['messages']:,} messages, {stats['events']:,} "
              f"events in {stats['seconds']} s")
    return rt


def baseline(p: Any) -> tuple[float, float, int]:
    """Seconds to read the month's rows with one plain SELECT, and to COUNT them."""
    from inbox.db import database, is_postgres
    mark = "%s" if is_postgres() else "?"
    start, end = (p.start.replace(tzinfo=None), p.end.replace(tzinfo=None))
    columns = ("id, reference, account_id, public, status, division_id, categories, "
               "categories_override, intent, intent_override, summary, dismiss_reason, opened_at, "
               "due_at, first_response_at, escalated_at, division_answered_at, answered_at, "
               "closed_at, recapped_on")
    with stopwatch() as read:
        cursor = database.execute_sql(
            f'SELECT {columns} FROM "case" WHERE opened_at >= {mark} AND opened_at < {mark}',
            (start, end))
        rows = cursor.fetchall()
    with stopwatch() as count:
        database.execute_sql(f'SELECT COUNT(*) FROM "case" WHERE opened_at >= {mark} '
                             f'AND opened_at < {mark}', (start, end)).fetchone()
    return read[0], count[0], len(rows)


def independent_counts(p: Any) -> dict[str, int]:
    """The headline figures counted by plain SQL (no recap code)."""
    from inbox.db import database, is_postgres
    mark = "%s" if is_postgres() else "?"
    s, e = p.start.replace(tzinfo=None), p.end.replace(tzinfo=None)

    def one(where: str, *params: Any) -> int:
        return database.execute_sql(f'SELECT COUNT(*) FROM "case" WHERE {where}', params).fetchone()[0]
    return {
        "received": one(f"opened_at >= {mark} AND opened_at < {mark}", s, e),
        "answered": one(f"answered_at >= {mark} AND answered_at < {mark}", s, e),
        "on_time": one(f"answered_at >= {mark} AND answered_at < {mark} AND "
                       f"(due_at IS NULL OR answered_at <= due_at)", s, e),
        "escalated": one(f"escalated_at >= {mark} AND escalated_at < {mark}", s, e),
        "dismissed": one(f"status = 'not_complaint' AND closed_at >= {mark} AND closed_at < {mark}",
                         s, e),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL instead of the SQLite file")
    parser.add_argument("--cases-per-day", type=float, default=660.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="generate the two months again")
    args = parser.parse_args(argv)
    header("recap_bench: the monthly report of a month of ~20,000 cases")
    rt = prepare(args.postgres, args.cases_per_day, args.fresh)
    from recap import pdf, xlsx
    from recap.make import make_daily_recap
    from recap.monthly import monthly_figures
    from recap.monthly_doc import monthly_document

    steps: dict[str, list[float]] = {k: [] for k in ("figures", "document", "pdf", "xlsx", "csv")}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            with stopwatch() as t:
                figures = monthly_figures(rt, YEAR, MONTH)
            steps["figures"].append(t[0])
            with stopwatch() as t:
                doc = monthly_document(rt, figures, None)
            steps["document"].append(t[0])
            for fmt, write in (("pdf", pdf.write_pdf), ("xlsx", xlsx.write_xlsx),
                               ("csv", xlsx.write_csv)):
                path = Path(tmp) / f"report.{fmt}"
                with stopwatch() as t:
                    write(doc, path)
                steps[fmt].append(t[0])
                sizes[fmt] = path.stat().st_size
        busiest = max(figures.trend(), key=lambda row: row[1])[0]
        with stopwatch() as t:
            daily = make_daily_recap(rt, busiest, out_dir=Path(tmp) / "daily")
        daily_seconds = t[0]
        data_rows = len(doc.data.rows) if doc.data else 0
    read, count, month_rows = baseline(figures.period)
    checks = independent_counts(figures.period)
    h = figures.current
    mine = {"received": h.received, "answered": h.answered, "on_time": h.on_time,
            "escalated": h.escalated, "dismissed": h.dismissed}

    median = {k: statistics.median(v) for k, v in steps.items()}
    total = sum(median.values())
    print(f"   month {YEAR}-{MONTH:02d}: {h.received:,} cases received, {h.answered:,} answered, "
          f"{data_rows:,} rows in the data sheet; database: {args.postgres or 'SQLite'}")
    print(f"   median of {args.runs} runs (seconds):")
    for name, value in median.items():
        print(f"     {name:<9} {value:7.2f}")
    print(f"     {'total':<9} {total:7.2f}   (PDF {sizes['pdf'] / 1024:.0f} KiB, "
          f"XLSX {sizes['xlsx'] / 1024:.0f} KiB, CSV {sizes['csv'] / 1024:.0f} KiB)")
    print(f"   daily recap of the busiest day ({busiest}): {daily_seconds:.2f} s, {len(daily)} files")
    print(f"   baseline: plain SELECT of the month's {month_rows:,} rows {read:.3f} s, "
          f"COUNT {count * 1000:.1f} ms")
    print(f"   ratio: report / plain SELECT = {ratio(total, read)}; "
          f"report / COUNT = {ratio(total, count)}")
    verdict = "OK" if mine == checks else f"MISMATCH {mine} != {checks}"
    print(f"   headline figures vs independent SQL counts: {verdict}")
    rt.close()
    return 0 if mine == checks else 1


if __name__ == "__main__":
    sys.exit(main())
