"""The recaps page: the daily recaps and monthly reports made so far, their files, and buttons
to make one now (SOP step 5)."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for

from inbox.dates import format_date_id, format_month_id
from inbox.labels import LABELS
from inbox.models import Recap, utcnow
from inbox.sop.workflow import division_scoped
from inbox.web.auth import login_required, roles_required
from inbox.web.current import runtime

log = logging.getLogger(__name__)

bp = Blueprint("recaps", __name__)

KIND_LABELS = LABELS["recap_kind"]
FORMAT_LABELS = LABELS["format"]
MAKERS = ("admin", "group_admin")


def recap_file(path_text: str) -> Path | None:
    """The recap file, only when it lies inside the data folder's ``recaps`` folder and exists.

    Not merely inside the data folder: a ``Recap`` row pointing at ``secret_key``, ``aduan.db``
    or a KTP photo (a restored or edited database) must not serve it."""
    data_dir = Path(runtime().data_dir)
    root = (data_dir / "recaps").resolve()
    path = Path(path_text)
    path = (path if path.is_absolute() else data_dir / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@bp.route("/rekap")
@login_required
def index() -> str:
    """The recap files made so far, newest first, and the make-now forms."""
    today = utcnow().astimezone(runtime().config.tz).date()
    # The recaps are office-wide (every bidang's cases and officers): a division user, who may
    # open only its own bidang's cases, gets none of them, as it gets none of those cases.
    recaps = [] if division_scoped(g.user) else list(
        Recap.select().order_by(Recap.created_at.desc(), Recap.id.desc()).limit(200))
    can_make = g.user.is_superuser or g.user.role in MAKERS
    return render_template("recaps.html", recaps=recaps, kinds=KIND_LABELS, formats=FORMAT_LABELS,
                           today=today, this_month=today.strftime("%Y-%m"), can_make=can_make,
                           period_label=period_label, scoped=division_scoped(g.user), maker=maker)


#: Who made a recap when no officer did (``Recap.made_by``), as the list says it.
MADE_BY = {"schedule": "otomatis (jadwal aduan)",
           "command": "perintah aduan recap di komputer aduan"}


def maker(recap: Recap) -> str:
    """The officer who made the file, or the schedule or a command; a file from before this was
    recorded says so instead of guessing."""
    if recap.created_by is not None:
        return recap.created_by.display_name
    return MADE_BY.get(recap.made_by, "tidak tercatat (dibuat sebelum pencatatan pembuat)")


def period_label(recap: Recap) -> str:
    try:
        if recap.kind == "monthly":
            year, month = recap.period.split("-")[:2]
            return format_month_id(int(year), int(month))
        from inbox.dates import format_date_id
        return format_date_id(date.fromisoformat(recap.period), "EEEE, d MMMM y")
    except (ValueError, TypeError):
        return recap.period


@bp.route("/rekap/<int:recap_id>/unduh")
@login_required
def download(recap_id: int) -> Any:
    """Download one recap file (not for a division user: a recap covers every bidang)."""
    if division_scoped(g.user):
        abort(403)
    recap = Recap.get_or_none(Recap.id == recap_id)
    path = recap_file(recap.path) if recap is not None else None
    if path is None:
        abort(404)
    # A web page or a PDF opens in the browser (an HTML recap is meant to be read there);
    # a spreadsheet downloads.
    inline = path.suffix in (".html", ".pdf")
    response = send_file(path, as_attachment=not inline, download_name=path.name)
    if path.suffix == ".html":
        # The recap carries its own <style> (it is also a file to e-mail); it may style itself
        # but run nothing. The app's headers fill in the rest without replacing this one.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
    return response


@bp.route("/rekap/buat-harian", methods=["POST"])
@roles_required(*MAKERS)
def make_daily() -> Any:
    """Make the daily recap of one day now."""
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        flash("Tanggal tidak valid.", "error")
        return redirect(url_for("recaps.index"))
    from recap.figures import RecapError
    from recap.make import make_daily_recap
    try:
        paths = make_daily_recap(runtime(), day, actor=g.user)
    except RecapError as exc:  # a day not yet begun
        flash(str(exc), "error")
        return redirect(url_for("recaps.index"))
    flash(f"Rekap harian {format_date_id(day, 'EEEE, d MMMM y')} dibuat ({len(paths)} berkas).",
          "success")
    return redirect(url_for("recaps.index"))


@bp.route("/rekap/buat-bulanan", methods=["POST"])
@roles_required(*MAKERS)
def make_monthly() -> Any:
    """Make the monthly report of one month now."""
    try:
        year, month = (int(p) for p in request.form.get("month", "").split("-"))
        label = format_month_id(year, month)
    except (ValueError, TypeError):
        flash("Bulan tidak valid.", "error")
        return redirect(url_for("recaps.index"))
    from recap.figures import RecapError
    from recap.make import make_monthly_report
    try:
        paths = make_monthly_report(runtime(), year, month, actor=g.user)
    except RecapError as exc:  # a month not yet begun
        flash(str(exc), "error")
        return redirect(url_for("recaps.index"))
    flash(f"Laporan bulanan {label} dibuat ({len(paths)} berkas).", "success")
    return redirect(url_for("recaps.index"))
