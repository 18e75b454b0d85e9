"""Facebook Page: visitor posts, posts that tag the Page, their comments, and Messenger.

Reading is kept cheap. /feed and /tagged are read newest first and only :data:`POST_WINDOW`
back; a post's comments are re-read only when its ``updated_time`` moved (Meta moves it when
someone comments), with ``filter=stream&order=chronological`` from the post's mark on.
Conversations are listed newest first and only those whose ``updated_time`` changed are opened.
An idle poll costs three requests: conversations, /tagged, /feed.

The cursor, stored by the inbox with the messages it covers:

``floor``       nothing older is imported (first poll: 7 days back, later at most 8 days)
``posts_seen``  {post id: created_time} visitor and tagged posts already returned
``posts``       {post id: {"u": updated_time as Meta sent it, "m": Mark}}
``dm``          {"seen": newest conversation updated_time, "convs": {id: {"u": ..., "m": Mark}}}

A Mark (``connectors.graph.Mark``) is the newest time returned plus the ids returned just
before it. No Graph paging cursor is ever stored: Meta invalidates them.
"""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Callable, ClassVar

from connectors.base import (AttachmentRef, ConnectorError, Connector, InboundMessage,
                             OutboundReply, PollResult, Setting, utcnow)
from connectors.graph import DEFAULT_VERSION, OVERLAP, Graph, GraphError, Mark, parse_time
from connectors.graph_media import (comment_attachments, graph_message, https_link,
                                    message_attachments, post_attachments, when_of)
from connectors.items import (UNKNOWN_AUTHOR, ItemReader, Unreadable, item_id, obj, require_id,
                              text_of, unknown_author)

FIRST_LOOKBACK = timedelta(days=7)  # older private messages cannot be answered anyway
KEEP = timedelta(days=8)
POST_WINDOW = timedelta(days=30)
POST_FIELDS = ("id,updated_time,created_time,message,from,permalink_url,"
               "attachments{media_type,type,media,url}")
COMMENT_FIELDS = "id,message,from,created_time,parent{id},permalink_url,attachment"
ATTACHMENT_FIELDS = "attachments{id,mime_type,name,size,image_data,video_data,file_url}"
MESSAGE_FIELDS = {"messenger": f"id,created_time,from,to,message,sticker,{ATTACHMENT_FIELDS}",
                  "instagram": f"id,created_time,from,to,message,{ATTACHMENT_FIELDS}"}
DETAILED_MESSAGES = 20  # Meta gives the details of a conversation's 20 newest messages only
ANONYMOUS = "Pengguna Facebook"
NIK_HIDDEN_REPLY = ("Mohon maaf, komentar Anda kami sembunyikan karena memuat NIK. Demi keamanan "
                    "data pribadi Anda, silakan lanjutkan lewat pesan pribadi (Messenger) ke "
                    "halaman ini.")


# Meta accepts a person's answer to a private message this long after the citizen's last one,
# with the HUMAN_AGENT tag (24 hours without it).
HUMAN_AGENT_WINDOW = timedelta(days=7)


def option(connector: Connector, key: str) -> Any:
    """An account option, or its declared default when config left it out."""
    value = connector.options.get(key)
    return connector.settings[key].default if value is None else value


def exposes_nik(text: str) -> bool:
    """True when ``text`` shows a NIK or a KK number."""
    from inbox import pii  # imported late: reading Graph does not need the inbox loaded
    return any(finding.kind in ("nik", "kk") for finding in pii.find_personal_data(text))


def created_id(result: dict[str, Any], key: str = "id") -> str:
    """The id Meta gave a published object; its absence leaves the outcome unknown."""
    if not result.get(key):
        raise ConnectorError("Meta tidak mengembalikan nomor pesan; periksa apakah balasan "
                             "terkirim sebelum mengirim ulang.", uncertain=True,
                             detail=json.dumps(result)[:2000])
    return str(result[key])


def forget_older(entries: dict[str, Any], limit: datetime) -> None:
    """Drop cursor entries whose time (or ``"u"``) is before ``limit``: nothing can revive them."""
    for key, value in list(entries.items()):
        when = parse_time(value.get("u") if isinstance(value, dict) else value)
        if when is None or when < limit:
            del entries[key]


class Batch:
    """One poll's work: the messages gathered so far and the cursor that covers exactly them.

    A step edits ``cursor`` only once it has completed, so a transient failure part-way
    returns what is complete and leaves the rest, untouched, for the next poll."""

    def __init__(self, graph: Graph, cursor: dict[str, Any], now: datetime,
                 items: ItemReader) -> None:
        self.graph, self.now, self.items = graph, now, items
        self.cursor = copy.deepcopy(cursor)
        first = parse_time(self.cursor.get("floor")) or now - FIRST_LOOKBACK
        self.floor = max(first, now - KEEP)
        self.cursor["floor"] = self.floor.isoformat()
        self.messages: list[InboundMessage] = []
        self.notes: list[str] = []
        self.failure: ConnectorError | None = None
        self._requests, self._items = graph.requests, graph.items

    @property
    def complete(self) -> bool:
        return self.failure is None

    def step(self, work: Callable[[], list[InboundMessage] | None],
             gone: Callable[[], Any] | None = None) -> bool:
        """Run one unit; False once an earlier or this unit failed transiently.

        A permanent error, or any error before a message was gathered, is raised: the daemon
        then backs off or disables the account as usual."""
        if self.failure is not None:
            return False
        try:
            self.messages.extend(work() or [])
        except GraphError as exc:
            if not (exc.gone and gone):
                return self._failed(exc)
            gone()  # deleted between listing and reading: forget it, go on
            self.notes.append("Satu kiriman atau percakapan sudah dihapus dan dilewati.")
        except ConnectorError as exc:
            return self._failed(exc)
        return True

    def _failed(self, exc: ConnectorError) -> bool:
        if exc.permanent or not self.messages:
            raise exc
        self.failure = exc
        self.notes.append(f"Sebagian belum terambil: {exc.message}")
        return False

    def result(self) -> PollResult:
        waits = [self.graph.slow_until, self.failure.retry_at if self.failure else None]
        not_before = max((w for w in waits if w and w > self.now), default=None)
        if self.graph.slow_until and self.graph.slow_until > self.now:
            self.notes.append("Pemakaian API Meta di atas 80 %; pengambilan berikutnya ditunda.")
        return PollResult(sorted(self.messages, key=lambda m: m.created_at), self.cursor,
                          not_before=not_before, requests=self.graph.requests - self._requests,
                          resources=self.graph.items - self._items, notes=self.notes)


class Conversations:
    """The private messages of one Page on one platform (``messenger`` or ``instagram``)."""

    def __init__(self, graph: Graph, page_id: str, platform: str, label: str,
                 own_ids: set[str]) -> None:
        self.graph, self.page_id, self.platform, self.label = graph, page_id, platform, label
        self.own_ids = own_ids
        self.own_names: set[str] = set()  # Instagram usernames of the office, when known

    def poll(self, batch: Batch) -> None:
        state = batch.cursor.setdefault("dm", {})
        convs: dict[str, Any] = state.setdefault("convs", {})
        seen = parse_time(state.get("seen"))
        horizon = max(batch.floor, seen - OVERLAP) if seen else batch.floor
        changed: list[dict[str, Any]] = []
        newest = [seen]
        surface = f"{self.platform}.conversation"

        def listing() -> None:
            for conv in self.graph.pages(f"{self.page_id}/conversations", platform=self.platform,
                                         fields="id,updated_time", limit=25):
                if item_id(conv) is None:
                    batch.items.read(surface, conv, self.parse_conversation)
                    continue
                updated = parse_time(conv.get("updated_time"))
                if updated is not None and updated < horizon:
                    break  # newest first: everything further down is unchanged
                if updated is not None:
                    newest[0] = max(newest[0], updated) if newest[0] else updated
                # Without updated_time a change cannot be seen: read it (the mark dedupes).
                if updated is None or (convs.get(str(conv["id"])) or {}).get("u") != conv.get("updated_time"):
                    changed.append(conv)

        if not batch.step(listing):
            return
        for conv in sorted(changed, key=lambda c: parse_time(c.get("updated_time")) or batch.now):
            batch.step(lambda conv=conv: self._read(batch, conv, convs),
                       gone=lambda conv=conv: convs.pop(str(conv["id"]), None))
        if batch.complete:
            state["seen"] = newest[0].isoformat() if newest[0] else None
            forget_older(convs, batch.floor)

    def parse_conversation(self, conv: dict[str, Any], context: dict[str, Any]) -> None:
        """A conversation is not a message: one with an id is simply read at the next poll."""
        require_id(conv)
        return None

    def _read(self, batch: Batch, conv: dict[str, Any], convs: dict[str, Any]) -> list[InboundMessage]:
        conv_id = str(conv["id"])
        mark = Mark((convs.get(conv_id) or {}).get("m"), batch.floor)
        found = []
        items = self.graph.pages(f"{conv_id}/messages", fields=MESSAGE_FIELDS[self.platform], limit=20)
        context = {"thread_id": conv_id, "read_at": batch.now.isoformat()}
        taken: set[str] = set()
        for item in islice(items, DETAILED_MESSAGES):
            item_key = item_id(item)
            when = parse_time(item.get("created_time")) if isinstance(item, dict) else None
            if item_key is not None and when is not None and when < mark.threshold():
                break  # newest first (a time before Graph existed reads as no time at all)
            if item_key is not None and (item_key in taken or not mark.is_new(when or batch.now,
                                                                              item_key)):
                continue
            taken.add(item_key or "")
            message = batch.items.read(f"{self.platform}.dm", item, self.parse_message, context)
            if message is not None:
                found.append(message)
        for message in found:
            mark.add(message.created_at, message.external_id)
        convs[conv_id] = {"u": conv.get("updated_time"), "m": mark.dump()}
        return found

    def parse_message(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """A private message. Without ``from`` it cannot be told apart from the office's own
        message, so it is set aside; a photo-only message has its photo and no text."""
        external_id = require_id(item)
        sender = obj(item.get("from"))
        handle = text_of(sender, "username")
        sender_id = item_id(sender) or handle
        if not sender_id:
            raise Unreadable("Pesan pribadi tanpa pengirim ('from'): tidak dapat dibedakan dari "
                             "pesan kantor sendiri.")
        return InboundMessage(
            external_id=external_id, thread_id=str(context.get("thread_id") or external_id),
            kind="dm", public=False, author_id=sender_id, author_handle=handle,
            author_name=text_of(sender, "name") or handle, text=text_of(item, "message"),
            created_at=when_of(item.get("created_time"), context), raw=item,
            from_office=item_id(sender) in self.own_ids or (bool(handle) and handle in self.own_names),
            attachments=message_attachments(item))

    def read_webhook(self, entry: dict[str, Any], items: ItemReader) -> list[InboundMessage]:
        """The private messages of one webhook ``entry`` (Messenger or Instagram messaging).

        Each event is turned into the shape ``/{conversation}/messages`` gives and read by
        :meth:`parse_message`, the same parser as polling; its thread is the conversation the
        poll reads (looked up by the citizen's id), so the two paths store one message once."""
        found = []
        for event in entry.get("messaging") or []:
            message = obj(obj(event).get("message"))
            if not message or message.get("is_deleted"):
                if obj(event).get("reaction"):
                    items.ignored["message_reaction"] += 1  # counted like Telegram's and WhatsApp's
                continue  # read receipts, reactions, postbacks: not messages of a citizen
            item = graph_message(event)
            citizen = item_id(obj(event.get("recipient" if message.get("is_echo") else "sender")))
            context = {"thread_id": self.conversation_of(citizen) if citizen else None}
            parsed = items.read(f"{self.platform}.dm", item, self.parse_message, context)
            if parsed is not None:
                found.append(parsed)
        return found

    def conversation_of(self, person_id: str) -> str | None:
        """The conversation id of the Page with one person (the thread polling uses)."""
        page = self.graph.get(f"{self.page_id}/conversations", platform=self.platform,
                              user_id=person_id, fields="id")
        ids = [item_id(conv) for conv in page.get("data") or [] if item_id(conv)]
        return ids[0] if ids else None

    def send(self, reply: OutboundReply) -> str:
        """Send a private reply inside Meta's windows; returns the message id."""
        result = self.graph.send(f"{self.page_id}/messages", recipient={"id": reply.recipient_id},
                                 message={"text": reply.text}, **self.window(reply.last_inbound_at))
        return created_id(result, "message_id")

    def window(self, last_inbound_at: datetime | None) -> dict[str, str]:
        """RESPONSE within 24 hours of the citizen's last message, the HUMAN_AGENT tag up to 7
        days, refused after that (Meta would refuse it too, after a wasted call)."""
        if last_inbound_at is None:
            return {"messaging_type": "RESPONSE"}  # unknown: let Meta judge
        age = utcnow() - last_inbound_at
        if age <= timedelta(hours=24):
            return {"messaging_type": "RESPONSE"}
        if age <= HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        raise ConnectorError(f"Jendela balasan {self.label} 7 hari sudah lewat; hubungi warga lewat "
                             "kanal lain.", permanent=True)


class FacebookConnector(Connector):
    kind: ClassVar[str] = "facebook"
    label: ClassVar[str] = "Facebook"
    parsers: ClassVar[dict[str, str]] = {
        "facebook.post": "parse_post", "facebook.mention": "parse_post",
        "facebook.comment": "parse_comment", "messenger.dm": "parse_message",
        "messenger.conversation": "parse_conversation"}
    settings: ClassVar[dict[str, Setting]] = {
        "page_id": Setting((str, int), required=True, help="ID Halaman Facebook"),
        "page_access_token": Setting(str, required=True, secret=True,
                                     help="token halaman jangka panjang"),
        "app_secret": Setting(str, secret=True, help="menandatangani panggilan (appsecret_proof)"),
        "graph_version": Setting(str, default=DEFAULT_VERSION),
        "hide_comments_with_nik": Setting(bool, default=False,
                                          help="sembunyikan komentar publik yang memuat NIK"),
        "nik_hidden_reply": Setting(str, default=NIK_HIDDEN_REPLY),
        "verify_token": Setting(str, secret=True, help="kata kunci verifikasi webhook (opsional)"),
    }

    def __init__(self, name: str, options: dict[str, Any], session: Any = None,
                 data_dir: str | None = None) -> None:
        super().__init__(name, options, session, data_dir)
        self.page_id = str(options["page_id"])
        self.graph = Graph(self.session, str(options["page_access_token"]),
                           option(self, "app_secret"), option(self, "graph_version"))
        self.inbox = Conversations(self.graph, self.page_id, "messenger", "Messenger", {self.page_id})

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        batch = Batch(self.graph, cursor, utcnow(), items)
        self.inbox.poll(batch)  # first: the 24-hour reply window is the tightest clock
        self._poll_posts(batch)
        return batch.result()

    def parse_conversation(self, conv: dict[str, Any], context: dict[str, Any]) -> None:
        return self.inbox.parse_conversation(conv, context)

    def parse_message(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        return self.inbox.parse_message(item, context)

    def read_webhook(self, entry: dict[str, Any], items: ItemReader) -> list[InboundMessage]:
        return self.inbox.read_webhook(entry, items)

    def send(self, reply: OutboundReply) -> str:
        if reply.kind == "dm" or not reply.public:
            return self.inbox.send(reply)
        # The thread is a top-level comment (or a post): answering it keeps the reply in place.
        return created_id(self.graph.send(f"{reply.thread_id}/comments", message=reply.text))

    # --- posts and comments -----------------------------------------------------------------

    def _poll_posts(self, batch: Batch) -> None:
        listed: dict[str, dict[str, Any]] = {}
        for edge, kind in (("tagged", "mention"), ("feed", "post")):
            if not batch.step(lambda edge=edge, kind=kind: self._list(batch, edge, kind, listed)):
                return
        posts: dict[str, Any] = batch.cursor.setdefault("posts", {})
        changed = [post for post_id, post in listed.items()
                   if self._changed(post, posts.get(post_id), batch)]
        for post in sorted(changed, key=lambda p: parse_time(p.get("updated_time")) or batch.now):
            batch.step(lambda post=post: self._comments(batch, post),
                       gone=lambda post=post: posts.pop(str(post["id"]), None))
        if batch.complete:
            forget_older(posts, batch.floor)
            forget_older(batch.cursor.get("posts_seen", {}), batch.now - POST_WINDOW)

    def _list(self, batch: Batch, edge: str, kind: str,
              listed: dict[str, dict[str, Any]]) -> list[InboundMessage]:
        seen: dict[str, str] = batch.cursor.setdefault("posts_seen", {})
        found = []
        context = {"kind": kind, "read_at": batch.now.isoformat()}
        for post in self.graph.pages(f"{self.page_id}/{edge}", fields=POST_FIELDS, limit=100):
            post_id = item_id(post)
            if post_id is None:  # no id: its comments cannot be followed, nor the post stored
                batch.items.read(f"facebook.{kind}", post, self.parse_post, context)
                continue
            created = parse_time(post.get("created_time"))
            if created is not None and created < batch.now - POST_WINDOW:
                break  # newest first
            if post_id in listed:
                continue
            listed[post_id] = post
            if post_id in seen or (created is not None and created < batch.floor):
                continue
            message = batch.items.read(f"facebook.{kind}", post, self.parse_post, context)
            if message is not None and not message.from_office:
                found.append(message)
        for message in found:
            seen[message.external_id] = message.created_at.isoformat()
        return found

    def parse_post(self, post: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        post_id = require_id(post)
        kind = "mention" if context.get("kind") == "mention" else "post"
        return self._public(post, kind, post_id, when_of(post.get("created_time"), context),
                            attachments=post_attachments(post))

    @staticmethod
    def _changed(post: dict[str, Any], entry: dict[str, Any] | None, batch: Batch) -> bool:
        if entry is not None:
            return entry.get("u") != post.get("updated_time")
        updated = parse_time(post.get("updated_time"))
        return updated is not None and updated >= batch.floor

    def _comments(self, batch: Batch, post: dict[str, Any]) -> list[InboundMessage]:
        posts = batch.cursor["posts"]
        post_id = str(post["id"])
        mark = Mark((posts.get(post_id) or {}).get("m"), batch.floor)
        hide = bool(option(self, "hide_comments_with_nik"))
        roots: dict[str, str] = {}
        found = []
        # since is a hint only: every comment is still checked against the mark.
        for comment in self.graph.pages(f"{post_id}/comments", filter="stream",
                                        order="chronological", limit=100,
                                        since=int(mark.threshold().timestamp()),
                                        fields=COMMENT_FIELDS + (",is_hidden" if hide else "")):
            comment_id = item_id(comment)
            context = {"post_id": post_id, "read_at": batch.now.isoformat()}
            if comment_id is not None:
                parent = item_id(obj(comment.get("parent")))
                roots[comment_id] = roots.get(parent, parent) if parent else comment_id
                context.update(thread_id=roots[comment_id], in_reply_to=parent or post_id)
                when = parse_time(comment.get("created_time"))
                if not mark.is_new(when or batch.now, comment_id):
                    continue
            message = batch.items.read("facebook.comment", comment, self.parse_comment, context)
            if message is None:
                continue
            found.append(message)
            if hide:
                self._protect(batch, comment, message)
        for message in found:
            mark.add(message.created_at, message.external_id)
        posts[post_id] = {"u": post.get("updated_time"), "m": mark.dump()}
        return found

    def parse_comment(self, comment: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        comment_id = require_id(comment)
        parent = item_id(obj(comment.get("parent")))
        thread = str(context.get("thread_id") or parent or comment_id)
        return self._public(comment, "comment", thread, when_of(comment.get("created_time"), context),
                            in_reply_to=str(context.get("in_reply_to") or parent
                                            or context.get("post_id") or "") or None,
                            attachments=comment_attachments(comment))

    def _protect(self, batch: Batch, comment: dict[str, Any], message: InboundMessage) -> None:
        """Hide a citizen's comment that shows a NIK, then ask them to go on privately.

        Hiding comes first: if the reply fails, the next poll sees ``is_hidden`` and leaves
        the comment alone rather than answer twice."""
        if message.from_office or comment.get("is_hidden"):
            return
        if not exposes_nik(message.text):
            return
        try:
            self.graph.post(comment["id"], is_hidden=True)
            self.graph.send(f"{message.thread_id}/comments", message=option(self, "nik_hidden_reply"))
        except ConnectorError as exc:
            batch.notes.append(f"Komentar ber-NIK {comment['id']} belum tuntas disembunyikan: "
                               f"{exc.message}")

    def _public(self, item: dict[str, Any], kind: str, thread_id: str, when: datetime,
                in_reply_to: str | None = None,
                attachments: tuple[AttachmentRef, ...] = ()) -> InboundMessage:
        """A post or comment as a message. /tagged shows ``from`` of a person's post only to its
        author (Graph docs), so the author may be unknown: such a message is its own contact
        ("pengirim tidak diketahui"), never merged with another unknown person's."""
        author = obj(item.get("from"))
        author_id = item_id(author)
        external_id = require_id(item)
        return InboundMessage(
            external_id=external_id, thread_id=str(thread_id), kind=kind, public=True,
            author_id=author_id or unknown_author(thread_id, external_id), author_handle="",
            author_name=text_of(author, "name") or (ANONYMOUS if author_id else UNKNOWN_AUTHOR),
            text=text_of(item, "message"), created_at=when,
            permalink=https_link(item.get("permalink_url")), in_reply_to=in_reply_to, raw=item,
            from_office=author_id == self.page_id, attachments=attachments)
