"""SP4N-LAPOR! words and numbers in a citizen's message: the tracking ID a message quotes (a
``lapor.go.id/pengaduan/1916449`` link, or "tracking ID #1916449" / "ID laporan LAPOR 1916449"),
and LAPOR!'s klasifikasi of a report read from the classifier's intent.

A tracking ID is 5 to 10 digits (LAPOR! numbers its reports; published ones have 7). A bare
number is never taken: only one in a LAPOR! link, or after "tracking"/"ID laporan"/"nomor
laporan" in a message that names LAPOR!, so a NIK (16 digits) or a phone number never is one.
"""
from __future__ import annotations

import re

#: The public page of a report (peer-systems.md §4: ``lapor.go.id/pengaduan/<TrackingID>``).
REPORT_URL = "https://www.lapor.go.id/pengaduan/{tracking_id}"
TRACKING_ID = re.compile(r"\d{5,10}")

_LINK = re.compile(r"lapor\.go\.id/(?:[a-z_-]+/)*?(?:pengaduan|aspirasi|laporan|detail|detil)"
                   r"/#?(\d{5,10})(?!\d)", re.IGNORECASE)
_NAMED = re.compile(r"(?:tracking\s*(?:id)?|id\s*(?:laporan|lapor!?|tracking)|no(?:mor|\.)?\s*"
                    r"(?:laporan|lapor!?|tracking))\s*(?:lapor!?\s*)?[:#.\s-]*#?\s*(\d{5,10})(?!\d)",
                    re.IGNORECASE)
_MENTIONS_LAPOR = re.compile(r"(?<![a-z])(?:lapor!?|sp4n)(?![a-z])", re.IGNORECASE)

#: intent -> LAPOR!'s klasifikasi, when the admin has not set one (a thank-you, a greeting or
#: spam is no report).
FROM_INTENT = {"complaint": "pengaduan", "question": "permintaan_informasi"}


def find_tracking_id(text: str) -> str | None:
    """The LAPOR! tracking ID ``text`` quotes, or None."""
    text = text or ""
    link = _LINK.search(text)
    if link:
        return link.group(1)
    if _MENTIONS_LAPOR.search(text):
        named = _NAMED.search(text)
        if named:
            return named.group(1)
    return None


def clean_tracking_id(typed: str) -> str | None:
    """What an officer typed or pasted (``#1916449``, the report's link) as a tracking ID, or
    None when it is none."""
    typed = (typed or "").strip()
    link = _LINK.search(typed)
    if link:
        return link.group(1)
    typed = typed.lstrip("#").strip()
    return typed if TRACKING_ID.fullmatch(typed) else None


def report_url(tracking_id: str | None) -> str | None:
    return REPORT_URL.format(tracking_id=tracking_id) if tracking_id else None


def report_type_of(stored: str | None, intent: str | None) -> str | None:
    """The case's klasifikasi: what the admin set, else what its intent suggests."""
    return stored or FROM_INTENT.get(intent or "")
