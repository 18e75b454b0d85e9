"""Reading a platform's page item by item: one odd item is set aside, never the whole page.

Platforms send what their documentation does not promise: an item without ``id``, a field that
is ``null`` or a number, a default field set without ``created_at``. A connector hands each
item of a page to :meth:`ItemReader.read` with the parser for its surface. An item the parser
cannot turn into an :class:`~connectors.base.InboundMessage` (it raises :class:`Unreadable`, or
anything else while normalising) becomes a :class:`SetAsideItem`: the inbox stores it, with the
reason in one plain sentence and the raw JSON, in the same transaction as the page's good
messages, and the connector's cursor moves past it. ``aduan reprocess`` later hands the raw
item and its ``context`` to the same parser again (``Connector.reread``).

Parsers take ``(item, context)`` only, so that a set-aside item can be re-read without the page
it came in: ``context`` holds what the parser needs beyond the item (the author from X's
``includes``, the Facebook post a comment belongs to) and is stored with it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

log = logging.getLogger(__name__)

#: The author shown when the platform did not say who wrote a message.
UNKNOWN_AUTHOR = "pengirim tidak diketahui"
#: X's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds; an id's top 41 bits count
#: milliseconds from it: ``ms since the Unix epoch = (id >> 22) + 1288834974657``.
SNOWFLAKE_EPOCH_MS = 1288834974657
REASON_CHARS = 300
#: Longest name of a kind of ignored item (``inbox.models.IgnoredCount.kind``).
KIND_CHARS = 80


class Unreadable(Exception):
    """An item the parser cannot use; ``reason`` is one plain Indonesian sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Ignored(Exception):
    """An item that is no citizen's message and needs nobody's eye (a Telegram reaction, the
    bot added to a group, an auto-reply mail): counted by ``kind``, never set aside.

    ``kind`` is a short stable name (``my_chat_member``, ``auto_submitted``) that ``aduan
    status`` shows per account; ``inbox.labels`` has its Indonesian word."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class SetAsideItem:
    """An item a connector could not read: kept visibly, re-read by ``aduan reprocess``.

    ``surface`` names the parser (e.g. ``x.mention``), ``platform_id`` the item's id when it
    has one, ``key`` a stable identity (the id, else a hash of the JSON) so that an item seen
    again is counted, not stored twice."""

    surface: str
    reason: str
    raw: Any
    platform_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        if self.platform_id:
            return f"{self.surface}:{self.platform_id}"
        body = json.dumps(self.raw, sort_keys=True, default=str, ensure_ascii=False)
        return f"{self.surface}:sha256:{hashlib.sha256(body.encode()).hexdigest()}"


Parser = Callable[[dict[str, Any], dict[str, Any]], Any]


class ItemReader:
    """Collects the items of one poll that could not be read (see the module docstring)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.set_aside: list[SetAsideItem] = []
        self.ignored: Counter[str] = Counter()

    def read(self, surface: str, item: Any, parse: Parser,
             context: dict[str, Any] | None = None) -> Any:
        """``parse(item, context)``, or None after setting the item aside (or counting it
        as ignored, when the parser says it is no message at all)."""
        context = context or {}
        try:
            if not isinstance(item, dict):
                raise Unreadable(f"Item bukan objek JSON melainkan {_json_type(item)}.")
            return parse(item, context)
        except Ignored as exc:
            self.ignored[exc.kind[:KIND_CHARS]] += 1
            return None
        except Unreadable as exc:
            reason = exc.reason
        except Exception as exc:  # any bug or odd shape while normalising one item stays with it
            reason = (f"Item tidak dapat dibaca oleh aduan ({type(exc).__name__}); "
                      "jalankan aduan reprocess setelah pembaruan.")
            log.warning("account %s: %s item set aside: %s", self.account, surface,
                        _masked(traceback.format_exc()))
        self.put_aside(surface, item, reason, context)
        return None

    def put_aside(self, surface: str, raw: Any, reason: str,
                  context: dict[str, Any] | None = None) -> None:
        """Set ``raw`` aside with ``reason`` without trying to parse it."""
        self.set_aside.append(SetAsideItem(surface=surface, reason=reason[:REASON_CHARS], raw=raw,
                                           platform_id=item_id(raw), context=context or {}))


def item_id(item: Any, key: str = "id") -> str | None:
    """The item's id as text when it is a usable scalar, else None."""
    value = item.get(key) if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    return str(value)


def require_id(item: dict[str, Any], key: str = "id") -> str:
    """The item's id, or :class:`Unreadable` saying it has none."""
    value = item_id(item, key)
    if value is None:
        raise Unreadable(f"Item tidak memiliki {key!r} yang dapat dipakai, jadi tidak dapat "
                         "dicatat tanpa risiko tercatat dua kali.")
    return value


def text_of(item: dict[str, Any], key: str) -> str:
    """A text field as a string: missing or null is empty; a number is written out."""
    value = item.get(key)
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Unreadable(f"Kolom {key!r} berisi {_json_type(value)}, bukan teks.")


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a missing ``from``, a null)."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list; anything else is an empty list."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def place_text(latitude: Any, longitude: Any, *names: str, label: str = "[lokasi]") -> str:
    """A shared location as an officer reads it: ``[lokasi] Kantor X, Jl. Y (-6.87, 109.04)``."""
    place = ", ".join(n for n in names if n)
    return f"{label} {place + ' ' if place else ''}({latitude}, {longitude})"


def snowflake_time(value: str | None) -> datetime | None:
    """The time encoded in an X snowflake id, or None when ``value`` is not one."""
    if not value or not value.isdigit():
        return None
    ms = (int(value) >> 22) + SNOWFLAKE_EPOCH_MS
    if ms <= SNOWFLAKE_EPOCH_MS:
        return None  # ids before snowflakes (2010) carry no time
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def unknown_author(thread_id: str, item_id: str = "") -> str:
    """The contact key of a message whose author the platform did not give: one per message
    (thread and item id), so two anonymous people never share a contact or a case."""
    return f"tidak-diketahui:{thread_id}:{item_id}" if item_id else f"tidak-diketahui:{thread_id}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "angka"
    if isinstance(value, str):
        return "teks"
    if isinstance(value, list):
        return "daftar"
    return "objek"


def _masked(text: str) -> str:
    from inbox import pii  # late: connectors do not need the inbox to be loaded
    return pii.mask(text)
