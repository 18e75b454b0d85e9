"""``aduan privacy erase``: one citizen's personal data erased on a lawful request (UU PDP),
by a superuser, audited (``inbox.records.retention``)."""
from __future__ import annotations

import argparse
from typing import Any

from inbox.cli.common import UserError, user_by_name
from inbox.records.retention import erase_contact, find_contacts


def cmd_erase(args: Any, ctx: Any) -> int:
    """Erase one citizen's personal data on a lawful request (superuser; audited)."""
    rt = ctx.runtime()
    user = user_by_name(args.as_user)
    if not user.is_superuser:
        raise UserError("hanya superuser yang boleh menghapus data pribadi warga", exit_code=1)
    if not args.reason.strip():
        raise UserError("--reason wajib diisi: dasar permintaan penghapusan (mis. nomor surat)")
    channel = None if args.channel in (None, "semua") else args.channel
    found = find_contacts(args.contact, channel)
    if not found:
        where = f" di kanal {channel}" if channel else ""
        raise UserError(f"tidak ada warga dengan akun {args.contact!r}{where}; periksa penulisan "
                        "nama akun (dengan atau tanpa @), nomor HP atau id platformnya", exit_code=1)
    kinds = sorted({c.kind for c in found})
    if len(kinds) > 1 and args.channel is None:
        # The same handle or number on two platforms may be two people: erasing is for good.
        raise UserError(f"{args.contact!r} cocok dengan warga di beberapa kanal "
                        f"({', '.join(kinds)}); pilih satu dengan --channel KANAL, atau "
                        "--channel semua bila memang orang yang sama", exit_code=1)
    report = erase_contact(rt.data_dir, args.contact, user, args.reason, channel)
    ctx.print(f"data pribadi dihapus: {report.contacts} kontak, {report.cases} pengaduan, "
              f"{report.messages} pesan, {report.attachments} berkas lampiran; nomor pengaduan, "
              "waktu dan jumlah untuk laporan tetap ada")
    ctx.print("cadangan yang dibuat sebelum ini masih memuat datanya sampai terhapus oleh rotasi")
    return 0


def register(sub: Any, add: Any) -> None:
    privacy = sub.add_parser("privacy", help="data pribadi: penghapusan atas permintaan (UU PDP)")
    actions = privacy.add_subparsers(dest="privacy_command", metavar="TINDAKAN", title="tindakan")
    p = actions.add_parser("erase", help="hapus data pribadi seorang warga")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--contact", required=True, metavar="AKUN",
                   help="nama akun warga, ID pengguna di platform, atau nomor HP (08…, 62…, +62…)")
    p.add_argument("--channel", metavar="JENIS",
                   help="hanya pada saluran ini (whatsapp, telegram, x …); 'semua' = semua saluran")
    p.add_argument("--as", dest="as_user", required=True, metavar="PENGGUNA",
                   help="pengelola yang melakukannya")
    p.add_argument("--reason", required=True, metavar="TEKS",
                   help="dasar permintaan, misalnya nomor surat")
    p.set_defaults(func=cmd_erase)
