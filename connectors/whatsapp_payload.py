"""Reading one WhatsApp webhook message: who sent it and what it says, as text an officer reads.

Kept apart from the connector (``connectors.whatsapp``), which receives, sends and fetches.

Senders. Since 2026 Meta names a WhatsApp user by a business-scoped user id (BSUID,
``ID.1502576394655843``: a country code, a dot, up to 128 letters and digits; ``ID.ENT.…`` for
a parent BSUID) beside the phone number, and leaves the phone number out for a user who adopted
a username and has not written to the office lately. A message carries them as ``from`` (the
phone number) and ``from_user_id`` (the BSUID); ``contacts[]`` carries ``wa_id``, ``user_id`` and
``profile.name`` / ``profile.username``. :func:`sender_ids` reads both; the BSUID is the
author's id when present, the phone number its alias (``InboundMessage.author_alias``).

Content. Every message reads as non-empty text or carries an attachment: a type with nothing to
show gets a placeholder in brackets, never an empty line; a WhatsApp Flow's answers
(``interactive.nfm_reply.response_json``) become one ``Label: value`` line each.
"""
from __future__ import annotations

import json
import re
from typing import Any

from connectors.messages import AttachmentRef
from connectors.items import Unreadable, item_id, obj, objects, place_text, text_of

MEDIA_KINDS = {"image": "image", "sticker": "sticker", "document": "file", "audio": "audio",
               "video": "video"}
#: ``CC.digits`` or ``CC.ENT.digits``; phone numbers are digits only.
_BSUID = re.compile(r"[A-Za-z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
#: Flow Builder names a field ``screen_0_Nama_Lengkap_0``: the words are the middle.
_BUILDER_NAME = re.compile(r"^screen_\d+_(.+?)_\d+$", re.I)
#: Words officers write in capitals.
_ACRONYMS = {"nik", "kk", "ktp", "kia", "rt", "rw", "npwp", "wa", "hp", "nip", "ikd", "el"}
_FLOW_SKIP = {"flow_token"}
MAX_LINES = 60


def is_bsuid(value: str | None) -> bool:
    return bool(value) and _BSUID.fullmatch(value or "") is not None


def sender_ids(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """(BSUID, phone number) of a message's sender, each when the message carries it."""
    phone = item_id(item, "from")
    bsuid = item_id(item, "from_user_id")
    if is_bsuid(phone):  # a shape that puts the BSUID in ``from``
        bsuid, phone = bsuid or phone, None
    return bsuid, phone


def people(contacts: Any) -> dict[str, dict[str, str]]:
    """``contacts[]`` by each id it names (``wa_id`` and ``user_id``): name and username."""
    found: dict[str, dict[str, str]] = {}
    for entry in objects(contacts):
        profile = obj(entry.get("profile"))
        person = {"name": _text(profile, "name"),
                  "username": _text(profile, "username") or _text(entry, "username")}
        for key in ("wa_id", "user_id"):
            value = item_id(entry, key)
            if value:
                found[value] = person
    return found


def content(item: dict[str, Any]) -> tuple[str, tuple[AttachmentRef, ...]]:
    """The text and attachments of a message of a type aduan reads; :class:`Unreadable` for
    the others (``order``, ``system``, ``unsupported``, ``unknown``, a new type)."""
    kind = text_of(item, "type")
    body = obj(item.get(kind)) if kind else {}
    if kind == "text":
        return _or(text_of(body, "body"), "[pesan teks kosong]"), ()
    if kind in MEDIA_KINDS:
        media_id = item_id(body)
        if media_id is None:
            raise Unreadable(f"Lampiran WhatsApp ({kind}) tanpa id media.")
        return text_of(body, "caption"), (AttachmentRef(
            kind=MEDIA_KINDS[kind], url=f"wa-media:{media_id}", platform_id=media_id,
            mime=text_of(body, "mime_type") or None, name=text_of(body, "filename")[:200]),)
    if kind == "location":
        return place_text(text_of(body, "latitude"), text_of(body, "longitude"),
                          text_of(body, "name"), text_of(body, "address")), ()
    if kind == "contacts":
        return shared_contacts(item.get("contacts")), ()
    if kind == "interactive":
        return interactive(body), ()
    if kind == "button":
        return _or(text_of(body, "text") or text_of(body, "payload"), "[tombol WhatsApp]"), ()
    raise Unreadable(f"Jenis pesan WhatsApp {kind or 'tanpa jenis'!r} belum dikenal aduan; "
                     "buka pesan ini di aplikasi WhatsApp Business.")


def edited(item: dict[str, Any]) -> tuple[str, str | None]:
    """An ``edit`` message: ``[diubah] <new text>`` and the id of the message it changes.

    The attachments stay with the original message: an edit changes the words only."""
    edit = obj(item.get("edit"))
    inner = obj(edit.get("message"))
    text = ""
    if inner:
        text, _ = content(inner)
    return f"[diubah] {text or '(teks baru tidak terbaca)'}", item_id(edit, "original_message_id")


def shared_contacts(value: Any) -> str:
    entries = objects(value)
    names = [text_of(obj(c.get("name")), "formatted_name") for c in entries]
    names = [n for n in names if n]
    if not names:  # a card with a number only: the number (masked where an officer reads it)
        names = [text_of(p, "phone") for c in entries for p in objects(c.get("phones"))][:3]
    return "[kontak] " + ", ".join(n for n in names if n) if any(names) else "[kontak]"


def interactive(body: dict[str, Any]) -> str:
    """A button or list choice, a Flow's answers, a call-permission answer: never empty."""
    kind = text_of(body, "type")
    choice = obj(body.get("button_reply")) or obj(body.get("list_reply"))
    if choice:
        return _or(text_of(choice, "title") or text_of(choice, "id"), "[pilihan WhatsApp]")
    reply = obj(body.get("nfm_reply"))
    if reply or kind == "nfm_reply":
        return flow_answers(reply)
    permission = obj(body.get("call_permission_reply"))
    if permission or kind == "call_permission_reply":
        said = {"accept": "diizinkan", "reject": "ditolak"}.get(text_of(permission, "response"), "")
        return f"[izin panggilan WhatsApp] {said}".strip()
    return f"[balasan interaktif WhatsApp{': ' + kind if kind else ''}]"


def flow_answers(reply: dict[str, Any]) -> str:
    """``[formulir WhatsApp]`` and one ``Label: value`` line per answer of the Flow."""
    head = "[alamat WhatsApp]" if text_of(reply, "name") == "address_message" else "[formulir WhatsApp]"
    raw = reply.get("response_json")
    try:
        answers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        answers = raw  # not JSON: what the citizen's phone sent, shown as it is
    lines = _lines(answers) if isinstance(answers, dict) else (
        [str(answers).strip()] if isinstance(answers, (str, int, float)) and str(answers).strip() else [])
    if not lines:
        body = text_of(reply, "body")
        lines = [body] if body and body.lower() != "sent" else ["(tanpa jawaban yang terbaca)"]
    return "\n".join([head, *lines[:MAX_LINES]])


def field_label(key: str) -> str:
    """``nama_lengkap`` -> ``Nama lengkap``, ``no_kk`` -> ``No KK``, Flow Builder's
    ``screen_0_NIK_1`` -> ``NIK``."""
    match = _BUILDER_NAME.match(key)
    words = re.split(r"[\s_\-.]+", (match.group(1) if match else key).strip())
    words = [w for w in words if w]
    if not words:
        return key or "?"
    out = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def masked_phone(number: str) -> str:
    """``6281234567890`` as ``+62 812****7890``: enough to tell two citizens apart."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 8:
        return "nomor WhatsApp"
    return f"+{digits[:2]} {digits[2:5]}****{digits[-4:]}"


def _lines(answers: dict[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, value in answers.items():
        if str(key) in _FLOW_SKIP:
            continue
        label = f"{prefix}{field_label(str(key))}"
        if isinstance(value, dict):
            lines.extend(_lines(value, f"{label} – "))
            continue
        shown = _answer(value)
        if shown:
            lines.append(f"{label}: {shown}")
    return lines


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, list):
        return ", ".join(a for a in (_answer(v) for v in value) if a)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(str(k))}: {_answer(v)}" for k, v in value.items() if _answer(v))
    if value is None:
        return ""
    return " ".join(str(value).split())


def _text(entry: dict[str, Any], key: str) -> str:
    try:
        return text_of(entry, key).strip()
    except Unreadable:  # a name that is a list or an object: no name
        return ""


def _or(text: str, placeholder: str) -> str:
    return text if text.strip() else placeholder
