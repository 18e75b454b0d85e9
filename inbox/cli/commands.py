"""The core commands of ``aduan`` (DESIGN.md, "Command line"); main.py only dispatches.

Each command is ``cmd_x(args, ctx) -> int`` and prints to ``ctx.out``; other areas (cases,
recaps, classification) register their own sub-commands through ``register`` functions.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from connectors.base import InboundMessage
from inbox import pii
from inbox.cli.common import (Context, UserError, migrations_line, print_first_superuser,
                              read_password)
from inbox.cli.export import cmd_export
from inbox.cli.parser import Parser
from inbox.cli.status import cmd_status
from inbox.models import ROLES, Account, Division, User, utcnow
from inbox.setup.config import check_config
from inbox.setup.logs import configure_logging
from inbox.setup.runtime import Runtime, create_user, setup
from inbox.text import one_line
from inbox.understand.training import ensure_model, model_usable

log = logging.getLogger(__name__)
#: The folder that holds main.py, so ``python -m main`` finds it from any working folder.
ROOT = Path(__file__).resolve().parents[2]


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
    if applied:
        ctx.print(f"skema database diperbarui: {migrations_line(applied)}")
    ctx.print(f"database siap: {len(ctx.config.accounts)} akun, {len(ctx.config.divisions)} bidang")
    if created:
        print_first_superuser(ctx, created)
    if not model_usable(ctx.config.data_dir):
        # Here, once, rather than inside the daemon at its first poll (issue 28 item 3).
        ctx.print("melatih model pengklasifikasi pesan (sekali saja, biasanya 5–20 detik) ...")
        seconds = ensure_model(ctx.config.data_dir) or 0.0
        ctx.print(f"model pengklasifikasi siap ({seconds:.1f} detik)".replace(".", ","))
    return 0


def prepare_classifier(ctx: Context) -> None:
    """Before the daemon's first poll: train the classifier's model when there is none, in a
    process of its own, so scikit-learn and the training's memory never enter the long-running
    daemon (a model trained inside it left ``aduan run`` at 268 MB). Said on the console; if
    that process fails, the daemon trains it itself as before."""
    if model_usable(ctx.config.data_dir):
        return
    ctx.print("Model pengklasifikasi belum ada: dilatih sekali sebelum pesan pertama dibaca "
              "(biasanya 5–20 detik) ...")
    command = [sys.executable, "-m", "main", "--config", str(ctx.config_path.resolve()),
               "classify", "train", "--if-missing"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=str(ROOT))
    ctx.print((done.stdout or "").strip() or "model pengklasifikasi: pelatihan gagal; "
              "dilatih oleh daemon saat mulai")


def cmd_worker(args: argparse.Namespace, ctx: Context) -> int:
    """The daemon alone: poll accounts, deliver replies, make recaps."""
    from inbox.run.daemon import Daemon
    from inbox.run.memory import limit_arenas
    limit_arenas()
    runtime = ctx.runtime()  # before the log folder: no folder for a database that is not there
    runtime.resident = True
    configure_logging(log_dir=ctx.config.data_dir / "logs", tz=ctx.config.tz)
    setup(ctx.config)
    prepare_classifier(ctx)
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
    if args.role != "division" and args.division:
        raise UserError(f"--division hanya untuk --role division (Pejabat Bidang Teknis), "
                        f"bukan {args.role}")
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
    from inbox.run.memory import limit_arenas
    limit_arenas()  # before the web's threads start (inbox.run.memory)
    runtime = ctx.runtime(create=True)  # the first start makes the database, and says so
    runtime.resident = True
    configure_logging(log_dir=ctx.config.data_dir / "logs", tz=ctx.config.tz)
    _, created = setup(ctx.config)
    if created:
        print_first_superuser(ctx, created)
    refuse_second_daemon()
    prepare_classifier(ctx)
    server = start_web_if_available(runtime, ctx)
    try:
        return Daemon(runtime).run()
    finally:
        if server is not None:
            server.close()


def refuse_second_daemon() -> None:
    """``aduan run`` is one office's one daemon: a second one on the same database (started on
    another port, or in a forgotten window) would poll and send beside the first. It is refused
    with the first one named; the web alone (``aduan serve``) may run beside it, and several
    ``aduan worker`` processes may share a PostgreSQL database on purpose."""
    from inbox.run.health import live_daemons
    running = live_daemons()
    if not running:
        return
    first = running[0]
    host, _, rest = first.worker_id.partition(":")
    pid = rest.partition(":")[0]
    age = max(0, int((utcnow() - first.beat_at).total_seconds()))
    raise UserError(f"aduan sudah berjalan untuk database ini: proses {pid} di komputer {host} "
                    f"(detak terakhir {age} detik lalu). Hentikan dulu proses itu, atau jalankan "
                    f"hanya halaman web dengan aduan serve.", exit_code=1)


def start_web_if_available(runtime: Runtime, ctx: Context) -> Any:
    try:
        from inbox.cli.serve import start_in_thread
    except ImportError:
        return None
    return start_in_thread(runtime, ctx)


def build_parser() -> Parser:
    parser = Parser(prog="aduan", description="aduan: kotak masuk pengaduan media sosial. "
                    "Bantuan setiap perintah: aduan PERINTAH --help")
    parser.add_argument("--config", metavar="BERKAS",
                        help="berkas konfigurasi (bawaan: $ADUAN_CONFIG, lalu ./config.toml)")
    sub = parser.add_subparsers(dest="command", metavar="PERINTAH", title="perintah")

    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    add("check-config", cmd_check_config, "periksa config.toml dan sebutkan setiap masalahnya")
    add("init", cmd_init, "siapkan database, pengguna pengelola pertama dan model "
                             "pengklasifikasi")
    add("run", cmd_run, "jalankan aduan: pemeriksa saluran dan halaman web sekaligus")
    add("worker", cmd_worker, "jalankan pemeriksa saluran saja (tanpa halaman web)")
    p = add("poll", cmd_poll, "periksa setiap saluran (atau satu) sekarang")
    p.add_argument("--account", metavar="NAMA", help="hanya saluran ini")
    p = add("import", cmd_import, "masukkan pesan dari berkas JSONL")
    p.add_argument("--jsonl", required=True, metavar="BERKAS",
                   help="satu objek JSON per baris (README, bagian Commands)")
    p = add("status", cmd_status, "kesehatan saluran, jumlah pengaduan dan cadangan")
    p.add_argument("--json", action="store_true", help="keluaran JSON untuk program lain")
    p = add("export", cmd_export, "ekspor pengaduan dengan pesan dan riwayatnya")
    p.add_argument("--format", choices=["csv", "csv-excel", "jsonl", "lapor"], default="jsonl",
                   help="csv-excel: titik koma dan BOM, untuk Excel berbahasa Indonesia; "
                        "lapor: isian yang diketik ulang admin ke SP4N-LAPOR! (CSV untuk Excel, "
                        "atau XLSX bila --out berakhiran .xlsx)")
    p.add_argument("--out", metavar="BERKAS", help="berkas tujuan (bawaan: layar)")
    p.add_argument("--month", metavar="TTTT-BB",
                   help="lapor: hanya pengaduan yang masuk pada bulan ini")
    p.add_argument("--linked-only", action="store_true",
                   help="lapor: hanya pengaduan yang punya ID pelacakan LAPOR!")
    p.add_argument("--unmasked", action="store_true",
                   help="tanpa penyamaran data pribadi: hanya pengelola, dicatat")
    p.add_argument("--as", dest="as_user", metavar="PENGGUNA",
                   help="pengelola yang meminta data tanpa penyamaran (kata sandinya ditanyakan)")
    user = sub.add_parser("user", help="kelola pengguna")
    user_sub = user.add_subparsers(dest="user_command", metavar="TINDAKAN", title="tindakan")
    p = user_sub.add_parser("add", help="tambah pengguna (kata sandi dari masukan atau ditanyakan)")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("name", metavar="NAMA", help="nama pengguna untuk masuk")
    p.add_argument("--role", required=True, choices=sorted(ROLES),
                   help="peran: admin, group_admin, division (Pejabat Bidang Teknis) atau supervisor")
    p.add_argument("--division", metavar="KODE", help="kode bidang (hanya untuk peran division)")
    p.add_argument("--superuser", action="store_true",
                   help="pengelola: boleh mengelola pengguna dan templat")
    p.add_argument("--full-name", metavar="NAMA", help="nama lengkap yang tampil")
    p.set_defaults(func=cmd_user_add)
    for register in extra_registrations():
        register(sub, add)
    return parser


def extra_registrations() -> list[Any]:
    """Sub-commands of other areas: cases (SOP), recaps, classification, web."""
    from inbox.cli.backups import register as register_backup
    from inbox.cli.cases import register as register_cases
    from inbox.cli.classifier import register as register_classify
    from inbox.cli.golive import register as register_golive
    from inbox.cli.privacy import register as register_privacy
    from inbox.cli.recaps import register as register_recaps
    from inbox.cli.reprocess import register as register_setaside
    from inbox.cli.serve import register as register_web
    from inbox.cli.service import register as register_service
    from inbox.cli.suggest import register as register_suggest
    from inbox.cli.webhook_check import register as register_webhook
    return [register_web, register_cases, register_classify, register_recaps, register_setaside,
            register_webhook, register_backup, register_service, register_privacy,
            register_suggest, register_golive]
