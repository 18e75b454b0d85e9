"""Several ``aduan worker`` processes on one PostgreSQL database, one of them killed with
SIGKILL mid-run: every sandbox message up to each account's cursor is stored exactly once and
every queued reply reaches the sandbox exactly once.

Accounts are leased by the daemon and outbox rows by the outbox, each with a conditional UPDATE
and an expiring lease; this is the test that the two hold up between real processes.
"""
from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.base import InboundMessage
from connectors.sandbox import read_sandbox_replies
from tests.conftest import PG_URL, reset_database, write_config
from tests.factories import wait_until

REPO = Path(__file__).resolve().parent.parent
ACCOUNTS = 10
REPLIES = 1000
SEED = 5000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL.startswith(("postgres://", "postgresql://")),
                       reason="several workers share one database only on PostgreSQL "
                              "(set ADUAN_TEST_DATABASE_URL)"),
]

# A fast sandbox: ten messages a second per account, a burst of 50 at the start and at most 20
# per poll, so catching up takes several polls and every worker gets accounts to poll.
ACCOUNT = """
[accounts.sb{i}]
kind = "sandbox"
label = "Sandbox {i}"
poll_interval = 5
seed = {seed}
messages_per_minute = 600
initial_burst = 50
max_per_poll = 20
"""
SCHEDULE = """
[schedule]
tick_seconds = 1
outbox_interval_seconds = 1
"""


def names() -> list[str]:
    return [f"sb{i}" for i in range(ACCOUNTS)]


def queue_replies(config_path: Path) -> dict[int, str]:
    """Before any worker starts: the schema, the accounts and 1,000 answers waiting to be sent
    (on cases opened by ingest from messages of each account, moved to ``replying`` as
    ``workflow.reply`` leaves them). Returns outbox id -> account name."""
    from inbox.arrive.ingest import ingest
    from inbox.models import Account, Case, Outbox, User, utcnow
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime, setup

    config = load_config(config_path)
    rt = Runtime(config)
    reset_database()
    setup(config)  # also the first superuser, so the workers' own setup creates none at once
    admin = User.get(User.is_superuser == True)  # noqa: E712
    start = utcnow() - timedelta(days=1)
    for index, name in enumerate(names()):
        account = Account.get(Account.name == name)
        ingest(account, [InboundMessage(
            external_id=f"pre-{name}-{n}", thread_id=f"pre-thread-{n}", kind="dm", public=False,
            author_id=f"pre-citizen-{index}-{n}", author_handle=f"warga{index}_{n}",
            author_name=f"Warga {n}", text="KTP saya belum jadi, mohon dibantu",
            created_at=start + timedelta(seconds=n)) for n in range(REPLIES // ACCOUNTS)],
            None, rt.ingest_options)
    cases = list(Case.select(Case.id, Case.public).order_by(Case.id))
    assert len(cases) == REPLIES
    Case.update(status="replying", queue="admin").execute()
    Outbox.insert_many([{"case": c.id, "text": f"Baik, pengaduan Anda sudah kami proses ({c.id}).",
                         "public": c.public, "purpose": "answer", "created_by": admin.id}
                        for c in cases]).execute()
    owners = {row.id: row.case.account.name for row in Outbox.select()}
    rt.close()
    return owners


def start_worker(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Logs go to files: a worker blocked on a full pipe would look like a stuck lease.
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(config),
                             "worker"], cwd=config.parent, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(log, "w", encoding="utf-8"))


class Progress:
    """Reads the shared database from the test process while the workers run."""

    def __init__(self, config: Path) -> None:
        from inbox.setup.config import load_config
        from inbox.setup.runtime import Runtime
        self.rt = Runtime(load_config(config))

    def replies(self) -> collections.Counter[str]:
        from inbox.models import Outbox
        self.rt.db.connect(reuse_if_open=True)
        return collections.Counter(status for (status,) in Outbox.select(Outbox.status).tuples())

    def cursors(self) -> dict[str, int]:
        from inbox.models import Account
        return {a.name: int((a.cursor or {}).get("seq", 0))
                for a in Account.select().where(Account.name.in_(names()))}

    def holds_reply(self, pid: int) -> bool:
        from inbox.models import Outbox
        return Outbox.select().where((Outbox.status == "sending") & Outbox.lease_owner.startswith(
            f"{socket.gethostname()}:{pid}:")).exists()

    def expire_leases_of(self, pid: int) -> int:
        """Let the leases of a SIGKILLed worker run out now instead of in five minutes.

        The leases (daemon.LEASE and outbox.LEASE, five minutes each) are constants, and a
        test that waits them out would take over five minutes. The process is dead (it was
        waited for), so nothing can renew them: moving ``lease_until`` into the past is exactly
        the state the database reaches when the time passes."""
        from inbox.models import Account, Outbox, utcnow
        prefix = f"{socket.gethostname()}:{pid}:"
        past = utcnow() - timedelta(seconds=1)
        return (Outbox.update(lease_until=past).where(Outbox.lease_owner.startswith(prefix)).execute()
                + Account.update(lease_until=past).where(Account.lease_owner.startswith(prefix))
                .execute())

    def close(self) -> None:
        self.rt.close()


def test_three_workers_one_killed_store_every_message_and_send_every_reply_once(
        tmp_path: Path) -> None:
    accounts = "".join(ACCOUNT.format(i=i, seed=SEED + i) for i in range(ACCOUNTS))
    config = write_config(tmp_path, accounts=accounts, extra=SCHEDULE)
    owners = queue_replies(config)
    progress = Progress(config)
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    workers = [start_worker(config, log) for log in logs]
    try:
        # Kill one worker while the replies are going out and the burst is being polled.
        assert wait_until(lambda: progress.replies()["sent"] >= REPLIES // 4, 90), \
            f"no replies sent: {progress.replies()}\n{logs[0].read_text()[-3000:]}"
        victim = workers[0]
        # Best effort: strike while it holds a reply between claim and record.
        wait_until(lambda: progress.holds_reply(victim.pid), 10, step=0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = progress.replies()
        held = progress.expire_leases_of(victim.pid)
        print(f"killed worker {victim.pid} at {dict(killed_at)}; {held} lease(s) it held expired")

        target = {name: 120 for name in names()}  # the burst and several polls after it
        settled = wait_until(lambda: set(progress.replies()) == {"sent"}
                             and all(progress.cursors()[n] >= target[n] for n in names()), 100)
        for worker in workers[1:]:
            assert worker.poll() is None, f"a worker died: {worker.args}"
            worker.send_signal(signal.SIGTERM)
        for worker in workers[1:]:
            assert worker.wait(timeout=30) == 0
        assert settled, f"not settled: replies {dict(progress.replies())}, " \
                        f"cursors {progress.cursors()}"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    from inbox.models import Account, Message, Outbox
    cursors = progress.cursors()
    for name in names():
        account = Account.get(Account.name == name)
        seed = SEED + int(name[2:])
        stored = [external_id for (external_id,) in Message.select(Message.external_id).where(
            (Message.account == account) & (Message.direction == "in")
            & Message.external_id.startswith("sbx-")).tuples()]
        expected = {f"sbx-{seed}-{n}" for n in range(cursors[name])}
        assert len(stored) == len(set(stored)), f"{name}: duplicates"
        assert set(stored) == expected, (f"{name}: missing {sorted(expected - set(stored))[:5]}, "
                                         f"unexpected {sorted(set(stored) - expected)[:5]}")

    data_dir = tmp_path / "data"
    sent = collections.Counter()
    for name in names():
        for record in read_sandbox_replies(data_dir, name):
            assert owners[record["reply_id"]] == name, "a reply went out on the wrong account"
            sent[record["reply_id"]] += 1
    assert set(sent) == set(owners), f"{len(set(owners) - set(sent))} replies never sent"
    assert max(sent.values()) == 1, f"sent twice: {[k for k, v in sent.items() if v > 1][:10]}"
    rows = {row.id: row for row in Outbox.select()}
    assert all(row.status == "sent" and row.platform_id for row in rows.values())
    recorded = {r["reply_id"]: r["platform_id"] for name in names()
                for r in read_sandbox_replies(data_dir, name)}
    assert all(rows[i].platform_id == recorded[i] for i in rows), "platform ids disagree"
    progress.close()
