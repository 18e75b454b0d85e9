"""Personal data patterns, their near-misses, masking, and the log filter."""
from __future__ import annotations

import logging

import pytest

from inbox import pii


@pytest.mark.parametrize("text, kind, masked", [
    ("NIK saya 3329015708900003", "nik", "3329**********03"),        # woman born 17-08-1990
    ("3329011708900001 tolong dicek", "nik", "3329**********01"),     # man, no "nik" word needed
    ("nik: 3329 0157 0890 0003", "nik", "3329**********03"),          # spaces
    ("33.29.01.570890.0003", "nik", "3329**********03"),              # dots
    ("3329-0157-0890-0003", "nik", "3329**********03"),               # dashes
    ("No KK 3329010101200001", "kk", "3329**********01"),             # KK context before it
    ("kartu keluarga nomor 3329010101200001", "kk", "3329**********01"),
    ("nomor 9999999999999999 itu apa", "number16", "9999**********99"),  # implausible, still masked
    ("hp 081327551122", "phone", "0813*****122"),
    ("WA 0812-3456-7890 ya", "phone", "0812*****890"),
    ("hub +62 857 1234 5678", "phone", "+628*******678"),
    ("6285712345678", "phone", "6285******678"),
    ("wa.me/6281234567890", "phone", "6281******890"),
    ("email budi.santoso@gmail.com", "email", "b***@gmail.com"),
])
def test_each_kind_is_found_and_masked(text: str, kind: str, masked: str) -> None:
    [finding] = pii.find_personal_data(text)
    assert (finding.kind, finding.masked) == (kind, masked)
    assert text[finding.start:finding.end] == finding.value
    assert pii.mask(text) == text[:finding.start] + masked + text[finding.end:]
    assert pii.has_personal_data(text)


@pytest.mark.parametrize("text", [
    "NIP 19740324 200604 1 015",            # an 18-digit civil-servant number
    "197403242006041015",                   # the same without spaces
    "33290157089000031",                    # 17 digits: not a NIK
    "datang tgl 08-12-2025 jam 08.30",      # dates and times
    "call center 1500537 atau WA 08118005373",  # the office's public contacts
    "rekening 1234567890",                  # a 10-digit bank account
    "kode pos 52212, rt 03 rw 05",
    "antrean nomor 0812",                   # too short for a phone number
    "",
])
def test_near_misses_are_left_alone(text: str) -> None:
    assert pii.find_personal_data(text) == []
    assert pii.mask(text) == text


def test_plausible_nik_checks_province_and_birth_date() -> None:
    assert pii.plausible_nik("3329015708900001")       # day 57 = 17 + 40 (female)
    assert not pii.plausible_nik("3329017708900001")   # day 77 does not exist
    assert not pii.plausible_nik("3329011713900001")   # month 13
    assert not pii.plausible_nik("9929011708900001")   # province 99 does not exist
    assert pii.plausible_nik("3329012902000001")       # 29 February is a real birthday


def test_several_findings_are_masked_in_one_text_in_order() -> None:
    text = "NIK 3329015708900003, KK 3329010101200001, hp 081327551122, a@b.co"
    findings = pii.find_personal_data(text)
    assert [f.kind for f in findings] == ["nik", "kk", "phone", "email"]
    assert pii.mask(text) == "NIK 3329**********03, KK 3329**********01, hp 0813*****122, a***@b.co"


def test_the_log_filter_masks_arguments_and_tracebacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger = logging.getLogger("test.pii")
    handler = Keep()
    handler.addFilter(pii.MaskingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("poll failed for %s", "NIK 3329015708900003")
        try:
            raise ValueError("bad text 081327551122")
        except ValueError:
            logger.exception("crash")
    finally:
        logger.removeHandler(handler)
    joined = "\n".join(records)
    assert "3329**********03" in joined and "0813*****122" in joined
    assert "3329015708900003" not in joined and "081327551122" not in joined
