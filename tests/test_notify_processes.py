"""Exactly once through kill -9: a sender killed between sending and recording, or in the middle
of a run of ``aduan worker``, never makes a second copy of a notification."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inbox.db import atomic_write
from inbox.models import Notification
from inbox.notify import notices as notify
from inbox.notify.sending import deliver_next
from inbox.run.daemon import Daemon
from tests.conftest import make_runtime, write_config
from tests.mailservers import PASSWORD
from tests.notify_helpers import notify_config, sink_cert  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def setup(tmp_path: Path, sink_cert, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ADUAN_TEST_NOTIFY_PASSWORD", PASSWORD)
    sink, cert = sink_cert
    # Real time in these tests: quiet hours off so the hour the suite runs at does not matter.
    extra = notify_config(sink, cert, "quiet_hours = false") + \
        "\n[schedule]\noutbox_interval_seconds = 1\n"
    path = write_config(tmp_path, extra=extra)
    rt = make_runtime(path)
    yield rt, sink, path
    rt.close()


def queue(rt, count: int) -> None:
    with atomic_write():
        for i in range(count):
            subject, text = notify.office_message(rt.config, "recap_made", f"Pesan uji {i}.")
            notify.enqueue(rt.config, "recap_made", f"uji-{i}", [], f"{subject} #{i}", text,
                           addresses=[f"petugas{i}@dukcapil.test"])


def subjects(sink) -> collections.Counter[str]:
    import email
    return collections.Counter(email.message_from_bytes(e.original_content or e.content)["Subject"]
                               for e in sink.received)


SENDER = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from inbox.leases import claim_next
from inbox.models import Notification
from inbox.notify.channels import channel
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
rt = Runtime(load_config({config!r}))
worker = "{{}}:{{}}:dead01".format(__import__("socket").gethostname(), os.getpid())
row = claim_next(worker, model=Notification)
if {send}:
    channel(rt.config.notify, row.channel).send(row.destination, row.subject, row.text)
os.kill(os.getpid(), signal.SIGKILL)  # before the row is recorded as sent
"""


@pytest.mark.parametrize("sent_before_dying", [True, False])
def test_a_sender_killed_before_recording_is_uncertain_and_never_sends_again(
        setup, sent_before_dying: bool) -> None:
    rt, sink, path = setup
    queue(rt, 1)
    script = SENDER.format(repo=str(REPO), config=str(path), send=sent_before_dying)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                            env={**os.environ})
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert Notification.get().status == "sending"
    assert len(sink.received) == (1 if sent_before_dying else 0)
    Daemon(rt, worker_id="next-worker").release_stale()  # the dead process's lease ends now
    step = deliver_next(rt, "next-worker")
    assert step is not None and step.outcome == "uncertain"
    assert deliver_next(rt, "next-worker") is None
    assert Notification.get().status == "uncertain"
    assert len(sink.received) == (1 if sent_before_dying else 0)  # never a second copy


def test_kill_9_of_a_worker_mid_run_then_another_worker_sends_each_notification_at_most_once(
        setup, tmp_path: Path) -> None:
    rt, sink, path = setup
    count = 40
    queue(rt, count)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start(log: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(path),
                                 "worker"], cwd=path.parent, env=env, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / log, "w", encoding="utf-8"))

    first = start("first.log")
    deadline = time.monotonic() + 120
    while len(sink.received) < 5 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    got_before = len(sink.received)
    assert 5 <= got_before < count, (got_before, (tmp_path / "first.log").read_text()[-2000:])

    second = start("second.log")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            rt.db.connect(reuse_if_open=True)
            if not Notification.select().where(
                    Notification.status.in_(("pending", "sending"))).exists():
                break
            time.sleep(0.3)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    statuses = collections.Counter(s for (s,) in Notification.select(Notification.status).tuples())
    assert set(statuses) <= {"sent", "uncertain"} and sum(statuses.values()) == count, statuses
    assert statuses["uncertain"] <= 1  # at most the one in flight when the worker died
    received = subjects(sink)
    assert max(received.values()) == 1, received  # no notification arrived twice
    for row in Notification.select().where(Notification.status == "sent"):
        assert received[row.subject] == 1
