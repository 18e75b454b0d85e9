"""``aduan reprocess``: read the items a connector set aside again, with the code installed
now (after an upgrade); each one that now reads is stored exactly once. Webhook deliveries set
aside (``inbox.arrive.webhook_failures``) go back to the daemon's queue."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from inbox.arrive.setaside import reprocess
from inbox.arrive.webhook_failures import requeue


def cmd_reprocess(args: argparse.Namespace, ctx: Any) -> int:
    """Re-read set-aside items with the code installed now (after an upgrade)."""
    runtime = ctx.runtime()
    if args.account and args.account not in runtime.config.accounts:
        print(f"aduan: akun {args.account!r} tidak ada di config.toml "
              f"(yang ada: {', '.join(sorted(runtime.config.accounts))})", file=sys.stderr)
        return 2
    report = reprocess(runtime, args.account)
    for line in report.lines():
        ctx.print(line)
    if not args.account:
        again = requeue()
        if again:
            ctx.print(f"{again} kiriman webhook yang disisihkan dikembalikan ke antrean; layanan "
                      "aduan memprosesnya dalam beberapa detik (lihat aduan status).")
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("reprocess", cmd_reprocess, "baca ulang pesan yang disisihkan saluran")
    p.add_argument("--account", metavar="NAMA", help="hanya saluran ini")
