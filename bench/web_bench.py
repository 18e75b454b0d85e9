"""Server-side time of the busy web pages on a year of one busy office.

    .venv/bin/python bench/web_bench.py [--requests 20] [--profile overdue]
    .venv/bin/python bench/web_bench.py --postgres postgresql://postgres@127.0.0.1:5432/aduan_bench_year

The year is generated once (bench/generate.py) into ``bench/out/year.db`` (or the PostgreSQL
database given) and reused; delete the file to make a new one. A database holding fewer than
YEAR_MIN_CASES cases (another bench's) is emptied and given a year: use a database of its own.
Each page is requested through the Flask test client, logged in as a superuser admin (or, with
``--role group_admin|division|supervisor``, as a user of that role; division: of Bidang dafduk),
so the time is the server's alone (routing, queries, template, no network).
Baseline: the page's main list query, written as the one SQL statement it amounts to, run
through the bare driver on the same database: what the page would cost if it did nothing else.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bench.common import OUT, header, ratio, sqlite_url, summary_ms, write_bench_config

TARGET_P95_MS = 150.0
YEAR_DB = OUT / "year.db"
ADMIN, PASSWORD = "bench_web", "bench-web-password"
OPEN = "('new', 'escalated', 'at_division', 'division_answered', 'replying')"
LIST_SQL = ('SELECT c.*, a.name, a.kind, ct.handle, ct.name, d.name FROM "case" c '
            'JOIN account a ON a.id = c.account_id JOIN contact ct ON ct.id = c.contact_id '
            'LEFT JOIN division d ON d.id = c.division_id {where} ORDER BY c.id DESC LIMIT 51')


#: Fewer cases than this is not a year of one busy office (bench.generate.Volume makes ~219,000).
YEAR_MIN_CASES = 150_000


def prepare(url: str | None, role: str = "admin") -> Any:
    """The runtime over the year's database, generating the year first if it is not there."""
    from bench.generate import Volume, generate
    from inbox.db import database
    from inbox.models import Case
    from inbox.setup.config import load_config
    from inbox.setup.migrations import migrate, needs_migration
    from inbox.setup.runtime import Runtime, create_user
    work = OUT / ("web-pg" if url else "web")
    config = load_config(write_bench_config(work, url or sqlite_url(YEAR_DB)))
    rt = Runtime(config)
    held = Case.select().count() if database.table_exists(Case._meta.table_name) else 0
    if held < YEAR_MIN_CASES:
        if held:  # e.g. ingest_bench's few thousand cases in a shared bench database
            print(f"   {url or YEAR_DB} holds {held:,} cases, not a year: replacing them")
        print(f"   generating a year into {url or YEAR_DB} (once; reused afterwards)")
        stats = generate(rt, Volume(), fresh=True)
        print(f"   {stats['cases']:,} cases, {stats['messages']:,} messages in "
              f"{stats['seconds']} s")
    elif needs_migration():  # a year made by older code: upgrade it as `aduan init` would
        started = time.perf_counter()
        applied = migrate()
        print(f"   migrated the year ({', '.join(applied)}) in "
              f"{time.perf_counter() - started:.0f} s")
    catch_up_marks(rt)
    from inbox.models import User
    from werkzeug.security import generate_password_hash
    name = bench_user(role)
    user = User.get_or_none(User.username == name)
    if user is None:
        from inbox.models import Division
        create_user(name, PASSWORD, role,
                    division=Division.get(Division.code == "dafduk") if role == "division" else None,
                    is_superuser=role == "admin", full_name=f"Bench {role}")
    else:
        User.update(password_hash=generate_password_hash(PASSWORD), active=True, failed_logins=0,
                    locked_until=None).where(User.id == user.id).execute()
    database.close()
    return rt


def catch_up_marks(rt: Any) -> None:
    """Hash the year's numbers as the daemon would have done every minute (once; kept in the
    database): otherwise each case page served catches up 500 of a million messages first and
    the bench measures the catch-up, not the page."""
    from inbox.sop.related import index_marks
    started, total = time.perf_counter(), 0
    while (done := index_marks(rt, batch=20_000)):
        total += done
    if total:
        print(f"   hashed the numbers of {total:,} messages (the daemon's marks) in "
              f"{time.perf_counter() - started:.0f} s")


def pages(rt: Any) -> list[tuple[str, str, str, list[Any]]]:
    """(name, URL, baseline SQL, parameters) for each page measured."""
    import peewee as pw
    from inbox.db import is_postgres
    from inbox.models import Case, CaseCategory, Division, Message, utcnow
    now = utcnow().replace(tzinfo=None)
    category = (CaseCategory.select(CaseCategory.code, pw.fn.COUNT(CaseCategory.id).alias("n"))
                .group_by(CaseCategory.code).order_by(pw.SQL("n").desc()).scalar())
    rare = (CaseCategory.select(CaseCategory.code, pw.fn.COUNT(CaseCategory.id).alias("n"))
            .group_by(CaseCategory.code).order_by(pw.SQL("n")).scalar())
    division = Division.get(Division.code == "dafduk")
    busiest = (Message.select(Message.case, pw.fn.COUNT(Message.id).alias("n"))
               .group_by(Message.case).order_by(pw.SQL("n").desc()).limit(1).scalar())
    middle = Case.select(pw.fn.MAX(Case.id)).scalar() // 2
    reference = Case.get_by_id(middle).reference
    # Baseline of a search page: the plain LIKE statement the search was before its index.
    like = "ILIKE" if is_postgres() else "LIKE"
    search = (f"c.reference {like} ? OR c.contact_id IN (SELECT id FROM contact WHERE handle "
              f"{like} ? OR name {like} ?) OR c.id IN (SELECT case_id FROM message WHERE text "
              f"{like} ?)")
    second = page_two_of("Siti")

    def searching(text: str, name: str | None = None, url: str | None = None) -> tuple:
        return (name or f"search {text!r}", url or f"/?q={quote(text)}",
                LIST_SQL.format(where=f"WHERE {search}"), [f"%{text}%"] * 4)
    return [
        ("inbox", "/", LIST_SQL.format(where=""), []),
        ("inbox page 200", f"/?sebelum={middle}", LIST_SQL.format(where="WHERE c.id < ?"), [middle]),
        ("open", "/?status=terbuka", LIST_SQL.format(where=f"WHERE c.status IN {OPEN}"), []),
        ("status escalated", "/?status=escalated",
         LIST_SQL.format(where="WHERE c.status = ?"), ["escalated"]),
        ("overdue", "/?overdue=1",
         LIST_SQL.format(where=f"WHERE c.status IN {OPEN} AND c.due_at < ?"), [now]),
        (f"category {category}", f"/?category={category}",
         LIST_SQL.format(where="WHERE EXISTS (SELECT 1 FROM case_category cc WHERE cc.code = ? "
                               "AND cc.case_id = c.id)"), [category]),
        (f"category {rare} (rare)", f"/?category={rare}",
         LIST_SQL.format(where="WHERE EXISTS (SELECT 1 FROM case_category cc WHERE cc.code = ? "
                               "AND cc.case_id = c.id)"), [rare]),
        searching("blangko"),
        searching("Siti"),
        searching("Siti", "search 'Siti' page 2", f"/?q=Siti&sebelum={second}"),
        searching("ktp", "search 'ktp' (common)"),
        searching(reference, "search a reference"),
        searching(reference[:10], f"search {reference[:10]!r} (one old month)"),
        searching("zzqx", "search 'zzqx' (no match)"),
        searching("rt", "search 'rt' (2 letters)"),
        ("division queue dafduk", "/antrian/bidang/dafduk",
         LIST_SQL.format(where="WHERE c.division_id = ? AND c.status = 'at_division'"),
         [division.id]),
        ("group admin queue", "/antrian/group-admin",
         LIST_SQL.format(where="WHERE c.status = 'escalated'"), []),
        ("case page", f"/pengaduan/{busiest}",
         'SELECT * FROM message WHERE case_id = ? ORDER BY created_at, id', [busiest]),
        ("dashboard", "/dasbor",
         f'SELECT status, COUNT(*) FROM "case" WHERE status IN {OPEN} GROUP BY status', []),
    ]


def page_two_of(text: str) -> int:
    """Where the second page of a search starts (the last case of the first)."""
    from inbox.models import Case, utcnow
    from inbox.web.queries import InboxFilter, apply_filter, page
    return page(apply_filter(Case.select(), InboxFilter(q=text), utcnow(), None), None)[1]


def bench_user(role: str) -> str:
    """The bench's user of ``role`` (the superuser admin keeps its old name)."""
    return ADMIN if role == "admin" else f"{ADMIN}_{role}"


def login(client: Any, role: str = "admin") -> None:
    page = client.get("/masuk")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    done = client.post("/masuk", data={"username": bench_user(role), "password": PASSWORD,
                                       "csrf_token": token.group(1) if token else ""})
    if done.status_code != 302:
        raise SystemExit(f"login failed ({done.status_code})")


def time_calls(call: Callable[[], Any], count: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def raw_query(url: str | None) -> Callable[[str, list[Any]], None]:
    """Run one SQL statement through the bare driver and fetch every row."""
    if url is None:
        import sqlite3
        conn = sqlite3.connect(YEAR_DB)

        def run(sql: str, params: list[Any]) -> None:
            conn.execute(sql, [p.isoformat(" ") if isinstance(p, datetime) else p
                               for p in params]).fetchall()
        return run
    import psycopg2
    conn = psycopg2.connect(url)
    conn.autocommit = True

    def run_pg(sql: str, params: list[Any]) -> None:
        with conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            cur.fetchall()
    return run_pg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--postgres", metavar="URL",
                        help="use (and fill once) this PostgreSQL database instead of year.db")
    parser.add_argument("--only", help="measure only pages whose name contains this")
    parser.add_argument("--role", default="admin",
                        choices=("admin", "group_admin", "division", "supervisor"),
                        help="log in as a user of this role (default: a superuser admin)")
    parser.add_argument("--profile", metavar="PAGE",
                        help="profile requests of the first page whose name contains PAGE")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    header("web pages on a year of data")
    rt = prepare(args.postgres, args.role)
    from inbox.models import Case, Message
    from inbox.web.app import create_app
    print(f"   data: {Case.select().count():,} cases, {Message.select().count():,} messages "
          f"({args.postgres or YEAR_DB.relative_to(OUT.parent.parent)})")
    app = create_app(rt)
    from inbox.understand.suggest import suggester_for
    warming, started = suggester_for(rt.db, rt.config.suggest["history_days"]), time.perf_counter()
    while warming.preparing or warming._built_at is None and time.perf_counter() - started < 5:
        time.sleep(1)  # measure the pages, not the past answers read once after a start
    if time.perf_counter() - started > 5:
        print(f"   waited {time.perf_counter() - started:.0f} s for the suggested answers' "
              f"start-up reading")
    client = app.test_client()
    login(client, args.role)
    query = raw_query(args.postgres)
    measured = [p for p in pages(rt) if not args.only or args.only in p[0]]
    if args.profile:
        from pyinstrument import Profiler
        name, url, _, _ = next(p for p in measured if args.profile in p[0])
        profiler = Profiler()
        profiler.start()
        for _ in range(5):
            client.get(url)
        profiler.stop()
        slug = re.sub(r"\W+", "_", name)
        target = OUT / f"web_profile_{slug}.txt"
        target.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
        print(f"   profile of {url} written to {target.relative_to(OUT.parent.parent)}")
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'page/SQL':>9}  target p95 ≤ "
          f"{TARGET_P95_MS:.0f} ms")
    missed = []
    for name, url, sql, params in measured:
        def get(url: str = url) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code}")
        page = summary_ms(time_calls(get, args.requests))
        base = summary_ms(time_calls(lambda: query(sql, params), args.requests))
        ok = page["p95"] <= TARGET_P95_MS
        if not ok:
            missed.append(name)
        print(f"{name:<36} {page['p50']:8.1f} {page['p95']:8.1f} {base['p50']:8.1f} "
              f"{ratio(page['p50'], base['p50']):>9}  {'met' if ok else 'MISSED'}")
    print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms: " + ("MET on every page" if not missed
                                                      else "MISSED on " + ", ".join(missed)))
    rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
