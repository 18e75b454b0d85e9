"""The product as a user runs it: real processes, signals and kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PG_URL, reset_database, write_config
from tests.factories import jsonl_line

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def aduan(config: Path, *argv: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(config), *argv],
                            cwd=config.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def fresh_config(tmp_path: Path, **kwargs) -> Path:
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime
    path = write_config(tmp_path, **kwargs)
    rt = Runtime(load_config(path))  # an empty database file, as `aduan init` leaves it
    if PG_URL:
        reset_database()
    rt.close()
    return path


def status(config: Path) -> dict:
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "status",
                           "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_worker_counts_sandbox_cases_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = fresh_config(tmp_path)
    proc = aduan(config, "worker")
    try:
        # A first start trains the classifier's model in a process of its own before the first
        # poll (5-20 s on a quiet PC; 40 s was seen with three benchmarks beside the suite).
        deadline = time.monotonic() + 120
        total = 0
        while time.monotonic() < deadline and total == 0:
            time.sleep(0.5)
            try:
                total = status(config)["cases"]["total"]
            except (AssertionError, json.JSONDecodeError, KeyError):
                total = 0  # the worker may still be creating the schema
        assert total > 0
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "berhenti" in proc.stderr.read()  # the officer's log line, in Indonesian (issue 28)


def test_kill_9_during_a_large_import_then_importing_again_stores_every_message_once(tmp_path: Path) -> None:
    config = fresh_config(tmp_path)
    count = 6000
    lines = [jsonl_line(n=i, author_id=f"u{i % 400}", thread_id=f"t{i % 900}",
                        created_at=f"2026-11-{1 + i % 27:02d}T0{i % 9}:{i % 60:02d}:00+07:00")
             for i in range(count)]
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    init = subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "init"],
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr

    proc = aduan(config, "import", "--jsonl", str(source))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until part of the file is stored, then kill -9
        time.sleep(0.2)
        if 0 < _stored(config) < count:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _stored(config)
    assert partial < count, "the import finished before it could be killed; raise the count"

    again = subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "import",
                            "--jsonl", str(source)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    exported = subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config),
                               "export", "--format", "jsonl"], capture_output=True, text=True,
                              timeout=300)
    ids = [m["external_id"] for line in exported.stdout.splitlines()
           for m in json.loads(line)["messages"]]
    assert len(ids) == count and len(set(ids)) == count


def _stored(config: Path) -> int:
    """Messages stored so far, counted by a separate process (the importer holds no lock then)."""
    code = ("import sys; sys.path.insert(0, %r); from inbox.setup.config import load_config; "
            "from inbox.setup.runtime import Runtime; from inbox.models import Message; "
            "Runtime(load_config(%r)); print(Message.select().count())") % (str(REPO), str(config))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return int(done.stdout.strip() or 0)
