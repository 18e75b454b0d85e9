"""Whatever the bytes, the text every parser stores is readable (issue 27, item 10).

For each parser: the stored text never holds raw MIME, an encoded-word, a U+FFFD the source did
not hold, or mojibake (``Ã©``, ``â€™``); a message whose source has words is never stored
empty; a Telegram private message and a WhatsApp message always have text or a file; an item
that is not stored is counted as ignored or set aside, never dropped silently.

E-mails are built byte by byte from generated text, in every charset label and transfer
encoding the tests know, single-part or multipart with Outlook's unquoted boundary, subjects as
raw 8-bit bytes or encoded-words. Platform items are generated around the shapes of the
fixtures (tests/fixtures/). Few examples each, derandomized: the suite stays fast.
"""
from __future__ import annotations

import base64
import json
import quopri
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.email import EmailConnector
from connectors.items import ItemReader
from connectors.telegram import TelegramConnector
from connectors.whatsapp import WhatsAppConnector
from tests.test_payload_fuzz import fb_connector, ig_connector, x_connector

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
#: What citizens write: Indonesian, accents, typographic punctuation, CJK, Hangul, emoji.
LETTERS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:!?()/-–—“”‘’"
           "€°½éèàüöñçÉÜßøåÆ身份证户口朱镕안녕하세요주민🎲👍")
TEXT = st.text(alphabet=LETTERS, max_size=60)
WORDS = TEXT.filter(lambda t: bool(t.strip()))
MOJIBAKE = ("Ã", "â€", "\ufffd")
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?")
MIME = ("Content-Type:", "Content-Transfer-Encoding:", "MIME-Version:", "------=_NextPart")
MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def readable(text: str, source: str = "") -> None:
    for pattern in MOJIBAKE:
        assert pattern not in text or pattern in source, (pattern, text)
    assert not ENCODED_WORD.search(text), text
    assert not any(marker in text for marker in MIME), text


def squeeze(text: str) -> str:
    return " ".join(text.split())


# --- e-mail ------------------------------------------------------------------------------------------

#: (label written in the mail, the encoding its bytes really are in)
CHARSETS = [("utf-8", "utf-8"), ("iso-8859-1", "cp1252"), ("windows-1252", "cp1252"),
            ("us-ascii", "cp1252"), ("x-unknown", "utf-8"), ("x-unknown", "cp1252"),
            ("gb2312", "gbk"), ("ks_c_5601-1987", "cp949"), ("iso-8859-1", "utf-8"), (None, "utf-8")]


def representable(text: str, encoding: str) -> str:
    return text.encode(encoding, errors="ignore").decode(encoding)


def ambiguous(data: bytes, encoding: str) -> bool:
    """windows-1252 bytes that happen to form UTF-8 sequences: read as UTF-8 on purpose
    (``connectors.mailtext``), so the words may differ, but never into mojibake."""
    return encoding == "cp1252" and bool(MULTIBYTE.search(data))


@st.composite
def mails(draw: Any) -> tuple[bytes, str, str, bool]:
    label, encoding = draw(st.sampled_from(CHARSETS))
    body = representable(draw(TEXT), encoding)
    subject = representable(draw(TEXT), encoding)
    data, subject_bytes = body.encode(encoding), subject.encode(encoding)
    transfer = draw(st.sampled_from(["8bit", "quoted-printable", "base64"]))
    payload = {"8bit": data, "quoted-printable": quopri.encodestring(data),
               "base64": base64.encodebytes(data)}[transfer]
    form = draw(st.sampled_from(["raw", "B", "Q"]))
    if form == "raw" or not subject_bytes:
        header = subject_bytes
    elif form == "B":
        header = b"=?" + (label or "utf-8").encode() + b"?B?" + base64.b64encode(subject_bytes) + b"?="
    else:
        quoted = b"".join(bytes([c]) if chr(c).isascii() and chr(c).isalnum() else b"=%02X" % c
                          for c in subject_bytes)
        header = b"=?" + (label or "utf-8").encode() + b"?Q?" + quoted + b"?="
    charset = b"; charset=" + label.encode() if label else b""
    part = (b"Content-Type: text/plain" + charset + b"\r\nContent-Transfer-Encoding: "
            + transfer.encode() + b"\r\n\r\n" + payload + b"\r\n")
    layout = draw(st.sampled_from(["single", "outlook", "quoted"]))
    if layout == "single":
        mime = part
    else:
        boundary = b"----=_NextPart_000_0012_01D9A0B1.2C3D4E50"
        named = boundary if layout == "outlook" else b'"' + boundary + b'"'
        mime = (b"Content-Type: multipart/mixed;\r\n\tboundary=" + named + b"\r\n\r\n"
                b"This is a multi-part message in MIME format.\r\n\r\n--" + boundary + b"\r\n" + part
                + b"\r\n--" + boundary + b"\r\nContent-Type: application/pdf; name=\"f.pdf\"\r\n"
                b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; "
                b"filename=\"f.pdf\"\r\n\r\nJVBERi0xLjQK\r\n--" + boundary + b"--\r\n")
    raw = (b"From: Warga <warga@warga.test>\r\nTo: pengaduan@dukcapil.test\r\nSubject: " + header
           + b"\r\nMessage-ID: <fuzz@warga.test>\r\nMIME-Version: 1.0\r\n" + mime)
    # A raw 8-bit subject is read as UTF-8 whenever its bytes are UTF-8, whatever the mail says
    raw_subject = form == "raw" and encoding != "utf-8" and bool(MULTIBYTE.search(subject_bytes))
    exact = not ambiguous(data, encoding) and not ambiguous(subject_bytes, encoding) and not raw_subject
    return raw, subject, body, exact


@SETTINGS
@given(mails())
def test_an_email_in_any_charset_encoding_and_layout_is_stored_readable(mail):
    raw, subject, body, exact = mail
    connector = EmailConnector("surel", {"address": "pengaduan@dukcapil.test", "password": "x",
                                         "imap_host": "127.0.0.1"})
    message = connector.parse_mail(connector._raw(1, 1, raw, None), {})
    readable(message.text, subject + body)
    if subject.strip() or body.strip():
        assert message.text.strip()
    if exact:
        assert squeeze(body) in squeeze(message.text) and squeeze(subject) in squeeze(message.text)


# --- Telegram -----------------------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=6)
TG_CONTENT = {
    "text": lambda t: {"text": t},
    "photo": lambda t: {"caption": t, "photo": [{"file_id": "F1", "file_unique_id": "U1", "file_size": 9}]},
    "sticker": lambda t: {"sticker": {"file_id": "S1", "file_unique_id": "U2", "emoji": "👍"}},
    "dice": lambda t: {"dice": {"emoji": "🎲", "value": 3}},
    "location": lambda t: {"location": {"latitude": -6.87, "longitude": 109.04}},
    "venue": lambda t: {"venue": {"location": {"latitude": -6.87, "longitude": 109.04}, "title": t,
                                  "address": t}},
    "contact": lambda t: {"contact": {"phone_number": "+6281234509876", "first_name": t}},
    "poll": lambda t: {"poll": {"question": t, "options": [{"text": t}, {"text": "Tidak"}]}},
    "service": lambda t: {"new_chat_title": t},
    "unknown": lambda t: {"hologram_note": {"id": t}},
}


@SETTINGS
@given(kind=st.sampled_from(sorted(TG_CONTENT)), text=TEXT, chat=st.sampled_from(["private", "group"]),
       extra=st.dictionaries(st.sampled_from(["text", "caption", "dice", "location", "poll", "contact"]),
                             JSON, max_size=2), edited=st.booleans())
def test_a_telegram_message_of_any_kind_has_text_or_a_file_or_is_accounted_for(kind, text, chat, extra,
                                                                               edited):
    chat_id = 5123456701 if chat == "private" else -1001987654321
    message = {"message_id": 7, "date": 1772420400, "from": {"id": 5123456701, "first_name": "Dewi"},
               "chat": {"id": chat_id, "type": chat}, **TG_CONTENT[kind](text),
               **({"edit_date": 1772420500} if edited else {})}
    if chat == "group":
        message["text" if "text" in message else "caption"] = f"@dukcapilbrebes_bot {text}"
    message.update({k: v for k, v in extra.items() if k not in message})
    update = {"update_id": 1, ("edited_message" if edited else "message"): message}
    reader = ItemReader("tg")
    found = reader.read("telegram.message", update, TelegramConnector("tg", {"bot_token": "1:x"}).parse_message,
                        {"bot": {"id": "7012345678", "username": "dukcapilbrebes_bot"}})
    if found is None:  # group chatter not addressed to the bot is skipped by design
        assert reader.set_aside or reader.ignored or chat == "group", "dropped without a trace"
        return
    source = json.dumps(message, ensure_ascii=False)
    readable(found.text, source)
    assert found.text.strip() or found.attachments
    said = message.get("text") or message.get("caption")
    if isinstance(said, str) and said.strip():
        assert said in found.text


# --- WhatsApp -----------------------------------------------------------------------------------------

WA_CONTENT = {
    "text": lambda t: {"text": {"body": t}},
    "image": lambda t: {"image": {"id": "1480000000000001", "caption": t, "mime_type": "image/jpeg"}},
    "document": lambda t: {"document": {"id": "1480000000000002", "filename": "kk.pdf", "caption": t}},
    "audio": lambda t: {"audio": {"id": "1480000000000003", "voice": True}},
    "location": lambda t: {"location": {"latitude": -6.87, "longitude": 109.04, "name": t}},
    "contacts": lambda t: {"contacts": [{"name": {"formatted_name": t}, "phones": [{"phone": "+62812"}]}]},
    "interactive": lambda t: {"interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": t}}},
    "flow": lambda t: {"interactive": {"type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent", "response_json": json.dumps({"keterangan": t, "flow_token": "x"})}}},
    "empty_interactive": lambda t: {"interactive": {"type": "product_reply"}},
    "button": lambda t: {"button": {"text": t, "payload": "p"}},
    "edit": lambda t: {"edit": {"original_message_id": "wamid.O", "message": {"type": "text", "text": {"body": t}}}},
    "reaction": lambda t: {"reaction": {"message_id": "wamid.O", "emoji": "👍"}},
    "order": lambda t: {"order": {"catalog_id": "1", "text": t}},
    "system": lambda t: {"system": {"body": t, "type": "user_changed_number"}},
    "unsupported": lambda t: {"errors": [{"code": 131051, "title": "Message type unknown"}]},
}


@SETTINGS
@given(kind=st.sampled_from(sorted(WA_CONTENT)), text=TEXT,
       sender=st.sampled_from([{"from": "6281234567890"}, {"from_user_id": "ID.1502576394655843"},
                               {"from": "6281234567890", "from_user_id": "ID.1502576394655843"}, {}]),
       extra=st.dictionaries(st.sampled_from(["text", "image", "interactive", "context"]), JSON, max_size=2))
def test_a_whatsapp_message_of_any_type_has_text_or_a_file_or_is_accounted_for(kind, text, sender, extra):
    wa_type = {"flow": "interactive", "empty_interactive": "interactive"}.get(kind, kind)
    item = {"id": "wamid.F1", "timestamp": "1772420400", "type": wa_type, **sender, **WA_CONTENT[kind](text)}
    item.update({k: v for k, v in extra.items() if k not in item})
    reader = ItemReader("wa")
    connector = WhatsAppConnector("wa", {"phone_number_id": "1", "access_token": "t", "app_secret": "s",
                                         "verify_token": "v"})
    found = reader.read("whatsapp.message", item, connector.parse_message, {"name": text})
    if found is None:
        assert wa_type == "reaction" or reader.set_aside, "dropped without a trace"
        return
    readable(found.text, json.dumps(item, ensure_ascii=False))
    assert found.text.strip() or found.attachments
    if text.strip() and kind in ("text", "image", "document", "interactive", "flow", "button", "edit"):
        assert squeeze(text) in squeeze(found.text)


# --- X, Facebook, Instagram: the text passes through whole ---------------------------------------------

def first_item(folder: str, name: str, key: str = "data") -> dict[str, Any]:
    return json.loads((FIXTURES / folder / name).read_text(encoding="utf-8"))[key][0]


PASS_THROUGH = [
    (lambda: x_connector(False), "x.mention", ("x", "mentions_new.json"), "text"),
    (lambda: x_connector(True), "x.dm", ("x", "dm_events_first.json"), "text"),
    (fb_connector, "facebook.comment", ("meta", "real_fb_comments.json"), "message"),
    (fb_connector, "messenger.dm", ("meta", "fb_conversation_messages.json"), "message"),
    (ig_connector, "instagram.comment", ("meta", "real_ig_comments.json"), "text"),
    (ig_connector, "instagram.tag", ("meta", "real_ig_tags.json"), "caption"),
]


@SETTINGS
@given(case=st.sampled_from(range(len(PASS_THROUGH))), text=WORDS)
def test_x_facebook_and_instagram_keep_the_citizens_words_whole(case, text):
    make, surface, (folder, name), field = PASS_THROUGH[case]
    item = dict(first_item(folder, name), **{field: text})
    message = make().reread(surface, item, {})
    assert message is not None and message.text == text
    readable(message.text, text)
