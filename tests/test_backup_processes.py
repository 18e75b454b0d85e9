"""Backups as an office makes them: real processes writing meanwhile, and kill -9 mid-backup."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from inbox.records.backup import verify_archive
from inbox.records.schedule import finished_backups
from inbox.setup.config import load_config
from tests.factories import jsonl_line
from tests.test_processes import REPO, aduan, fresh_config, status

pytestmark = pytest.mark.slow

BUSY_SANDBOX = """
[accounts.sandbox]
kind = "sandbox"
label = "Sandbox (latihan)"
poll_interval = 5
seed = 11
messages_per_minute = 600
initial_burst = 200
"""


#: The superuser's password, typed again for an unmasked export (issue 20).
PASSWORD = "sandi-rahasia-1"


def cli(config: Path, *argv: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), *argv],
                          cwd=config.parent, capture_output=True, text=True, timeout=300,
                          input=None if input is None else input + "\n")


def messages(export_file: Path) -> dict[str, str]:
    found = {}
    for line in export_file.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        for m in case["messages"]:
            found[f"{case['account']}/{m['external_id']}/{m['direction']}"] = m["text"]
    return found


def test_a_backup_taken_while_two_processes_write_restores_to_exactly_its_manifest(
        tmp_path: Path) -> None:
    config = fresh_config(tmp_path, accounts=BUSY_SANDBOX)
    assert cli(config, "init").returncode == 0
    assert subprocess.run([sys.executable, str(REPO / "main.py"), "--config", str(config), "user",
                           "add", "super1", "--role", "admin", "--superuser"], input=PASSWORD + "\n",
                          text=True, capture_output=True, timeout=60).returncode == 0
    lines = tmp_path / "many.jsonl"
    lines.write_text("\n".join(jsonl_line(n=f"imp-{n}", author_id=f"w{n % 300}", thread_id=f"t{n}")
                               for n in range(1000)) + "\n", encoding="utf-8")
    worker = aduan(config, "worker")
    importer = aduan(config, "import", "--jsonl", str(lines))
    try:
        deadline = time.monotonic() + 60
        while status(config)["cases"]["total"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        # The worker stores a sandbox page every 5 s all along and the import writes batches of
        # 500 meanwhile; the end state holding more than the backup proves the writes went on.
        done = cli(config, "backup")
        assert done.returncode == 0, done.stderr
        archive = next((tmp_path / "data" / "backups").glob("aduan-*.tar.gz"))
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())
        importer.wait(timeout=240)
        deadline = time.monotonic() + 60  # the worker goes on storing after the snapshot
        while status(config)["cases"]["total"] <= manifest["tables"]["case"] \
                and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        importer.wait(timeout=240)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    before = tmp_path / "before.jsonl"
    assert cli(config, "export", "--unmasked", "--as", "super1", "--out", str(before),
               input=PASSWORD).returncode == 0
    restored = cli(config, "restore", str(archive), "--force")
    assert restored.returncode == 0, restored.stderr
    after = tmp_path / "after.jsonl"
    assert cli(config, "export", "--unmasked", "--as", "super1", "--out", str(after),
               input=PASSWORD).returncode == 0
    old, new = messages(before), messages(after)
    # The backup is one moment of a database being written: fewer messages than at the end,
    # each exactly as it was, and as many as its manifest counted.
    assert 0 < len(new) < len(old)
    assert all(old[key] == text for key, text in new.items())
    assert manifest["tables"]["message"] == len(new)
    assert f"pesan {len(new):,}".replace(",", ".") in restored.stdout  # tables in words (issue 28)


def test_kill_9_during_a_backup_leaves_the_previous_backups_and_counts_no_half_file(
        tmp_path: Path) -> None:
    config = fresh_config(tmp_path)
    assert cli(config, "init").returncode == 0
    assert cli(config, "poll").returncode == 0
    big = tmp_path / "data" / "attachments" / "2026" / "11" / "video.bin"
    big.parent.mkdir(parents=True)
    big.write_bytes(os.urandom(2 * 1024 * 1024))  # incompressible: the archive takes a while
    first = cli(config, "backup")
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "data" / "backups"
    (good,) = folder.glob("aduan-*.tar.gz")
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    big.write_bytes(os.urandom(40 * 1024 * 1024))
    time.sleep(1.1)  # a new name: the stamp has whole seconds
    second = aduan(config, "backup")
    deadline = time.monotonic() + 60
    while not list(folder.glob(".aduan-*.partial")) and time.monotonic() < deadline:
        assert second.poll() is None, second.communicate()
        time.sleep(0.01)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)
    assert list(folder.glob(".aduan-*.partial")), "the kill came after the archive was named"
    cfg = load_config(config)
    assert [f.path for f in finished_backups(folder, cfg)] == [good]
    assert hashlib.sha256(good.read_bytes()).hexdigest() == digest
    state = status(config)["backup"]
    assert state["last_good_path"] == str(good) and state["warning"] is None
    assert verify_archive(good)["tables"]["case"] > 0
