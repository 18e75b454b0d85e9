"""A recap document as an XLSX workbook (one sheet per table, plus the case data) and the case
data as CSV.

The workbook is written in openpyxl's write-only mode: a month of 20,000 cases streams to disk
instead of building a cell object per value in memory. Numbers stay numbers (shares carry a
percent format, times are Excel date-times in WIB), so the team can sum and filter.
"""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from recap import xlsx_data
from recap.document import Document, Pct, Table, text
from recap.figures import clean
from recap.safe_cells import csv_text, csv_value, xlsx_cell, xlsx_text_cell

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="DEE8F3")
WRAP = Alignment(wrap_text=True, vertical="top")
MAX_WIDTH = 60
SHEET_CHARS = '[]:*?/\\'


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join("-" if ch in SHEET_CHARS else ch for ch in clean(name))[:31] or "Tabel"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _value(value: Any) -> Any:
    """A cell value as openpyxl takes it (text masked, WIB time without its zone)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _widths(table: Table, sample: int = 400) -> list[float]:
    widths = [len(c) for c in table.columns]
    for row in table.rows[:sample]:
        for i, value in enumerate(row):
            longest = max((len(part) for part in text(value).splitlines()), default=0)
            widths[i] = max(widths[i], 16 if isinstance(value, datetime) else longest)
    return [min(w + 2, MAX_WIDTH) for w in widths]


def _styled(ws: Any, value: Any, font: Font | None = None, fill: PatternFill | None = None,
            fmt: str | None = None, wrap: bool = False) -> WriteOnlyCell:
    cell = xlsx_text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt
    if wrap:
        cell.alignment = WRAP
    return cell


def _write_head(ws: Any, table: Table, heading: list[str]) -> int:
    """Column widths, title lines and the header row; return the first data row's number."""
    # Write-only sheets write their header at the first row: widths and panes come first.
    for i, width in enumerate(_widths(table), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    first_row = len(heading) + 3
    ws.freeze_panes = f"A{first_row}"
    for k, line in enumerate(heading):
        ws.append([_styled(ws, clean(line), TITLE if k == 0 else None)])
    ws.append([])
    ws.append([_styled(ws, clean(c), BOLD, HEADER_FILL, wrap=True) for c in table.columns])
    return first_row


def _write_table(ws: Any, table: Table, heading: list[str]) -> None:
    _write_head(ws, table, heading)
    multiline = {i for i, c in enumerate(table.columns)
                 if any("\n" in str(r[i]) for r in table.rows[:50] if isinstance(r[i], str))}
    for row in table.rows:
        out = []
        for i, value in enumerate(row):
            if isinstance(value, Pct):
                out.append(_styled(ws, value.value, fmt="0.0%"))
            elif i in multiline:
                out.append(_styled(ws, _value(value), wrap=True))
            else:
                out.append(xlsx_cell(ws, _value(value)))
        ws.append(out)
    if table.note:
        ws.append([])
        ws.append([xlsx_cell(ws, clean(table.note))])


def write_xlsx(doc: Document, path: Path) -> None:
    wb = Workbook(write_only=True)
    used: set[str] = set()
    for n, table in enumerate(t for t in doc.tables() if t.sheet):
        ws = wb.create_sheet(_sheet_name(table.sheet, used))
        heading = [doc.title, *doc.subtitle.splitlines(), table.title] if n == 0 \
            else [table.title, doc.title]
        _write_table(ws, table, heading)
    data = doc.data
    if data is None:
        wb.save(path)
        return
    # The case data: header here, rows added to the saved file (see recap.xlsx_data).
    name = _sheet_name(data.sheet or data.title, used)
    ws = wb.create_sheet(name)
    first_row = _write_head(ws, data, [data.title, doc.title])
    last = get_column_letter(len(data.columns))
    ws.auto_filter.ref = f"A{first_row - 1}:{last}{first_row + max(len(data.rows), 1) - 1}"
    style = xlsx_data.date_style(ws)
    wb.save(path)
    xlsx_data.append_rows(Path(path), name, data.rows, first_row, style)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Pct):
        return "" if value.value is None else f"{value.value:.4f}"
    if isinstance(value, str):
        return csv_text(clean(value))
    return value


def write_csv(doc: Document, path: Path) -> None:
    """The case data (UTF-8 with a byte-order mark, so Excel on Windows reads the accents)."""
    table = doc.data
    if table is None:
        raise ValueError(f"{doc.stem} has no case data to write as CSV")
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_value(clean(c)) for c in table.columns])
        for row in table.rows:
            writer.writerow([_csv_value(v) for v in row])


def write_csv_excel(doc: Document, path: Path) -> None:
    """The case data as Excel with Indonesian regional settings opens it by double-click.

    There the list separator is ``;`` and the decimal mark ``,``: a comma-separated file lands
    in one column. So: ``;`` between cells, ``,`` in decimals, UTF-8 with a byte-order mark (a
    ``sep=;`` first line would also work but makes Excel ignore the mark and garble accents)."""
    table = doc.data
    if table is None:
        raise ValueError(f"{doc.stem} has no case data to write as CSV")
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([clean(c) for c in table.columns])
        for row in table.rows:
            writer.writerow([_excel_decimal(v, _csv_value(v)) for v in row])


def _excel_decimal(original: Any, value: Any) -> Any:
    """``0,9250`` for a number with a fraction; text and whole numbers unchanged."""
    if isinstance(original, (float, Pct)) and not isinstance(original, bool) and value != "":
        return str(value).replace(".", ",")
    return value
