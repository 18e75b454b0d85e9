"""Making a recap's files: the figures (``daily``/``monthly``), laid out as a document
(``daily_doc``/``monthly_doc``), written by each writer (``pdf``, ``xlsx``, ``html``) and recorded
(``output``).

It lives apart so that every arrow points one way: this module imports the figures and the
documents; the documents import the figures; the figures import neither.

In a process that stays up all day (``Runtime.resident``: ``aduan run``, ``serve``, ``worker``)
the same functions make the recap in a child process (``recap.child``): the charts, the PDF and
the spreadsheet bring matplotlib, fpdf2 and openpyxl, about 60 MB of code and twice that in
short-lived memory, that would otherwise stay in the process for the rest of the day. The
writers are therefore imported only where the files are made.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.models import User

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

#: The folder holding the ``recap`` package, for the child's import path (a checkout run as
#: ``python main.py`` has no installed package).
ROOT = Path(__file__).resolve().parent.parent


def make_daily_recap(rt: Runtime, day: date, out_dir: Path | None = None,
                     actor: User | None = None, made_by: str | None = None) -> list[Path]:
    """Make the daily recap of ``day``: mark the answered cases recapped, write the PDF, XLSX
    and HTML, record them; return the paths. Raises ``RecapError`` for a day not yet begun."""
    if getattr(rt, "resident", False):
        return make_in_child(rt, "daily", (day.isoformat(),), out_dir, actor, made_by)
    from inbox.notify import notices as notify
    from inbox.sop.workflow import division_scoped
    from recap import html, pdf, xlsx
    from recap.daily import daily_figures
    from recap.daily_doc import daily_document
    from recap.output import write_files
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
    if getattr(rt, "resident", False):
        return make_in_child(rt, "monthly", (year, month), out_dir, actor, made_by)
    from recap import pdf, xlsx
    from recap.monthly import monthly_figures
    from recap.monthly_doc import monthly_document
    from recap.output import write_files
    figures = monthly_figures(rt, year, month)
    doc = monthly_document(rt, figures, actor, made_by)
    return write_files(rt, doc, {"pdf": pdf.write_pdf, "xlsx": xlsx.write_xlsx,
                                 "csv": xlsx.write_csv, "csv_excel": xlsx.write_csv_excel},
                       out_dir, actor)


def make_in_child(rt: Runtime, kind: str, period: tuple[Any, ...], out_dir: Path | None,
                  actor: User | None, made_by: str | None) -> list[Path]:
    """Make a ``daily`` (period: ISO day) or ``monthly`` (period: year, month) recap in a child
    process (``recap.child``) and return its paths. Raises ``RecapError`` as the recap would,
    ``RuntimeError`` when the child failed otherwise (its log lines are logged here).

    The request goes pickled on the child's stdin: the config may hold secrets, which must
    never reach a command line."""
    from recap.figures import RecapError
    request = pickle.dumps({"config": rt.config, "kind": kind, "period": period,
                            "out_dir": str(Path(out_dir).resolve()) if out_dir else None,
                            "actor": actor.id if actor is not None else None,
                            "made_by": made_by})
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-m", "recap.child"], input=request,
                          capture_output=True, env=env)
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        if line.strip():  # the child's own log lines, personal data already masked there
            (log.warning if done.returncode == 0 else log.error)("rekap (proses terpisah): %s", line)
    try:
        answer = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {}
    if "recap_error" in answer:
        raise RecapError(answer["recap_error"])
    if done.returncode != 0 or "paths" not in answer:
        raise RuntimeError(f"the recap's child process failed (exit code {done.returncode})")
    return [Path(p) for p in answer["paths"]]
