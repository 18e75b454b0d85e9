"""Where the memory of ``aduan run`` goes: the memory benchmark's sequence run inside this
process, with a breakdown at every step.

    .venv/bin/python bench/memory_trace.py [--messages 100000] [--tracemalloc]

``aduan run`` (``main.main``) runs in this process's main thread exactly as on the command
line; a driver thread waits for the sandbox backlog to be ingested, logs in, walks the pages of
``bench/memory_bench.py`` (:data:`bench.memory_bench.PAGE_GROUPS`) twice and stops the process
with SIGTERM. After every step it prints the resident size beside what makes it up:

* ``py``: what Python's allocator holds (``tracemalloc``, only with ``--tracemalloc``: it costs
  about half again in time and some RSS itself; the top lines by source line are printed too);
* ``sqlite``: SQLite's own heap, every connection's page cache and prepared statements
  (``sqlite3_memory_used``; ``hw`` its high-water mark);
* ``malloc``: glibc's heap in use and free-but-kept (``mallinfo2``), the arenas' count;
* the threads, the open SQLite connections (peewee's, counted in the proxy) and which heavy
  libraries are loaded.

At the end it calls ``malloc_trim(0)`` once and prints the RSS again: what glibc gives back is
free memory it had kept, not memory the program uses. A diagnostic, not a benchmark: the
figures to report come from ``bench/memory_bench.py`` (a subprocess, no tracing).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import ctypes
import ctypes.util
import gc
import os
import signal
import subprocess
import tempfile
import threading
import time
import tracemalloc

import psutil

from bench.common import REPO, free_port, header, sqlite_url, wait_for_port, write_bench_config
from bench.memory_bench import FAST_SANDBOX, HEAVY, cursor_seq, init, walk_pages

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
_sqlite.sqlite3_memory_used.restype = ctypes.c_int64
_sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
_sqlite.sqlite3_memory_highwater.argtypes = [ctypes.c_int]


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_libc.mallinfo2.restype = _Mallinfo2
_libc.open_memstream.restype = ctypes.c_void_p
_libc.open_memstream.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.free.argtypes = [ctypes.c_void_p]
_libc.malloc_trim.argtypes = [ctypes.c_size_t]
MB = 2**20


def arenas() -> int:
    """How many malloc arenas glibc made (one per thread that allocated, up to 8 x cores)."""
    buf = ctypes.c_void_p()
    size = ctypes.c_size_t()
    stream = _libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    _libc.malloc_info(0, stream)
    _libc.fclose(stream)
    text = ctypes.string_at(buf.value, size.value).decode()
    _libc.free(buf.value)
    return text.count("<heap nr=")


def open_connections() -> int:
    import sqlite3
    return sum(1 for o in gc.get_objects() if type(o) is sqlite3.Connection)


def breakdown(label: str, traced: bool, top: int) -> float:
    gc.collect()
    rss = psutil.Process().memory_info().rss / MB
    info = _libc.mallinfo2()
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    anon, files = (int(status[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile"))
    parts = [f"{label:<28} RSS {rss:6.1f} MB (anon {anon:6.1f} file {files:5.1f})"]
    if traced:
        current, _ = tracemalloc.get_traced_memory()
        parts.append(f"py {current / MB:6.1f}")
    parts.append(f"sqlite {_sqlite.sqlite3_memory_used() / MB:5.1f} "
                 f"(hw {_sqlite.sqlite3_memory_highwater(0) / MB:5.1f})")
    parts.append(f"malloc used {(info.uordblks + info.hblkhd) / MB:6.1f} free {info.fordblks / MB:6.1f}"
                 f" arenas {arenas()}")
    parts.append(f"threads {threading.active_count()} sqlite conns {open_connections()}")
    heavy = [h for h in HEAVY + ("sklearn", "scipy", "waitress", "jinja2") if h in sys.modules]
    parts.append("loaded: " + ",".join(heavy))
    print(" | ".join(parts), flush=True)
    if traced and top:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        for stat in snapshot.statistics("filename")[:top]:
            name = stat.traceback[0].filename
            short = name.split("site-packages/")[-1].split("/work/")[-1]
            print(f"      {stat.size / MB:6.1f} MB {stat.count:8d} blocks  {short}")
    return rss


def drive(config: Path, port: int, count: int, user: str, password: str, traced: bool,
          top: int, settle: float, done: threading.Event) -> None:
    try:
        if not wait_for_port(port, 120):
            print("aduan run did not open its port", flush=True)
            return
        time.sleep(settle)
        breakdown("started", traced, top)
        started = time.perf_counter()
        while cursor_seq(config) < count:
            time.sleep(1)
            if time.perf_counter() - started > 1800:
                print("ingest too slow", flush=True)
                return
        print(f"ingested {count:,} in {time.perf_counter() - started:.0f} s", flush=True)
        breakdown("after ingest", traced, top)
        for npass in (1, 2):
            walk_pages(f"http://127.0.0.1:{port}", user, password,
                       lambda group: breakdown(f"pass {npass}: {group}", traced, top))
        before = psutil.Process().memory_info().rss / MB
        _libc.malloc_trim(0)
        after = psutil.Process().memory_info().rss / MB
        print(f"malloc_trim(0): RSS {before:.1f} -> {after:.1f} MB", flush=True)
    except Exception as exc:  # a diagnostic: say what broke, then stop the run
        import traceback
        traceback.print_exc()
        print(f"driver failed: {exc!r}", flush=True)
    finally:
        done.set()
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--top", type=int, default=8, help="tracemalloc lines per step")
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args(argv)
    header("where the memory of aduan run goes")
    print(f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '(unset)')}")
    with tempfile.TemporaryDirectory(prefix="aduan-memtrace-") as tmp:
        port = free_port()
        config = write_bench_config(Path(tmp), sqlite_url(Path(tmp) / "data" / "aduan.db"),
                                    port=port, accounts=FAST_SANDBOX.format(count=args.messages))
        user, password = init(config)
        subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "classify",
                        "train"], capture_output=True, timeout=600, cwd=config.parent, check=True)
        if args.tracemalloc:
            tracemalloc.start()
        done = threading.Event()
        threading.Thread(target=drive, daemon=True, args=(
            config, port, args.messages, user, password, args.tracemalloc, args.top,
            args.settle, done)).start()
        os.chdir(config.parent)
        import logging
        from main import main as aduan_main
        code = aduan_main(["--config", str(config), "run"])
        logging.getLogger().handlers.clear()
        done.wait(30)
        print(f"aduan run exited {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
