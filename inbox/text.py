"""Untrusted text made safe to print: the one cleaning step between a platform's text and a
document (XLSX, PDF, HTML, CSV) or a terminal (the console, a log file).

Citizens' messages, names and platform payloads may carry any character. A vertical tab makes
openpyxl refuse the whole workbook, a NUL ends a C string, and ``ESC[2J`` clears the screen of
the officer who runs ``aduan case list`` or reads the log. :func:`clean_text` removes:

- ANSI / ECMA-48 sequences as a whole (``ESC[2J``, ``ESC]0;title BEL``, their one-byte C1 forms
  ``U+009B`` and ``U+009D``), so no ``[2J`` is left behind;
- every other C0 and C1 control character and DEL. Those that separate words or lines (vertical
  tab, form feed, the file/group/record/unit separators, NEL) become a line feed, or a space
  where the format has no line breaks, so ``KTP saya\\vbelum jadi`` keeps its two words apart;
  the rest (NUL, BEL, backspace ...) are dropped;
- lone surrogates (``"\\ud83d"`` is valid JSON but cannot be written as UTF-8) and the
  noncharacters U+FFFE/U+FFFF (illegal in XML), which become U+FFFD.

Line feed, carriage return and tab are kept unless the caller says the format has none (a CSV
or XLSX cell holds them as they are). A terminal is different: a lone carriage return there
moves back over what was printed, so :func:`terminal_text` turns it into a line feed.
Everything else (letters of any script, emoji, ``\\u2028``) passes unchanged; escaping for HTML,
XML or CSV stays the writer's job. The stored message is never changed: cleaning happens on the
way out.
"""
from __future__ import annotations

import re

#: A terminal's escape sequences: CSI with its parameters; a string (OSC, DCS, SOS, PM, APC)
#: up to its terminator (an unterminated or very long one loses only its introducer, never the
#: words after it); any other escape with its final byte; a lone ESC.
SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,256}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?")

#: Anything at all to clean (a fast test: most texts have none).
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
UNSAFE_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

#: Controls that separate lines or words: a line feed where the format keeps line breaks.
BREAKS = "\x0b\x0c\x1c\x1d\x1e\x1f\x85"
OTHER = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
REPLACED = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
CRLF = re.compile(r"\r\n")


def clean_text(text: str, newlines: bool = True, tabs: bool = True) -> str:
    """``text`` without terminal sequences and control characters (see the module docstring).

    ``newlines``: keep line feeds and carriage returns (and turn the other line-separating
    controls into line feeds); without, every line break becomes a space (``\\r\\n`` one space).
    ``tabs``: keep tabs; without, they become spaces."""
    unsafe = UNSAFE if newlines and tabs else UNSAFE_ONE_LINE
    if not unsafe.search(text):
        return text
    text = SEQUENCE.sub("", text)
    if not newlines:
        text = CRLF.sub("\n", text)
    text = text.translate(_BREAK_TABLE if newlines else _SPACE_TABLE)
    if not tabs:
        text = text.replace("\t", " ")
    text = OTHER.sub("", text)
    return REPLACED.sub("\ufffd", text)


def storable(text: str) -> str:
    """``text`` as a database can hold it: NUL removed (PostgreSQL refuses it in a text) and lone
    surrogates made U+FFFD (UTF-8 cannot encode them). Nothing else changes: the stored message
    stays what the citizen wrote, and is cleaned for each document on the way out."""
    if "\x00" not in text and not SURROGATE.search(text):
        return text
    return SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def terminal_text(text: str) -> str:
    """``text`` cleaned for a console or a log file: line feeds and tabs kept, a carriage return
    made a line feed (alone it would let a text overwrite the line printed before it)."""
    text = clean_text(text)
    return CRLF.sub("\n", text).replace("\r", "\n") if "\r" in text else text


def one_line(text: str) -> str:
    """``text`` cleaned for a place that holds one line (a log line, a console column)."""
    return clean_text(text, newlines=False, tabs=False)


_BREAK_TABLE = {ord(ch): "\n" for ch in BREAKS}
_SPACE_TABLE = {**{ord(ch): " " for ch in BREAKS}, ord("\n"): " ", ord("\r"): " "}
