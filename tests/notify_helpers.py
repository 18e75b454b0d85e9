"""The notification tests' world: a real SMTP sink (``tests.mailservers``), the Telegram Bot API
faked at the ``requests`` layer, users of every role with their channels chosen, and a clock."""
from __future__ import annotations

import email
from email.policy import default
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message as Mail
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine

from inbox.models import NotificationPreference, User
from inbox.notify.sending import Sent, deliver_next
from inbox.setup.runtime import Runtime
from tests.conftest import make_runtime, write_config
from tests.mailservers import PASSWORD, USER, Sink, make_certificate, require_or_skip
from tests.workflow_helpers import make_users

TOKEN = "7000000001:AAH-notify-test-token"
SEND_URL = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
TEAM = "tim.pengaduan@dukcapil.test"
BASE = "http://aduan.dukcapil.test:8080"


def notify_config(sink: Sink, cert: Path, extra: str = "") -> str:
    return f"""
[notify]
base_url = "{BASE}"
complaint_team = ["{TEAM}"]
{extra}

[notify.email]
host = "127.0.0.1"
port = {sink.port}
security = "starttls"
username = "{USER}"
password = {{ env = "ADUAN_TEST_NOTIFY_PASSWORD" }}
from_address = "aduan@dukcapil.test"
ca_file = "{cert}"

[notify.telegram]
bot_token = "{TOKEN}"
"""


def address(user: User) -> str:
    return f"{user.username}@dukcapil.test"


def chat_id(user: User) -> str:
    return str(500000 + user.id)


@dataclass
class World:
    rt: Runtime
    sink: Sink
    users: dict[str, User]
    telegram: list[dict[str, Any]] = field(default_factory=list)
    telegram_status: list[tuple[int, dict[str, Any]] | Exception] = field(default_factory=list)

    def mails(self, to: str | None = None) -> list[Mail]:
        found = [email.message_from_bytes(e.original_content or e.content, policy=default)
                 for e in self.sink.received]
        return [m for m in found if to is None or m["To"] == to]

    def chats(self, user: User | None = None) -> list[dict[str, Any]]:
        return [c for c in self.telegram if user is None or str(c["chat_id"]) == chat_id(user)]

    def deliver_all(self, worker: str = "test-worker") -> list[Sent]:
        done = []
        while (step := deliver_next(self.rt, worker)) is not None:
            done.append(step)
            assert len(done) < 500
        return done

    def telegram_reply(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.telegram_status:
            step = self.telegram_status.pop(0)
            if isinstance(step, Exception):
                raise step
            status, body = step
            return status, {}, json.dumps(body)
        data = json.loads(request.body)
        self.telegram.append(data)
        return 200, {}, json.dumps({"ok": True, "result": {
            "message_id": len(self.telegram), "chat": {"id": int(data["chat_id"])},
            "date": 1764900000, "text": data["text"]}})


def choose(user: User, channels: tuple[str, ...] = ("email", "telegram"),
           off: tuple[str, ...] = ()) -> None:
    NotificationPreference.create(user=user, email=address(user), telegram_chat_id=chat_id(user),
                                  channels=list(channels), events_off=list(off))


@pytest.fixture
def sink_cert() -> Iterator[tuple[Sink, Path]]:
    if not shutil.which("openssl"):
        require_or_skip("openssl is not installed (it makes the SMTP sink's certificate)")
    folder = Path(tempfile.mkdtemp(prefix="aduan-notify-"))
    cert, _ = make_certificate(folder)
    sink = Sink(cert)
    sink.start()
    try:
        yield sink, cert
    finally:
        sink.stop()
        shutil.rmtree(folder, ignore_errors=True)


def make_world(tmp_path: Path, sink: Sink, cert: Path, extra: str = "") -> World:
    rt = make_runtime(write_config(tmp_path, extra=notify_config(sink, cert, extra)))
    users = make_users()
    for user in users.values():
        choose(user)
    return World(rt, sink, users)


@pytest.fixture
def world(tmp_path: Path, sink_cert: tuple[Sink, Path],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("ADUAN_TEST_NOTIFY_PASSWORD", PASSWORD)
    made = make_world(tmp_path, *sink_cert)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, SEND_URL, callback=made.telegram_reply)
        yield made
    made.rt.close()


def at(moment: datetime) -> Any:
    """Travel to ``moment`` with the clock running (the SMTP sink's event loop needs it)."""
    return time_machine.travel(moment, tick=True)
