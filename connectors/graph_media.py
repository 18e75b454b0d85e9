"""What Graph items carry besides text: their attachments, times and links, read defensively.

Shared by the Facebook and Instagram connectors (posts, comments, private messages, tagged
media). Every value comes from the platform and is checked for its type before use.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from connectors.base import AttachmentRef, utcnow
from connectors.graph import parse_time
from connectors.items import item_id, obj, objects, text_of

def when_of(value: Any, context: dict[str, Any]) -> datetime:
    """The item's time, or the time it was read when Meta left it out or sent no time."""
    return parse_time(value) or parse_time(context.get("read_at")) or utcnow()


def https_link(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("https://") else None


def web_link(value: Any) -> str | None:
    return value[:2000] if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def message_attachments(item: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    """Messenger / Instagram DM ``attachments`` (image_data, video_data, file_url, and a webhook's
    shared link as ``link_url``) and a sticker."""
    found = []
    for entry in objects(obj(item.get("attachments")).get("data")):
        image, video = obj(entry.get("image_data")), obj(entry.get("video_data"))
        mime = text_of(entry, "mime_type") or None
        if web_link(entry.get("link_url")):
            found.append(AttachmentRef(kind="link", url=web_link(entry.get("link_url")),
                                       name=text_of(entry, "name")[:200]))
            continue
        if image:
            kind, url = "image", https_link(image.get("url"))
        elif video:
            kind, url = "video", https_link(video.get("url"))
        else:
            kind = "image" if (mime or "").startswith("image/") else "file"
            url = https_link(entry.get("file_url"))
        size = entry.get("size")
        found.append(AttachmentRef(kind=kind, url=url, platform_id=item_id(entry), mime=mime,
                                   size=size if isinstance(size, int) and not isinstance(size, bool)
                                   else None, name=text_of(entry, "name")[:200]))
    sticker = item.get("sticker")
    if isinstance(sticker, str) and https_link(sticker):
        found.append(AttachmentRef(kind="sticker", url=sticker))
    return tuple(found)


def comment_attachments(comment: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    """A Facebook comment's one ``attachment`` (a photo, a sticker, a GIF or a video)."""
    return _story_attachments([obj(comment.get("attachment"))])


def post_attachments(post: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    """A post's ``attachments`` (an album's photos are its ``subattachments``)."""
    entries = []
    for entry in objects(obj(post.get("attachments")).get("data")):
        entries.append(entry)
        entries.extend(objects(obj(entry.get("subattachments")).get("data")))
    return _story_attachments(entries)


def _story_attachments(entries: list[dict[str, Any]]) -> tuple[AttachmentRef, ...]:
    found = []
    for entry in entries:
        media = obj(entry.get("media"))
        kind_word = text_of(entry, "media_type") or text_of(entry, "type")
        if not media:
            continue  # a shared link or an album's cover: nothing of its own to keep
        image = https_link(obj(media.get("image")).get("src"))
        if "video" in kind_word:
            found.append(AttachmentRef(kind="video", url=https_link(media.get("source")) or image))
        elif image:
            found.append(AttachmentRef(kind="sticker" if kind_word == "sticker" else "image",
                                       url=image, platform_id=item_id(obj(entry.get("target")))))
    return tuple(found)


def graph_message(event: dict[str, Any]) -> dict[str, Any]:
    """A Messenger / Instagram messaging webhook event in the shape of a Graph message object
    (``id``, ``created_time``, ``from``, ``message``, ``attachments.data``), for the one parser."""
    message = obj(event.get("message"))
    sender = obj(event.get("sender"))
    stamp = event.get("timestamp")
    created = (datetime.fromtimestamp(stamp / 1000, timezone.utc).isoformat()
               if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else None)
    data = []
    for entry in objects(message.get("attachments")):
        payload = obj(entry.get("payload"))
        url = https_link(payload.get("url"))
        kind = entry.get("type")
        if kind == "fallback":  # a shared link: any address the citizen chose, never fetched
            link = web_link(payload.get("url")) or web_link(entry.get("url"))
            if link:
                data.append({"link_url": link,
                             "name": text_of(payload, "title") or text_of(entry, "title")})
        elif kind in ("image", "sticker", "animated_image"):
            data.append({"image_data": {"url": url}})
        elif kind in ("video", "ig_reel", "reel"):
            data.append({"video_data": {"url": url}})
        elif url:
            data.append({"file_url": url, "mime_type": "audio/mpeg" if kind == "audio" else None})
    item: dict[str, Any] = {"id": message.get("mid"), "created_time": created,
                            "from": {"id": sender.get("id")}, "message": message.get("text"),
                            "webhook": True}
    if data:
        item["attachments"] = {"data": data}
    return item
