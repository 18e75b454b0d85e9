"""Resident memory of ``aduan run`` (daemon + web in one process): idle after start, and after its
own daemon has ingested 100,000 sandbox messages and the web has served every page.

    .venv/bin/python bench/memory_bench.py [--messages 100000]

Baseline: a bare ``python -c "import time; time.sleep(5)"`` of the same interpreter. The idle
run is repeated under ``python -X importtime`` to name the module that pulls in each heavy
library (matplotlib, openpyxl, fpdf, PIL, numpy) at start, if any does.

The loaded run serves :data:`PAGE_GROUPS` (inbox and filters, searches, case pages, dashboard and
admin pages, the recap list; it makes the day's recap and the month's report through the web and
downloads their files), printing RSS after each group, then does it all a second time: the
second pass must not add more than ``FLAT_MB`` (issue 29). ``bench/memory_trace.py`` shows where
the memory goes, step by step.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psutil

from bench.common import REPO, free_port, header, ratio, sqlite_url, wait_for_port, write_bench_config

TARGET_MB = 150.0
FLAT_MB = 10.0      # what a second pass of the same pages may add
SETTLE = 2.0        # seconds after a pass's last request for its settled figure
HEAVY = ("matplotlib", "openpyxl", "fpdf", "PIL", "numpy", "pandas")
FAST_SANDBOX = """
[accounts.sandbox]
kind = "sandbox"
label = "Sandbox (latihan)"
poll_interval = 5
seed = 2026
messages_per_minute = 6
# The whole backlog is "already there" at start and arrives 5,000 per poll (the shortest
# interval config allows is 5 s).
initial_burst = {count}
max_per_poll = 5000
"""


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def baseline_mb() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        time.sleep(1.5)
        return rss_mb(proc.pid)
    finally:
        proc.wait()


def aduan(config: Path, *argv: str, stderr: object = subprocess.DEVNULL,
          python_flags: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *python_flags, str(REPO / "main.py"), "--config",
                             str(config), *argv], cwd=config.parent, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)


def init(config: Path) -> tuple[str, str]:
    """``aduan init``; returns the first superuser's name and password (printed once)."""
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "init"],
                          capture_output=True, text=True, timeout=120, cwd=config.parent)
    if done.returncode != 0:
        raise SystemExit(f"aduan init failed: {done.stderr}")
    user = re.search(r"nama pengguna: (\S+)", done.stdout)
    password = re.search(r"kata sandi\s*: (\S+)", done.stdout)
    if not (user and password):
        raise SystemExit(f"no superuser printed by aduan init:\n{done.stdout}")
    return user.group(1), password.group(1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def idle_run(work: Path, settle: float) -> tuple[float, float, str]:
    """RSS of ``aduan run`` with the shipped sandbox pace, ``settle`` seconds after the web
    answers; also the import-time report of a second, identical start."""
    port = free_port()
    config = write_bench_config(work / "idle", sqlite_url(work / "idle" / "data" / "aduan.db"),
                                port=port)
    init(config)
    # As README says to: the model file is made once, so aduan run only reads it (and the
    # daemon loads it before its first poll: the idle figure is with the model loaded).
    subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "classify",
                    "train"], capture_output=True, timeout=600, cwd=config.parent, check=True)
    started = time.perf_counter()
    proc = aduan(config, "run")
    try:
        if not wait_for_port(port, 60):
            raise SystemExit("aduan run did not open its port")
        ready = time.perf_counter() - started
        time.sleep(settle)
        idle = max(rss_mb(proc.pid) for _ in range(5) if time.sleep(0.2) is None)
    finally:
        stop(proc)
    log = work / "importtime.txt"
    with open(log, "w", encoding="utf-8") as fh:
        proc = aduan(config, "run", stderr=fh, python_flags=("-X", "importtime"))
        try:
            wait_for_port(port, 60)
            time.sleep(3)  # the daemon's first jobs (and their lazy imports) have run
        finally:
            stop(proc)
    return idle, ready, heavy_import_report(log.read_text(encoding="utf-8"))


def heavy_import_report(text: str) -> str:
    """Which of our modules first imports each heavy library, from ``-X importtime`` output.

    importtime prints a module after everything it imported, one indentation level deeper;
    the importer of a line is therefore the next line below it with less indentation."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        name = line.rsplit("|", 1)[1]
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((depth, name.strip(), int(line.split("|")[1].strip() or 0)))
    found = []
    for heavy in HEAVY:
        index = next((i for i, (_, n, _) in enumerate(rows) if n == heavy), None)
        if index is None:
            continue
        chain, depth = [heavy], rows[index][0]
        cumulative_us = rows[index][2]
        for d, n, _ in rows[index + 1:]:
            if d < depth:
                chain.append(n)
                depth = d
                if d == 0 or n.split(".")[0] in ("inbox", "recap", "connectors", "main"):
                    break
        found.append(f"{heavy} ({cumulative_us / 1000:.0f} ms) imported by " + " <- ".join(chain[1:]))
    return "; ".join(found) if found else "none of " + ", ".join(HEAVY) + " is imported at start"


#: The pages the loaded run serves, in groups (RSS is printed after each group), twice.
#: ``{case}`` is replaced by each of the first case ids the inbox lists; "recaps" also makes the
#: day's recap and the month's report through the web and downloads every file made.
PAGE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inbox and filters", ("/", "/?status=terbuka", "/?overdue=1", "/?due_today=1",
                           "/?visibility=pribadi", "/?status=menunggu", "/antrian/group-admin",
                           "/jumlah-baru.json")),
    ("searches", ("/?q=KTP", "/?q=blangko", "/?q=Siti", "/?q=akta+kelahiran")),
    ("case pages", ("/pengaduan/{case}",)),
    ("dashboard and admin", ("/dasbor", "/kelola/model", "/kelola/audit", "/kelola/pengguna",
                             "/kelola/basis-pengetahuan", "/gangguan", "/kelola/tersisih",
                             "/kelola/cek-status", "/kelola/pembatasan", "/privasi",
                             "/akun/notifikasi")),
    ("recaps", ("/rekap",)),
)
CASE_PAGES = 10


def walk_pages(base: str, user: str, password: str, after_group: Callable[[str], Any]) -> None:
    """Log in, serve every page of :data:`PAGE_GROUPS`, make both recaps through the web and
    download their files; ``after_group(name)`` is called after each group."""
    import requests
    session = requests.Session()

    def get(path: str) -> requests.Response:
        response = session.get(base + path, timeout=300)
        if response.status_code != 200 or "/masuk" in response.url:
            raise SystemExit(f"GET {path}: {response.status_code} {response.url}")
        return response

    def token(page: requests.Response) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        return found.group(1) if found else ""

    session.post(f"{base}/masuk", data={"username": user, "password": password,
                                        "csrf_token": token(session.get(f"{base}/masuk"))})
    cases = list(dict.fromkeys(re.findall(r'href="/pengaduan/(\d+)"', get("/").text)))[:CASE_PAGES]
    for group, paths in PAGE_GROUPS:
        for path in paths:
            for one in ([path.format(case=c) for c in cases] if "{case}" in path else [path]):
                page = get(one)
        if group == "recaps":
            today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
            for action, field, value in (("buat-harian", "day", today),
                                         ("buat-bulanan", "month", today[:7])):
                made = session.post(f"{base}/rekap/{action}", data={field: value,
                                                                     "csrf_token": token(page)},
                                    timeout=600)
                if made.status_code != 200 or "dibuat" not in made.text:
                    raise SystemExit(f"POST /rekap/{action}: {made.status_code}")
                page = made
            for link in dict.fromkeys(re.findall(r'href="(/rekap/\d+/unduh)"', page.text)):
                get(link)
        after_group(group)


def loaded_run(work: Path, count: int) -> tuple[float, float, list[list[tuple[str, float]]], int]:
    """RSS after the daemon ingests ``count`` messages (and its peak while ingesting), then after
    each group of pages, in two passes of the same pages."""
    port = free_port()
    db = work / "loaded" / "data" / "aduan.db"
    config = write_bench_config(work / "loaded", sqlite_url(db), port=port,
                                accounts=FAST_SANDBOX.format(count=count))
    user, password = init(config)
    proc = aduan(config, "run")
    peak, started = 0.0, time.perf_counter()
    passes: list[list[tuple[str, float]]] = []
    try:
        if not wait_for_port(port, 60):
            raise SystemExit("aduan run did not open its port")
        seq = 0
        while seq < count:
            time.sleep(1)
            peak = max(peak, rss_mb(proc.pid))
            seq = cursor_seq(config)
            if time.perf_counter() - started > 900:
                raise SystemExit(f"ingest too slow: {seq} of {count} after 15 minutes")
        elapsed = time.perf_counter() - started
        after_ingest = rss_mb(proc.pid)
        for _ in range(2):
            steps: list[tuple[str, float]] = []
            walk_pages(f"http://127.0.0.1:{port}", user, password,
                       lambda group: steps.append((group, rss_mb(proc.pid))))
            # The same, SETTLE seconds later: what the task manager shows once the requests are
            # over (the daemon's loop gives freed memory back within a second, inbox.run.memory).
            time.sleep(SETTLE)
            steps.append(("settled", rss_mb(proc.pid)))
            passes.append(steps)
    finally:
        stop(proc)
    return after_ingest, max(peak, after_ingest), passes, int(count / elapsed)


def cursor_seq(config: Path) -> int:
    import json
    import sqlite3
    db = config.parent / "data" / "aduan.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT cursor FROM account WHERE name = 'sandbox'").fetchone()
    finally:
        conn.close()
    return int(json.loads(row[0] or "{}").get("seq", 0)) if row else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before measuring")
    args = parser.parse_args(argv)
    header("memory of aduan run")
    base = baseline_mb()
    print(f"baseline (bare python sleeping): {base:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="aduan-memory-") as tmp:
        work = Path(tmp)
        idle, ready, heavy = idle_run(work, args.settle)
        verdict = "MET" if idle < TARGET_MB else "MISSED"
        print(f"aduan run idle: {idle:.1f} MB ({ratio(idle, base)} baseline; web answering after "
              f"{ready:.1f} s)  target < {TARGET_MB:.0f} MB: {verdict}")
        print(f"heavy imports at start: {heavy}")
        after_ingest, peak, passes, rate = loaded_run(work, args.messages)
        verdict = "MET" if after_ingest <= TARGET_MB else "MISSED"
        print(f"aduan run after its daemon ingested {args.messages:,} messages "
              f"({rate:,} messages/s end to end, the outbox sending the DM acknowledgements "
              f"in between): {after_ingest:.1f} MB "
              f"({ratio(after_ingest, base)} baseline; peak while ingesting {peak:.1f} MB)  "
              f"target <= {TARGET_MB:.0f} MB: {verdict}")
        for n, steps in enumerate(passes, 1):
            print(f"   pass {n}, RSS (MB) after each group: "
                  + ", ".join(f"{group} {mb:.1f}" for group, mb in steps))
        first, second = passes[0][-1][1], passes[1][-1][1]
        at_once = passes[0][-2][1], passes[1][-2][1]
        verdict = "MET" if first <= TARGET_MB and second <= TARGET_MB else "MISSED"
        print(f"aduan run {SETTLE:.0f} s after the web served every page and made both recaps: "
              f"{first:.1f} MB ({ratio(first, base)} baseline); after a second pass of the same: "
              f"{second:.1f} MB  target <= {TARGET_MB:.0f} MB: {verdict}")
        print(f"   (right after the last request, before it settled: {at_once[0]:.1f} MB and "
              f"{at_once[1]:.1f} MB)")
        grew = second - first
        verdict = "MET" if grew <= FLAT_MB else "MISSED"
        print(f"the second pass added {grew:+.1f} MB  target <= {FLAT_MB:.0f} MB: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
