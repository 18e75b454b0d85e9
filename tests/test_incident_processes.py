"""The incident's answer through real processes: 30 outage messages on four channels among 200
ordinary ones are proposed, confirmed with one answer, and sent by ``aduan worker``, which is
killed with SIGKILL in the middle of sending; a new worker finishes, and each of the 30
citizens has the answer exactly once (the practice platform records every reply it took)."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine

from connectors.sandbox import read_sandbox_replies
from tests.conftest import PG_URL, reset_database, write_config
from tests.factories import wait_until
from tests.incident_data import SPAN, START, burst

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
NAMES = ["sb_wa", "sb_tg", "sb_fb", "sb_ig"]
# Four practice channels that bring no messages of their own and take 0.3 s to answer each
# reply (after taking it), so the kill lands while replies are going out.
ACCOUNT = """
[accounts.{name}]
kind = "sandbox"
label = "{label}"
messages_per_minute = 0.001
initial_burst = 0
send_delay_seconds = 0.3
"""
SCHEDULE = """
[schedule]
tick_seconds = 1
outbox_interval_seconds = 1
"""
ANSWER = "Mohon maaf {nama}, server pusat (SIAK) sedang gangguan; berkas tetap diproses. ({nomor})"


def prepare(config_path: Path) -> dict[int, int]:
    """The burst ingested, the incident proposed, reviewed and confirmed, before any worker
    runs; returns outbox id -> case id of the answers waiting."""
    from inbox.arrive.ingest import ingest
    from inbox.models import Account, Case, Contact, Incident, IncidentCase, Outbox
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime, setup
    from inbox.sop import incident_watch, incidents
    from tests.web_helpers import make_users

    config = load_config(config_path)
    rt = Runtime(config)
    if PG_URL:
        reset_database()
    setup(config)
    admin = make_users()["admin"]
    found = burst([(name, kind) for name, kind in zip(NAMES, ("sandbox",) * 4)])
    with time_machine.travel(START + SPAN, tick=False):
        for name, messages in found.messages.items():
            ingest(Account.get(Account.name == name), messages, None, rt.ingest_options)
        outage = {c.id for c in Case.select().join(Contact)
                  .where(Contact.platform_user_id.in_(found.outage_authors))}
        incident_watch.step(rt)
        incident = max(Incident.select(), key=lambda i: len({x.case_id for x in i.links} & outage))
        linked = {x.case_id for x in incident.links}
        assert len(linked & outage) >= 27 and len(linked - outage) <= 3
        for case_id in linked - outage:
            incidents.unlink(incident, Case.get_by_id(case_id), admin)
        for case_id in outage - linked:
            incidents.link(incident, Case.get_by_id(case_id), admin)
        incidents.confirm(rt, incident, admin, "SIAK pusat offline", ANSWER)
    rows = {link.answer_outbox_id: link.case_id for link in IncidentCase.select().where(
        IncidentCase.answer_outbox.is_null(False))}
    assert sorted(rows.values()) == sorted(outage) and Outbox.select().count() == 30
    rt.close()
    return rows


def worker(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(config),
                             "worker"], cwd=config.parent, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(log, "w", encoding="utf-8"))


def replies(data_dir: Path) -> list[dict]:
    return [r for name in NAMES for r in read_sandbox_replies(data_dir, name)]


def statuses(config: Path) -> collections.Counter[str]:
    """The answers' outbox statuses, read by a separate process (as an officer's page would)."""
    code = ("import sys; sys.path.insert(0, %r); from inbox.setup.config import load_config; "
            "from inbox.setup.runtime import Runtime; from inbox.models import Outbox; "
            "Runtime(load_config(%r)); print(' '.join(s for (s,) in Outbox.select(Outbox.status)"
            ".tuples()))") % (str(REPO), str(config))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return collections.Counter(done.stdout.split())


def test_the_incident_answer_reaches_each_citizen_once_through_a_kill_9_of_the_sender(
        tmp_path: Path) -> None:
    accounts = "".join(ACCOUNT.format(name=name, label=label) for name, label in
                       zip(NAMES, ("WhatsApp (latihan)", "Telegram (latihan)",
                                   "Facebook (latihan)", "Instagram (latihan)")))
    config = write_config(tmp_path, accounts=accounts, extra=SCHEDULE)
    rows = prepare(config)
    data_dir = tmp_path / "data"
    first = worker(config, tmp_path / "worker1.log")
    try:
        assert wait_until(lambda: len(replies(data_dir)) >= 8, 120), \
            (tmp_path / "worker1.log").read_text()[-3000:]
        first.send_signal(signal.SIGKILL)   # most likely in the 0.3 s after a reply was taken
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    at_kill = len(replies(data_dir))
    assert at_kill < 30, "every reply went out before the kill; slow the practice platform down"
    second = worker(config, tmp_path / "worker2.log")
    try:
        # The new worker finds the dead worker's lease on start, asks the practice platform
        # whether that reply is there, records it if so, and sends the rest.
        assert wait_until(lambda: statuses(config) == collections.Counter({"sent": 30}), 120, 0.5), \
            f"{statuses(config)}\n{(tmp_path / 'worker2.log').read_text()[-3000:]}"
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    sent = collections.Counter(r["reply_id"] for r in replies(data_dir))
    assert set(sent) == set(rows), "a reply went to a case outside the incident, or none"
    assert max(sent.values()) == 1, f"sent twice: {[k for k, v in sent.items() if v > 1]}"
    references = collections.Counter(r["case_reference"] for r in replies(data_dir))
    assert len(references) == 30 and max(references.values()) == 1
