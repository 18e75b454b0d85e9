from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine

from connectors.base import ConnectorError, PollResult
from inbox.models import Account, Case, Message, utcnow
from inbox.run.daemon import LEASE, Daemon
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime, sync_from_config
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.factories import T0, ScriptedConnector, msg

TWO_ACCOUNTS = SANDBOX + """
[accounts.second]
kind = "sandbox"
poll_interval = 30
seed = 99
"""


@pytest.fixture
def rt2(tmp_path):
    runtime = make_runtime(write_config(tmp_path, accounts=TWO_ACCOUNTS))
    yield runtime
    runtime.close()


def script(rt: Runtime, name: str, *steps) -> ScriptedConnector:
    connector = ScriptedConnector(name, list(steps))
    rt._connectors[name] = connector
    return connector


def account(name: str = "sandbox") -> Account:
    return Account.get(Account.name == name)


def test_a_poll_stores_messages_and_the_cursor_and_schedules_the_next(rt: Runtime) -> None:
    script(rt, "sandbox", PollResult([msg(1), msg(2, author="b")], {"seq": 2}, requests=1, resources=2))
    daemon = Daemon(rt, jitter=lambda: 0.5)
    assert daemon.poll_one_account() is True
    acc = account()
    assert acc.cursor == {"seq": 2} and acc.last_error is None and acc.lease_owner is None
    assert acc.next_poll_at > utcnow() + timedelta(seconds=8)
    assert Message.select().count() == 2
    assert daemon.poll_one_account() is False  # not due again yet


def test_a_transient_error_backs_off_and_is_stored_on_the_row(rt: Runtime) -> None:
    script(rt, "sandbox", ConnectorError("server X sibuk (503)"), ConnectorError("server X sibuk (503)"))
    daemon = Daemon(rt, jitter=lambda: 1.0)
    daemon.poll_one_account()
    acc = account()
    assert acc.last_error == "server X sibuk (503)" and acc.consecutive_failures == 1
    assert acc.disabled_reason is None
    wait = (acc.next_poll_at - utcnow()).total_seconds()
    assert 15 < wait <= 20  # 10 s interval * 2**1, full jitter factor 1.0
    with time_machine.travel(acc.next_poll_at + timedelta(seconds=1), tick=False):
        daemon.poll_one_account()
        acc = account()
        assert acc.consecutive_failures == 2
        assert (acc.next_poll_at - utcnow()).total_seconds() == pytest.approx(40, abs=0.01)


def test_the_backoff_is_capped(rt: Runtime) -> None:
    daemon = Daemon(rt, jitter=lambda: 1.0)
    assert daemon.backoff(60, 30) == rt.config.schedule["max_backoff_seconds"]


def test_a_rate_limit_waits_until_the_reset_time(rt: Runtime) -> None:
    reset = utcnow() + timedelta(minutes=12)
    script(rt, "sandbox", ConnectorError("batas permintaan X tercapai", retry_at=reset))
    Daemon(rt).poll_one_account()
    acc = account()
    assert abs((acc.next_poll_at - reset).total_seconds()) < 1
    assert acc.disabled_reason is None


def test_a_permanent_error_disables_only_that_account(rt2: Runtime) -> None:
    script(rt2, "sandbox", ConnectorError("token X tidak valid atau dicabut", permanent=True))
    second = script(rt2, "second", PollResult([msg(5)], {"seq": 1}))
    daemon = Daemon(rt2)
    assert daemon.poll_due_accounts() == 2
    assert account("sandbox").disabled_reason == "token X tidak valid atau dicabut"
    assert account("second").last_success_at is not None and second.cursors == [{}]
    with time_machine.travel(utcnow() + timedelta(hours=1), tick=False):
        assert [a.name for a in daemon.due_accounts(utcnow())] == ["second"]


def test_an_unexpected_exception_is_stored_and_does_not_stop_the_others(
        rt2: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    script(rt2, "sandbox", KeyError("data"))
    script(rt2, "second", PollResult([msg(5)], {"seq": 1}))
    with caplog.at_level(logging.ERROR):
        assert Daemon(rt2).poll_due_accounts() == 2
    assert account("sandbox").last_error.startswith("kesalahan tak terduga (KeyError)")
    assert Message.select().count() == 1
    assert "unexpected error while polling" in caplog.text


def test_a_leased_account_is_not_polled_by_another_worker_until_the_lease_expires(rt: Runtime) -> None:
    first, second = Daemon(rt, worker_id="w1"), Daemon(rt, worker_id="w2")
    now = utcnow()
    assert first.claim(account(), now) is True
    assert second.claim(account(), now) is False
    assert second.poll_one_account() is False
    with time_machine.travel(now + LEASE + timedelta(seconds=1), tick=False):
        assert second.claim(account(), utcnow()) is True


def test_a_worker_that_lost_its_lease_stores_nothing(rt: Runtime) -> None:
    script(rt, "sandbox", PollResult([msg(1)], {"seq": 1}))
    slow = Daemon(rt, worker_id="slow")
    assert slow.claim(account(), utcnow())
    Account.update(lease_owner="other").execute()  # the lease passed to another worker meanwhile
    outcome = slow.poll_claimed(account())
    assert not outcome.ok
    assert Message.select().count() == 0 and account().cursor == {}


def test_a_failing_job_is_logged_and_does_not_escape(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("boom")
    with caplog.at_level(logging.ERROR):
        assert Daemon(rt).guarded(broken)() is None
    assert "job broken failed" in caplog.text


def test_the_sandbox_account_delivers_messages_at_its_pace(rt: Runtime) -> None:
    daemon = Daemon(rt)
    with time_machine.travel(T0, tick=False):
        outcome = daemon.poll_account("sandbox")
    assert outcome.ok and outcome.report.stored == 12  # the initial burst
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        assert daemon.poll_account("sandbox").report.stored == 5  # 6 per minute
    assert Message.select().count() == 17
    assert Case.select().count() >= 10


def test_a_removed_account_is_not_polled(rt2: Runtime, tmp_path) -> None:
    sync_from_config(load_config(write_config(tmp_path)))  # only "sandbox" left
    assert account("second").enabled is False


def test_personal_data_in_a_polling_error_never_reaches_the_log(rt: Runtime, capsys) -> None:
    """The log handler aduan installs masks a NIK and a phone number quoted by a platform error
    or a crash, in the message and in the traceback."""
    from inbox.setup.logs import configure_logging
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging()
    try:
        script(rt, "sandbox", ConnectorError("komentar 3329015708900003 ditolak"))
        Daemon(rt).poll_one_account()
        script(rt, "sandbox", ValueError("cannot parse 081327551122"))
        with time_machine.travel(account().next_poll_at + timedelta(seconds=1), tick=False):
            Daemon(rt).poll_one_account()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "3329**********03" in err and "0813*****122" in err and "Traceback" in err
    assert "3329015708900003" not in err and "081327551122" not in err
    assert "3329015708900003" not in account().last_error
