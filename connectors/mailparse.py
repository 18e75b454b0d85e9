"""Reading one e-mail with the stdlib ``email`` package: its text, thread, sender, attachments.

Kept apart from the IMAP and SMTP code in ``connectors.email`` so that a stored raw mail can be
parsed again (``aduan reprocess``) without a server. HTML-only mail becomes text through
html2text (a real HTML parser), never through regular expressions.
"""
from __future__ import annotations

import hashlib
import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any

import html2text

#: Longest id we store as is (Message.external_id and Case.thread_id hold 200 characters).
MAX_ID = 190
#: The part kinds AttachmentRef knows, by the MIME main type.
KINDS = {"image": "image", "video": "video", "audio": "audio"}
#: Senders that are machines: bounces and notifications never open a case.
MACHINE_LOCAL_PARTS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply",
                       "donotreply")
#: Message-ID prefix of aduan's own replies; a mail in reply to one carries its thread in it.
OWN_PREFIX = "aduan."
CASE_NUMBER = re.compile(r"\[([A-Z]{2,10}-[0-9A-Z-]{3,30})\]")


def parse_bytes(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def message_ids(value: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, in order."""
    return re.findall(r"<[^<>\s]+>", str(value or ""))


def key_of(message_id: str) -> str:
    """A Message-ID as a stored id: as is when short enough, else a hash of it."""
    if len(message_id) <= MAX_ID:
        return message_id
    return "mid-sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def external_id(mail: Message, data: bytes) -> str:
    """The Message-ID (so the same mail is one message whatever its UID), else a content hash."""
    ids = message_ids(mail.get("Message-ID"))
    if ids:
        return key_of(ids[0])
    return "sha256:" + hashlib.sha256(data).hexdigest()


def thread_of(mail: Message, own_id: str) -> str:
    """The thread: the root of ``References`` (else ``In-Reply-To``, else the mail itself).

    A mail answering one of aduan's replies names it, and aduan's Message-IDs carry the thread
    they were sent in (``<aduan.<thread hash>.<reply>…>``), which survives a mail client that
    keeps only the last reference."""
    references = message_ids(mail.get("References"))
    parent = message_ids(mail.get("In-Reply-To"))
    for mid in parent + references[::-1]:
        if mid.startswith("<" + OWN_PREFIX):
            parts = mid[1:].split(".")
            if len(parts) >= 3 and parts[1]:
                return "thread-" + parts[1]
    root = references[0] if references else (parent[0] if parent else None)
    return thread_key(key_of(root)) if root else thread_key(own_id)


def thread_key(root: str) -> str:
    """Threads are keyed by a hash of their root's id: short, and safe inside a Message-ID."""
    return "thread-" + hashlib.sha256(root.encode()).hexdigest()[:24]


def sender(mail: Message) -> tuple[str, str]:
    """(address, display name) of the citizen: ``Reply-To`` when given, else ``From``."""
    for header in ("Reply-To", "From"):
        pairs = [(name, addr) for name, addr in getaddresses([str(mail.get(header) or "")]) if "@" in addr]
        if pairs:
            name, address = pairs[0]
            if header == "Reply-To":  # the name people know is still the From's
                name = parseaddr(str(mail.get("From") or ""))[0] or name
            return address.strip().lower(), name.strip()
    return "", ""


def machine_reason(mail: Message) -> str | None:
    """Why the mail is an auto-reply, a bounce or a mailing list (never a case), or None."""
    auto = str(mail.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return "balasan otomatis (Auto-Submitted)"
    if str(mail.get("Precedence") or "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "surat massal atau balasan otomatis (Precedence)"
    if mail.get("List-Id") or mail.get("List-Unsubscribe"):
        return "milis (List-Id)"
    if mail.get("X-Autoreply") or mail.get("X-Autorespond"):
        return "balasan otomatis"
    if mail.get_content_type() == "multipart/report":
        return "laporan pengiriman gagal (bounce)"
    address = parseaddr(str(mail.get("From") or ""))[1].lower()
    if address.split("@")[0] in MACHINE_LOCAL_PARTS or not str(mail.get("Return-Path", "x")).strip("<> "):
        return "dikirim oleh server surat (mailer-daemon)"
    return None


def sent_at(mail: Message, fallback: datetime) -> datetime:
    try:
        when = parsedate_to_datetime(str(mail.get("Date") or ""))
    except (TypeError, ValueError, IndexError):
        return fallback
    if when is None:
        return fallback
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def body_text(mail: EmailMessage) -> str:
    """The plain text of the mail; HTML-only mail through html2text."""
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _decoded(part)
    if part.get_content_type() == "text/html":
        converter = html2text.HTML2Text()
        converter.body_width = 0  # keep the citizen's lines, do not re-wrap
        converter.ignore_images = True
        converter.ignore_emphasis = True
        content = converter.handle(content)
    return _without_quote(content).strip()


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("latin-1", errors="replace")


def _without_quote(text: str) -> str:
    """The new text of a reply: the quoted previous mail (``> ...`` after "On ... wrote:")
    is already in the inbox as its own message."""
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">") and all(l.strip().startswith(">") or not l.strip()
                                            for l in lines[index:]):
            head = lines[:index]
            if head and re.search(r"(wrote|menulis)\s*:\s*$", head[-1].strip()):
                head = head[:-1]
            return "\n".join(head)
    return text


def attachment_parts(mail: EmailMessage) -> list[dict[str, Any]]:
    """Every attachment (and inline photo) of the mail: its index in ``mail.walk()``, kind,
    type, name and size, so that the part can be fetched again by number."""
    body = mail.get_body(preferencelist=("plain", "html"))
    found = []
    for index, part in enumerate(mail.walk()):
        if part.is_multipart() or part is body:
            continue
        disposition = part.get_content_disposition()
        maintype = part.get_content_maintype()
        if disposition != "attachment" and maintype == "text" and not part.get_filename():
            continue  # an alternative text body, not a file
        payload = part.get_payload(decode=True) or b""
        found.append({"part": index, "kind": KINDS.get(maintype, "file"),
                      "mime": part.get_content_type(), "name": str(part.get_filename() or "")[:200],
                      "size": len(payload)})
    return found


def part_bytes(mail: EmailMessage, index: int) -> tuple[bytes, str] | None:
    for position, part in enumerate(mail.walk()):
        if position == index and not part.is_multipart():
            return part.get_payload(decode=True) or b"", part.get_content_type()
    return None


def without_files(mail: EmailMessage, parts: list[dict[str, Any]]) -> bytes:
    """The mail with its attachments' bytes left out (they stay on the server and are fetched
    by UID and part number): what aduan keeps as the raw item."""
    indexes = {entry["part"] for entry in parts}
    for position, part in enumerate(mail.walk()):
        if position in indexes:
            part.set_payload("")
            del part["Content-Transfer-Encoding"]
    return mail.as_bytes(policy=policy.SMTP)


def case_number(subject: str) -> str | None:
    match = CASE_NUMBER.search(subject or "")
    return match.group(1) if match else None
