"""The Meta webhook receiver under load, on SQLite, while a worker ingests what it stores.

    .venv/bin/python bench/webhook_bench.py [--runs 5] [--deliveries 3000] [--clients 4]

Each run starts ``aduan serve`` and ``aduan worker`` as processes on a new SQLite file (the normal
office set-up), then sends signed WhatsApp deliveries, each a distinct text message, from
``--clients`` threads over keep-alive connections to 127.0.0.1 only. It reports the receiver's
answer time (p50/p95/p99) and deliveries per second, then waits until the worker has taken every
delivery (no spool file left, no pending row) and checks that each delivery is one row and each
message is stored exactly once.
Baseline, same run, same client: a bare WSGI handler served by waitress that only checks the
signature and answers 200 — what any receiver must at least do.
Targets (issue 29): p99 <= 50 ms and >= 0.5x the baseline's deliveries/s, in every run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
import threading
import time

import requests

from bench.common import (REPO, free_port, header, percentile, ratio, sqlite_url, wait_for_port,
                          write_bench_config)

SECRET = "bench-app-secret"
PNID = "106540352242922"
ACCOUNT = f"""
[accounts.wa_bench]
kind = "whatsapp"
phone_number_id = "{PNID}"
access_token = "bench-token"
app_secret = "{SECRET}"
verify_token = "bench-verify"
"""
BARE = textwrap.dedent(f"""
    import hashlib, hmac, sys, waitress
    SECRET = {SECRET!r}.encode()
    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, environ.get("HTTP_X_HUB_SIGNATURE_256", ""))
        start_response("200 OK" if ok else "403 Forbidden", [("Content-Type", "text/plain")])
        return [b"EVENT_RECEIVED" if ok else b"forbidden"]
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
""")


def delivery(n: int) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID},
            "contacts": [{"profile": {"name": f"Warga {n % 97}"}, "wa_id": f"62812{n % 97:07d}"}],
            "messages": [{"from": f"62812{n % 97:07d}", "id": external_id(n),
                          "timestamp": str(1772420400 + n), "type": "text",
                          "text": {"body": f"KTP saya nomor pengajuan {n} belum jadi, mohon dicek"}}]}}]}]
    }).encode()


def blast(url: str, bodies: list[bytes], clients: int) -> tuple[list[float], float, int]:
    """Send every body once, ``clients`` at a time; (answer times, seconds, failures)."""
    times: list[float] = []
    failures = [0]
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]

    def client(chunk: list[bytes]) -> None:
        session = requests.Session()
        mine = []
        for raw in chunk:
            signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            start = time.perf_counter()
            response = session.post(url, data=raw, timeout=30, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": signature})
            mine.append(time.perf_counter() - start)
            if response.status_code != 200:
                with lock:
                    failures[0] += 1
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, time.perf_counter() - started, failures[0]


def report(label: str, times: list[float], seconds: float, failures: int) -> tuple[float, float]:
    ms = [t * 1000 for t in times]
    rate = len(times) / seconds
    print(f"   {label:<34} p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  "
          f"p99 {percentile(ms, 99):6.1f} ms  {rate:7.0f} deliveries/s  ({failures} refused)")
    return percentile(ms, 99), rate


TARGET_P99_MS = 50.0
TARGET_RATIO = 0.5


def external_id(n: int) -> str:
    return f"wamid.BENCH{n:08d}"


def drained(work: Path, expected: set[str], seconds: float = 600) -> tuple[bool, str]:
    """Wait until the worker took every delivery (no file in the spool, no pending row), then
    check each delivery became one row and each of its messages is stored exactly once."""
    spool = work / "data" / "webhooks" / "new"
    db = sqlite3.connect(work / "data" / "aduan.db", timeout=30)
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            files = sum(1 for name in os.listdir(spool) if name.endswith(".json")) \
                if spool.is_dir() else 0
            pending = db.execute("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'"
                                 ).fetchone()[0]
            if files == 0 and pending == 0:
                break
            time.sleep(0.5)
        else:
            return False, f"not drained after {seconds:.0f} s ({files} files, {pending} pending)"
        took = time.monotonic() - started
        rows, done = db.execute("SELECT count(*), sum(status = 'done') FROM webhook_delivery"
                                ).fetchone()
        counts = dict(db.execute("SELECT external_id, count(*) FROM message WHERE external_id "
                                 "LIKE 'wamid.BENCH%' GROUP BY external_id").fetchall())
    finally:
        db.close()
    missing = expected - set(counts)
    twice = {k: n for k, n in counts.items() if n > 1}
    extra = set(counts) - expected
    ok = rows == len(expected) and done == rows and not missing and not twice and not extra
    return ok, (f"drained {took:.0f} s after the last answer; {rows} delivery rows ({done} done) "
                f"for {len(expected)} sent; messages: {len(counts)} stored, {len(missing)} "
                f"missing, {len(twice)} twice, {len(extra)} unexpected")


def one_run(args: argparse.Namespace, number: int) -> tuple[float, float, float, float, bool]:
    """One run in a new data folder: (p99, deliveries/s, baseline p99, baseline /s, stored ok)."""
    work = Path(tempfile.mkdtemp(prefix="aduan-webhook-bench-"))
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs: list[subprocess.Popen] = []
    try:
        bare_port = free_port()
        procs.append(subprocess.Popen([python, "-c", BARE, str(bare_port)], env=env,
                                      stderr=subprocess.DEVNULL))  # waitress queue notes
        port = free_port()
        config = write_bench_config(work, sqlite_url(work / "data" / "aduan.db"), accounts=ACCOUNT,
                                    port=port)
        subprocess.run([python, str(REPO / "main.py"), "--config", str(config), "init"], env=env,
                       check=True, capture_output=True)
        for command in ("serve",) if args.no_worker else ("serve", "worker"):
            procs.append(subprocess.Popen([python, str(REPO / "main.py"), "--config", str(config),
                                           command], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        if not (wait_for_port(bare_port) and wait_for_port(port)):
            raise SystemExit("   a server did not start")
        offset = number * 10**6  # every run's messages distinct, so a leak between runs shows
        sent = [offset + n for n in range(args.deliveries)]
        warm = [offset + 900_000 + n for n in range(50)]
        bodies = [delivery(n) for n in sent]
        print(f"run {number + 1} of {args.runs}  (load {os.getloadavg()[0]:.2f})")
        blast(f"http://127.0.0.1:{bare_port}/", [delivery(n) for n in warm], args.clients)
        blast(f"http://127.0.0.1:{port}/webhooks/meta", [delivery(n) for n in warm], args.clients)
        base_p99, base_rate = report("baseline: bare signature check", *blast(
            f"http://127.0.0.1:{bare_port}/", bodies, args.clients))
        p99, rate = report("aduan /webhooks/meta (stores, 200)", *blast(
            f"http://127.0.0.1:{port}/webhooks/meta", bodies, args.clients))
        met = p99 <= TARGET_P99_MS and rate >= TARGET_RATIO * base_rate
        print(f"   ratio to baseline: p99 {ratio(p99, base_p99)}, throughput {ratio(rate, base_rate)}"
              f"; p99 <= {TARGET_P99_MS:.0f} ms and >= {TARGET_RATIO}x: {'met' if met else 'NOT met'}")
        stored = True
        if not args.no_worker:
            stored, text = drained(work, {external_id(n) for n in sent + warm})
            print(f"   {'stored exactly once' if stored else 'STORAGE CHECK FAILED'}: {text}")
        return p99, rate, base_p99, base_rate, stored and met
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-worker", action="store_true", help="the receiver alone")
    args = parser.parse_args()
    header("webhook receiver (SQLite, with aduan worker ingesting)")
    results = [one_run(args, n) for n in range(args.runs)]
    print(f"{'run':>4} {'p99 ms':>8} {'/s':>6} {'base p99':>9} {'base /s':>8} {'ratio':>6}  verdict")
    for n, (p99, rate, base_p99, base_rate, ok) in enumerate(results, 1):
        print(f"{n:>4} {p99:8.1f} {rate:6.0f} {base_p99:9.1f} {base_rate:8.0f} "
              f"{ratio(rate, base_rate):>6}  {'met' if ok else 'NOT met'}")
    passed = sum(ok for *_, ok in results)
    print(f"targets (p99 <= {TARGET_P99_MS:.0f} ms, >= {TARGET_RATIO}x the baseline's "
          f"deliveries/s, every delivery stored exactly once) met in {passed} of {len(results)} runs")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
