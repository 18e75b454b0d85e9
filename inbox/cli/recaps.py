"""``aduan recap daily [--date D]`` and ``aduan recap monthly [--month YYYY-MM]`` (``--out DIR``):
make the files now and print their paths, one per line."""
from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from inbox.models import utcnow
from recap.figures import RecapError


def _error(message: str) -> Exception:
    from inbox.cli.common import UserError
    return UserError(message, 2)


def parse_day(value: str | None, tz: Any) -> date:
    if value is None:
        return utcnow().astimezone(tz).date()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(value)
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _error(f"--date {value!r} bukan tanggal yang valid; tulis seperti 2026-11-28.") from None


def parse_month(value: str | None, tz: Any) -> tuple[int, int]:
    if value is None:
        previous = utcnow().astimezone(tz).date().replace(day=1) - timedelta(days=1)
        return previous.year, previous.month
    found = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise _error(f"--month {value!r} bukan bulan yang valid; tulis seperti 2026-11.")
    return int(found.group(1)), int(found.group(2))


def _who(args: argparse.Namespace) -> dict[str, Any]:
    """A recap asked for here was asked for by a person: the ``--as`` user, else the command."""
    from inbox.cli.common import user_by_name
    from recap.official import BY_COMMAND
    if args.as_user:
        return {"actor": user_by_name(args.as_user)}
    return {"made_by": BY_COMMAND}


def cmd_daily(args: argparse.Namespace, ctx: Any) -> int:
    """Make the daily recap of a day (default: today, WIB)."""
    from recap.make import make_daily_recap
    day = parse_day(args.date, ctx.config.tz)
    rt = ctx.runtime()
    try:
        paths = make_daily_recap(rt, day, out_dir=Path(args.out) if args.out else None,
                                 **_who(args))
    except RecapError as exc:
        raise _error(str(exc)) from None
    for path in paths:
        ctx.print(path)
    return 0


def cmd_monthly(args: argparse.Namespace, ctx: Any) -> int:
    """Make the monthly report of a month (default: the previous month)."""
    from recap.make import make_monthly_report
    year, month = parse_month(args.month, ctx.config.tz)
    rt = ctx.runtime()
    try:
        paths = make_monthly_report(rt, year, month, out_dir=Path(args.out) if args.out else None,
                                    **_who(args))
    except RecapError as exc:
        raise _error(str(exc)) from None
    for path in paths:
        ctx.print(path)
    return 0


def register(sub: Any, add: Any) -> None:
    recap = sub.add_parser("recap", help="buat rekap harian atau laporan bulanan sekarang")
    kinds = recap.add_subparsers(dest="recap_command", metavar="JENIS", required=True, title="jenis")
    p = kinds.add_parser("daily", help="rekap harian: PDF, XLSX, HTML")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--date", metavar="TTTT-BB-HH", help="tanggalnya (bawaan: hari ini, WIB)")
    p.add_argument("--out", metavar="FOLDER", help="folder berkas (bawaan: data/recaps)")
    p.add_argument("--as", dest="as_user", metavar="PENGGUNA",
                   help="petugas yang membuatnya (disebut di rekap)")
    p.set_defaults(func=cmd_daily)
    p = kinds.add_parser("monthly", help="laporan bulanan: PDF, XLSX, CSV")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--month", metavar="TTTT-BB", help="bulannya (bawaan: bulan sebelumnya)")
    p.add_argument("--out", metavar="FOLDER", help="folder berkas (bawaan: data/recaps)")
    p.add_argument("--as", dest="as_user", metavar="PENGGUNA",
                   help="petugas yang membuatnya (disebut di laporan)")
    p.set_defaults(func=cmd_monthly)
