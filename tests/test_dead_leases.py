"""A restarted worker takes over the leases of this host's dead processes at once (issue 20,
item 6), instead of waiting out the five-minute lease after a kill -9."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from inbox.models import Account, Case, Outbox, utcnow
from inbox.run.daemon import LEASE, Daemon
from inbox.run.liveness import owner_is_dead
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_next
from tests.web_helpers import make_case, make_users
from tests.workflow_helpers import FakeConnector, use_connector

HOST = socket.gethostname()


def dead_pid() -> int:
    """The id of a process that has exited (as a worker killed with SIGKILL has)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def hold(owner: str) -> None:
    Account.update(lease_owner=owner, lease_until=utcnow() + LEASE, next_poll_at=None).where(
        Account.name == "sandbox").execute()


def test_a_dead_local_workers_account_lease_is_released_at_start_up(rt: Runtime) -> None:
    hold(f"{HOST}:{dead_pid()}:abc123")
    daemon = Daemon(rt)
    daemon.release_stale()
    account = Account.get(Account.name == "sandbox")
    assert account.lease_owner is None and account.lease_until is None
    assert daemon.poll_one_account() is True


def test_leases_of_live_processes_and_other_hosts_are_waited_for(rt: Runtime) -> None:
    for owner in (f"{HOST}:{os.getppid()}:abc123", f"another-host:{dead_pid()}:abc123"):
        hold(owner)
        Daemon(rt).release_stale()
        assert Account.get(Account.name == "sandbox").lease_owner == owner
    assert not owner_is_dead(None) and not owner_is_dead("garbage")
    assert not owner_is_dead(f"{HOST}:{os.getpid()}:x")


def test_a_dead_workers_reply_is_settled_at_once_not_resent_blindly(rt: Runtime) -> None:
    users = make_users()
    case = make_case(rt, 1)
    row = workflow.reply(rt, Case.get_by_id(case.id), users["admin"], "Baik Kak, sudah kami cek.")
    fake = use_connector(rt, FakeConnector(confirms=True))
    fake.delivered[row.id] = "posted-before-the-kill"
    Outbox.update(status="sending", lease_owner=f"{HOST}:{dead_pid()}:abc123",
                  lease_until=utcnow() + timedelta(minutes=5)).where(Outbox.id == row.id).execute()
    Daemon(rt).release_stale()
    delivery = deliver_next(rt, "w-new")
    assert delivery is not None and delivery.outcome == "sent"
    assert Outbox.get_by_id(row.id).platform_id == "posted-before-the-kill"
    assert fake.attempts == []
