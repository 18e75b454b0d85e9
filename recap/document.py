"""A recap as plain data: sections of tables and charts that every writer (PDF, HTML, XLSX, CSV)
renders the same way, so a number can never differ between two files of the same recap.

Cell values are ``int``, ``float``, :class:`Pct`, ``str``, ``None`` or an aware ``datetime``
already in the office's time zone. Writers pass every text through ``figures.clean`` (personal
data masked) on its way out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recap.figures import clean

DASH = "–"


@dataclass(frozen=True)
class Pct:
    """A share (0..1), written ``92,5%``; None when there is nothing to divide."""

    value: float | None

    def __str__(self) -> str:
        return DASH if self.value is None else f"{self.value * 100:.1f}".replace(".", ",") + "%"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    sheet: str = ""                      # XLSX sheet name (<= 31 characters); empty: no sheet
    widths: list[float] | None = None    # relative column widths in the PDF
    note: str = ""
    pdf_limit: int | None = None         # rows shown in the PDF/HTML (the XLSX has them all)
    in_pdf: bool = True
    wide: bool = False                   # a list of cases: printed on a landscape page

    def numeric(self, column: int) -> bool:
        """True when the column holds only numbers (or nothing): it is right-aligned."""
        return all(isinstance(r[column], (int, float, Pct)) or r[column] is None for r in self.rows)


@dataclass
class Chart:
    title: str
    png: bytes
    bars: list[tuple[str, int]] = field(default_factory=list)  # what a bar chart draws, in order


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass
class Cover:
    office: str
    title: str
    period: str
    legal_basis: str
    made: str


@dataclass
class Document:
    kind: str           # daily | monthly
    period_key: str     # 2026-11-28 | 2026-11
    stem: str           # file name without extension
    title: str
    subtitle: str
    footer: str
    sections: list[Section]
    cover: Cover | None = None
    data: Table | None = None  # the case-level data (XLSX sheet and CSV), not printed
    # Issue 28: made from practice data alone (marked on every page, never the office's record);
    # the letterhead, number and signature block (recap.official); who made it when no officer
    # did ("schedule" | "command", recorded on the Recap rows).
    practice: bool = False
    official: Any = None
    made_by: str = ""

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


def text(value: Any) -> str:
    """A cell as printed: Indonesian number formats, masked text."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H.%M")
    return clean(str(value))


def change(current: float | None, previous: float | None, percent_points: bool = False) -> str:
    """``+3 (naik 12,0%)``, ``-2 (turun 40,0%)``, ``tetap``; ``pp`` for shares."""
    if current is None or previous is None:
        return DASH
    diff = current - previous
    if percent_points:
        if abs(diff) < 0.0005:
            return "tetap"
        return f"{'+' if diff > 0 else '−'}{abs(diff) * 100:.1f} poin".replace(".", ",")
    if diff == 0:
        return "tetap"
    sign = "+" if diff > 0 else "−"
    amount = text(abs(diff)) if isinstance(diff, int) else f"{abs(diff):.1f}".replace(".", ",")
    if not previous:
        return f"{sign}{amount}"
    word = "naik" if diff > 0 else "turun"
    ratio = f"{abs(diff) / previous * 100:.1f}".replace(".", ",")
    return f"{sign}{amount} ({word} {ratio}%)"
