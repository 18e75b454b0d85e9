"""Helpers the benchmark scripts share: repo path, bench configs, percentiles, machine facts.

Benchmarks are run by hand from the repository root (``.venv/bin/python bench/<name>.py``);
they print figures and a ratio to a baseline measured in the same run, because an absolute
number from one machine means little on another while a ratio to the same work done the
plainest possible way travels.
"""
from __future__ import annotations

import os
import platform
import socket
import statistics
import sys
import textwrap
import time
from contextlib import contextmanager
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DIVISIONS = """
[[divisions]]
code = "dafduk"
name = "Bidang Pelayanan Pendaftaran Penduduk"

[[divisions]]
code = "capil"
name = "Bidang Pelayanan Pencatatan Sipil"

[[divisions]]
code = "piak"
name = "Bidang Pengelolaan Informasi Administrasi Kependudukan"

[[divisions]]
code = "pdip"
name = "Bidang Pemanfaatan Data dan Inovasi Pelayanan"

[[divisions]]
code = "sekretariat"
name = "Sekretariat"
"""

SANDBOX_ACCOUNT = """
[accounts.sandbox]
kind = "sandbox"
label = "Sandbox (latihan)"
poll_interval = 10
seed = 2026
messages_per_minute = 6
initial_burst = 8
"""


def write_bench_config(directory: Path, url: str, accounts: str = SANDBOX_ACCOUNT,
                       port: int = 8080, extra: str = "") -> Path:
    """A complete config.toml for a benchmark (same sections as the shipped one)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(f"""
        [office]
        name = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Brebes"
        short_name = "Dukcapil Brebes"
        timezone = "Asia/Jakarta"
        data_dir = "data"

        [database]
        url = "{url}"

        [web]
        host = "127.0.0.1"
        port = {port}
        secret_key = "bench-secret-key-not-for-production"

        [sla]
        acknowledge_private = true
        """) + DIVISIONS + accounts + extra
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def drop_all_tables() -> None:
    """Empty the open database (the proxy's) so a PostgreSQL bench starts from nothing."""
    from inbox.db import database, is_postgres
    from inbox.models import MODELS, SchemaMigration, drop_search_index
    database.drop_tables(list(reversed(MODELS)) + [SchemaMigration], safe=True,
                         **({"cascade": True} if is_postgres() else {}))
    drop_search_index(database.obj)  # SQLite's FTS tables outlive the tables they index


def free_port() -> int:
    """A free TCP port on the loopback interface (never any other address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "mean": statistics.fmean(ms) if ms else float("nan"), "max": max(ms, default=float("nan"))}


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` leaves the elapsed seconds in ``t[0]``."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def machine() -> str:
    """One line naming the machine, for RESULTS.md."""
    cores = os.cpu_count() or 0
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cores} cores{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def header(title: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"== {title} — {stamp}")
    print(f"   machine: {machine()}")
    print(f"   command: {' '.join([Path(sys.executable).name, *sys.argv])}")


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline else "n/a"
