"""Indonesian dates: the patterns aduan formats itself give babel's own text, day by day."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime

from inbox.dates import compiled_pattern, format_date_id, format_datetime_id, format_month_id

PATTERNS = ["EEEE, d MMMM y 'pukul' HH.mm", "d MMM y HH.mm", "d MMM HH.mm", "d MMM y", "d MMMM y",
            "EEEE, d MMMM y", "MMMM y", "HH.mm", "d 'o''clock' MMM", "'' d"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_compiled_pattern_writes_what_babel_writes_every_day_of_a_year(pattern: str) -> None:
    fast = compiled_pattern(pattern)
    assert fast is not None
    start = datetime(2025, 12, 28, 0, 5)
    for step in range(400):  # every month and weekday, hours and minutes on both sides of 10
        moment = start + timedelta(days=step, hours=step * 5, minutes=step * 7)
        assert fast(moment) == format_datetime(moment, pattern, locale="id")
        if "H" not in pattern and "m" not in pattern.replace("M", ""):
            assert fast(moment.date()) == format_date(moment.date(), pattern, locale="id")


@pytest.mark.parametrize("pattern", ["dd MMM", "yyyy", "d MMM yy", "QQQ y"])
def test_any_other_field_is_left_to_babel(pattern: str) -> None:
    assert compiled_pattern(pattern) is None and compiled_pattern("h:mm a") is None
    assert format_date_id(date(2026, 3, 5), pattern) == format_date(date(2026, 3, 5), pattern,
                                                                     locale="id")


def test_the_office_time_zone_and_its_abbreviation() -> None:
    moment = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
    assert format_datetime_id(moment, ZoneInfo("Asia/Jakarta")) == \
        "Rabu, 2 Desember 2026 pukul 16.00 WIB"
    assert format_datetime_id(None, ZoneInfo("Asia/Jakarta")) == ""
    assert format_date_id(date(2026, 11, 28), "EEEE, d MMMM y") == "Sabtu, 28 November 2026"
    assert format_month_id(2026, 8) == "Agustus 2026"
