"""The case-data sheet of a recap workbook, written as SpreadsheetML rows directly.

A month of 20,000 cases is half a million cells; openpyxl spends about 15 µs on each (a cell
object, its style, an element for the XML writer), which made the workbook take 8 of the
report's 14 seconds. So openpyxl writes the workbook as usual, with the data sheet's title and
header, and the rows are then added to that sheet's XML here: numbers as numbers, texts as
inline strings (masked, escaped, cleaned of control characters by ``recap.safe_cells``), times as
Excel serial numbers with a date style that openpyxl itself registered. The file stays a plain
workbook that Excel, LibreOffice and openpyxl read like any other.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from recap.document import Pct
from recap.figures import clean
from recap.safe_cells import xlsx_inline_string_xml

DATE_FORMAT = "dd-mm-yyyy hh:mm"
EXCEL_EPOCH = datetime(1899, 12, 30)
ONE_DAY = timedelta(days=1)
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def date_style(ws: Any) -> int:
    """The workbook's style index for a WIB date-time (registered through openpyxl)."""
    cell = WriteOnlyCell(ws, value=EXCEL_EPOCH)
    cell.number_format = DATE_FORMAT
    return cell.style_id


def rows_xml(rows: Sequence[Sequence[Any]], first_row: int, style: int) -> Iterator[str]:
    """``<row>`` elements for ``rows``, numbered from ``first_row``."""
    width = max((len(r) for r in rows), default=0)
    letters = [get_column_letter(i + 1) for i in range(width)]
    for number, row in enumerate(rows, start=first_row):
        parts = [f'<row r="{number}">']
        for letter, value in zip(letters, row):
            if value is None or value == "":
                continue
            ref = f"{letter}{number}"
            if isinstance(value, str):
                parts.append(xlsx_inline_string_xml(ref, clean(value)))
            elif isinstance(value, datetime):
                serial = (value.replace(tzinfo=None) - EXCEL_EPOCH) / ONE_DAY
                parts.append(f'<c r="{ref}" s="{style}"><v>{serial!r}</v></c>')
            elif isinstance(value, Pct):
                if value.value is not None:
                    parts.append(f'<c r="{ref}"><v>{value.value!r}</v></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            else:
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        parts.append("</row>")
        yield "".join(parts)


def _sheet_entry(zf: zipfile.ZipFile, sheet_name: str) -> str:
    """The zip entry of the sheet called ``sheet_name`` (through workbook.xml and its rels)."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rel_id = next(s.get(DOC_REL) for s in workbook.iter(f"{MAIN}sheet") if s.get("name") == sheet_name)
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels.iter(f"{PKG_REL}Relationship")
                  if r.get("Id") == rel_id)
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def append_rows(path: Path, sheet_name: str, rows: Sequence[Sequence[Any]], first_row: int,
                style: int) -> None:
    """Add ``rows`` at the end of the sheet ``sheet_name`` of the saved workbook ``path``."""
    with zipfile.ZipFile(path) as zin:
        entry = _sheet_entry(zin, sheet_name)
        items = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == entry:
                xml = data.decode("utf-8")
                cut = xml.rindex("</sheetData>")
                last = first_row + len(rows) - 1
                columns = get_column_letter(max((len(r) for r in rows), default=1))
                xml = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{columns}{last}"/>',
                             xml[:cut], count=1) + "".join(rows_xml(rows, first_row, style)) + xml[cut:]
                data = xml.encode("utf-8")
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
