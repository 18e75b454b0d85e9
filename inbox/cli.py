"""The core commands of ``aduan`` (DESIGN.md, "Command line"); main.py only dispatches.

Each command is ``cmd_x(args, ctx) -> int`` and prints to ``ctx.out``; other areas (cases,
recaps, classification) register their own sub-commands through ``register`` functions.
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import peewee

from connectors.base import InboundMessage
from inbox import pii
from inbox.backup_schedule import backup_health
from inbox.cli_common import Context, UserError, print_first_superuser, user_by_name
from inbox.config import check_config
from inbox.dates import format_datetime_id
from inbox.labels import label
from inbox.models import (OPEN_STATUSES, ROLES, Account, Case, Division, Event, Message, Outbox,
                          Usage, User, utcnow)
from inbox.runtime import Runtime, configure_logging, create_user, setup
from inbox.setaside import counts as set_aside_counts

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
    ctx.runtime(migrate_schema=False)
    applied, created = setup(ctx.config)
    for name in applied:
        ctx.print(f"migrasi diterapkan: {name}")
    ctx.print(f"database siap: {len(ctx.config.accounts)} akun, {len(ctx.config.divisions)} bidang")
    if created:
        print_first_superuser(ctx, created)
    return 0


def cmd_worker(args: argparse.Namespace, ctx: Context) -> int:
    """The daemon alone: poll accounts, deliver replies, make recaps."""
    from inbox.daemon import Daemon
    configure_logging(log_dir=ctx.config.data_dir / "logs")
    runtime = ctx.runtime()
    setup(ctx.config)
    return Daemon(runtime).run()


def cmd_poll(args: argparse.Namespace, ctx: Context) -> int:
    """Poll every (or one) account once now; a line per account."""
    from inbox.daemon import Daemon
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
    from inbox.ingest import ingest
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
                print(f"baris {number}: {pii.mask(str(exc))}", file=sys.stderr)
                continue
            batch.setdefault(name, []).append(message)
            pending += 1
            if pending >= 500:
                flush()
                pending = 0
        flush()
    ctx.print(f"{stored} pesan disimpan, {duplicates} sudah ada, {rejected} baris ditolak")
    return 1 if rejected else 0


def status_data(runtime: Runtime) -> dict[str, Any]:
    now = utcnow()
    today = now.astimezone(runtime.config.tz).date()  # usage is counted by the office's day
    usage = {u.account_id: u for u in Usage.select().where(Usage.day == today)}
    aside = set_aside_counts(runtime.config.tz, now)
    accounts = []
    for acc in Account.select().where(Account.name.in_(list(runtime.config.accounts))).order_by(Account.name):
        u = usage.get(acc.id)
        accounts.append({
            "name": acc.name, "kind": acc.kind, "label": acc.label, "enabled": acc.enabled,
            "last_poll_at": iso(acc.last_poll_at), "last_success_at": iso(acc.last_success_at),
            "next_poll_at": iso(acc.next_poll_at), "last_error": acc.last_error,
            "last_error_at": iso(acc.last_error_at), "consecutive_failures": acc.consecutive_failures,
            "disabled_reason": acc.disabled_reason, "warning": acc.warning,
            "usage_today": {"requests": u.requests if u else 0, "resources": u.resources if u else 0,
                            "messages": u.messages if u else 0},
            "set_aside": aside.get(acc.id, {"today": 0, "total": 0}),
        })
    by_status = {status: count for status, count in
                 Case.select(Case.status, peewee.fn.COUNT(Case.id)).group_by(Case.status).tuples()}
    return {
        "generated_at": iso(now),
        "accounts": accounts,
        "cases": {"total": sum(by_status.values()), "by_status": by_status,
                  "open": sum(by_status.get(s, 0) for s in OPEN_STATUSES),
                  "overdue": Case.overdue(now).count()},
        # replies waiting, and those that need a person: failed, or sent with no confirmation
        "outbox": {status: count for status, count in
                   Outbox.select(Outbox.status, peewee.fn.COUNT(Outbox.id))
                   .where(Outbox.status != "sent").group_by(Outbox.status).tuples()},
        "backup": backup_health(runtime.config, now),
    }


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    """Accounts' health, cases by status, overdue count."""
    data = status_data(ctx.runtime())
    if args.json:
        ctx.print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    tz = ctx.config.tz
    for acc in data["accounts"]:
        health = ("NONAKTIF: " + acc["disabled_reason"]) if acc["disabled_reason"] else \
            ("galat: " + acc["last_error"]) if acc["last_error"] else "sehat"
        ctx.print(f"{acc['name']:<20} {acc['kind']:<10} terakhir {local_time(acc['last_success_at'], tz)}  {health}"
                  f"  (hari ini {acc['usage_today']['requests']} permintaan, "
                  f"{acc['usage_today']['resources']} item)")
        if acc["warning"]:
            ctx.print(f"{'':<20} peringatan: {acc['warning']}")
        if acc["set_aside"]["total"]:
            ctx.print(f"{'':<20} disisihkan (tidak terbaca): hari ini {acc['set_aside']['today']}, "
                      f"total {acc['set_aside']['total']}; lihat dasbor atau jalankan aduan reprocess")
    cases = data["cases"]
    parts = ", ".join(f"{label('status', k).lower()} {v}" for k, v in sorted(cases["by_status"].items()))
    ctx.print(f"pengaduan: {cases['total']} ({parts or 'belum ada'}); terlambat: {cases['overdue']}")
    outbox = data["outbox"]
    if outbox:
        counts = ", ".join(f"{label('outbox', k).lower()} {v}" for k, v in sorted(outbox.items()))
        trouble = outbox.get("failed") or outbox.get("uncertain")
        ctx.print(f"balasan: {counts}" + ("  (periksa di halaman pengaduan)" if trouble else ""))
    backup = data["backup"]
    ctx.print(f"cadangan: terakhir {backup['last_good_at'] or 'belum pernah'}"
              + (f"  PERINGATAN: {backup['warning']}" if backup["warning"] else "  (baik)"))
    return 0


def iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def local_time(iso_text: str | None, tz: Any) -> str:
    """An ISO time of the ``--json`` form as an officer reads it: ``2 Des 2026 06.28 WIB``."""
    if not iso_text:
        return "-"
    return format_datetime_id(datetime.fromisoformat(iso_text), tz, "d MMM y HH.mm")


def export_case(case: Case, unmasked: bool = False) -> dict[str, Any]:
    clean = (lambda t: t) if unmasked else pii.mask
    now = utcnow()
    return {
        "reference": case.reference, "status": case.status, "account": case.account.name,
        "channel": case.account.kind, "public": case.public, "thread_id": case.thread_id,
        "contact": {"handle": clean(case.contact.handle or ""), "name": clean(case.contact.name or "")},
        "division": case.division.code if case.division_id else None,
        "categories": case.effective_categories, "categories_auto": case.categories,
        "intent": case.effective_intent, "personal_data": case.personal_data,
        "dismiss_reason": case.dismiss_reason, "opened_at": iso(case.opened_at),
        "due_at": iso(case.due_at), "overdue": bool(case.is_open and case.due_at and case.due_at < now),
        "first_response_at": iso(case.first_response_at), "escalated_at": iso(case.escalated_at),
        "division_answered_at": iso(case.division_answered_at), "answered_at": iso(case.answered_at),
        "answered_late": bool(case.answered_at and case.due_at and case.answered_at > case.due_at),
        "recapped_on": case.recapped_on.isoformat() if case.recapped_on else None,
        "messages": [{"external_id": m.external_id, "direction": m.direction, "kind": m.kind,
                      "public": m.public, "text": clean(m.text), "created_at": iso(m.created_at),
                      "author": m.author.username if m.author_id else None}
                     for m in case.messages.order_by(Message.created_at, Message.id)],
        "events": [{"at": iso(e.at), "actor": e.actor_name, "action": e.action,
                    "detail": json.loads(clean(json.dumps(e.detail, ensure_ascii=False)))}
                   for e in case.events.order_by(Event.at, Event.id)],
    }


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    """Cases with their messages and events, as CSV or JSONL (personal data masked)."""
    ctx.runtime()
    unmasked = False
    if args.unmasked:
        if not args.as_user:
            raise UserError("--unmasked perlu --as NAMA (seorang superuser)")
        user = user_by_name(args.as_user)
        if not user.is_superuser or not user.active:
            raise UserError("hanya superuser yang boleh mengekspor data pribadi tanpa disamarkan", 1)
        # --as alone proves nothing (anyone at the console can type a name): the superuser's
        # own password is asked, and every attempt is on the superuser audit page.
        from werkzeug.security import check_password_hash
        if not check_password_hash(user.password_hash, read_secret(f"Kata sandi {user.username}: ")):
            Event.record("export_unmasked_refused", actor=user, format=args.format)
            raise UserError("kata sandi superuser salah; ekspor tanpa penyamaran dibatalkan", 1)
        Event.record("export_unmasked", actor=user, format=args.format)
        unmasked = True
    excel = args.format == "csv-excel"  # Excel with Indonesian settings: ";" and a BOM
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else ctx.out
    try:
        if excel:
            out.write("\ufeff")
        cases = Case.select().order_by(Case.id)
        if args.format == "jsonl":
            for case in cases.iterator():
                out.write(json.dumps(export_case(case, unmasked), ensure_ascii=False) + "\n")
        else:
            import csv
            columns = ["reference", "status", "account", "channel", "public", "division",
                       "categories", "intent", "personal_data", "dismiss_reason", "opened_at",
                       "due_at", "overdue", "first_response_at", "escalated_at",
                       "division_answered_at", "answered_at", "answered_late", "recapped_on",
                       "messages", "first_message"]
            from recap.safe_cells import csv_value
            writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore",
                                    delimiter=";" if excel else ",")
            writer.writeheader()
            for case in cases.iterator():
                row = export_case(case, unmasked)
                row["categories"] = " ".join(row["categories"])
                row["first_message"] = row["messages"][0]["text"] if row["messages"] else ""
                row["messages"] = len(row["messages"])
                writer.writerow({k: csv_value(v) for k, v in row.items()})
    finally:
        if args.out:
            out.close()
    return 0


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


def read_secret(prompt: str) -> str:
    """One line from stdin (a script), or typed without echo at a console."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass(prompt)


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise UserError("kata sandi tidak sama")
    return first


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    """The daemon (and the web, when installed) together: the normal way to run one office."""
    from inbox.daemon import Daemon
    configure_logging(log_dir=ctx.config.data_dir / "logs")
    runtime = ctx.runtime()
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
        from inbox.web.serve import start_in_thread
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
    p.add_argument("--format", choices=["csv", "csv-excel", "jsonl"], default="jsonl",
                   help="csv-excel: semicolons and a byte-order mark, for Excel in Indonesia")
    p.add_argument("--out", help="file to write (default: standard output)")
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
    from inbox.backup_cli import register as register_backup
    from inbox.case_cli import register as register_cases
    from inbox.classify_cli import register as register_classify
    from inbox.retention import register as register_privacy
    from inbox.service import register as register_service
    from inbox.setaside import register as register_setaside
    from inbox.web.serve import register as register_web
    from inbox.webhook_check import register as register_webhook
    from recap.cli import register as register_recaps
    return [register_web, register_cases, register_classify, register_recaps, register_setaside,
            register_webhook, register_backup, register_service, register_privacy]
