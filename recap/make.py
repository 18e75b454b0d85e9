"""Making a recap's files: the figures (``daily``/``monthly``), laid out as a document
(``daily_doc``/``monthly_doc``), written by each writer (``pdf``, ``xlsx``, ``html``) and recorded
(``output``).

It lives apart so that every arrow points one way: this module imports the figures and the
documents; the documents import the figures; the figures import neither.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from inbox.models import User
from inbox.notify import notices as notify
from inbox.sop.workflow import division_scoped
from recap import html, pdf, xlsx
from recap.daily import daily_figures
from recap.daily_doc import daily_document
from recap.monthly import monthly_figures
from recap.monthly_doc import monthly_document
from recap.output import write_files

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime


def make_daily_recap(rt: Runtime, day: date, out_dir: Path | None = None,
                     actor: User | None = None, made_by: str | None = None) -> list[Path]:
    """Make the daily recap of ``day``: mark the answered cases recapped, write the PDF, XLSX
    and HTML, record them; return the paths. Raises ``RecapError`` for a day not yet begun."""
    doc = daily_document(rt, daily_figures(rt, day, actor), actor, made_by)
    paths = write_files(rt, doc, {"pdf": pdf.write_pdf, "xlsx": xlsx.write_xlsx,
                                  "html": html.write_html}, out_dir, actor)
    if actor is None or not division_scoped(actor):  # a bidang's own recap is not the office's
        notify.recap_made(rt.config, day)
    return paths


def make_monthly_report(rt: Runtime, year: int, month: int, out_dir: Path | None = None,
                        actor: User | None = None, made_by: str | None = None) -> list[Path]:
    """Make the report of ``year``-``month``: PDF, XLSX and CSV, recorded; return the paths.
    Raises ``RecapError`` for a month not yet begun."""
    figures = monthly_figures(rt, year, month)
    doc = monthly_document(rt, figures, actor, made_by)
    return write_files(rt, doc, {"pdf": pdf.write_pdf, "xlsx": xlsx.write_xlsx,
                                 "csv": xlsx.write_csv, "csv_excel": xlsx.write_csv_excel},
                       out_dir, actor)
