"""Citizens' personal data in free text: NIK, KK numbers, mobile numbers and e-mail addresses.

The stored message keeps what the citizen wrote (the admin needs the NIK to look the citizen
up); everything that leaves the case page — summaries, recaps, exports, logs, public replies —
goes through :func:`mask`. Patterns follow ``shared/reference/indonesian-domain.md`` §2:

* a 16-digit number, with or without spaces, dots or dashes, never part of a longer digit run
  (an 18-digit civil-servant number is not a NIK). It is a ``kk`` after "kk"/"kartu keluarga"
  close before it, a ``nik`` when it says "nik" or its digits hold a plausible birth date (day
  + 40 for women) in a real province, and ``number16`` otherwise — masked all the same;
* an Indonesian mobile number: 08…, +62 8…, 62 8…, 9 to 12 digits after the prefix;
* an e-mail address.

The office's own public contacts (call centre, WhatsApp) are not personal data.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

KIND_LABELS = {"nik": "NIK", "kk": "Nomor KK", "number16": "Nomor 16 digit",
               "phone": "Nomor HP", "email": "Email"}

# Dukcapil's national call centre and WhatsApp: public, never masked.
PUBLIC_NUMBERS = frozenset({"1500537", "08118005373"})

PROVINCES = frozenset({11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
                       61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96})

SIXTEEN = re.compile(r"(?<!\d)(?<!\d[ .\-])(?:\d[ .\-]?){15}\d(?!\d)(?![ .\-]\d)")
PHONE = re.compile(r"(?:(?<![\d+])\+62|(?<![\d+])(?<!\d[ .\-])(?:62|0))[ .\-]?8\d{1,3}"
                   r"(?:[ .\-]?\d{2,5}){1,4}(?!\d)(?![ .\-]\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
KK_CONTEXT = re.compile(r"(?:\bk\.?k\b|kartu\s+keluarga)[^\d]{0,20}$", re.IGNORECASE)
NIK_CONTEXT = re.compile(r"\bnik\b[^\d]{0,20}$", re.IGNORECASE)
MAYBE = re.compile(r"\d{4}|@")  # the cheap test: no 4 digits in a row and no @, nothing to find


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: its kind, where it is, and how to show it."""

    kind: str
    start: int
    end: int
    value: str
    masked: str


def digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def plausible_nik(number: str) -> bool:
    """True when 16 digits read as a NIK: a real province and a birth date that exists."""
    if len(number) != 16 or int(number[:2]) not in PROVINCES:
        return False
    day, month = int(number[6:8]), int(number[8:10])
    if day > 40:
        day -= 40
    try:
        date(2000, month, day)  # 2000 is a leap year: 29 February stays possible
    except ValueError:
        return False
    return True


def mask_value(kind: str, value: str) -> str:
    """The masked form of one finding: enough to recognise it, not enough to use it."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    number = digits(value)
    if kind == "phone":
        if value.startswith("+"):
            number = "+" + number
        return number[:4] + "*" * (len(number) - 7) + number[-3:]
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def find_personal_data(text: str) -> list[Finding]:
    """Every NIK, KK number, 16-digit number, mobile number and e-mail address in ``text``,
    in order, never overlapping."""
    if not text or not MAYBE.search(text):
        return []
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(kind: str, match: re.Match[str]) -> None:
        value = match.group(0)
        found.append(Finding(kind, match.start(), match.end(), value, mask_value(kind, value)))
        taken.append((match.start(), match.end()))

    for match in SIXTEEN.finditer(text):
        before = text[max(0, match.start() - 30):match.start()]
        if KK_CONTEXT.search(before):
            kind = "kk"
        elif NIK_CONTEXT.search(before) or plausible_nik(digits(match.group(0))):
            kind = "nik"
        else:
            kind = "number16"
        add(kind, match)
    for match in PHONE.finditer(text):
        number = digits(match.group(0))
        national = number[2:] if match.group(0).lstrip().startswith(("+62", "62")) else number[1:]
        if 9 <= len(national) <= 12 and number not in PUBLIC_NUMBERS and free(*match.span()):
            add("phone", match)
    for match in EMAIL.finditer(text):
        if free(*match.span()):
            add("email", match)
    return sorted(found, key=lambda f: f.start)


def has_personal_data(text: str) -> bool:
    return bool(find_personal_data(text))


def mask(text: str) -> str:
    """``text`` with every finding replaced by its masked form (``3329**********03``)."""
    findings = find_personal_data(text)
    if not findings:
        return text
    parts: list[str] = []
    at = 0
    for finding in findings:
        parts.append(text[at:finding.start])
        parts.append(finding.masked)
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal data in the message and in any traceback, so a
    NIK quoted in an error never reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True
