"""Reading one Telegram update: what it is, and a message's content as text an officer reads.

Kept apart from the connector (``connectors.telegram``), which polls, sends and fetches.

Updates that are no message (the bot added to a group, a reaction, a boost, a channel post of a
channel the bot is in, a purchase…) are :class:`~connectors.items.Ignored` by kind: counted in
``aduan status``, never set aside, never told to anyone. So are a group's service messages (a
member joined, the title changed): nobody wrote them. A message always reads as text or
carries a file: a dice, a location, a venue, a contact card, a poll each have their words; a
private message of a kind aduan does not know yet is set aside for a person to look at.
"""
from __future__ import annotations

from typing import Any

from connectors.messages import AttachmentRef
from connectors.items import Ignored, Unreadable, item_id, obj, objects, place_text, text_of

#: Update fields that carry no citizen's message (core.telegram.org/bots/api#update).
NOT_MESSAGES = ("my_chat_member", "chat_member", "chat_join_request", "message_reaction",
                "message_reaction_count", "chat_boost", "removed_chat_boost",
                "purchased_paid_media", "channel_post", "edited_channel_post", "poll",
                "poll_answer", "callback_query", "inline_query", "chosen_inline_result",
                "shipping_query", "pre_checkout_query", "business_connection",
                "deleted_business_messages")
#: Every kind of item the connector ignores (``inbox.labels`` has their words).
IGNORED_KINDS = NOT_MESSAGES + ("service_message", "live_location_update")
#: Message fields that make it a service message: what happened to the chat, nobody's words.
SERVICE = frozenset({
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "group_chat_created", "supergroup_chat_created", "channel_chat_created",
    "message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id",
    "pinned_message", "write_access_allowed", "proximity_alert_triggered", "boost_added",
    "chat_background_set", "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
    "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
    "giveaway_created", "giveaway_completed", "video_chat_scheduled", "video_chat_started",
    "video_chat_ended", "video_chat_participants_invited", "connected_website",
    "successful_payment", "refunded_payment", "users_shared", "chat_shared", "gift",
    "unique_gift", "paid_message_price_changed", "checklist_tasks_done", "checklist_tasks_added",
    "direct_message_price_changed"})
#: Fields every message may carry beside its content.
FRAME = frozenset({
    "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count",
    "sender_business_bot", "date", "business_connection_id", "chat", "forward_origin",
    "forward_from", "forward_from_chat", "forward_from_message_id", "forward_signature",
    "forward_sender_name", "forward_date", "is_topic_message", "is_automatic_forward",
    "reply_to_message", "external_reply", "quote", "reply_to_story", "via_bot", "edit_date",
    "has_protected_content", "is_from_offline", "media_group_id", "author_signature",
    "entities", "caption_entities", "link_preview_options", "reply_markup", "effect_id",
    "show_caption_above_media", "has_media_spoiler", "text", "caption", "paid_star_count",
    "direct_messages_topic", "reply_to_checklist_task_id", "suggested_post_info"})
FILES = (("document", "file"), ("voice", "audio"), ("audio", "audio"), ("video", "video"),
         ("video_note", "video"), ("sticker", "sticker"), ("animation", "video"))


def the_message(update: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The update's message and whether it is an edit; :class:`Ignored` for an update that is
    no message, :class:`Unreadable` for one aduan does not know."""
    edited = "edited_message" in update and "message" not in update
    message = obj(update.get("edited_message" if edited else "message"))
    if message:
        return message, edited
    for kind in NOT_MESSAGES:
        if kind in update:
            raise Ignored(kind)
    raise Unreadable("Update Telegram tanpa 'message' yang dapat dibaca.")


def content(message: dict[str, Any], edited: bool, private: bool) -> tuple[str, tuple[AttachmentRef, ...]]:
    """The message's text and files, never both empty (a service message is the caller's to
    ignore before it asks)."""
    if edited and ("location" in message or "venue" in message):
        raise Ignored("live_location_update")  # a live location moves: an edit every few seconds
    text = text_of(message, "text") or text_of(message, "caption")
    files = attachments(message)
    if text.strip() or files:
        return text, files
    said = _other(message)
    if said:
        return said, ()
    unknown = sorted(k for k in message if k not in FRAME and k not in SERVICE)
    if unknown and private:
        raise Unreadable(f"Jenis pesan Telegram {unknown[0]!r} belum dikenal aduan; buka "
                         "percakapannya di Telegram.")
    return "[pesan Telegram tanpa isi]", ()


def _other(message: dict[str, Any]) -> str:
    """Words for the kinds of message that are neither text nor a file."""
    if obj(message.get("dice")):
        dice = obj(message["dice"])
        return f"[dadu] {text_of(dice, 'emoji')} {text_of(dice, 'value')}".replace("  ", " ").strip()
    venue = obj(message.get("venue"))
    if venue:
        spot = obj(venue.get("location"))
        return place_text(text_of(spot, "latitude"), text_of(spot, "longitude"),
                          text_of(venue, "title"), text_of(venue, "address"))
    spot = obj(message.get("location"))
    if spot:
        live = "[lokasi langsung]" if spot.get("live_period") else "[lokasi]"
        return place_text(text_of(spot, "latitude"), text_of(spot, "longitude"), label=live)
    card = obj(message.get("contact"))
    if card:
        name = " ".join(p for p in (text_of(card, "first_name"), text_of(card, "last_name")) if p)
        return " ".join(["[kontak]", ", ".join(p for p in (name, text_of(card, "phone_number")) if p)]).strip()
    poll = obj(message.get("poll"))
    if poll:
        options = [text_of(o, "text") for o in objects(poll.get("options"))]
        question = text_of(poll, "question") or "(tanpa pertanyaan)"
        return f"[polling] {question}" + (": " + " / ".join(o for o in options if o) if any(options) else "")
    checklist = obj(message.get("checklist"))
    if checklist:
        tasks = [text_of(t, "text") for t in objects(checklist.get("tasks"))]
        return f"[daftar periksa] {text_of(checklist, 'title')}: " + " / ".join(t for t in tasks if t)
    for key, words in (("game", "[permainan]"), ("invoice", "[tagihan]"), ("story", "[cerita Telegram]"),
                       ("giveaway", "[giveaway]"), ("giveaway_winners", "[pemenang giveaway]"),
                       ("paid_media", "[media berbayar]"), ("web_app_data", "[data aplikasi web]")):
        if key in message:
            entry = obj(message.get(key))
            detail = text_of(entry, "title") or text_of(entry, "data") or text_of(entry, "button_text")
            return f"{words} {detail}".strip()
    return ""


def attachments(message: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    found = []
    photos = [p for p in objects(message.get("photo")) if item_id(p, "file_id")]
    if photos:  # the sizes of one photo, smallest first: keep the largest
        best = max(photos, key=lambda p: (_number(p.get("file_size")), _number(p.get("width"))))
        found.append(_ref("image", best))
    seen = set()
    for key, kind in FILES:
        entry = obj(message.get(key))
        file_id = item_id(entry, "file_id")
        if file_id and file_id not in seen:  # an animation also comes as its document
            seen.add(file_id)
            if kind == "file" and str(entry.get("mime_type") or "").startswith("image/"):
                kind = "image"
            found.append(_ref(kind, entry))
    return tuple(found)


def _ref(kind: str, entry: dict[str, Any]) -> AttachmentRef:
    size = entry.get("file_size")
    return AttachmentRef(kind=kind, url=f"tg-file:{entry['file_id']}",
                         platform_id=item_id(entry, "file_unique_id"),
                         mime=text_of(entry, "mime_type") or None,
                         size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                         name=text_of(entry, "file_name")[:200])


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
