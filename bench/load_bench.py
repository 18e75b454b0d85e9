"""Requests per second and p95 of ``aduan serve`` (waitress, 8 threads) on a year of data.

    .venv/bin/python bench/load_bench.py [--clients 8] [--requests 1500] [--seconds 30]

A Python load generator — threads, one logged-in ``requests.Session`` each — sends a bounded
number of requests within a bounded time, to 127.0.0.1 only, for two pages: the inbox list and
case pages (chosen at random among the year's cases); then for the cheapest signed-in request
(``/jumlah-baru.json`` without a case id: no query beyond the session's user), the floor that
this server's own frame allows, to see how much of a page's time is the page. Baseline: the
same generator against a trivial WSGI app (a fixed "ok") served by waitress with the same thread
count, in the same run: the ceiling that the HTTP stack and this 2-core machine allow, client
included.

The year is the cached ``bench/out/year.db`` of web_bench.py (generated once if missing), or with
``--postgres URL`` that PostgreSQL database (filled once). The server is measured warm, as an
office's runs all day: a started server first reads a year of past answers for the suggested
answers in a background thread (a minute or more of one core); the bench waits until a case page
no longer says they are being prepared, and prints how long that took.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import requests

from bench.common import (OUT, REPO, free_port, header, percentile, ratio, sqlite_url,
                          wait_for_port, write_bench_config)
from bench.web_bench import ADMIN, PASSWORD, YEAR_DB, prepare

TRIVIAL_APP = """
import sys
from waitress import serve

def app(environ, start_response):
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [body]

serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def load(base: str, paths: Callable[[], str], clients: int, total: int, seconds: float,
         login: bool) -> dict[str, float]:
    """Send up to ``total`` GETs from ``clients`` threads for at most ``seconds``."""
    latencies: list[float] = []
    errors: dict[str, int] = {}   # what went wrong: an HTTP status or the exception's name
    lock = threading.Lock()
    remaining = [total]
    deadline = time.monotonic() + seconds

    def session() -> requests.Session:
        s = requests.Session()
        if login:
            page = s.get(f"{base}/masuk", timeout=30)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            s.post(f"{base}/masuk", data={"username": ADMIN, "password": PASSWORD,
                                          "csrf_token": token.group(1) if token else ""},
                   timeout=30)
        return s

    sessions = [session() for _ in range(clients)]

    def worker(s: requests.Session) -> None:
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                response = s.get(base + paths(), timeout=30, allow_redirects=False)
                failure = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                failure = type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if failure:
                    errors[failure] = errors.get(failure, 0) + 1

    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"rps": len(latencies) / wall, "p50": percentile(latencies, 50) * 1000,
            "p95": percentile(latencies, 95) * 1000, "n": len(latencies),
            "errors": sum(errors.values()),
            "why": ", ".join(f"{n} {kind}" for kind, n in sorted(errors.items()))}


PREPARING = "Saran jawaban sedang disiapkan"


def wait_until_warm(base: str, case_id: int, limit: float = 900) -> float:
    """Seconds until the case page of an open case stops saying the suggested answers are still
    being prepared (the server's start-up work), at most ``limit``."""
    s = requests.Session()
    page = s.get(f"{base}/masuk", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    s.post(f"{base}/masuk", data={"username": ADMIN, "password": PASSWORD,
                                  "csrf_token": token.group(1) if token else ""}, timeout=30)
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if PREPARING not in s.get(f"{base}/pengaduan/{case_id}", timeout=60).text:
            break
        time.sleep(2)
    return time.perf_counter() - started


def start(argv: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    if not wait_for_port(port, 60):
        proc.kill()
        raise SystemExit(f"server did not start: {proc.stderr.read()[-2000:]}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def line(label: str, r: dict[str, float], base: dict[str, float] | None) -> str:
    rel = f"  ({ratio(r['rps'], base['rps'])} of baseline req/s)" if base else ""
    return (f"{label:<34} {r['rps']:8.1f} req/s  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  "
            f"({r['n']} requests, {r['errors']} errors{': ' + r['why'] if r['why'] else ''}){rel}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1500, help="per page, at most")
    parser.add_argument("--seconds", type=float, default=30, help="per page, at most")
    parser.add_argument("--postgres", metavar="URL",
                        help="serve this PostgreSQL database (a year filled once) instead of year.db")
    args = parser.parse_args(argv)
    header("load on aduan serve")
    rt = prepare(args.postgres)  # the year, and the admin the clients log in as
    from inbox.db import database
    from inbox.models import Case
    database.connect(reuse_if_open=True)
    ids = [c for (c,) in Case.select(Case.id).order_by(Case.id).tuples()]
    case_ids = random.Random(1).sample(ids, min(500, len(ids)))
    open_case = Case.select(Case.id).where(Case.status == "new").order_by(Case.id.desc()).scalar()
    database.close()
    rt.close()

    base_port = free_port()
    trivial = start([sys.executable, "-c", TRIVIAL_APP, str(base_port)], base_port)
    try:
        baseline = load(f"http://127.0.0.1:{base_port}", lambda: "/", args.clients,
                        args.requests, args.seconds, login=False)
    finally:
        stop(trivial)
    print(line("baseline: trivial WSGI on waitress", baseline, None))

    port = free_port()
    # The data folder prepare() used: its marks key is the one the year's marks were made with
    # (another folder's key makes the first case page throw them away and start again).
    config = write_bench_config(OUT / ("web-pg" if args.postgres else "web"),
                                args.postgres or sqlite_url(YEAR_DB), port=port)
    server = start([sys.executable, str(REPO / "main.py"), "--config", str(config), "serve"], port)
    try:
        base = f"http://127.0.0.1:{port}"
        if open_case is not None:
            print(f"   server warm after {wait_until_warm(base, open_case):.0f} s "
                  f"(suggested answers read in the background)")
        inbox = load(base, lambda: "/", args.clients, args.requests, args.seconds, login=True)
        print(line("aduan: inbox list /", inbox, baseline))
        pick = random.Random(2)
        case = load(base, lambda: f"/pengaduan/{pick.choice(case_ids)}", args.clients,
                    args.requests, args.seconds, login=True)
        print(line("aduan: case page /pengaduan/<id>", case, baseline))
        # The floor of a signed-in request on this server: the session, the user, the database
        # opened and closed, the security headers, a few bytes of JSON, and no page.
        floor = load(base, lambda: "/jumlah-baru.json", args.clients, args.requests,
                     args.seconds, login=True)
        print(line("aduan: signed-in floor /jumlah-baru.json", floor, baseline))
        print(f"   the inbox list costs {floor['rps'] / inbox['rps']:.1f}x the floor's time, "
              f"the case page {floor['rps'] / case['rps']:.1f}x")
    finally:
        stop(server)
    print(f"   data: {args.postgres or YEAR_DB.relative_to(OUT.parent.parent)}, {len(ids):,} cases; "
          f"{args.clients} client threads on the same 2 cores as the server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
