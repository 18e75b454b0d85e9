"""The contract between the platforms and the inbox.

A connector turns one configured account into normalised :class:`InboundMessage` objects
(``poll``) and sends a :class:`OutboundReply` back on the same surface (``send``). It never
touches the database: the inbox stores what ``poll`` returns together with the new cursor in
one transaction, so a crash at any instant loses nothing and duplicates nothing.

Errors: every failure a connector knows about is a :class:`ConnectorError`. Only the daemon and
the outbox decide what to do with it (retry with backoff, wait for ``retry_at``, disable the
account when ``permanent``); connectors never retry by themselves.
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, ClassVar

import requests

from connectors.items import ItemReader, SetAsideItem, Unreadable

log = logging.getLogger(__name__)

KINDS_OF_MESSAGE = ("mention", "comment", "dm", "post")

#: Connect and read timeouts for every HTTP call a connector makes (seconds).
DEFAULT_TIMEOUT = (5.0, 30.0)
ATTACHMENT_KINDS = ("image", "video", "audio", "file", "sticker")


@dataclass(frozen=True)
class AttachmentRef:
    """A photo, video or file a citizen sent with a message, as the platform describes it.

    ``url`` is where the daemon downloads it from (platform URLs expire, so soon after ingest);
    ``platform_id`` the platform's id or key of it (X ``media_key``, a Graph attachment id)."""

    kind: str
    url: str | None = None
    platform_id: str | None = None
    mime: str | None = None
    size: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ATTACHMENT_KINDS:
            object.__setattr__(self, "kind", "file")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class InboundMessage:
    """One message seen on a platform, normalised (DESIGN.md, "The normalised message").

    ``from_office`` is true for the office's own messages seen while polling (a Page's own
    comment, a DM the office sent from the platform's app): they are stored as outbound and
    never open a case.

    ``case_reference`` is a case number the citizen quoted (an e-mail subject): a message whose
    thread has no case of its author yet joins that case when it is the same citizen's case on
    the same account.
    """

    external_id: str
    thread_id: str
    kind: str
    public: bool
    author_id: str
    author_handle: str
    author_name: str
    text: str
    created_at: datetime
    permalink: str | None = None
    in_reply_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    from_office: bool = False
    attachments: tuple[AttachmentRef, ...] = ()
    case_reference: str | None = None

    def __post_init__(self) -> None:
        if not self.external_id:
            raise ValueError("external_id is empty")
        if not self.thread_id:
            raise ValueError("thread_id is empty")
        if self.kind not in KINDS_OF_MESSAGE:
            raise ValueError(f"kind must be one of {', '.join(KINDS_OF_MESSAGE)}, not {self.kind!r}")
        if not isinstance(self.created_at, datetime) or self.created_at.tzinfo is None:
            raise ValueError("created_at must be a timezone-aware datetime")
        if self.created_at.utcoffset() != timezone.utc.utcoffset(None):
            object.__setattr__(self, "created_at", self.created_at.astimezone(timezone.utc))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboundMessage:
        """Build a message from a JSON object (``aduan import --jsonl``); raises ValueError.

        The messages are Indonesian: they are what an officer reads for a rejected line."""
        if not isinstance(data, dict):
            raise ValueError("harus berupa objek JSON ({...})")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - data.keys())
        if missing:
            raise ValueError(f"kolom {missing[0]!r} tidak ada")
        values = {k: v for k, v in data.items() if k in names}
        for key in ("external_id", "thread_id", "author_id", "author_handle", "author_name", "text"):
            if not isinstance(values[key], (str, int)) or isinstance(values[key], bool):
                raise ValueError(f"kolom {key!r} harus berupa teks")
            values[key] = str(values[key])
        for key in ("external_id", "thread_id"):
            if not values[key]:
                raise ValueError(f"kolom {key!r} kosong")
        if values["kind"] not in KINDS_OF_MESSAGE:
            raise ValueError(f"kolom 'kind' harus salah satu dari {', '.join(KINDS_OF_MESSAGE)}, "
                             f"bukan {values['kind']!r}")
        if not isinstance(values["public"], bool):
            raise ValueError("kolom 'public' harus true atau false")
        created = values["created_at"]
        if not isinstance(created, str):
            raise ValueError("kolom 'created_at' harus berupa waktu ISO 8601, misalnya "
                             "\"2026-12-02T06:28:00+07:00\"")
        try:
            parsed = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"kolom 'created_at' bukan waktu ISO 8601: {created!r}") from None
        if parsed.tzinfo is None:
            raise ValueError("kolom 'created_at' tidak punya zona waktu (tambahkan +07:00 atau Z)")
        values["created_at"] = parsed
        if values.get("raw") is None:
            values["raw"] = {}
        values["attachments"] = _attachments_from(values.get("attachments"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["attachments"] = [a.to_dict() for a in self.attachments]
        return data


def _attachments_from(value: Any) -> tuple[AttachmentRef, ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("field 'attachments' must be a list of objects")
    names = {f.name for f in dataclasses.fields(AttachmentRef)}
    try:
        return tuple(AttachmentRef(**{k: v for k, v in v.items() if k in names}) for v in value)
    except TypeError:
        raise ValueError("every attachment needs a 'kind'") from None


@dataclass(frozen=True)
class PollResult:
    """What one poll returns: the new messages, oldest first, and the cursor to store with them.

    ``not_before`` asks the daemon not to poll again before that time (a rate limit about to
    run out); ``requests`` and ``resources`` count the platform calls and the items read, for
    the per-day usage an office pays for. ``set_aside`` are the items the poll could not read
    (``connectors.items``); they are stored with the messages and the cursor moves past them.
    """

    messages: list[InboundMessage]
    cursor: dict[str, Any]
    not_before: datetime | None = None
    requests: int = 0
    resources: int = 0
    notes: list[str] = field(default_factory=list)
    set_aside: list[SetAsideItem] = field(default_factory=list)


@dataclass(frozen=True)
class OutboundReply:
    """A reply the outbox asks a connector to deliver.

    ``in_reply_to`` is the platform id of the citizen's newest message in the case;
    ``recipient_id`` the citizen's platform id (for a DM); ``last_inbound_at`` the time of the
    citizen's newest message, for the private-message windows.
    """

    reply_id: int
    case_reference: str
    text: str
    public: bool
    thread_id: str
    in_reply_to: str | None
    recipient_id: str
    kind: str
    last_inbound_at: datetime | None = None


class ConnectorError(Exception):
    """A platform refused or failed.

    ``permanent``: retrying cannot help (revoked token, missing permission, reply not allowed);
    the account is disabled, or the reply marked failed, with ``message`` as the reason a person
    reads (Bahasa Indonesia where a connector knows the cause).
    ``retry_at``: a rate limit; do not call before this time.
    ``uncertain``: the request may have reached the platform (a timeout after it was sent); a
    reply with this outcome must not be re-sent blindly.
    ``detail``: diagnostic material (a malformed body), stored, never shown as the reason.
    """

    def __init__(self, message: str, permanent: bool = False, retry_at: datetime | None = None,
                 uncertain: bool = False, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_at = retry_at
        self.uncertain = uncertain
        self.detail = detail


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
        return result

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        """The work of ``poll``: read the platform, handing each item to ``items.read``."""
        raise NotImplementedError

    def reread(self, surface: str, raw: Any, context: dict[str, Any]) -> InboundMessage | None:
        """Parse a set-aside item again with today's code (``aduan reprocess``).

        Returns the message (or None when the item is not a message at all, e.g. the office's
        own event); raises :class:`~connectors.items.Unreadable` when it still cannot be read."""
        name = self.parsers.get(surface)
        if name is None:
            raise Unreadable(f"Jenis item {surface!r} tidak dikenal oleh konektor {self.kind}.")
        if not isinstance(raw, dict):
            raise Unreadable("Item bukan objek JSON.")
        return getattr(self, name)(raw, context)

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        """Download an attachment through ``session`` (the downloader's own, so that its
        responses never pass through the polling session's hooks): its bytes and the platform's
        content type. Raises ConnectorError (``permanent`` when retrying cannot help: too
        large, gone). Connectors whose files need the account's credentials (X DM media)
        override this."""
        from connectors.downloads import download  # it needs ConnectorError from here
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


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- registry -------------------------------------------------------------------------------

BUILTIN_CONNECTORS: dict[str, str] = {
    "sandbox": "connectors.sandbox:SandboxConnector",
    "x": "connectors.x:XConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "instagram": "connectors.instagram:InstagramConnector",
    "telegram": "connectors.telegram:TelegramConnector",
    "whatsapp": "connectors.whatsapp:WhatsAppConnector",
    "email": "connectors.email:EmailConnector",
}

ENTRY_POINT_GROUP = "aduan.connectors"


class RegistryError(Exception):
    pass


def registered_kinds() -> dict[str, str]:
    """Every connector kind and its ``module:Class`` path; a duplicate kind is refused loudly."""
    kinds = dict(BUILTIN_CONNECTORS)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in kinds:
            raise RegistryError(
                f"connector kind {ep.name!r} from {ep.value} is already provided by {kinds[ep.name]}")
        kinds[ep.name] = ep.value
    return kinds


_loaded: dict[str, type[Connector]] = {}


def connector_class(kind: str) -> type[Connector]:
    """Import the connector class for ``kind`` on first use; raises RegistryError."""
    if kind in _loaded:
        return _loaded[kind]
    kinds = registered_kinds()
    if kind not in kinds:
        raise RegistryError(f"unknown account kind {kind!r} (known: {', '.join(sorted(kinds))})")
    module_name, _, attr = kinds[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)) or cls.kind != kind:
        raise RegistryError(f"{kinds[kind]} is not a Connector of kind {kind!r}")
    _loaded[kind] = cls
    return cls
