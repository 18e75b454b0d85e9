"""Resident memory of ``aduan run`` (daemon + web in one process): idle after start, and after its
own daemon has ingested 100,000 sandbox messages and the web has served the busy pages.

    .venv/bin/python bench/memory_bench.py [--messages 100000]

Baseline: a bare ``python -c "import time; time.sleep(5)"`` of the same interpreter. The idle
run is repeated under ``python -X importtime`` to name the module that pulls in each heavy
library (matplotlib, openpyxl, fpdf, PIL, numpy) at start, if any does.
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

import psutil

from bench.common import REPO, free_port, header, ratio, sqlite_url, wait_for_port, write_bench_config

TARGET_MB = 150.0
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


def loaded_run(work: Path, count: int) -> tuple[float, float, float, int]:
    """RSS while and after the daemon ingests ``count`` messages, then after the web pages."""
    import requests
    port = free_port()
    db = work / "loaded" / "data" / "aduan.db"
    config = write_bench_config(work / "loaded", sqlite_url(db), port=port,
                                accounts=FAST_SANDBOX.format(count=count))
    user, password = init(config)
    proc = aduan(config, "run")
    peak, started = 0.0, time.perf_counter()
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
        session = requests.Session()
        base = f"http://127.0.0.1:{port}"
        page = session.get(f"{base}/masuk")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        session.post(f"{base}/masuk", data={"username": user, "password": password,
                                            "csrf_token": token.group(1) if token else ""})
        steps = []
        for path in ("/", "/?status=terbuka", "/?overdue=1", "/dasbor", "/rekap", "/?q=KTP",
                     "/?q=blangko", "/?q=Siti"):
            response = session.get(base + path, timeout=60)
            if response.status_code != 200 or "/masuk" in response.url:
                raise SystemExit(f"GET {path}: {response.status_code} {response.url}")
            steps.append(f"{path} {rss_mb(proc.pid):.0f}")
        print("   RSS (MB) after each page: " + ", ".join(steps))
        after_web = rss_mb(proc.pid)
    finally:
        stop(proc)
    return after_ingest, max(peak, after_ingest), after_web, int(count / elapsed)


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
        after_ingest, peak, after_web, rate = loaded_run(work, args.messages)
        print(f"aduan run after its daemon ingested {args.messages:,} messages "
              f"({rate:,} messages/s end to end, the outbox sending the DM acknowledgements "
              f"in between): {after_ingest:.1f} MB "
              f"({ratio(after_ingest, base)} baseline; peak while ingesting {peak:.1f} MB)")
        print(f"aduan run after the web served the inbox, filters, dashboard and recaps: "
              f"{after_web:.1f} MB ({ratio(after_web, base)} baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
