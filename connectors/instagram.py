"""Instagram professional account: comments on recent media, media that tag the account, DMs.

IG Media has no ``updated_time``, so the change signal is ``comments_count`` (it counts
replies too), read for all ``media_lookback`` media in the one /media request; only media whose
count moved are re-read. A deletion and a new comment between two polls leave the count equal,
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
from typing import Any, ClassVar

from connectors.base import (Connector, ConnectorError, InboundMessage, OutboundReply, PollResult,
                             Setting, utcnow)
from connectors.facebook import Batch, Conversations, created_id, option
from connectors.graph import DEFAULT_VERSION, Graph, Mark, parse_time

MEDIA_FIELDS = "id,timestamp,permalink,caption,comments_count,username"
COMMENT_FIELDS = "id,text,timestamp,username,from,replies{id,text,timestamp,username,from}"
TAG_FIELDS = "id,username,caption,timestamp,permalink,media_type"
RESCAN_EVERY = timedelta(hours=6)


class InstagramConnector(Connector):
    kind: ClassVar[str] = "instagram"
    label: ClassVar[str] = "Instagram"
    settings: ClassVar[dict[str, Setting]] = {
        "ig_user_id": Setting((str, int), required=True, help="ID akun Instagram profesional"),
        "page_id": Setting((str, int), required=True, help="ID Halaman Facebook yang tertaut"),
        "page_access_token": Setting(str, required=True, secret=True,
                                     help="token halaman jangka panjang"),
        "app_secret": Setting(str, secret=True, help="menandatangani panggilan (appsecret_proof)"),
        "graph_version": Setting(str, default=DEFAULT_VERSION),
        "media_lookback": Setting(int, default=25, help="jumlah unggahan terbaru yang diperiksa"),
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

    def poll(self, cursor: dict[str, Any]) -> PollResult:
        batch = Batch(self.graph, cursor, utcnow())
        if batch.cursor.get("username"):
            self.inbox.own_names.add(batch.cursor["username"])
        self.inbox.poll(batch)  # first: the 24-hour reply window is the tightest clock
        if batch.step(lambda: self._tags(batch)):
            self._poll_media(batch)
        return batch.result()

    def send(self, reply: OutboundReply) -> str:
        if reply.kind == "dm" or not reply.public:
            return self.inbox.send(reply)
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
        items = self.graph.get(f"{self.ig_user_id}/tags", fields=TAG_FIELDS,
                               limit=self.lookback).get("data") or []
        found = []
        for item in items:
            when = parse_time(item.get("timestamp"))
            if when is None or item["id"] in seen or when < batch.floor:
                continue
            username = str(item.get("username") or "")
            found.append(InboundMessage(
                external_id=str(item["id"]), thread_id=str(item["id"]), kind="mention",
                public=True, author_id=username, author_handle=username, author_name=username,
                text=str(item.get("caption") or ""), created_at=when,
                permalink=item.get("permalink"), raw=item))
        state["ids"] = list(dict.fromkeys([i["id"] for i in items] + seen))[:4 * self.lookback]
        return found

    # --- comments on the account's media --------------------------------------------------------

    def _poll_media(self, batch: Batch) -> None:
        state: dict[str, Any] = batch.cursor.setdefault("media", {})
        rescan_at = parse_time(batch.cursor.get("rescan_at"))
        rescan = rescan_at is None or batch.now >= rescan_at
        media: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []

        def listing() -> None:
            page = self.graph.get(f"{self.ig_user_id}/media", fields=MEDIA_FIELDS,
                                  limit=self.lookback)
            media.extend((page.get("data") or [])[:self.lookback])
            for item in media:
                count = int(item.get("comments_count") or 0)
                entry = state.get(item["id"])
                if entry is None and count == 0:
                    state[item["id"]] = {"n": 0, "m": None}
                elif entry is None or entry.get("n") != count or (rescan and count > 0):
                    changed.append(item)

        if not batch.step(listing):
            return
        names = {str(item["username"]) for item in media if item.get("username")}
        self.inbox.own_names |= names
        for item in sorted(changed, key=lambda m: parse_time(m.get("timestamp")) or batch.now):
            batch.step(lambda item=item: self._comments(batch, item, state),
                       gone=lambda item=item: state.pop(item["id"], None))
        if batch.complete:
            listed = {item["id"] for item in media}
            for key in [k for k in state if k not in listed]:
                del state[key]
            if rescan:
                batch.cursor["rescan_at"] = (batch.now + RESCAN_EVERY).isoformat()
            if names:
                batch.cursor["username"] = sorted(names)[0]

    def _comments(self, batch: Batch, media: dict[str, Any],
                  state: dict[str, Any]) -> list[InboundMessage]:
        mark = Mark((state.get(media["id"]) or {}).get("m"), batch.floor)
        found: list[InboundMessage] = []
        # Comments come newest first, but a new reply can sit under an old comment: read all.
        for comment in self.graph.pages(f"{media['id']}/comments", fields=COMMENT_FIELDS, limit=50):
            self._consider(comment, comment["id"], media["id"], media, mark, found)
            for reply in (comment.get("replies") or {}).get("data") or []:
                self._consider(reply, comment["id"], comment["id"], media, mark, found)
        for message in found:
            mark.add(message.created_at, message.external_id)
        state[media["id"]] = {"n": int(media.get("comments_count") or 0), "m": mark.dump()}
        return found

    def _consider(self, item: dict[str, Any], thread_id: str, in_reply_to: str,
                  media: dict[str, Any], mark: Mark, found: list[InboundMessage]) -> None:
        when = parse_time(item.get("timestamp"))
        if when is None or not mark.is_new(when, item["id"]):
            return
        sender = item.get("from") or {}
        username = str(item.get("username") or sender.get("username") or "")
        found.append(InboundMessage(
            external_id=str(item["id"]), thread_id=str(thread_id), kind="comment", public=True,
            author_id=str(sender.get("id") or username), author_handle=username,
            author_name=username, text=str(item.get("text") or ""), created_at=when,
            permalink=media.get("permalink"), in_reply_to=str(in_reply_to),
            raw={key: value for key, value in item.items() if key != "replies"},
            from_office=str(sender.get("id")) == self.ig_user_id or username in self.inbox.own_names))
