"""``aduan export``: every case with its messages and events, as JSONL or CSV (for Excel with
Indonesian settings too), personal data masked unless a superuser proves who they are."""
from __future__ import annotations

import argparse
import csv
import json
from typing import Any

from werkzeug.security import check_password_hash

from inbox import pii
from inbox.cli.common import Context, UserError, read_secret, user_by_name
from inbox.cli.status import iso
from inbox.models import Case, Event, Message, utcnow
from inbox.records.practice import scope as practice_scope
from recap.safe_cells import csv_value


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
        # the practice channels' cases never reach an export of the office's record
        cases = practice_scope().narrow(Case.select().order_by(Case.id))
        if args.format == "jsonl":
            for case in cases.iterator():
                out.write(json.dumps(export_case(case, unmasked), ensure_ascii=False) + "\n")
        else:
            columns = ["reference", "status", "account", "channel", "public", "division",
                       "categories", "intent", "personal_data", "dismiss_reason", "opened_at",
                       "due_at", "overdue", "first_response_at", "escalated_at",
                       "division_answered_at", "answered_at", "answered_late", "recapped_on",
                       "messages", "first_message"]
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
