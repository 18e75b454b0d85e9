"""``aduan go-live``: from practice to the office's real use in one step (issue 28, item 1) —
the sandbox stops for good and the practice data is removed (``inbox.records.practice``), after
the officer has read how many of each will go and typed ``ya``. The superuser's page
*Mulai memakai aduan* does the same."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from inbox.cli.common import UserError, user_by_name
from inbox.models import Template, User
from inbox.records import practice
from inbox.run.readiness import checklist


def _named(model: Any, field: Any, names: list[str], what: str) -> list[Any]:
    found = list(model.select().where(field.in_(names))) if names else []
    missing = sorted(set(names) - {getattr(row, field.name) for row in found})
    if missing:
        raise UserError(f"{what} {', '.join(missing)} tidak ada", exit_code=1)
    return found


def cmd_go_live(args: argparse.Namespace, ctx: Any) -> int:
    """Stop the sandbox and remove the practice data, after a confirmation."""
    rt = ctx.runtime()
    actor = user_by_name(args.as_user) if args.as_user else None
    users = _named(User, User.username, args.deactivate_user or [], "pengguna")
    templates = _named(Template, Template.name, args.deactivate_template or [], "templat")
    left = practice.practice_data()
    ctx.print(f"Yang akan dihapus: {left.sentence()}.")
    ctx.print("Saluran latihan dihentikan untuk seterusnya (walaupun masih tertulis di config.toml).")
    if users:
        ctx.print("Pengguna latihan yang dinonaktifkan: " + ", ".join(u.username for u in users))
    if templates:
        ctx.print("Templat latihan yang dimatikan: " + ", ".join(t.name for t in templates))
    if not args.yes:
        # A script without --yes gets its answer from its standard input, like a person would.
        answer = sys.stdin.readline() if not sys.stdin.isatty() else input(
            "Ketik ya lalu Enter untuk melanjutkan: ")
        if answer.strip().lower() not in ("ya", "y"):
            ctx.print("Dibatalkan; tidak ada yang diubah.")
            return 1
    done = practice.go_live(rt.data_dir, actor, users, templates)
    ctx.print("aduan mulai dipakai.")
    for line in done.lines():
        ctx.print(f"  {line}")
    ctx.print("Langkah berikutnya (daftar lengkap di halaman Kelola › Mulai memakai aduan):")
    for step in checklist(rt):
        ctx.print(f"  [{'x' if step.done else ' '}] {step.title}")
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("go-live", cmd_go_live, "mulai memakai aduan: hentikan sandbox, hapus data latihan")
    p.add_argument("--yes", action="store_true", help="jalankan tanpa pertanyaan konfirmasi")
    p.add_argument("--as", dest="as_user", metavar="PENGGUNA",
                   help="pengguna yang menjalankannya (dicatat)")
    p.add_argument("--deactivate-user", action="append", metavar="NAMA",
                   help="nonaktifkan pengguna yang dibuat hanya untuk latihan (boleh berulang)")
    p.add_argument("--deactivate-template", action="append", metavar="NAMA",
                   help="matikan templat jawaban yang dibuat hanya untuk latihan (boleh berulang)")
