"""Builders for the workflow, outbox, SLA and case-CLI tests: users per role, cases made by real
ingest and moved by the real workflow, and a scripted fake connector for delivery."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from werkzeug.security import generate_password_hash

from connectors.base import Connector, ConnectorError, OutboundReply
from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Division, Outbox, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from tests.conftest import make_runtime, write_config
from tests.factories import T0, msg

PASSWORD = "kata-sandi-uji-123"
# A cheap hash: the default scrypt costs ~0.1 s per user and these tests make many.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

#: The roles of the permission table; "division" is dafduk's user, "division_other" capil's.
ROLE_KEYS = ("admin", "group_admin", "division", "division_other", "supervisor", "superuser")
NIK = "3329014507890001"


def make_users() -> dict[str, User]:
    dafduk = Division.get(Division.code == "dafduk")
    capil = Division.get(Division.code == "capil")

    def user(name: str, role: str, division: Division | None = None, su: bool = False) -> User:
        return User.create(username=name, password_hash=_HASH, role=role, division=division,
                           is_superuser=su, full_name=name.title())
    return {
        "admin": user("admin1", "admin"),
        "group_admin": user("grup1", "group_admin"),
        "division": user("dafduk1", "division", dafduk),
        "division_other": user("capil1", "division", capil),
        "supervisor": user("pengawas1", "supervisor"),
        # A supervisor with the superuser flag: proves the flag, not the role, grants everything.
        "superuser": user("super1", "supervisor", su=True),
    }


def open_case(rt: Runtime, n: int | str, text: str = "KTP saya sudah 3 minggu belum jadi",
              public: bool = True, author: str | None = None, at: datetime = T0) -> Case:
    """A case opened by ingesting one citizen message on the sandbox account."""
    account = Account.get(Account.name == "sandbox")
    ingest(account, [msg(f"in-{n}", thread=f"thread-{n}", text=text, public=public,
                         author=author or f"warga{n}", at=at)], None, rt.ingest_options)
    return Case.select().order_by(Case.id.desc()).get()


def fresh(case: Case) -> Case:
    return Case.get_by_id(case.id)


class FakeConnector(Connector):
    """Sends by following a script: each item is "ok", a ConnectorError, or a BaseException to
    raise *after* recording the send (a process dying between send and record).

    ``confirms``: whether ``find_delivered`` can tell (it looks in ``delivered``)."""

    kind: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Fake"

    def __init__(self, name: str = "sandbox", script: list[Any] | None = None,
                 confirms: bool = False) -> None:
        super().__init__(name, {})
        self.script = list(script or [])
        self.attempts: list[OutboundReply] = []
        self.delivered: dict[int, str] = {}
        self.received: list[int] = []  # reply ids the "platform" got, once per real send
        self.confirms_delivery = confirms  # type: ignore[misc]

    def send(self, reply: OutboundReply) -> str:
        self.attempts.append(reply)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, ConnectorError):
            raise step
        platform_id = f"fake-{reply.reply_id}-{len(self.attempts)}"
        self.delivered[reply.reply_id] = platform_id
        self.received.append(reply.reply_id)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, type) and issubclass(step, BaseException):
            raise step()
        return platform_id

    def find_delivered(self, reply: OutboundReply) -> str | None:
        return self.delivered.get(reply.reply_id)


def use_connector(rt: Runtime, connector: Connector) -> Connector:
    rt._connectors[connector.name] = connector
    return connector


def case_in_status(rt: Runtime, users: dict[str, User], status: str, n: int,
                   division: str = "dafduk") -> Case:
    """A case brought to ``status`` through the real workflow (and a real delivery)."""
    case = open_case(rt, n)
    su = users["superuser"]
    if status == "new":
        return case
    if status == "not_complaint":
        workflow.dismiss(rt, case, su, "spam")
        return fresh(case)
    if status in ("replying", "answered"):
        row = workflow.reply(rt, case, su, "Baik, kami cek dulu ya.")
        if status == "answered":
            # Delivers every due reply up to this one (earlier cases' too): call it last.
            saved = rt._connectors.get("sandbox")
            use_connector(rt, FakeConnector())
            while Outbox.get_by_id(row.id).status != "sent":
                assert deliver_one(rt, "setup-worker")
            if saved is not None:
                rt._connectors["sandbox"] = saved
            else:
                rt._connectors.pop("sandbox")
        return fresh(case)
    workflow.escalate(rt, case, su, "mohon bantuan")
    if status == "escalated":
        return fresh(case)
    workflow.assign_division(rt, fresh(case), su, division)
    if status == "at_division":
        return fresh(case)
    workflow.division_answer(rt, fresh(case), su, "KTP sudah dicetak, silakan diambil.")
    assert status == "division_answered", status
    return fresh(case)


@contextmanager
def runtime_with(tmp_path: Path, *, sla_replace: dict[str, str] | None = None,
                 extra: str = "") -> Iterator[Runtime]:
    """A Runtime whose config differs from the shared fixture's (acknowledgements, privacy)."""
    path = write_config(tmp_path, extra=extra)
    text = path.read_text(encoding="utf-8")
    for old, new in (sla_replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    rt = make_runtime(path)
    try:
        yield rt
    finally:
        rt.close()
