"""What every entry point (command line, daemon, web) shares: the loaded config, the open
database, the calendar, the options ingest reads and one connector instance per account.

Also the idempotent set-up behind ``aduan init``: the migrations (``inbox.setup.migrations``),
accounts and divisions synchronised from config, and the first superuser.
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from werkzeug.security import generate_password_hash

from connectors.base import Connector
from connectors.registry import connector_class
from inbox.db import database, open_database, sqlite_file
from inbox.models import PRACTICE_KINDS, Account, Division, Event, User
from inbox.setup.config import Config
from inbox.setup.migrations import migrate
from inbox.sla import WorkCalendar, calendar_from_config
from inbox.understand.classify import Classifier
from inbox.understand.training import office_classifier

log = logging.getLogger(__name__)


@dataclass
class IngestOptions:
    """What ingest needs from config; the defaults suit tests."""

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    classifier: Classifier | None = None
    office_name: str = "Dukcapil"
    acknowledge_private: bool = False
    acknowledge_public: bool = False
    acknowledgement_text: str = ""
    reply_window_hours: int = 24
    auto_dismiss: tuple[str, ...] = ()
    auto_dismiss_sure: bool = False   # classify.auto_dismiss (see _open_case)
    citizen: dict[str, Any] = field(default_factory=dict)  # [citizen] (inbox.arrive.selfservice)

    @classmethod
    def from_config(cls, config: Any) -> IngestOptions:
        auto = tuple(intent for intent, on in (("spam", config.classify["auto_dismiss_spam"]),
                                               ("greeting", config.classify["auto_dismiss_greeting"]))
                     if on)
        classifier = office_classifier(config)
        return cls(calendar=calendar_from_config(config), classifier=classifier,
                   office_name=config.office["short_name"] or config.office["name"],
                   acknowledge_private=config.sla["acknowledge_private"],
                   acknowledge_public=config.sla["acknowledge_public"],
                   acknowledgement_text=config.sla["acknowledgement_text"],
                   reply_window_hours=config.sla["reply_window_hours"],
                   auto_dismiss=auto, auto_dismiss_sure=config.classify["auto_dismiss"],
                   citizen=dict(config.citizen))


class Runtime:
    """The loaded config with its database open and its connectors at hand."""

    def __init__(self, config: Config, session_factory: Callable[[], requests.Session] | None = None,
                 create: bool = True) -> None:
        """Open the configured database; with ``create`` false a SQLite file that does not exist
        is refused (``inbox.db.open_database``) instead of made."""
        self.config = config
        self.db = open_database(config.database["url"], config.base_dir, create=create)
        self.calendar: WorkCalendar = calendar_from_config(config)
        self.ingest_options = IngestOptions.from_config(config)
        self._session_factory = session_factory
        self._connectors: dict[str, Connector] = {}
        #: True in a process that stays up all day (``aduan run``, ``serve``, ``worker``): heavy,
        #: occasional work such as a recap's charts and documents is done in a child process
        #: (``recap.child``), so its libraries and memory never stay in this one.
        self.resident = False

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def connector(self, account_name: str) -> Connector:
        """The connector instance of a configured account (built once)."""
        if account_name not in self._connectors:
            acc = self.config.accounts[account_name]
            cls = connector_class(acc.kind)
            session = self._session_factory() if self._session_factory else None
            self._connectors[account_name] = cls(acc.name, acc.options, session=session,
                                                 data_dir=str(self.data_dir))
        return self._connectors[account_name]

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def sync_from_config(config: Config) -> None:
    """Make the Division and Account rows match config; removed ones are deactivated, not deleted
    (their cases stay readable)."""
    with database.atomic():
        codes = set()
        for div in config.divisions:
            codes.add(div["code"])
            Division.insert(code=div["code"], name=div["name"], active=True).on_conflict(
                conflict_target=[Division.code],
                update={Division.name: div["name"], Division.active: True}).execute()
        Division.update(active=False).where(Division.code.not_in(codes or {""})).execute()
        names = set()
        # After going live (inbox.records.practice) a practice channel stays stopped, even while
        # config.toml still lists it: its messages would mix with the office's record.
        live = Event.went_live() is not None
        for acc in config.accounts.values():
            names.add(acc.name)
            enabled = acc.enabled and not (live and acc.kind in PRACTICE_KINDS)
            Account.insert(name=acc.name, kind=acc.kind, label=acc.label, enabled=enabled,
                           poll_interval=acc.poll_interval).on_conflict(
                conflict_target=[Account.name],
                update={Account.kind: acc.kind, Account.label: acc.label,
                        Account.enabled: enabled, Account.poll_interval: acc.poll_interval},
            ).execute()
        Account.update(enabled=False).where(Account.name.not_in(names or {""})).execute()


def create_user(username: str, password: str, role: str, division: Division | None = None,
                is_superuser: bool = False, full_name: str = "") -> User:
    return User.create(username=username, password_hash=generate_password_hash(password),
                       role=role, division=division, is_superuser=is_superuser,
                       full_name=full_name)


def ensure_superuser() -> tuple[str, str] | None:
    """Create the first superuser when there is none; return (username, password) once."""
    if User.select().where(User.is_superuser == True).exists():  # noqa: E712
        return None
    username = "admin"
    if User.select().where(User.username == username).exists():
        username = f"admin{secrets.randbelow(900) + 100}"
    password = secrets.token_urlsafe(9)
    create_user(username, password, role="admin", is_superuser=True, full_name="Administrator")
    return username, password


def make_private(config: Config) -> None:
    """The data folder, the backup folder and a SQLite database file for aduan's user alone
    (0700, 0600): an office that installed an earlier aduan has them readable by everyone.
    Inside a 0700 folder the files' own modes no longer matter to other users. Where the
    system has no such modes (Windows) or the folder is not ours (a share), nothing changes."""
    if os.name != "posix":
        return
    for path, mode in ((config.data_dir, 0o700), (config.backup_dir, 0o700),
                       (sqlite_file(config.database["url"], config.base_dir), 0o600)):
        try:
            if path is not None and path.exists() and path.stat().st_mode & 0o077:
                path.chmod(mode)
        except OSError as exc:
            log.warning("%s: could not make it private (%s)", path, exc.strerror)


def setup(config: Config) -> tuple[list[str], tuple[str, str] | None]:
    """``aduan init``: migrate, sync config, first superuser, files made private. Safe to run
    again."""
    applied = migrate()
    make_private(config)
    sync_from_config(config)
    return applied, ensure_superuser()
