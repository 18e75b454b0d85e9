"""A mail's bytes as text, the way mail clients read them.

Python's ``email`` package decodes a part by the charset its header names and gives U+FFFD for
every byte that does not fit, and it reads a label it does not know as latin-1. Real mail
needs more care:

* a label is read as the charset clients actually use for it: ``gb2312`` as GB18030 (its
  superset: GBK characters in "gb2312" mail), ``iso-8859-1`` and ``us-ascii`` as windows-1252,
  ``ks_c_5601-1987`` / ``euc-kr`` as cp949, ``big5`` as Big5-HKSCS, ``shift_jis`` as cp932;
* text labelled with a Western single-byte charset that is valid UTF-8 is UTF-8 (web forms
  label UTF-8 as iso-8859-1 all the time: read as latin-1 it becomes ``Ã©``);
* an unknown or missing label: UTF-8, else windows-1252;
* a byte that does not fit the charset is read as windows-1252 (bytes windows-1252 leaves
  undefined as their latin-1 character), never as U+FFFD;
* headers: RFC 2047 encoded-words in any of the charsets above, and raw 8-bit bytes (a legacy
  client's subject with no encoded-word at all) as UTF-8 when valid, else windows-1252.

Nothing here raises on odd input: the worst case is a character the sender did not mean, never
an exception, a U+FFFD or an encoded-word left in the text.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re

#: Labels Python does not know (or knows as the narrower charset), as clients read them.
#: (Keys as :func:`_norm` writes them: lower case, ``-`` for ``_``.)
ALIASES = {"x-gbk": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "gb-2312-80": "gb18030",
           "euc-cn": "gb18030", "cp936": "gb18030", "ks-c-5601-1987": "cp949",
           "ks-c-5601": "cp949", "euc-kr": "cp949", "windows-874": "cp874", "tis-620": "cp874",
           "iso-8859-11": "cp874", "big5": "big5hkscs", "shift-jis": "cp932", "x-sjis": "cp932",
           "sjis": "cp932", "iso-8859-9": "cp1254", "iso8859-9": "cp1254",
           "iso-8859-8-i": "iso8859-8", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
           "x-unicode20utf8": "utf-8"}
#: Python's names of the charsets read as windows-1252 (or as UTF-8 when the bytes are).
WESTERN = frozenset({"ascii", "iso8859-1", "latin-1", "cp1252"})
#: Text codecs no mail charset is: decoding by them turns bytes into escapes or worse.
REFUSED = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode",
                     "undefined", "mbcs", "oem", "charmap"})
#: An encoded-word; broken mailers put blanks inside one, and clients still read it.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\r\n]*?)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[QqBb]\?[^?\r\n]*?\?=)[ \t\r\n]+(?==\?[^?\s]+\?[QqBb]\?)")
ERRORS = "aduan-cp1252"


def codec_for(label: str | None) -> str | None:
    """The Python codec a charset label is read with, or None for an unknown label."""
    name = _norm((label or "").strip().strip("\"'"))
    if not name:
        return None
    try:
        info = codecs.lookup(ALIASES.get(name, name))
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in REFUSED:
        return None
    return ALIASES.get(_norm(info.name), info.name)


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def decode_bytes(data: bytes, label: str | None) -> str:
    """``data`` as text, read by its charset ``label`` (see the module docstring)."""
    return _decoded(data, codec_for(label)).replace("\x00", "")  # no database stores NUL in text


def _decoded(data: bytes, codec: str | None) -> str:
    if codec is None or codec in WESTERN:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if codec is None:  # unknown: UTF-8 where it is, windows-1252 for the rest
                return data.decode("utf-8", errors=ERRORS)
            return data.decode("cp1252", errors=ERRORS)
    try:
        return data.decode(codec, errors=ERRORS)
    except (LookupError, ValueError, TypeError):  # a codec that rejects its own arguments
        return data.decode("utf-8", errors=ERRORS)


def header_text(value: str | None, fallback: str | None = None) -> str:
    """A raw header value (as ``EmailMessage.raw_items`` gives it, undecoded) as text: folded
    lines joined, encoded-words and raw 8-bit bytes decoded. Raw bytes that are not UTF-8 are
    read by ``fallback`` (the charset of the mail's text, as mail clients do), else as
    windows-1252."""
    if not value:
        return ""
    text = re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", " ")
    text = _BETWEEN_WORDS.sub(r"\1", text)  # RFC 2047: blanks between two words are dropped
    out, last = [], 0
    for match in _ENCODED_WORD.finditer(text):
        out += [_plain(text[last:match.start()], fallback), _decode_word(match)]
        last = match.end()
    out.append(_plain(text[last:], fallback))
    return "".join(out).strip()


def _plain(segment: str, fallback: str | None) -> str:
    """Header text outside encoded-words: raw 8-bit bytes (kept by the parser as surrogates)
    read as UTF-8 when they are, else by the mail's charset, else as windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in segment):
        return segment
    data = segment.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8").replace("\x00", "")
    except UnicodeDecodeError:
        return decode_bytes(data, fallback)


def _decode_word(match: re.Match[str]) -> str:
    label, kind, payload = match.group(1).split("*", 1)[0], match.group(2).upper(), match.group(3)
    raw = payload.encode("utf-8", "surrogateescape")
    if kind == "B":
        packed = re.sub(rb"[\s=]", b"", raw)
        try:
            data = base64.b64decode(packed + b"=" * (-len(packed) % 4), validate=True)
        except (binascii.Error, ValueError):
            return payload  # not base64 after all: what it held, without the markers
    else:
        data = re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                      raw.replace(b"_", b" "))
    return decode_bytes(data, label)


def _cp1252_or_latin1(error: UnicodeError) -> tuple[str, int]:
    """Error handler: the bytes that did not fit, read as windows-1252 (latin-1 for the five
    bytes windows-1252 leaves undefined)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start:error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), error.end


codecs.register_error(ERRORS, _cp1252_or_latin1)
