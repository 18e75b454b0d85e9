"""The normalised message: the one contract between the connectors and the inbox (DESIGN.md).

A connector's ``poll`` returns :class:`InboundMessage` objects in a :class:`PollResult`; the
inbox hands a :class:`OutboundReply` back to ``send``. ``connectors.base`` re-exports all of
them: a connector imports the contract from there.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from connectors.items import SetAsideItem
from inbox.text import storable

KINDS_OF_MESSAGE = ("mention", "comment", "dm", "post")
#: The texts of a message: made storable (``inbox.text.storable``) however the platform sent them.
TEXT_FIELDS = ("external_id", "thread_id", "author_id", "author_handle", "author_name", "text",
               "permalink", "in_reply_to", "case_reference")
#: ``link``: a web page a citizen shared; kept for an officer to open, never downloaded.
ATTACHMENT_KINDS = ("image", "video", "audio", "file", "sticker", "link")


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

    ``author_alias`` is a second id the platform gives for the same author, by which the inbox
    may know them from earlier messages (WhatsApp: the phone number beside the business-scoped
    user id that ``author_id`` holds). The inbox keeps one contact for both ids, keyed by
    ``author_id``; a thread named by either id is that contact's thread (docs/whatsapp.md).
    ``author_name`` and ``author_handle`` may be empty when the platform did not give them in
    this message: the inbox then keeps the ones it knew.
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
    author_alias: str | None = None

    def __post_init__(self) -> None:
        # A NUL or a lone surrogate ("\\ud83d" is valid JSON) cannot be stored: one such message
        # would fail its whole batch on every poll.
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and value != (safe := storable(value)):
                object.__setattr__(self, name, safe)
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
        if not self.author_alias or self.author_alias == self.author_id:
            object.__setattr__(self, "author_alias", None)

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
        alias = values.get("author_alias")
        if alias is not None and (not isinstance(alias, (str, int)) or isinstance(alias, bool)):
            raise ValueError("kolom 'author_alias' harus berupa teks atau null")
        values["author_alias"] = str(alias) if alias not in (None, "") else None
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
    ``ignored`` counts, by kind, the items that were no message and need nobody (a Telegram
    reaction, an auto-reply mail); the inbox adds them to the account's counts.
    """

    messages: list[InboundMessage]
    cursor: dict[str, Any]
    not_before: datetime | None = None
    requests: int = 0
    resources: int = 0
    notes: list[str] = field(default_factory=list)
    set_aside: list[SetAsideItem] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)


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


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
