"""``aduan status [--json]``: each account's health, the cases by status, the replies that
need a person, and the backups."""
from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

import peewee

from inbox.arrive.setaside import counts as set_aside_counts
from inbox.arrive.webhook_failures import failed_total, summary
from inbox.arrive.webhooks import waiting_total
from inbox.cli.common import Context
from inbox.dates import format_datetime_id
from inbox.labels import label
from inbox.models import (OPEN_STATUSES, PRACTICE_KINDS, Account, Case, Event, IgnoredCount,
                          Outbox, Usage, utcnow)
from inbox.records.schedule import backup_health
from inbox.run.health import office_offline_since
from inbox.setup.runtime import Runtime


def status_data(runtime: Runtime) -> dict[str, Any]:
    now = utcnow()
    today = now.astimezone(runtime.config.tz).date()  # usage is counted by the office's day
    usage = {u.account_id: u for u in Usage.select().where(Usage.day == today)}
    aside = set_aside_counts(runtime.config.tz, now)
    ignored = IgnoredCount.by_account()
    accounts = []
    for acc in Account.select().where(Account.name.in_(list(runtime.config.accounts))).order_by(Account.name):
        u = usage.get(acc.id)
        accounts.append({
            "name": acc.name, "kind": acc.kind, "label": acc.label, "enabled": acc.enabled,
            "last_poll_at": iso(acc.last_poll_at), "last_success_at": iso(acc.last_success_at),
            "next_poll_at": iso(acc.next_poll_at), "last_error": acc.last_error,
            "last_error_at": iso(acc.last_error_at), "consecutive_failures": acc.consecutive_failures,
            "disabled_reason": acc.disabled_reason, "warning": acc.warning,
            "offline_since": iso(acc.offline_since),
            "usage_today": {"requests": u.requests if u else 0, "resources": u.resources if u else 0,
                            "messages": u.messages if u else 0},
            "set_aside": aside.get(acc.id, {"today": 0, "total": 0}),
            # read past, no citizen's message (a Telegram reaction, an auto-reply mail), by kind
            "ignored": ignored.get(acc.id, {}),
        })
    by_status = {status: count for status, count in
                 Case.select(Case.status, peewee.fn.COUNT(Case.id)).group_by(Case.status).tuples()}
    return {
        "generated_at": iso(now),
        "offline_since": iso(office_offline_since(runtime)),
        "accounts": accounts,
        "cases": {"total": sum(by_status.values()), "by_status": by_status,
                  "open": sum(by_status.get(s, 0) for s in OPEN_STATUSES),
                  "overdue": Case.overdue(now).count()},
        # replies waiting, and those that need a person: failed, or sent with no confirmation
        "outbox": {status: count for status, count in
                   Outbox.select(Outbox.status, peewee.fn.COUNT(Outbox.id))
                   .where(Outbox.status != "sent").group_by(Outbox.status).tuples()},
        "backup": backup_health(runtime.config, now),
        "webhooks": {"waiting": waiting_total(runtime), "failed": failed_total(),
                     "failures": [{**f, "last": iso(f["last"])} for f in summary()]},
    }


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    """Accounts' health, cases by status, overdue count."""
    data = status_data(ctx.runtime())
    if args.json:
        ctx.print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    tz = ctx.config.tz
    if data["offline_since"]:
        ctx.print(f"TIDAK TERSAMBUNG KE INTERNET sejak {local_time(data['offline_since'], tz)}: "
                  "tidak ada platform yang bisa dihubungi; balasan tetap antre dan terkirim sendiri "
                  "saat sambungan kembali.")
    for acc in data["accounts"]:
        health = ("NONAKTIF: " + acc["disabled_reason"]) if acc["disabled_reason"] else \
            stopped_words(acc) if not acc["enabled"] else \
            (f"tidak tersambung sejak {local_time(acc['offline_since'], tz)}") if acc["offline_since"] \
            else ("galat: " + acc["last_error"]) if acc["last_error"] else "sehat"
        ctx.print(f"{acc['name']:<20} {acc['kind']:<10} terakhir {local_time(acc['last_success_at'], tz)}  {health}"
                  f"  (hari ini {acc['usage_today']['requests']} permintaan, "
                  f"{acc['usage_today']['resources']} item)")
        if acc["warning"]:
            ctx.print(f"{'':<20} peringatan: {acc['warning']}")
        if acc["set_aside"]["total"]:
            ctx.print(f"{'':<20} disisihkan (tidak terbaca): hari ini {acc['set_aside']['today']}, "
                      f"total {acc['set_aside']['total']}; lihat dasbor atau jalankan aduan reprocess")
        if acc["ignored"]:
            kinds = ", ".join(f"{label('ignored', k)} {v}" for k, v in acc["ignored"].items())
            ctx.print(f"{'':<20} diabaikan (bukan pesan warga): {kinds}")
    cases = data["cases"]
    parts = ", ".join(f"{label('status', k).lower()} {v}" for k, v in sorted(cases["by_status"].items()))
    ctx.print(f"pengaduan: {cases['total']} ({parts or 'belum ada'}); terlambat: {cases['overdue']}")
    outbox = data["outbox"]
    if outbox:
        counts = ", ".join(f"{label('outbox', k).lower()} {v}" for k, v in sorted(outbox.items()))
        trouble = outbox.get("failed") or outbox.get("uncertain")
        ctx.print(f"balasan: {counts}" + ("  (periksa di halaman pengaduan)" if trouble else ""))
    webhook = data["webhooks"]
    if webhook["failed"]:
        ctx.print(f"webhook: {webhook['failed']} kiriman disisihkan (belum masuk); menunggu "
                  f"{webhook['waiting']}. Perbaiki lalu jalankan aduan reprocess:")
        for failure in webhook["failures"]:
            ctx.print(f"{'':<20} {failure['count']}× {failure['reason']}")
    backup = data["backup"]
    last = local_time(backup["last_good_at"], tz, "d MMMM y HH.mm") if backup["last_good_at"] \
        else "belum pernah"
    ctx.print(f"cadangan: terakhir {last}"
              + (f"  PERINGATAN: {backup['warning']}" if backup["warning"] else "  (baik)"))
    return 0


def stopped_words(acc: dict[str, Any]) -> str:
    """Why an account is not polled, in words: the office went live, or config.toml says so."""
    if acc["kind"] in PRACTICE_KINDS and Event.went_live() is not None:
        return "dihentikan: latihan selesai (kantor sudah mulai memakai aduan)"
    return "dimatikan di config.toml (enabled = false)"


def iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def local_time(iso_text: str | None, tz: Any, fmt: str = "d MMM y HH.mm") -> str:
    """An ISO time of the ``--json`` form as an officer reads it: ``2 Des 2026 06.28 WIB``
    (``d MMMM y HH.mm``: ``4 Desember 2026 23.31 WIB``)."""
    if not iso_text:
        return "-"
    return format_datetime_id(datetime.fromisoformat(iso_text), tz, fmt)
