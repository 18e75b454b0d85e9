"""Instagram professional account: comments on recent media, media that tag the account, DMs.

IG Media has no ``updated_time``, so the change signal is ``comments_count`` (it counts
replies too), read for the ``media_lookback`` newest media (following ``paging.next`` when a
page holds fewer); only media whose count moved are re-read. A deletion and a new comment between two polls leave the count equal,
so every :data:`RESCAN_EVERY` the media that have comments are re-read anyway. An idle poll
costs three requests: conversations, /tags, /media.

@mentions in other people's captions and comments reach the API only through webhooks (the
ids come in the notification), so polling cannot see them; /tags (photo tags) can be polled.

The cursor: ``floor`` and ``dm`` as in :mod:`connectors.facebook`, plus
``media``     {media id: {"n": comments_count, "m": Mark}} for the media in the window
``tags``      {"ids": [tagged media already returned, newest first]}
``rescan_at`` when the media with comments are next re-read regardless of their count
``username``  the account's own username, learned from /media, to recognise its own comments
"""
from __future__ import annotations

from datetime import timedelta
from itertools import islice
from typing import Any, ClassVar

from connectors.base import (AttachmentRef, Connector, ConnectorError, InboundMessage,
                             OutboundReply, PollResult, Setting, utcnow)
from connectors.facebook import Batch, Conversations, created_id, option
from connectors.graph import DEFAULT_VERSION, Graph, Mark, parse_time
from connectors.graph_media import https_link, when_of
from connectors.items import (UNKNOWN_AUTHOR, ItemReader, item_id, obj, objects,
                              require_id, text_of, unknown_author)

MEDIA_FIELDS = "id,timestamp,permalink,caption,comments_count,username"
COMMENT_FIELDS = "id,text,timestamp,username,from,replies{id,text,timestamp,username,from}"
TAG_FIELDS = "id,username,caption,timestamp,permalink,media_type,media_url,thumbnail_url"
RESCAN_EVERY = timedelta(hours=6)


class InstagramConnector(Connector):
    kind: ClassVar[str] = "instagram"
    label: ClassVar[str] = "Instagram"
    parsers: ClassVar[dict[str, str]] = {
        "instagram.tag": "parse_tag", "instagram.comment": "parse_comment",
        "instagram.mention": "parse_mention",
        "instagram.media": "parse_media", "instagram.dm": "parse_message",
        "instagram.conversation": "parse_conversation"}
    settings: ClassVar[dict[str, Setting]] = {
        "ig_user_id": Setting((str, int), required=True, help="ID akun Instagram profesional"),
        "page_id": Setting((str, int), required=True, help="ID Halaman Facebook yang tertaut"),
        "page_access_token": Setting(str, required=True, secret=True,
                                     help="token halaman jangka panjang"),
        "app_secret": Setting(str, secret=True, help="menandatangani panggilan (appsecret_proof)"),
        "graph_version": Setting(str, default=DEFAULT_VERSION),
        "media_lookback": Setting(int, default=25, help="jumlah unggahan terbaru yang diperiksa"),
        "verify_token": Setting(str, secret=True, help="kata kunci verifikasi webhook (opsional)"),
    }

    def __init__(self, name: str, options: dict[str, Any], session: Any = None,
                 data_dir: str | None = None) -> None:
        super().__init__(name, options, session, data_dir)
        self.ig_user_id = str(options["ig_user_id"])
        self.graph = Graph(self.session, str(options["page_access_token"]),
                           option(self, "app_secret"), option(self, "graph_version"))
        # Instagram DMs are read and answered through the linked Page's conversations.
        self.inbox = Conversations(self.graph, str(options["page_id"]), "instagram",
                                   "DM Instagram", {self.ig_user_id})

    @property
    def lookback(self) -> int:
        return max(1, min(int(option(self, "media_lookback")), 100))

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        batch = Batch(self.graph, cursor, utcnow(), items)
        if batch.cursor.get("username"):
            self.inbox.own_names.add(batch.cursor["username"])
        self.inbox.poll(batch)  # first: the 24-hour reply window is the tightest clock
        if batch.step(lambda: self._tags(batch)):
            self._poll_media(batch)
        return batch.result()

    def parse_conversation(self, conv: dict[str, Any], context: dict[str, Any]) -> None:
        return self.inbox.parse_conversation(conv, context)

    def parse_message(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        return self.inbox.parse_message(item, context)

    def read_webhook(self, entry: dict[str, Any], items: ItemReader) -> list[InboundMessage]:
        """Private messages and ``mentions`` changes of one webhook ``entry``.

        Meta keeps no list of @mentions: the webhook names the comment or media, which is read
        by id at once (``mentioned_comment`` / ``mentioned_media``)."""
        found = self.inbox.read_webhook(entry, items)
        for change in entry.get("changes") or []:
            if obj(change).get("field") != "mentions":
                continue
            value = obj(change.get("value"))
            fetched = self._mentioned(value)
            message = items.read("instagram.mention", fetched, self.parse_mention,
                                 {"media_id": item_id(value, "media_id"),
                                  "comment_id": item_id(value, "comment_id"),
                                  "read_at": utcnow().isoformat()})
            if message is not None:
                found.append(message)
        return found

    def _mentioned(self, value: dict[str, Any]) -> dict[str, Any]:
        comment, media = item_id(value, "comment_id"), item_id(value, "media_id")
        if comment:
            fields = (f"mentioned_comment.comment_id({comment})"
                      "{id,text,timestamp,username,media{id,permalink}}")
            return obj(self.graph.get(self.ig_user_id, fields=fields).get("mentioned_comment"))
        if media:
            fields = (f"mentioned_media.media_id({media})"
                      "{id,caption,username,timestamp,permalink,media_type,media_url}")
            return obj(self.graph.get(self.ig_user_id, fields=fields).get("mentioned_media"))
        return {}

    def parse_mention(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """An @mention in someone's comment or caption. Its thread ``mention:<media id>`` tells
        :meth:`send` to answer through ``/{ig-user-id}/mentions``."""
        external_id = require_id(item)
        media_id = str(context.get("media_id") or item_id(obj(item.get("media"))) or external_id)
        username = text_of(item, "username")
        in_comment = bool(context.get("comment_id"))
        url = https_link(item.get("media_url"))
        thread = f"mention:{media_id}"
        return InboundMessage(
            external_id=external_id, thread_id=thread, kind="mention", public=True,
            author_id=username or unknown_author(thread, external_id), author_handle=username,
            author_name=username or UNKNOWN_AUTHOR,
            text=text_of(item, "text" if in_comment else "caption"),
            created_at=when_of(item.get("timestamp"), context),
            permalink=https_link(item.get("permalink")) or https_link(obj(item.get("media")).get("permalink")),
            in_reply_to=external_id if in_comment else None, raw=item,
            attachments=(AttachmentRef(kind="video" if item.get("media_type") == "VIDEO" else "image",
                                       url=url),) if url else ())

    def send(self, reply: OutboundReply) -> str:
        if reply.kind == "dm" or not reply.public:
            return self.inbox.send(reply)
        if reply.thread_id.startswith("mention:"):
            target = {"media_id": reply.thread_id[len("mention:"):]}
            if reply.in_reply_to and reply.in_reply_to != target["media_id"]:
                target["comment_id"] = reply.in_reply_to
            return created_id(self.graph.send(f"{self.ig_user_id}/mentions", message=reply.text,
                                              **target))
        if reply.kind == "mention":
            raise ConnectorError("Instagram tidak mengizinkan balasan lewat API di unggahan orang lain "
                                 "yang menandai akun; balas langsung di aplikasi Instagram.",
                                 permanent=True)
        # Only top-level comments take replies; a comment thread's id is its top-level comment.
        return created_id(self.graph.send(f"{reply.thread_id}/replies", message=reply.text))

    # --- media that tag the account -----------------------------------------------------------

    def _tags(self, batch: Batch) -> list[InboundMessage]:
        # /tags pages carry no paging.next (Instagram docs): the newest page is what we watch.
        state = batch.cursor.setdefault("tags", {})
        seen = list(state.get("ids") or [])
        page = self.graph.get(f"{self.ig_user_id}/tags", fields=TAG_FIELDS, limit=self.lookback)
        items = page.get("data") if isinstance(page.get("data"), list) else []
        context = {"read_at": batch.now.isoformat()}
        found = []
        for item in items:
            key = item_id(item)
            if key is not None and (key in seen or (parse_time(item.get("timestamp")) or batch.now)
                                    < batch.floor):
                continue
            message = batch.items.read("instagram.tag", item, self.parse_tag, context)
            if message is not None:
                found.append(message)
        listed = [key for key in (item_id(item) for item in items) if key]
        state["ids"] = list(dict.fromkeys(listed + seen))[:4 * self.lookback]
        return found

    def parse_tag(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """A media that tags the account: its caption, and its photo or video."""
        media_id = require_id(item)
        username = text_of(item, "username")
        kind = "video" if text_of(item, "media_type") == "VIDEO" else "image"
        url = https_link(item.get("media_url")) or https_link(item.get("thumbnail_url"))
        return InboundMessage(
            external_id=media_id, thread_id=media_id, kind="mention", public=True,
            author_id=username or unknown_author(media_id, media_id), author_handle=username,
            author_name=username or UNKNOWN_AUTHOR, text=text_of(item, "caption"),
            created_at=when_of(item.get("timestamp"), context), permalink=https_link(item.get("permalink")),
            raw=item, attachments=(AttachmentRef(kind=kind, url=url),) if url else ())

    # --- comments on the account's media --------------------------------------------------------

    def _poll_media(self, batch: Batch) -> None:
        state: dict[str, Any] = batch.cursor.setdefault("media", {})
        rescan_at = parse_time(batch.cursor.get("rescan_at"))
        rescan = rescan_at is None or batch.now >= rescan_at
        media: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []

        def listing() -> None:
            # Pages up to media_lookback posts; the first page usually holds them all, so an
            # idle poll still costs one /media request.
            pages = self.graph.pages(f"{self.ig_user_id}/media", fields=MEDIA_FIELDS,
                                     limit=self.lookback)
            ids: set[str] = set()
            for item in islice(pages, self.lookback):
                key = item_id(item)
                if key is None:
                    batch.items.read("instagram.media", item, self.parse_media)
                    continue
                if key in ids:
                    break  # a next page that repeats this one: the end of the list
                ids.add(key)
                media.append(item)
            for item in media:
                count = _count(item.get("comments_count"))
                entry = state.get(str(item["id"]))
                if entry is None and count == 0:
                    state[str(item["id"])] = {"n": 0, "m": None}
                elif entry is None or entry.get("n") != count or count < 0 or (rescan and count > 0):
                    changed.append(item)  # a count Meta did not give (< 0) is read every time

        if not batch.step(listing):
            return
        names = {item["username"] for item in media
                 if isinstance(item.get("username"), str) and item["username"]}
        self.inbox.own_names |= names
        for item in sorted(changed, key=lambda m: parse_time(m.get("timestamp")) or batch.now):
            batch.step(lambda item=item: self._comments(batch, item, state),
                       gone=lambda item=item: state.pop(str(item["id"]), None))
        if batch.complete:
            listed = {str(item["id"]) for item in media}
            for key in [k for k in state if k not in listed]:
                del state[key]
            if rescan:
                batch.cursor["rescan_at"] = (batch.now + RESCAN_EVERY).isoformat()
            if names:
                batch.cursor["username"] = sorted(names)[0]

    def parse_media(self, item: dict[str, Any], context: dict[str, Any]) -> None:
        """The office's own media is not a message; one with an id is read at the next poll."""
        require_id(item)
        return None

    def _comments(self, batch: Batch, media: dict[str, Any],
                  state: dict[str, Any]) -> list[InboundMessage]:
        media_id = str(media["id"])
        mark = Mark((state.get(media_id) or {}).get("m"), batch.floor)
        found: list[InboundMessage] = []
        base = {"media_id": media_id, "permalink": https_link(media.get("permalink")),
                "read_at": batch.now.isoformat()}
        # Comments come newest first, but a new reply can sit under an old comment: read all.
        for comment in self.graph.pages(f"{media_id}/comments", fields=COMMENT_FIELDS, limit=50):
            comment_id = item_id(comment)
            self._consider(batch, comment, dict(base, thread_id=comment_id or media_id,
                                                in_reply_to=media_id), mark, found)
            if comment_id is None:
                continue  # its replies are in its raw JSON, set aside with it
            for reply in objects(obj(comment.get("replies")).get("data")):
                self._consider(batch, reply, dict(base, thread_id=comment_id, in_reply_to=comment_id),
                               mark, found)
        for message in found:
            mark.add(message.created_at, message.external_id)
        state[media_id] = {"n": _count(media.get("comments_count")), "m": mark.dump()}
        return found

    def _consider(self, batch: Batch, item: Any, context: dict[str, Any], mark: Mark,
                  found: list[InboundMessage]) -> None:
        key = item_id(item)
        if key is not None and not mark.is_new(parse_time(item.get("timestamp")) or batch.now, key):
            return
        message = batch.items.read("instagram.comment", item, self.parse_comment, context)
        if message is not None:
            found.append(message)

    def parse_comment(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        comment_id = require_id(item)
        sender = obj(item.get("from"))
        username = text_of(item, "username") or text_of(sender, "username")
        sender_id = item_id(sender)
        thread = str(context.get("thread_id") or comment_id)
        return InboundMessage(
            external_id=comment_id, thread_id=thread, kind="comment", public=True,
            author_id=sender_id or username or unknown_author(thread, comment_id),
            author_handle=username, author_name=username or UNKNOWN_AUTHOR,
            text=text_of(item, "text"), created_at=when_of(item.get("timestamp"), context),
            permalink=context.get("permalink"),
            in_reply_to=str(context.get("in_reply_to") or "") or None,
            raw={key: value for key, value in item.items() if key != "replies"},
            from_office=sender_id == self.ig_user_id or (bool(username)
                                                         and username in self.inbox.own_names))


def _count(value: Any) -> int:
    """``comments_count`` as a number; missing or odd counts as unknown (-1): read the comments."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return -1
