"""Reading one e-mail with the stdlib ``email`` package: its text, thread, sender, attachments.

Kept apart from the IMAP and SMTP code in ``connectors.email`` so that a stored raw mail can be
parsed again (``aduan reprocess``) without a server. HTML-only mail becomes text through
html2text (a real HTML parser), never through regular expressions.
"""
from __future__ import annotations

import hashlib
import re
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any

import html2text

from connectors import mailtext

#: Longest id we store as is (Message.external_id and Case.thread_id hold 200 characters).
MAX_ID = 190
#: The part kinds AttachmentRef knows, by the MIME main type.
KINDS = {"image": "image", "video": "video", "audio": "audio"}
#: Senders that are machines: bounces and notifications never open a case. A mail server
#: (``mailer-daemon``) is one by its name; the others are senders nobody can answer.
DAEMON_LOCAL_PARTS = ("mailer-daemon",)
NOREPLY_LOCAL_PARTS = ("postmaster", "no-reply", "noreply", "do-not-reply", "donotreply")
#: The kinds of machine mail ``machine_reason`` tells apart (``inbox.labels`` has their words).
MACHINE_KINDS = ("auto_submitted", "precedence", "mailing_list", "autoreply", "bounce",
                 "mailer_daemon", "noreply_sender")
#: Message-ID prefix of aduan's own replies; a mail in reply to one carries its thread in it.
OWN_PREFIX = "aduan."
KEEP_HEADERS = policy.SMTP.clone(refold_source="none")
CASE_NUMBER = re.compile(r"\[([A-Z]{2,10}-[0-9A-Z-]{3,30})\]")


def parse_bytes(data: bytes) -> EmailMessage:
    """The mail, its multipart boundaries repaired where Python's modern parser cut them.

    ``boundary=----=_NextPart_000_0012_01D9A0B1.2C3D4E50`` unquoted (Outlook Express and many
    old clients write it so) is cut at the ``=`` by ``policy.default``: no part is found and
    only the subject would be stored. The ``compat32`` parser reads such a boundary whole; it
    is then written quoted and the mail parsed again."""
    mail = BytesParser(policy=policy.default).parsebytes(data)
    if not any(_lost_parts(part) for part in mail.walk()):
        return mail  # type: ignore[return-value]
    legacy = BytesParser(policy=policy.compat32).parsebytes(data)
    for part in legacy.walk():
        boundary = part.get_boundary() if part.is_multipart() else None
        if boundary:
            part.set_boundary(boundary)  # written quoted
    return BytesParser(policy=policy.default).parsebytes(legacy.as_bytes())  # type: ignore[return-value]


def _lost_parts(part: Message) -> bool:
    return part.get_content_maintype() == "multipart" and (
        not part.is_multipart()
        or any(isinstance(d, (errors.StartBoundaryNotFoundDefect,
                              errors.MultipartInvariantViolationDefect)) for d in part.defects))


def header_text(mail: Message, name: str) -> str:
    """A header's text: encoded-words in any charset and raw 8-bit bytes decoded the way mail
    clients do (``connectors.mailtext``), not as U+FFFD."""
    return mailtext.header_text(_raw_header(mail, name), text_charset(mail))


def text_charset(mail: Message) -> str | None:
    """The charset the mail's text is written in: what raw 8-bit header bytes most likely are."""
    return next((p.get_content_charset() for p in mail.walk()
                 if p.get_content_maintype() == "text" and p.get_content_charset()), None)


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
    """(address, display name) of the citizen: ``Reply-To`` when given, else ``From``.

    Addresses are read from the raw header (an encoded name may hold a comma) and the name is
    decoded afterwards."""
    for header in ("Reply-To", "From"):
        pairs = [(name, addr) for name, addr in getaddresses([_raw_header(mail, header)]) if "@" in addr]
        if pairs:
            name, address = pairs[0]
            if header == "Reply-To":  # the name people know is still the From's
                name = parseaddr(_raw_header(mail, "From"))[0] or name
            return address.strip().lower(), mailtext.header_text(name, text_charset(mail))
    return "", ""


def _raw_header(mail: Message, name: str) -> str:
    for key, value in mail.raw_items() if hasattr(mail, "raw_items") else mail.items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def machine_reason(mail: Message) -> str | None:
    """Why the mail is a machine's (never a case), as a kind ``aduan status`` counts, or None:
    ``auto_submitted``, ``precedence``, ``mailing_list``, ``autoreply``, ``bounce``,
    ``mailer_daemon`` (From ``mailer-daemon@`` or an empty ``Return-Path: <>``) or
    ``noreply_sender`` (From ``noreply@``, ``no-reply@``, ``do-not-reply@``, ``donotreply@``,
    ``postmaster@`` with no other sign). The README lists them."""
    auto = _raw_header(mail, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if _raw_header(mail, "Precedence").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "precedence"
    if mail.get("List-Id") or mail.get("List-Unsubscribe"):
        return "mailing_list"
    if mail.get("X-Autoreply") or mail.get("X-Autorespond"):
        return "autoreply"
    if mail.get_content_type() == "multipart/report":
        return "bounce"
    local = parseaddr(_raw_header(mail, "From"))[1].lower().split("@")[0]
    if local in DAEMON_LOCAL_PARTS or (mail.get("Return-Path") is not None
                                       and not _raw_header(mail, "Return-Path").strip("<> \t")):
        return "mailer_daemon"
    if local in NOREPLY_LOCAL_PARTS:
        return "noreply_sender"
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
    """The part's text by its charset as mail clients read it (``connectors.mailtext``)."""
    payload = part.get_payload(decode=True) or b""
    return mailtext.decode_bytes(payload, part.get_content_charset())


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
    # Headers as they came: re-folding would re-encode them from Python's reading of them
    # (an iso-8859-1 word read as latin-1, raw 8-bit bytes as U+FFFD).
    return mail.as_bytes(policy=KEEP_HEADERS)


def case_number(subject: str) -> str | None:
    match = CASE_NUMBER.search(subject or "")
    return match.group(1) if match else None
