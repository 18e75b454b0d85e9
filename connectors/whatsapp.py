"""WhatsApp Business (Cloud API): messages arrive as signed webhooks, replies go out by API.

WhatsApp has no endpoint that lists past messages, so this connector polls nothing: the web app
receives Meta's deliveries at ``/webhooks/meta`` and stores them before answering 200
(``inbox.arrive.webhooks``), and the daemon hands each ``messages`` change to :meth:`parse_message`
through the same item reader as every poll, so an unknown message type is set aside, never
dropped. One case per citizen thread: ``thread_id`` is the sender's business-scoped user id
(BSUID) when Meta gives one, else the phone number (``connectors.whatsapp_payload``); a phone
number given beside a BSUID travels as ``author_alias``, so the inbox keeps one contact for a
citizen first seen by number and later by BSUID (docs/whatsapp.md). The phone number is personal
data and is shown masked; the contact is named from ``contacts[].profile.name`` and its
``profile.username`` is the handle. A message edit is stored as ``[diubah] …`` on the same thread.

Photos, documents, voice notes and stickers carry a media id: the attachment URL is
``wa-media:<id>``, and :meth:`fetch_attachment` asks ``GET /{media-id}`` for a short-lived URL and
downloads it with the access token.

Replies go ``to`` a phone number, or to ``recipient`` = the BSUID of a citizen known by BSUID
alone: free text inside the 24-hour customer-service window after the citizen's last message;
after it only an approved template (``template_name``, ``template_language``, the case number as
its one body variable), and a plain refusal when none is configured. Reactions are not stored
(a thumbs-up on the office's answer is not a complaint and must not reopen the case); they are
counted as ignored, like Telegram's.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from connectors import whatsapp_payload as wa
from connectors.base import (AttachmentRef, Connector, ConnectorError, InboundMessage,
                             OutboundReply, PollResult, Setting, utcnow)
from connectors.downloads import download
from connectors.errors import request_failed
from connectors.graph import DEFAULT_VERSION, parse_time, scrub
from connectors.items import (Ignored, ItemReader, Unreadable, item_id, obj, objects, require_id,
                              text_of)

GRAPH = "https://graph.facebook.com"
WINDOW = timedelta(hours=24)
#: Cloud API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
RATE_CODES = frozenset({4, 80007, 130429, 131056})
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})
UNREACHABLE = "WhatsApp tidak dapat dihubungi; dicoba lagi otomatis."
UNCERTAIN = ("Balasan mungkin sudah terkirim ke WhatsApp tetapi konfirmasinya tidak diterima; "
             "periksa di WhatsApp Business sebelum mengirim ulang.")
NO_TEMPLATE = ("Jendela 24 jam WhatsApp sudah lewat dan belum ada templat pesan yang disetujui "
               "(template_name di config.toml); hubungi warga lewat kanal lain atau daftarkan templat.")


class WhatsAppConnector(Connector):
    kind: ClassVar[str] = "whatsapp"
    label: ClassVar[str] = "WhatsApp"
    default_poll_interval: ClassVar[int] = 3600  # nothing to poll: webhooks bring everything
    polls_network: ClassVar[bool] = False
    parsers: ClassVar[dict[str, str]] = {"whatsapp.message": "parse_message"}
    settings: ClassVar[dict[str, Setting]] = {
        "phone_number_id": Setting((str, int), required=True, help="ID nomor telepon di WhatsApp Manager"),
        "waba_id": Setting((str, int), help="ID akun WhatsApp Business"),
        "access_token": Setting(str, required=True, secret=True, help="token pengguna sistem"),
        "app_secret": Setting(str, required=True, secret=True, help="memeriksa tanda tangan webhook"),
        "verify_token": Setting(str, required=True, secret=True, help="kata kunci verifikasi webhook"),
        "template_name": Setting(str, default="", help="templat untuk balasan setelah 24 jam"),
        "template_language": Setting(str, default="id"),
        "graph_version": Setting(str, default=DEFAULT_VERSION),
    }

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None,
                 data_dir: str | None = None) -> None:
        super().__init__(name, options, session, data_dir)
        self.phone_number_id = str(options["phone_number_id"])
        self.token = str(options["access_token"])
        version = str(self._opt("graph_version"))
        self.base = f"{GRAPH}/{version if version.startswith('v') else 'v' + version}"

    def _opt(self, key: str) -> Any:
        value = self.options.get(key)
        return self.settings[key].default if value is None else value

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        """Nothing to poll: WhatsApp has no message history endpoint."""
        return PollResult([], dict(cursor))

    # --- webhooks ------------------------------------------------------------------------------

    def read_change(self, value: dict[str, Any], items: ItemReader) -> list[InboundMessage]:
        """The messages of one ``messages`` change (its ``value`` object), each read on its own."""
        known = wa.people(value.get("contacts"))
        messages: list[InboundMessage] = []
        listed = value.get("messages")
        if listed is not None and not isinstance(listed, list):
            items.put_aside("whatsapp.message", value, "Daftar 'messages' WhatsApp tidak dapat dibaca.")
            return messages
        for item in listed or []:
            bsuid, phone = wa.sender_ids(item) if isinstance(item, dict) else (None, None)
            person = known.get(bsuid or "") or known.get(phone or "") or {}
            context = {"name": person.get("name", ""), "username": person.get("username", "")}
            message = items.read("whatsapp.message", item, self.parse_message, context)
            if message is not None:
                messages.append(message)
        return messages

    def parse_message(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage | None:
        """One message; the sender is its BSUID when given (the phone number its alias), else
        its phone number. ``context`` holds the profile name and username of ``contacts[]``."""
        wamid = require_id(item)
        bsuid, phone = wa.sender_ids(item)
        sender = bsuid or phone
        if sender is None:
            raise Unreadable("Pesan WhatsApp tanpa pengirim ('from' atau 'from_user_id').")
        kind = text_of(item, "type")
        replied = item_id(obj(item.get("context")))
        attachments: tuple[AttachmentRef, ...] = ()
        if kind == "reaction":
            raise Ignored("message_reaction")  # counted, never stored: see the module docstring
        if kind == "edit":
            text, replied = wa.edited(item)
        else:
            text, attachments = wa.content(item)
        name, username = str(context.get("name") or ""), str(context.get("username") or "")
        # The username is the handle people know; without one and without a name, the number
        # (masked) tells two citizens apart. A later message without a name keeps the known one.
        handle = username or ("" if name else (wa.masked_phone(phone) if phone else "pengguna WhatsApp"))
        return InboundMessage(
            external_id=wamid, thread_id=sender, kind="dm", public=False, author_id=sender,
            author_handle=handle, author_name=name, author_alias=phone if bsuid else None,
            text=text, created_at=parse_time(item.get("timestamp")) or utcnow(), in_reply_to=replied, raw=item,
            attachments=attachments)

    # --- sending -------------------------------------------------------------------------------

    def send(self, reply: OutboundReply) -> str:
        """A text inside the 24-hour window, else the configured template; the new ``wamid``."""
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        # A contact known only by a BSUID is addressed by ``recipient``; a phone number by ``to``.
        payload["recipient" if wa.is_bsuid(reply.recipient_id) else "to"] = reply.recipient_id
        if self.within_window(reply.last_inbound_at):
            payload.update(type="text", text={"preview_url": False, "body": reply.text})
            if reply.in_reply_to:
                payload["context"] = {"message_id": reply.in_reply_to}
        elif self._opt("template_name"):
            payload.update(type="template", template={
                "name": self._opt("template_name"), "language": {"code": self._opt("template_language")},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": reply.case_reference}]}]})
        else:
            raise ConnectorError(NO_TEMPLATE, permanent=True)
        result = self._request("POST", f"{self.phone_number_id}/messages", json=payload, send=True)
        sent = [m for m in objects(result.get("messages")) if item_id(m)]
        if not sent:
            raise ConnectorError(UNCERTAIN, uncertain=True, detail=scrub(str(result))[:2000])
        return str(sent[0]["id"])

    @staticmethod
    def within_window(last_inbound_at: datetime | None) -> bool:
        return last_inbound_at is None or utcnow() - last_inbound_at <= WINDOW

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        if not url.startswith("wa-media:"):
            raise ConnectorError("Alamat berkas WhatsApp tidak dikenal.", permanent=True)
        found = self._request("GET", url[len("wa-media:"):], session=session)
        link = found.get("url")
        if not isinstance(link, str) or not link.startswith("https://"):
            raise ConnectorError("WhatsApp tidak memberi alamat berkas ini.", permanent=True)
        return download(session, link, max_bytes, headers={"Authorization": f"Bearer {self.token}"})

    def _request(self, method: str, path: str, json: Any = None, send: bool = False,
                 session: requests.Session | None = None) -> dict[str, Any]:
        try:
            response = (session or self.session).request(
                method, f"{self.base}/{path}", json=json,
                headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            # Only a request that may have left is uncertain: a blind re-send could answer twice.
            raise request_failed(exc, sending=send, unreachable=UNREACHABLE,
                                 uncertain=UNCERTAIN) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code < 400 and isinstance(body, dict):
            return body
        return_error = _error(response.status_code, body if isinstance(body, dict) else {},
                              scrub(response.text[:2000]))
        if send and response.status_code >= 500 and not return_error.retry_at:
            # Meta may have sent it before failing: settle it by hand rather than send twice.
            raise ConnectorError(UNCERTAIN, uncertain=True, detail=return_error.detail)
        raise return_error


def _error(status: int, body: dict[str, Any], detail: str) -> ConnectorError:
    error = obj(body.get("error"))
    code = error.get("code") if isinstance(error.get("code"), int) else None
    said = text_of(obj(error.get("error_data")), "details") or text_of(error, "message")
    if code == 190:
        return ConnectorError("Token WhatsApp kedaluwarsa atau dicabut; buat token pengguna sistem "
                              "baru lalu perbarui access_token di config.toml.", permanent=True,
                              detail=detail)
    if code in RATE_CODES:
        return ConnectorError("Batas kiriman WhatsApp tercapai; dicoba lagi setelah jeda.",
                              retry_at=utcnow() + timedelta(minutes=5), detail=detail)
    if code == 131047:
        return ConnectorError("Lebih dari 24 jam sejak pesan terakhir warga; WhatsApp hanya "
                              "menerima templat yang disetujui.", permanent=True, detail=detail)
    if code in TRANSIENT_CODES or status >= 500 or not error:
        return ConnectorError(f"WhatsApp sedang bermasalah (HTTP {status}); dicoba lagi otomatis.",
                              detail=detail)
    if code in (10, 200) or (code is not None and 200 <= code <= 299):
        return ConnectorError("Izin aplikasi WhatsApp kurang (whatsapp_business_messaging); tambahkan "
                              "izinnya lalu buat token baru.", permanent=True, detail=detail)
    return ConnectorError(f"WhatsApp menolak (kode {code}): {scrub(said)[:300]}", permanent=True,
                          detail=detail)
