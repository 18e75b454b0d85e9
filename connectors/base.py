"""The contract between the platforms and the inbox.

A connector turns one configured account into normalised :class:`InboundMessage` objects
(``poll``) and sends a :class:`OutboundReply` back on the same surface (``send``). It never
touches the database: the inbox stores what ``poll`` returns together with the new cursor in
one transaction, so a crash at any instant loses nothing and duplicates nothing.

The normalised message (``connectors.messages``) and the error type (``connectors.errors``)
are re-exported here, so a connector imports its whole contract from this module; the
registry of kinds is ``connectors.registry``.

Errors: every failure a connector knows about is a :class:`ConnectorError`. Only the daemon and
the outbox decide what to do with it (retry with backoff, wait for ``retry_at``, disable the
account when ``permanent``); connectors never retry by themselves.
"""
from __future__ import annotations

import dataclasses
import logging
import traceback
from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from connectors.downloads import download
from connectors.errors import ConnectorError
from connectors.items import Ignored, ItemReader, Unreadable
from connectors.messages import (ATTACHMENT_KINDS, KINDS_OF_MESSAGE, AttachmentRef, InboundMessage,
                                 OutboundReply, PollResult, utcnow)

__all__ = ["ATTACHMENT_KINDS", "DEFAULT_TIMEOUT", "KINDS_OF_MESSAGE", "AttachmentRef", "Connector",
           "ConnectorError", "InboundMessage", "OutboundReply", "PollResult", "Setting",
           "make_session", "utcnow"]

log = logging.getLogger(__name__)

#: Connect and read timeouts for every HTTP call a connector makes (seconds).
DEFAULT_TIMEOUT = (5.0, 30.0)


@dataclass(frozen=True)
class Setting:
    """One key of an account's configuration: its type, whether it is required, a secret."""

    type: type | tuple[type, ...]
    required: bool = False
    secret: bool = False
    default: Any = None
    help: str = ""


class Connector:
    """Base of every connector: one instance per configured account.

    Subclasses set ``kind``, ``label`` (shown to officers) and ``settings`` (the account keys
    they accept besides ``kind``, ``label``, ``poll_interval`` and ``enabled``), and implement
    ``collect`` (or ``poll`` itself) and ``send``. ``parsers`` maps each surface name a
    connector hands to ``ItemReader.read`` to the name of its parser method, so that
    ``reread`` can parse a set-aside item again.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    settings: ClassVar[dict[str, Setting]] = {}
    default_poll_interval: ClassVar[int] = 60
    #: True when ``find_delivered`` can tell whether a reply reached the platform.
    confirms_delivery: ClassVar[bool] = False
    #: False when ``poll`` never calls the platform (the offline sandbox; WhatsApp, which has
    #: nothing to poll): such a poll succeeding says nothing about the office's connection.
    polls_network: ClassVar[bool] = True
    parsers: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None,
                 data_dir: str | None = None) -> None:
        self.name = name
        self.options = options
        self.session = session or make_session()
        self.data_dir = data_dir

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[str]:
        """Problems ``settings`` cannot express (a value outside a set, a combination), as
        ``key: plain sentence`` each; config validation prefixes them with the account."""
        return []

    def poll(self, cursor: dict[str, Any]) -> PollResult:
        """Return the messages newer than ``cursor`` and the cursor that covers them.

        Never advances past anything it does not return or set aside. Raises ConnectorError
        and nothing else: an unexpected exception outside item parsing (a bug, a shape no
        parser expected) becomes a transient ConnectorError with its traceback in the log, so
        the daemon backs off instead of stopping the account or crashing."""
        items = ItemReader(self.name)
        try:
            result = self.collect(cursor, items)
        except ConnectorError:
            raise
        except Exception as exc:
            from inbox import pii  # late: connectors do not need the inbox loaded to import
            log.error("account %s: unexpected error while reading the platform:\n%s", self.name,
                      pii.mask(traceback.format_exc()))
            raise ConnectorError(f"Jawaban {self.label or self.kind} tidak terduga "
                                 f"({type(exc).__name__}); aduan mencoba lagi nanti.",
                                 detail=pii.mask(repr(exc))[:2000]) from None
        if items.set_aside:
            result = dataclasses.replace(result, set_aside=result.set_aside + items.set_aside)
        if items.ignored:
            ignored = dict(result.ignored)
            for kind, count in items.ignored.items():
                ignored[kind] = ignored.get(kind, 0) + count
            result = dataclasses.replace(result, ignored=ignored)
        return result

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        """The work of ``poll``: read the platform, handing each item to ``items.read``."""
        raise NotImplementedError

    def reread(self, surface: str, raw: Any, context: dict[str, Any]) -> InboundMessage | None:
        """Parse a set-aside item again with today's code (``aduan reprocess``).

        Returns the message (or None when the item is not a message at all, e.g. the office's
        own event or an item the connector now ignores); raises
        :class:`~connectors.items.Unreadable` when it still cannot be read."""
        name = self.parsers.get(surface)
        if name is None:
            raise Unreadable(f"Jenis item {surface!r} tidak dikenal oleh konektor {self.kind}.")
        if not isinstance(raw, dict):
            raise Unreadable("Item bukan objek JSON.")
        try:
            return getattr(self, name)(raw, context)
        except Ignored:
            return None

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        """Download an attachment through ``session`` (the downloader's own, so that its
        responses never pass through the polling session's hooks): its bytes and the platform's
        content type. Raises ConnectorError (``permanent`` when retrying cannot help: too
        large, gone). Connectors whose files need the account's credentials (X DM media)
        override this."""
        return download(session, url, max_bytes)

    def send(self, reply: OutboundReply) -> str:
        """Deliver ``reply`` and return the platform's id of the sent message; raises ConnectorError."""
        raise NotImplementedError

    def find_delivered(self, reply: OutboundReply) -> str | None:
        """The platform id of ``reply`` if the platform shows it was delivered, else None.

        Only called when ``confirms_delivery`` is true, to settle a send whose outcome was
        unknown; a connector that cannot tell leaves that reply to a person."""
        raise NotImplementedError

    def describe(self) -> str:
        """A one-line description for status output (never a secret)."""
        return f"{self.label or self.kind} ({self.name})"


def make_session(timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> requests.Session:
    """A ``requests.Session`` whose every request has a connect and read timeout.

    Platform client libraries (tweepy, facebook-sdk) set none; a hung socket would stop the
    daemon's loop for every account."""
    session = requests.Session()
    original = session.request

    def request_with_timeout(method: str, url: str, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return original(method, url, **kwargs)

    session.request = request_with_timeout  # type: ignore[method-assign]
    return session





