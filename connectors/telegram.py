"""Telegram bot: private chats and group messages addressed to the bot, through ``getUpdates``.

Telegram confirms an update once ``getUpdates`` is called with an ``offset`` above its
``update_id``. The cursor keeps that next offset and the inbox stores it in the same transaction
as the messages, so an update is confirmed only by the poll *after* it was stored: a crash in
between makes Telegram send it again and the unique index drops the copy. Telegram keeps
unconfirmed updates for 24 hours only; a poll after a longer gap says that messages may have
been missed.

A private chat is a DM thread (``thread_id`` = chat id). In a group the bot sees (in privacy
mode) commands, replies to it and messages that mention it: a mention or a reply to the bot is a
public ``mention`` in the group's thread, one case per citizen (the inbox threads by contact);
other group chatter is not for the office and is skipped. ``/start`` in a private chat is
answered with the configured greeting and not stored. An edited message is stored as a new
message marked "[diubah]". Message ids are unique per chat only, so ``external_id`` is
``<chat id>:<message id>``.

Updates that are no message (the bot added to a group, reactions, boosts, channel posts) and a
group's service messages (a member joined) are counted as ignored by kind, never set aside or
told to anyone; a location, contact card, poll or dice reads as words, never as an empty line
(``connectors.telegram_payload``).

Photos, documents, voice notes and stickers become attachments whose URL is
``tg-file:<file_id>``; :meth:`TelegramConnector.fetch_attachment` resolves it with ``getFile``
(the Bot API serves files up to 20 MB). The token is part of every URL, so no URL is ever put in
a message, a detail or a log line without :func:`scrub`.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, ClassVar

import requests

from connectors import telegram_payload as tg
from connectors.base import (Connector, ConnectorError, InboundMessage, OutboundReply, PollResult,
                             Setting, utcnow)
from connectors.downloads import download
from connectors.errors import request_failed
from connectors.graph import parse_time
from connectors.items import (UNKNOWN_AUTHOR, Ignored, ItemReader, Unreadable, item_id, obj,
                              objects, require_id, text_of, unknown_author)
from connectors.telegram_payload import SERVICE as SERVICE_FIELDS

API = "https://api.telegram.org"
GREETING = ("Halo, terima kasih telah menghubungi {kantor}. Silakan tulis keluhan atau pertanyaan "
            "Anda tentang KTP-el, KK, KIA, akta, atau layanan lain; petugas kami akan menjawab "
            "di sini.")
KEPT_FOR = timedelta(hours=24)
MAX_TEXT = 4096
UNAUTHORIZED = ("Token bot Telegram tidak valid atau dicabut; buat token baru di @BotFather lalu "
                "perbarui bot_token di config.toml.")
WEBHOOK_SET = ("Bot Telegram ini memakai webhook, jadi pesannya tidak bisa dibaca dengan "
               "getUpdates; hapus webhook-nya (panggil deleteWebhook) lalu aktifkan lagi akun ini.")
OTHER_POLLER = ("Program lain sedang membaca bot Telegram yang sama (HTTP 409); hentikan program "
                "itu atau aduan yang kedua, karena hanya satu yang boleh membaca.")
UNREACHABLE = "Telegram tidak dapat dihubungi (koneksi gagal atau habis waktu); dicoba lagi otomatis."
UNCERTAIN = ("Balasan mungkin sudah terkirim ke Telegram tetapi konfirmasinya tidak diterima; "
             "periksa di Telegram sebelum mengirim ulang.")
_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")


def scrub(text: str) -> str:
    """``text`` with every bot token masked."""
    return _TOKEN.sub("bot***", text)


class TelegramConnector(Connector):
    kind: ClassVar[str] = "telegram"
    label: ClassVar[str] = "Telegram"
    default_poll_interval: ClassVar[int] = 5
    parsers: ClassVar[dict[str, str]] = {"telegram.message": "parse_message"}
    settings: ClassVar[dict[str, Setting]] = {
        "bot_token": Setting(str, required=True, secret=True, help="token dari @BotFather"),
        "greeting": Setting(str, default=GREETING, help="jawaban untuk /start ({kantor})"),
        "office_name": Setting(str, default="Dukcapil", help="nama kantor dalam salam"),
        "long_poll_seconds": Setting(int, default=2, help="getUpdates timeout (0-20 detik)"),
    }

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None,
                 data_dir: str | None = None) -> None:
        super().__init__(name, options, session, data_dir)
        self.token = str(options["bot_token"])

    def _opt(self, key: str) -> Any:
        value = self.options.get(key)
        return self.settings[key].default if value is None else value

    # --- polling -----------------------------------------------------------------------------

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        cursor, notes, now, calls = dict(cursor), [], utcnow(), 0
        if not cursor.get("bot"):
            me = self._call("getMe")
            calls += 1
            cursor["bot"] = {"id": str(me.get("id") or ""), "username": text_of(me, "username")}
        last = parse_time(cursor.get("polled_at"))
        if last is not None and now - last > KEPT_FOR:
            notes.append("Bot Telegram tidak diperiksa lebih dari 24 jam; Telegram hanya menyimpan "
                         "pesan 24 jam, jadi pesan warga sebelum itu mungkin terlewat.")
        params: dict[str, Any] = {"timeout": max(0, min(int(self._opt("long_poll_seconds")), 20)),
                                  "allowed_updates": '["message","edited_message"]'}
        if cursor.get("offset"):
            params["offset"] = int(cursor["offset"])
        updates = self._call("getUpdates", params, long_poll=params["timeout"])
        calls += 1
        if not isinstance(updates, list):
            raise ConnectorError("Jawaban Telegram tidak dapat dibaca (result bukan daftar); dicoba "
                                 "lagi otomatis.", detail=scrub(repr(updates))[:2000])
        context = {"bot": cursor["bot"], "read_at": now.isoformat()}
        messages: list[InboundMessage] = []
        offset = int(cursor.get("offset") or 0)
        for update in updates:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                offset = max(offset, update_id + 1)
            message = items.read("telegram.message", update, self.parse_message, context)
            if message is None:
                continue
            if _is_start(message):
                calls += self._greet(message, notes)
                continue
            messages.append(message)
        if offset:
            cursor["offset"] = offset
        cursor["polled_at"] = now.isoformat()
        return PollResult(messages, cursor, requests=calls, resources=len(updates), notes=notes)

    def parse_message(self, update: dict[str, Any], context: dict[str, Any]) -> InboundMessage | None:
        """One update as a message, or None when it is not for the office (group chatter);
        :class:`~connectors.items.Ignored` for an update or service message that is no
        message (``connectors.telegram_payload``)."""
        message, edited = tg.the_message(update)
        message_id = require_id(message, "message_id")
        chat = obj(message.get("chat"))
        chat_id = item_id(chat)
        if chat_id is None:
            raise Unreadable("Pesan Telegram tanpa 'chat.id': percakapannya tidak diketahui.")
        bot = obj(context.get("bot"))
        private = chat.get("type") == "private"
        sender = obj(message.get("from"))
        sender_id = item_id(sender) or (chat_id if private else None)
        if SERVICE_FIELDS & message.keys():
            raise Ignored("service_message")  # a member joined, the title changed: nobody wrote it
        if not private and not _addressed_to_bot(message, bot):
            return None
        text, files = tg.content(message, edited, private)
        external_id = f"{chat_id}:{message_id}"
        if edited:
            external_id += f":diubah:{message.get('edit_date') or ''}"
            text = f"[diubah] {text}"
        handle = text_of(sender, "username")
        name = " ".join(p for p in (text_of(sender, "first_name"), text_of(sender, "last_name")) if p)
        return InboundMessage(
            external_id=external_id, thread_id=chat_id, kind="dm" if private else "mention",
            public=not private, author_id=sender_id or unknown_author(chat_id, external_id),
            author_handle=handle, author_name=name or handle or (UNKNOWN_AUTHOR if not sender_id else ""),
            text=text, created_at=parse_time(message.get("date")) or parse_time(context.get("read_at")) or utcnow(),
            permalink=(f"https://t.me/{chat['username']}/{message_id}"
                       if isinstance(chat.get("username"), str) and not private else None),
            in_reply_to=(f"{chat_id}:{item_id(obj(message.get('reply_to_message')), 'message_id')}"
                         if item_id(obj(message.get("reply_to_message")), "message_id") else None),
            raw=update, from_office=bool(sender_id) and sender_id == bot.get("id"),
            attachments=files)

    def _greet(self, message: InboundMessage, notes: list[str]) -> int:
        text = str(self._opt("greeting")).replace("{kantor}", str(self._opt("office_name")))
        try:
            self._call("sendMessage", {"chat_id": message.thread_id, "text": text}, send=True)
        except ConnectorError as exc:
            notes.append(f"Salam /start belum terkirim: {exc.message}")
        return 1

    # --- sending -----------------------------------------------------------------------------

    def send(self, reply: OutboundReply) -> str:
        """Send the answer into the citizen's chat, as a reply to their newest message."""
        if len(reply.text) > MAX_TEXT:
            raise ConnectorError(f"Balasan terlalu panjang untuk Telegram (maks. {MAX_TEXT:,} "
                                 "karakter); persingkat teksnya.".replace(",", "."), permanent=True)
        data: dict[str, Any] = {"chat_id": reply.thread_id, "text": reply.text}
        replied = (reply.in_reply_to or "").split(":")
        if len(replied) >= 2 and replied[0] == reply.thread_id and replied[1].lstrip("-").isdigit():
            data["reply_parameters"] = {"message_id": int(replied[1]),
                                        "allow_sending_without_reply": True}
        return self.send_message(data)

    def send_message(self, data: dict[str, Any]) -> str:
        """``sendMessage`` with ``data`` (chat_id, text, ...); ``<chat id>:<message id>``, or
        ConnectorError (``uncertain`` when Telegram may have posted it)."""
        result = self._call("sendMessage", data, send=True)
        sent = item_id(result, "message_id") if isinstance(result, dict) else None
        if sent is None:
            raise ConnectorError(UNCERTAIN, uncertain=True, detail=scrub(repr(result))[:2000])
        return f"{data['chat_id']}:{sent}"

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        """``tg-file:<file_id>``: ``getFile`` gives a path that is valid for an hour."""
        if not url.startswith("tg-file:"):
            raise ConnectorError("Alamat berkas Telegram tidak dikenal.", permanent=True)
        found = self._call("getFile", {"file_id": url[len("tg-file:"):]}, session=session)
        path = found.get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or not path:
            raise ConnectorError("Telegram tidak memberi berkas ini (mungkin lebih dari 20 MB).",
                                 permanent=True)
        return download(session, f"{API}/file/bot{self.token}/{path}", max_bytes)

    # --- HTTP --------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any] | None = None, send: bool = False,
              long_poll: int = 0, session: requests.Session | None = None) -> Any:
        """One Bot API call; its ``result``, or ConnectorError."""
        url = f"{API}/bot{self.token}/{method}"
        timeout = (5.0, 30.0 + long_poll)
        try:
            if send:
                response = (session or self.session).post(url, json=params, timeout=timeout)
            else:
                response = (session or self.session).get(url, params=params, timeout=timeout)
        except requests.RequestException as exc:
            # Only a request that may have reached Telegram is uncertain: a blind re-send could
            # answer twice.
            raise request_failed(exc, sending=send, unreachable=UNREACHABLE, uncertain=UNCERTAIN,
                                 detail=scrub(f"{type(exc).__name__}: {exc}")[:2000]) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and response.status_code < 400:
            return body.get("result")
        raise _error(response, body if isinstance(body, dict) else {}, send)


def _error(response: requests.Response, body: dict[str, Any], send: bool) -> ConnectorError:
    status = response.status_code
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    said = str(body.get("description") or "")
    detail = scrub(f"HTTP {status}: {response.text[:2000]}")
    if code == 401:
        return ConnectorError(UNAUTHORIZED, permanent=True, detail=detail)
    if code == 409:
        if "webhook" in said.lower():
            return ConnectorError(WEBHOOK_SET, permanent=True, detail=detail)
        return ConnectorError(OTHER_POLLER, detail=detail)
    if code == 429:
        wait = obj(body.get("parameters")).get("retry_after")
        seconds = wait if isinstance(wait, int) and not isinstance(wait, bool) and wait > 0 else 30
        return ConnectorError("Batas kiriman Telegram tercapai; dicoba lagi setelah jeda.",
                              retry_at=utcnow() + timedelta(seconds=seconds), detail=detail)
    if code >= 500 or not body:
        return ConnectorError(f"Telegram sedang bermasalah (HTTP {status}); dicoba lagi otomatis.",
                              detail=detail)
    if send and code == 403:
        return ConnectorError("Warga ini memblokir bot atau belum pernah memulai percakapan, jadi "
                              "Telegram menolak balasan; hubungi lewat kanal lain.", permanent=True,
                              detail=detail)
    if send and code == 400:
        return ConnectorError(f"Telegram menolak balasan ini: {scrub(said)[:300]}", permanent=True,
                              detail=detail)
    return ConnectorError(f"Telegram menolak permintaan (kode {code}): {scrub(said)[:300]}",
                          permanent=True, detail=detail)


def _addressed_to_bot(message: dict[str, Any], bot: dict[str, Any]) -> bool:
    """A group message that mentions the bot, replies to it, or is a command for it."""
    bot_id, username = str(bot.get("id") or ""), str(bot.get("username") or "").lower()
    replied = obj(obj(message.get("reply_to_message")).get("from"))
    if bot_id and item_id(replied) == bot_id:
        return True
    text = text_of(message, "text") or text_of(message, "caption")
    for entity in objects(message.get("entities")) + objects(message.get("caption_entities")):
        kind = entity.get("type")
        if kind == "text_mention" and bot_id and item_id(obj(entity.get("user"))) == bot_id:
            return True
        if kind in ("mention", "bot_command") and username:
            start, length = entity.get("offset"), entity.get("length")
            if isinstance(start, int) and isinstance(length, int):
                word = text[start:start + length].lower()
                if word == f"@{username}" or word.endswith(f"@{username}"):
                    return True
    return bool(username) and f"@{username}" in text.lower()


def _is_start(message: InboundMessage) -> bool:
    return (not message.public and not message.from_office
            and re.fullmatch(r"/start(@\w+)?(\s.*)?", message.text.strip(), re.S) is not None)
