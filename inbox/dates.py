"""Dates and times as officers and citizens read them: Indonesian, in the office's time zone."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime

TZ_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                    "Asia/Jayapura": "WIT"}


def tz_abbreviation(tz: Any) -> str:
    return TZ_ABBREVIATIONS.get(str(tz), str(tz))


def format_date_id(day: date | datetime, fmt: str = "d MMMM y") -> str:
    """``28 November 2026``; ``fmt="EEEE, d MMMM y"`` gives ``Sabtu, 28 November 2026``."""
    return format_date(day, format=fmt, locale="id")


def format_datetime_id(moment: datetime | None, tz: Any, fmt: str = "EEEE, d MMMM y 'pukul' HH.mm") -> str:
    """``Rabu, 2 Desember 2026 pukul 16.00 WIB`` (empty for None)."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{format_datetime(local, fmt, locale='id')} {tz_abbreviation(tz)}"


def format_month_id(year: int, month: int) -> str:
    """``November 2026``."""
    return format_date(date(year, month, 1), format="MMMM y", locale="id")
