"""Reading X API v2 items whatever fields X sent: times, authors, media and conversations.

X's default field set is ``id``, ``text`` and ``edit_history_tweet_ids``; everything else may be
missing, ``null`` or of another type. These helpers derive what can be derived (the time from
the snowflake id, the one-to-one conversation from the two participants) and never raise.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from connectors.base import AttachmentRef, utcnow
from connectors.items import item_id, obj, objects, snowflake_time

def newest_id(meta: dict[str, Any], data: list[Any]) -> str | None:
    """``meta.newest_id``, or the highest post id of the page when X left it out (one bogus
    id must not push ``since_id`` past real mentions, so X's own figure wins when given)."""
    newest = item_id(meta, "newest_id")
    if newest is not None:
        return newest
    ids = [i for i in (item_id(item) for item in data) if i and i.isdigit()]
    return max(ids, key=int) if ids else None


def context(item: Any, author_key: str, includes: dict[str, Any]) -> dict[str, Any]:
    """What a parser needs from the page's ``includes``: the author and the item's media."""
    if not isinstance(item, dict):
        return {}
    context: dict[str, Any] = {}
    author = item_id(item, author_key)
    user = next((u for u in objects(includes.get("users")) if item_id(u) == author), None)
    if author and user:
        context["user"] = {k: user.get(k) for k in ("id", "username", "name")}
    keys = [k for k in (obj(item.get("attachments")).get("media_keys") or []) if isinstance(k, str)]
    if keys:
        media = {m.get("media_key"): m for m in objects(includes.get("media"))}
        context["media"] = [media.get(k) or {"media_key": k} for k in keys]
    return context


def media(item: dict[str, Any], context: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    """The item's photos and videos from ``includes.media``; a key X gave no details for is
    still listed (without a URL), so the admin knows something was attached."""
    found = []
    for media in objects(context.get("media")):
        kind = {"photo": "image", "video": "video", "animated_gif": "video"}.get(
            str(media.get("type")), "file")
        url = media.get("url") if kind == "image" else best_variant(media)
        found.append(AttachmentRef(kind=kind, url=url if isinstance(url, str) else None,
                                   platform_id=item_id(media, "media_key")))
    return tuple(found)


def best_variant(media: dict[str, Any]) -> str | None:
    variants = [v for v in objects(media.get("variants"))
                if v.get("content_type") == "video/mp4" and isinstance(v.get("url"), str)]
    if variants:
        return max(variants, key=lambda v: v.get("bit_rate") or 0)["url"]
    preview = media.get("preview_image_url")
    return preview if isinstance(preview, str) else None


def conversation(sender: str, office: str, participants: Any) -> str | None:
    """X's one-to-one conversation id: the two user ids, lower first, joined by ``-``."""
    people = {p for p in (participants or []) if isinstance(p, str) and p.isdigit()} \
        if isinstance(participants, list) else set()
    people |= {sender, office} if sender != office else {sender}
    if len(people) != 2 or not all(p.isdigit() for p in people):
        return None
    return "-".join(sorted(people, key=int))


def created(item: dict[str, Any], item_id_: str) -> datetime:
    """``created_at``, else the time in the snowflake id, else now (the time it was read)."""
    return parse_time(item.get("created_at")) or snowflake_time(item_id_) or utcnow()


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
