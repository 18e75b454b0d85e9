"""Small builders for test data (real objects, no mocks)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import Connector, ConnectorError, InboundMessage, OutboundReply, PollResult

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 23 Nov 2026, 09:00 WIB


def msg(n: int | str, thread: str | None = None, author: str = "u1", text: str = "KTP saya belum jadi",
        at: datetime = T0, public: bool = True, kind: str | None = None, from_office: bool = False,
        raw: dict[str, Any] | None = None, **extra: Any) -> InboundMessage:
    return InboundMessage(
        external_id=str(n), thread_id=thread or f"t{n}", kind=kind or ("mention" if public else "dm"),
        public=public, author_id=author, author_handle=f"@{author}", author_name=f"Warga {author}",
        text=text, created_at=at, raw={"id": str(n)} if raw is None else raw, from_office=from_office, **extra)


def jsonl_line(account: str = "sandbox", **fields: Any) -> str:
    data = msg(fields.pop("n", 1)).to_dict()
    data.update(fields)
    data["account"] = account
    return json.dumps(data)


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ScriptedConnector(Connector):
    """A connector whose polls follow a script: PollResult objects or exceptions to raise."""

    kind: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Scripted"

    def __init__(self, name: str, script: list[PollResult | Exception]) -> None:
        super().__init__(name, {})
        self.script = list(script)
        self.cursors: list[dict[str, Any]] = []
        self.sent: list[OutboundReply] = []

    def poll(self, cursor: dict[str, Any]) -> PollResult:
        self.cursors.append(cursor)
        step = self.script.pop(0) if self.script else PollResult([], cursor)
        if isinstance(step, Exception):
            raise step
        return step

    def send(self, reply: OutboundReply) -> str:
        self.sent.append(reply)
        return f"out-{reply.reply_id}"


__all__ = ["T0", "msg", "jsonl_line", "write_jsonl", "ScriptedConnector", "ConnectorError", "PollResult"]


def wait_until(condition: Callable[[], Any], timeout: float, step: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (for tests of real
    processes); its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
