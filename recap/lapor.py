"""The office's cases as SP4N-LAPOR! reports: one ``LaporReport`` per case with the fields an
admin re-types into LAPOR! (judul, isi, kategori, klasifikasi, kanal, tanggal masuk, status in
LAPOR!'s words, tindak lanjut, tanggal selesai, tracking ID), written for Excel with Indonesian
settings (CSV: ``;`` and a byte-order mark) or as XLSX (``aduan export --format lapor``).

LAPOR!'s integration API is open only to registered developers and its fields are not public
(peer-systems.md §4), so there is no sync yet. When an office gets access, a sync is one more
writer of the same reports: ``reports()`` gives them, ``status_of`` is the mapping a sync would
send, and ``WRITERS`` is where a sink that posts them would sit beside the file writers.

Personal data is masked (``pii.mask``) in every text unless the caller asks for it unmasked (a
superuser, as for the other exports). The maladministration type is never in a report: LAPOR!
reports are read by the citizen.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox import pii
from inbox.labels import CATEGORY_LABELS, REPORT_TYPES, label
from inbox.models import Case, Message
from inbox.records.practice import scope as practice_scope
from inbox.understand.lapor import report_type_of
from recap.safe_cells import csv_value

TITLE_CHARS = 80
#: The export's columns, in order (the dataclass's fields give the keys).
COLUMNS = ["Nomor aduan", "Judul", "Isi", "Kategori", "Klasifikasi", "Kanal", "Tanggal masuk",
           "Status", "Tindak lanjut", "Tanggal selesai", "Tracking ID LAPOR!", "Dialihkan ke"]


def status_of(case: Any) -> str:
    """A case's stage in LAPOR!'s words (``lapor_status`` labels): diterima (new), diverifikasi
    (the admin passed it to the group admin), didisposisi (at a bidang), ditindaklanjuti (the
    bidang answered, the answer is going out, or a class's follow-up still runs), selesai,
    bukan_wewenang; a dismissed non-complaint is diarsipkan. ``case`` is a ``Case`` or a
    ``recap.figures.CaseRow``."""
    status = case.status
    if case.referred_to and status in ("answered", "not_complaint"):
        return "bukan_wewenang"
    if status == "not_complaint":
        return "diarsipkan"
    if status == "answered":
        return "ditindaklanjuti" if case.complaint_class and case.resolved_at is None else "selesai"
    return {"new": "diterima", "escalated": "diverifikasi", "at_division": "didisposisi"}.get(
        status, "ditindaklanjuti")


@dataclass
class LaporReport:
    reference: str
    title: str
    body: str
    category: str
    classification: str
    channel: str
    received_at: datetime
    status: str
    follow_up: str
    finished_at: datetime | None
    tracking_id: str
    referred_to: str


def _title(case: Case, clean: Callable[[str], str]) -> str:
    """A short masked summary: the main category and the start of the first message."""
    text = " ".join(clean(case.summary or "").split())
    if len(text) > TITLE_CHARS:
        text = text[:TITLE_CHARS - 1].rstrip() + "…"
    first = CATEGORY_LABELS.get(case.effective_categories[0]) if case.effective_categories else None
    return f"{first}: {text}" if first and text else text or first or case.reference


def _answer(case: Case) -> str:
    """The office's last answer to the citizen, what LAPOR! calls the tindak lanjut when no
    follow-up of a class was recorded."""
    last = (Message.select(Message.text).where((Message.case == case) & (Message.direction == "out"))
            .order_by(Message.created_at.desc(), Message.id.desc()).first())
    return last.text if last else ""


def report_of(case: Case, unmasked: bool = False) -> LaporReport:
    clean = (lambda t: t) if unmasked else pii.mask
    inbound = [m.text for m in case.messages.where(Message.direction == "in")
               .order_by(Message.created_at, Message.id)]
    finished = case.resolved_at if case.complaint_class and not case.referred_to else None
    if finished is None and case.status in ("answered", "not_complaint"):
        finished = case.closed_at or case.answered_at
    kind = report_type_of(case.report_type, case.effective_intent)
    return LaporReport(
        reference=case.reference, title=_title(case, clean),
        body=clean("\n".join(t for t in inbound if t)),
        category="Administrasi Kependudukan — " + (", ".join(
            CATEGORY_LABELS.get(c, c) for c in case.effective_categories) or "lainnya"),
        classification=REPORT_TYPES.get(kind or "", ""),
        channel=label("channel", case.account.kind),
        received_at=case.opened_at, status=label("lapor_status", status_of(case)),
        follow_up=clean(case.follow_up or _answer(case)), finished_at=finished,
        tracking_id=case.lapor_tracking_id or "", referred_to=case.referred_to or "")


def selected_cases(month: tuple[int, int] | None = None, tz: Any = None,
                   linked_only: bool = False) -> Any:
    """The cases an admin reports in LAPOR!: every case except a dismissed non-complaint
    (thanks, spam, greetings) and practice (``inbox.records.practice``), oldest first; of one
    WIB month of receipt, or only those with a tracking ID."""
    query = practice_scope().narrow(Case.select().where((Case.status != "not_complaint")
                                               | Case.referred_to.is_null(False)))
    if month is not None:
        from recap.figures import month_period
        p = month_period(month[0], month[1], tz)
        query = query.where((Case.opened_at >= p.start) & (Case.opened_at < p.end))
    if linked_only:
        query = query.where(Case.lapor_tracking_id.is_null(False))
    return query.order_by(Case.opened_at, Case.id)


def reports(cases: Iterable[Case], unmasked: bool = False) -> Iterator[LaporReport]:
    for case in cases:
        yield report_of(case, unmasked)


def _local(value: datetime | None, tz: Any) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def write_csv_excel(found: Iterable[LaporReport], out: Any, tz: Any) -> int:
    """CSV for Excel with Indonesian settings (``;``, UTF-8 with a byte-order mark, times as
    ``YYYY-MM-DD HH:MM`` WIB, which Excel reads as dates in any locale); returns the rows."""
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(COLUMNS)
    n = 0
    for report in found:
        row = []
        for value in astuple(report):
            if isinstance(value, datetime):
                value = _local(value, tz).strftime("%Y-%m-%d %H:%M")
            row.append(csv_value(value if value is not None else ""))
        writer.writerow(row)
        n += 1
    return n


def write_xlsx(found: Iterable[LaporReport], path: Path, tz: Any) -> int:
    """One sheet, a row per case; times are real Excel date-times in WIB."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from recap.safe_cells import xlsx_cell
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Laporan LAPOR!")
    widths = [18, 40, 60, 30, 18, 14, 17, 16, 50, 17, 18, 28]
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    header = []
    for name in COLUMNS:
        cell = xlsx_cell(ws, name)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    n = 0
    for report in found:
        cells = []
        for f, value in zip(fields(report), astuple(report)):
            if isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=_local(value, tz))
                cell.number_format = "dd-mm-yyyy hh:mm"
            else:
                cell = xlsx_cell(ws, value if value is not None else "")
                if f.name in ("body", "follow_up"):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        ws.append(cells)
        n += 1
    wb.save(path)
    return n


#: Where reports can go: the two files today; an API sink for LAPOR!'s integration would be added
#: here when an office is granted access.
WRITERS = {"csv-excel": write_csv_excel, "xlsx": write_xlsx}
