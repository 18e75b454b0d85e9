"""E-mail: the office's mailbox read by IMAP UID, replies sent by SMTP.

Reading never depends on the \\Seen flag: the cursor keeps the folder's ``UIDVALIDITY`` and the
highest UID read, so a person opening the mailbox in Thunderbird or Gmail hides nothing from
aduan, and aduan marks nothing read unless ``mark_seen = true``. When the server renumbers the
folder (a new ``UIDVALIDITY``, after a mailbox restore or a server move) aduan reads again from
a day before the newest mail it had read; the Message-ID is the message's id, so ingest skips
what it already has.

Each mail goes through ``ItemReader.read("email.message", raw, parse_mail)``. ``raw`` is JSON:
the UID, UIDVALIDITY, the attachments' list and the mail with its files' bytes left out
(base64, capped at ``max_raw_kb``); ``parse_mail`` rebuilds the message from that alone. Files
are fetched later by the downloader from ``imap://<uidvalidity>/<uid>/<part>``.

Auto-replies, bounces and mailing lists (``Auto-Submitted``, ``Precedence``, ``List-Id``,
mailer-daemon, a no-reply sender: ``mailparse.machine_reason``) are read past, never open a case,
and are counted per reason in ``aduan status``. Bodies and headers are read by their charset as
mail clients read them (``connectors.mailtext``), and an Outlook-style unquoted boundary is
repaired before the parts are read (``mailparse.parse_bytes``). Replies go by SMTP (SMTPS or STARTTLS)
with ``In-Reply-To``/``References`` and the case number in the subject; the Message-ID aduan
gives a reply is its platform id and carries the thread (``connectors.mailparse``).
"""
from __future__ import annotations

import base64
import errno
import imaplib
import ipaddress
import logging
import smtplib
import socket
import ssl
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

import imapclient
import requests
from imapclient.exceptions import IMAPClientError, LoginError

from connectors import mailparse as mp
from connectors.base import (AttachmentRef, Connector, ConnectorError, InboundMessage,
                             OutboundReply, PollResult, Setting, utcnow)
from connectors.downloads import too_large
from connectors.items import Ignored, ItemReader, Unreadable

log = logging.getLogger(__name__)

SECURITY = ("tls", "starttls", "none")
TIMEOUT = 30.0
#: A connection that cannot be routed (no network, no gateway): the office may be offline.
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
LOGIN_REFUSED = ("Server surat menolak login {what}; periksa username dan password (untuk Gmail "
                 "pakai sandi aplikasi) di config.toml.")
UNREACHABLE = "Server surat {host} tidak dapat dihubungi (koneksi gagal atau habis waktu); aduan mencoba lagi."
TLS_FAILED = ("Sertifikat TLS server surat {host} tidak dapat dipercaya; periksa nama server, atau "
              "isi ca_file dengan sertifikat CA kantor.")
UNCERTAIN = ("Balasan mungkin sudah terkirim lewat e-mail tetapi server tidak mengonfirmasi; "
             "periksa folder Terkirim sebelum mengirim ulang.")


class EmailConnector(Connector):
    kind: ClassVar[str] = "email"
    label: ClassVar[str] = "E-mail"
    default_poll_interval: ClassVar[int] = 60
    parsers: ClassVar[dict[str, str]] = {"email.message": "parse_mail"}
    settings: ClassVar[dict[str, Setting]] = {
        "address": Setting(str, required=True, help="the office's address, From of the replies"),
        "username": Setting(str, default="", help="login for IMAP and SMTP (default: address)"),
        "password": Setting(str, required=True, secret=True, help="for Gmail an app password"),
        "imap_host": Setting(str, required=True),
        "imap_port": Setting(int, default=0, help="default 993 (tls) or 143 (starttls/none)"),
        "imap_security": Setting(str, default="tls", help="tls | starttls | none (127.0.0.1 only)"),
        "folder": Setting(str, default="INBOX"),
        "smtp_host": Setting(str, default="", help="default: imap_host"),
        "smtp_port": Setting(int, default=0, help="default 465 (tls) or 587 (starttls)"),
        "smtp_security": Setting(str, default="tls", help="tls | starttls | none (127.0.0.1 only)"),
        "ca_file": Setting(str, default="", help="PEM file of a CA to trust (own server)"),
        "mark_seen": Setting(bool, default=False, help="mark mail read after aduan stored it"),
        "lookback_days": Setting(int, default=3, help="how far back the first poll reads"),
        "max_per_poll": Setting(int, default=50),
        "max_raw_kb": Setting(int, default=256, help="cap of the mail text kept as the raw item"),
    }

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[str]:
        """One plain sentence per problem, each naming its key."""
        findings = []
        for key in ("imap_security", "smtp_security"):
            value = options.get(key) or "tls"
            if value not in SECURITY:
                findings.append(f"{key}: must be tls, starttls or none, not {value!r}")
            host = options.get("smtp_host" if key == "smtp_security" else "imap_host") \
                or options.get("imap_host") or ""
            if value == "none" and not _loopback(host):
                findings.append(f"{key}: none (no TLS) is only allowed for 127.0.0.1; the password "
                                f"would cross the network readable, so use tls or starttls for {host}")
        for key in ("imap_port", "smtp_port"):
            if not 0 <= int(options.get(key) or 0) <= 65535:
                findings.append(f"{key}: must be a port number between 1 and 65535")
        ca_file = options.get("ca_file") or ""
        if ca_file and not Path(ca_file).is_file():
            findings.append(f"ca_file: file {ca_file} does not exist")
        if "@" not in str(options.get("address") or "@"):
            findings.append("address: must be an e-mail address like pengaduan@dukcapil.brebeskab.go.id")
        if int(options.get("max_per_poll") or 1) < 1:
            findings.append("max_per_poll: must be at least 1")
        return findings

    def _opt(self, key: str) -> Any:
        value = self.options.get(key)
        return self.settings[key].default if value in (None, "", 0) else value

    @property
    def username(self) -> str:
        return self._opt("username") or self._opt("address")

    def describe(self) -> str:
        return f"E-mail {self._opt('address')} ({self.name})"

    # --- IMAP --------------------------------------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._opt("ca_file") or None)

    def _imap(self) -> imapclient.IMAPClient:
        """A logged-in IMAP connection; raises ConnectorError."""
        host, security = self._opt("imap_host"), self._opt("imap_security")
        port = self._opt("imap_port") or (993 if security == "tls" else 143)
        try:
            client = imapclient.IMAPClient(host, port=port, ssl=security == "tls",
                                           ssl_context=self._tls(), timeout=TIMEOUT)
            if security == "starttls":
                client.starttls(self._tls())
        except ssl.SSLError as exc:
            raise ConnectorError(TLS_FAILED.format(host=host), detail=repr(exc)) from None
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
            raise ConnectorError(UNREACHABLE.format(host=host), detail=repr(exc),
                                 unreachable=_not_connected(exc)) from None
        try:
            client.login(self.username, self._opt("password"))
        except LoginError as exc:
            _close(client)
            if "UNAVAILABLE" in str(exc).upper():  # RFC 5530: the server's trouble, not ours
                raise ConnectorError(UNREACHABLE.format(host=host), detail=str(exc)[:300]) from None
            raise ConnectorError(LOGIN_REFUSED.format(what="IMAP"), permanent=True,
                                 detail=str(exc)[:300]) from None
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
            _close(client)
            raise ConnectorError(UNREACHABLE.format(host=host), detail=repr(exc)) from None
        return client

    def _select(self, client: imapclient.IMAPClient) -> int:
        return self._select_info(client)[0]

    def _select_info(self, client: imapclient.IMAPClient) -> tuple[int, int]:
        folder = self._opt("folder")
        try:
            # Read-only unless mark_seen: aduan itself then never changes a flag.
            info = client.select_folder(folder, readonly=not self._opt("mark_seen"))
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            raise ConnectorError(f"Folder {folder!r} tidak ada di kotak surat; periksa folder di "
                                 "config.toml.", permanent=True, detail=str(exc)[:300]) from None
        return int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT") or 1)

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        client = self._imap()
        try:
            return self._collect(client, dict(cursor), items)
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
            raise ConnectorError(UNREACHABLE.format(host=self._opt("imap_host")),
                                 detail=repr(exc)) from None
        finally:
            _close(client)

    def _collect(self, client: imapclient.IMAPClient, cursor: dict[str, Any],
                 items: ItemReader) -> PollResult:
        (validity, uidnext), notes, requests_made = self._select_info(client), [], 2
        if cursor.get("uidvalidity") == validity:
            uids = [u for u in client.search(["UID", f"{int(cursor['last_uid']) + 1}:*"])
                    if u > int(cursor["last_uid"])]
        else:
            if cursor.get("uidvalidity"):
                notes.append("Server surat menomori ulang folder (UIDVALIDITY berubah); surat "
                             "dibaca ulang dan yang sudah ada tidak dicatat dua kali.")
            since = _since(cursor.get("newest_at"), int(self._opt("lookback_days")))
            uids = client.search(["SINCE", since.date()])
            # Nothing recent: start after the folder's current last UID, never from UID 1.
            cursor = {"uidvalidity": validity, "last_uid": 0 if uids else uidnext - 1,
                      "newest_at": cursor.get("newest_at")}
        requests_made += 1
        uids = sorted(uids)[:int(self._opt("max_per_poll"))]
        messages: list[InboundMessage] = []
        if uids:
            fetched = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
            requests_made += 1
            for uid in uids:
                data = fetched.get(uid, {})
                body = data.get(b"BODY[]")
                if body is None:
                    continue  # expunged between SEARCH and FETCH
                raw = self._raw(uid, validity, body, data.get(b"INTERNALDATE"))
                message = items.read("email.message", raw, self.parse_mail, {})
                if message is not None:
                    messages.append(message)
                newest = raw.get("received_at")
                if newest and newest > (cursor.get("newest_at") or ""):
                    cursor["newest_at"] = newest
            cursor["last_uid"] = max(uids)
            if self._opt("mark_seen"):
                client.add_flags(uids, [imapclient.SEEN])
        return PollResult(messages, cursor, requests=requests_made, resources=len(uids), notes=notes)

    def _raw(self, uid: int, validity: int, body: bytes, received: Any) -> dict[str, Any]:
        """The JSON item kept for one mail: small, and enough for ``parse_mail`` alone."""
        raw: dict[str, Any] = {"uid": uid, "uidvalidity": validity}
        if isinstance(received, datetime):
            raw["received_at"] = (received if received.tzinfo else received.astimezone()).isoformat()
        try:
            mail = mp.parse_bytes(body)
            parts = mp.attachment_parts(mail)
            raw["parts"] = parts
            raw["id"] = mp.external_id(mail, body)
            body = mp.without_files(mail, parts)
        except Exception as exc:  # the raw bytes are kept; parse_mail says why it failed
            log.warning("account %s: mail UID %s could not be reduced: %s", self.name, uid,
                        type(exc).__name__)
        cap = int(self._opt("max_raw_kb")) * 1024
        raw["truncated"] = len(body) > cap
        raw["rfc822_b64"] = base64.b64encode(body[:cap]).decode("ascii")
        return raw

    def parse_mail(self, raw: dict[str, Any], context: dict[str, Any]) -> InboundMessage | None:
        """The message of one stored mail; :class:`~connectors.items.Ignored` (by the kind of
        ``mailparse.machine_reason``) for an auto-reply, a bounce or a list mail."""
        try:
            data = base64.b64decode(str(raw.get("rfc822_b64") or ""), validate=True)
        except ValueError:
            raise Unreadable("Isi surat yang disimpan bukan base64 yang sah.") from None
        if not data:
            raise Unreadable("Surat ini kosong.")
        mail = mp.parse_bytes(data)
        machine = mp.machine_reason(mail)
        if machine:
            log.info("account %s: mail UID %s skipped: %s", self.name, raw.get("uid"), machine)
            raise Ignored(machine)
        address, name = mp.sender(mail)
        if not address:
            raise Unreadable("Surat tanpa alamat pengirim (From) yang dapat dibalas.")
        own = mp.external_id(mail, data) if not raw.get("id") else str(raw["id"])
        received = _time(raw.get("received_at")) or utcnow()
        subject = mp.header_text(mail, "Subject")
        text = mp.body_text(mail)
        if subject and not mp.message_ids(mail.get("In-Reply-To")):
            text = f"{subject}\n\n{text}".strip()  # a new mail's subject is often the complaint
        if address == str(self._opt("address")).lower():
            from_office = True  # the office's own mail seen in the folder (a Bcc to itself)
        else:
            from_office = False
        refs = tuple(AttachmentRef(
            kind=p.get("kind", "file"), mime=p.get("mime"), size=p.get("size"), name=p.get("name", ""),
            platform_id=f"{raw.get('uid')}/{p.get('part')}",
            url=f"imap://{raw.get('uidvalidity')}/{raw.get('uid')}/{p.get('part')}")
            for p in raw.get("parts") or [] if isinstance(p, dict))
        return InboundMessage(
            external_id=own, thread_id=mp.thread_of(mail, own), kind="dm", public=False,
            author_id=address[:120], author_handle=address, author_name=name,
            text=text, created_at=mp.sent_at(mail, received),
            in_reply_to=next(iter(mp.message_ids(mail.get("In-Reply-To"))), None),
            raw={"subject": subject[:300]}, case_reference=mp.case_number(subject),
            from_office=from_office, attachments=refs)

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        """``imap://<uidvalidity>/<uid>/<part>``: the part, fetched again from the folder."""
        try:
            validity, uid, part = (int(v) for v in url.removeprefix("imap://").split("/"))
        except ValueError:
            raise ConnectorError("Alamat lampiran surat tidak dikenal.", permanent=True,
                                 detail=url[:200]) from None
        client = self._imap()
        try:
            if self._select(client) != validity:
                raise ConnectorError("Server surat menomori ulang folder, jadi lampiran ini tidak "
                                     "dapat diambil lagi; buka suratnya di kotak surat.", permanent=True)
            fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
            raise ConnectorError(UNREACHABLE.format(host=self._opt("imap_host")),
                                 detail=repr(exc)) from None
        finally:
            _close(client)
        body = fetched.get(b"BODY[]")
        found = mp.part_bytes(mp.parse_bytes(body), part) if body else None
        if found is None:
            raise ConnectorError("Surat atau lampirannya sudah dihapus dari kotak surat.", permanent=True)
        data, mime = found
        if len(data) > max_bytes:
            raise ConnectorError(too_large(max_bytes), permanent=True)
        return data, mime

    # --- SMTP --------------------------------------------------------------------------------

    def compose(self, reply: OutboundReply) -> EmailMessage:
        """The reply mail: threaded by In-Reply-To/References, the case number in the subject."""
        address = str(self._opt("address"))
        mail = EmailMessage()
        mail["From"] = address
        mail["To"] = reply.recipient_id
        mail["Subject"] = f"Re: [{reply.case_reference}] Tanggapan atas pengaduan Anda"
        mail["Date"] = format_datetime(utcnow())
        thread = reply.thread_id.removeprefix("thread-")
        # <aduan.<thread>.<reply id>.<random>@domain>: a mail answering it names its thread.
        mail["Message-ID"] = (f"<{mp.OWN_PREFIX}{thread}.{reply.reply_id}.{uuid.uuid4().hex[:16]}"
                              f"@{address.rpartition('@')[2] or 'aduan.invalid'}>")
        mail["Auto-Submitted"] = "no"  # a person wrote it; mail filters must not drop it
        if reply.in_reply_to and reply.in_reply_to.startswith("<"):
            mail["In-Reply-To"] = reply.in_reply_to
            mail["References"] = reply.in_reply_to
        mail.set_content(reply.text)
        return mail

    def send(self, reply: OutboundReply) -> str:
        if "@" not in reply.recipient_id:
            raise ConnectorError("Alamat e-mail warga tidak diketahui, jadi balasan tidak dapat "
                                 "dikirim.", permanent=True)
        return self.send_mail(self.compose(reply), f"alamat warga {reply.recipient_id}")

    def send_mail(self, mail: EmailMessage, recipient: str = "alamat tujuan") -> str:
        """Send ``mail`` through the account's SMTP server; its Message-ID, or ConnectorError
        (``uncertain`` when the server may have taken it). ``recipient`` names the address in
        a refusal (the notifications send with the same settings)."""
        host = self._opt("smtp_host") or self._opt("imap_host")
        security = self._opt("smtp_security")
        port = self._opt("smtp_port") or (465 if security == "tls" else 587)
        sent_data = connected = False
        try:
            if security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=self._tls())
            else:
                smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
            connected = True
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=self._tls())
                if security != "none" or smtp.has_extn("auth"):
                    smtp.login(self.username, self._opt("password"))
                sent_data = True  # from here on the server may have accepted the mail
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise ConnectorError(LOGIN_REFUSED.format(what="SMTP"), permanent=True,
                                 detail=str(exc)[:300]) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ConnectorError(f"Server SMTP {host} tidak menawarkan login (AUTH) atau STARTTLS; "
                                 "periksa smtp_port dan smtp_security di config.toml.",
                                 permanent=True, detail=str(exc)[:300]) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise ConnectorError(f"Server surat menolak {recipient}.",
                                 permanent=True, detail=str(exc)[:300]) from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise ConnectorError(f"Server surat menolak balasan (kode {exc.smtp_code}).",
                                     permanent=True, detail=str(exc)[:300]) from None
            raise ConnectorError(f"Server surat menunda balasan (kode {exc.smtp_code}); dicoba lagi.",
                                 detail=str(exc)[:300]) from None
        except ssl.SSLError as exc:
            raise ConnectorError(TLS_FAILED.format(host=host), detail=repr(exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            if sent_data and isinstance(exc, (smtplib.SMTPServerDisconnected, socket.timeout,
                                              ConnectionError)):
                raise ConnectorError(UNCERTAIN, uncertain=True, detail=repr(exc)) from None
            raise ConnectorError(UNREACHABLE.format(host=host), detail=repr(exc), unreachable=(
                not connected and _not_connected(exc))) from None
        return str(mail["Message-ID"])


def _not_connected(exc: BaseException) -> bool:
    """True when opening the connection itself failed: the server's name did not resolve, or
    the connection was refused, unroutable or timed out (the office may be offline)."""
    return isinstance(exc, (socket.gaierror, ConnectionRefusedError, TimeoutError)) or (
        isinstance(exc, OSError) and exc.errno in _NO_ROUTE)


def _close(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection is gone either way
        pass


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _since(newest_at: Any, lookback_days: int) -> datetime:
    """Where a (re-)read starts: a day before the newest mail read, else ``lookback_days`` ago."""
    newest = _time(newest_at)
    return newest - timedelta(days=1) if newest else utcnow() - timedelta(days=lookback_days)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
