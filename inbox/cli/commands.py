"""The core commands of ``aduan`` (DESIGN.md, "Command line"); main.py only dispatches.

Each command is ``cmd_x(args, ctx) -> int`` and prints to ``ctx.out``; other areas (cases,
recaps, classification) register their own sub-commands through ``register`` functions.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from connectors.base import InboundMessage
from inbox import pii
from inbox.cli.common import Context, UserError, print_first_superuser, read_password
from inbox.cli.export import cmd_export
from inbox.cli.status import cmd_status
from inbox.models import ROLES, Account, Division, User
from inbox.setup.config import check_config
from inbox.setup.logs import configure_logging
from inbox.setup.runtime import Runtime, create_user, setup
from inbox.text import one_line

log = logging.getLogger(__name__)


# --- commands -------------------------------------------------------------------------------

def cmd_check_config(args: argparse.Namespace, ctx: Context) -> int:
    """Validate config.toml and list every problem by key."""
    config, findings = check_config(ctx.config_path)
    if findings:
        for finding in findings:
            ctx.print(finding)
        return 1
    ctx.print(f"{ctx.config_path}: OK — {len(config.accounts)} akun, {len(config.divisions)} bidang")
    return 0


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    """Create or migrate the database, sync config, create the first superuser."""
    ctx.runtime(migrate_schema=False, create=True)
    applied, created = setup(ctx.config)
    for name in applied:
        ctx.print(f"migrasi diterapkan: {name}")
    ctx.print(f"database siap: {len(ctx.config.accounts)} akun, {len(ctx.config.divisions)} bidang")
    if created:
        print_first_superuser(ctx, created)
    return 0


def cmd_worker(args: argparse.Namespace, ctx: Context) -> int:
    """The daemon alone: poll accounts, deliver replies, make recaps."""
    from inbox.run.daemon import Daemon
    runtime = ctx.runtime()  # before the log folder: no folder for a database that is not there
    configure_logging(log_dir=ctx.config.data_dir / "logs")
    setup(ctx.config)
    return Daemon(runtime).run()


def cmd_poll(args: argparse.Namespace, ctx: Context) -> int:
    """Poll every (or one) account once now; a line per account."""
    from inbox.run.daemon import Daemon
    runtime = ctx.runtime()
    setup(ctx.config)
    names = [args.account] if args.account else list(ctx.config.accounts)
    if args.account and args.account not in ctx.config.accounts:
        raise UserError(f"akun {args.account!r} tidak ada di {ctx.config_path}")
    daemon = Daemon(runtime)
    failed = False
    for name in names:
        outcome = daemon.poll_account(name)
        ctx.print(outcome.line())
        failed |= not outcome.ok
    return 1 if failed else 0


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    """Ingest normalised messages from a JSONL file; bad lines are reported and skipped."""
    from inbox.arrive.ingest import ingest
    runtime = ctx.runtime()
    setup(ctx.config)
    accounts = {a.name: a for a in Account.select()}
    path = Path(args.jsonl)
    if not path.exists():
        raise UserError(f"{path}: berkas tidak ditemukan")
    rejected, stored, duplicates = 0, 0, 0
    batch: dict[str, list[InboundMessage]] = {}

    def flush() -> None:
        nonlocal stored, duplicates
        for name, messages in batch.items():
            report = ingest(accounts[name], messages, None, runtime.ingest_options)
            stored += report.stored
            duplicates += report.duplicates
        batch.clear()

    with open(path, encoding="utf-8") as fh:
        pending = 0
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("harus berupa objek JSON ({...})")
                name = data.get("account")
                if not isinstance(name, str) or not name:
                    raise ValueError("kolom 'account' tidak ada")
                if name not in accounts or name not in ctx.config.accounts:
                    raise ValueError(f"akun {name!r} tidak ada di {ctx.config_path}")
                message = InboundMessage.from_dict(data)
            except json.JSONDecodeError as exc:
                rejected += 1
                print(f"baris {number}: bukan JSON yang sah (kolom {exc.colno})", file=sys.stderr)
                continue
            except (ValueError, TypeError) as exc:
                rejected += 1
                # the reason may quote the bad value, which may be a NIK
                print(f"baris {number}: {pii.mask(one_line(str(exc)))}", file=sys.stderr)
                continue
            batch.setdefault(name, []).append(message)
            pending += 1
            if pending >= 500:
                flush()
                pending = 0
        flush()
    ctx.print(f"{stored} pesan disimpan, {duplicates} sudah ada, {rejected} baris ditolak")
    return 1 if rejected else 0


def cmd_user_add(args: argparse.Namespace, ctx: Context) -> int:
    """Add a user; the password is read from stdin or prompted."""
    ctx.runtime()
    setup(ctx.config)
    if User.select().where(User.username == args.name).exists():
        raise UserError(f"pengguna {args.name!r} sudah ada")
    division = None
    if args.role == "division":
        if not args.division:
            raise UserError("--role division perlu --division KODE (kode bidang)")
        division = Division.get_or_none((Division.code == args.division) & (Division.active == True))  # noqa: E712
        if division is None:
            codes = ", ".join(d.code for d in Division.select().where(Division.active == True))  # noqa: E712
            raise UserError(f"bidang {args.division!r} tidak ada (ada: {codes})")
    password = read_password()
    from inbox.passwords import password_problem
    problem = password_problem(password, None, args.name)
    if problem:
        raise UserError(problem)
    create_user(args.name, password, args.role, division, is_superuser=args.superuser,
                full_name=args.full_name or "")
    ctx.print(f"pengguna {args.name} ({ROLES[args.role]}) dibuat")
    return 0


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    """The daemon (and the web, when installed) together: the normal way to run one office."""
    from inbox.run.daemon import Daemon
    runtime = ctx.runtime(create=True)  # the first start makes the database, and says so
    configure_logging(log_dir=ctx.config.data_dir / "logs")
    _, created = setup(ctx.config)
    if created:
        print_first_superuser(ctx, created)
    server = start_web_if_available(runtime, ctx)
    try:
        return Daemon(runtime).run()
    finally:
        if server is not None:
            server.close()


def start_web_if_available(runtime: Runtime, ctx: Context) -> Any:
    try:
        from inbox.cli.serve import start_in_thread
    except ImportError:
        return None
    return start_in_thread(runtime, ctx)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan", description="Kotak masuk pengaduan media sosial")
    parser.add_argument("--config", help="config file (default: $ADUAN_CONFIG or ./config.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    add("check-config", cmd_check_config, "validate config.toml")
    add("init", cmd_init, "create or migrate the database and the first superuser")
    add("run", cmd_run, "the daemon and the web together")
    add("worker", cmd_worker, "the daemon alone")
    p = add("poll", cmd_poll, "poll every (or one) account once")
    p.add_argument("--account")
    p = add("import", cmd_import, "ingest normalised messages from JSONL")
    p.add_argument("--jsonl", required=True)
    p = add("status", cmd_status, "accounts' health and case counts")
    p.add_argument("--json", action="store_true")
    p = add("export", cmd_export, "cases with messages and events")
    p.add_argument("--format", choices=["csv", "csv-excel", "jsonl", "lapor"], default="jsonl",
                   help="csv-excel: semicolons and a byte-order mark, for Excel in Indonesia; "
                        "lapor: the fields an admin re-types into SP4N-LAPOR! (CSV for Excel, "
                        "or XLSX when --out ends in .xlsx)")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--month", help="lapor: only the cases received in this month (YYYY-MM)")
    p.add_argument("--linked-only", action="store_true",
                   help="lapor: only the cases with a LAPOR! tracking ID")
    p.add_argument("--unmasked", action="store_true", help="superuser only; recorded as an event")
    p.add_argument("--as", dest="as_user",
                   help="the superuser asking for unmasked data (their password is asked)")
    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION")
    p = user_sub.add_parser("add", help="add a user (password from stdin or prompt)")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=sorted(ROLES))
    p.add_argument("--division")
    p.add_argument("--superuser", action="store_true")
    p.add_argument("--full-name")
    p.set_defaults(func=cmd_user_add)
    for register in extra_registrations():
        register(sub, add)
    return parser


def extra_registrations() -> list[Any]:
    """Sub-commands of other areas: cases (SOP), recaps, classification, web."""
    from inbox.cli.backups import register as register_backup
    from inbox.cli.cases import register as register_cases
    from inbox.cli.classifier import register as register_classify
    from inbox.cli.privacy import register as register_privacy
    from inbox.cli.recaps import register as register_recaps
    from inbox.cli.reprocess import register as register_setaside
    from inbox.cli.serve import register as register_web
    from inbox.cli.service import register as register_service
    from inbox.cli.suggest import register as register_suggest
    from inbox.cli.webhook_check import register as register_webhook
    return [register_web, register_cases, register_classify, register_recaps, register_setaside,
            register_webhook, register_backup, register_service, register_privacy,
            register_suggest]
