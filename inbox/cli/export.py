"""``aduan export``: every case with its messages and events, as JSONL or CSV (for Excel with
Indonesian settings too), personal data masked unless a superuser proves who they are.

Masking walks the whole record (:func:`masked`), so a field added later is masked without
anyone remembering to: every string goes through ``pii.mask`` (NIK, KK, phone, e-mail, in texts,
names, handles, event details) except under the keys of ``PLAIN_KEYS`` (codes, states, times,
officers' user names: nothing a citizen wrote). The platform's identifiers (``IDENTIFIER_KEYS``:
a WhatsApp thread id *is* the phone number, a WhatsApp message id carries it in base64, a
Telegram chat id is the person's account) become pseudonyms, the same for the same id within
one installation (an HMAC under the web's secret key), so a thread can still be followed
through the export without naming anyone. A new field that holds no personal data and must
stay readable is added to ``PLAIN_KEYS``; one that holds an id, to ``IDENTIFIER_KEYS``.

Text reaches the file cleaned of control characters and terminal sequences (``inbox.text``):
CSV through ``recap.safe_cells``, JSONL by escaping what JSON leaves raw (DEL, C1, lone
surrogates) as ``\\uXXXX``, which loses nothing.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash

from inbox import pii
from inbox.cli.common import Context, UserError, read_secret, user_by_name
from inbox.cli.status import iso
from inbox.models import Case, Event, IncidentCase, Message, utcnow
from inbox.records.practice import scope as practice_scope
from inbox.sop.related import linked
from inbox.understand.lapor import report_type_of
from recap.safe_cells import csv_value


#: Keys whose strings hold no personal data: kept as they are in a masked export.
PLAIN_KEYS = frozenset({
    "reference", "status", "account", "channel", "division", "categories", "categories_auto",
    "intent", "dismiss_reason", "opened_at", "due_at", "first_response_at", "escalated_at",
    "division_answered_at", "answered_at", "recapped_on", "direction", "kind", "created_at",
    "author", "at", "actor", "action", "purpose", "format", "day", "intent_before",
    "intent_after",
    # issue 30: codes, times and LAPOR!'s own ids; issue 31: case numbers
    "report_type", "complaint_class", "resolution_due_at", "resolved_at", "maladministration",
    "maladministration_suggested", "outcome", "lapor_tracking_id", "linked_cases"})
#: Keys holding a platform's id of a person, a thread or a message: pseudonyms when masked.
IDENTIFIER_KEYS = frozenset({"thread_id", "external_id", "in_reply_to", "platform_id"})
#: What json.dumps(ensure_ascii=False) leaves raw and a terminal or a UTF-8 file cannot take.
JSON_RAW = re.compile(r"[\x7f-\x9f\ud800-\udfff]")


def pseudonym(key: bytes) -> Callable[[str], str]:
    """The same short pseudonym for the same id under ``key`` (no id can be recovered from it,
    nor found by hashing every phone number without the key)."""
    def of(value: str) -> str:
        return "id-" + hmac.new(key, value.encode("utf-8", "surrogatepass"),
                                hashlib.sha256).hexdigest()[:16]
    return of


def masked(value: Any, alias: Callable[[str], str], key: str | None = None) -> Any:
    """``value`` with every string masked (see the module docstring), walked through lists and
    dictionaries; numbers, booleans and None unchanged."""
    if isinstance(value, str):
        if key in PLAIN_KEYS:
            return value
        return alias(value) if key in IDENTIFIER_KEYS and value else pii.mask(value)
    if isinstance(value, dict):
        return {k: masked(v, alias, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, alias, key) for v in value]
    return value


def json_line(record: dict[str, Any]) -> str:
    """One JSONL line; DEL, C1 controls and lone surrogates escaped like JSON escapes C0."""
    line = json.dumps(record, ensure_ascii=False)
    return JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", line) + "\n"


def export_case(case: Case, unmasked: bool = False, alias: Callable[[str], str] | None = None
                ) -> dict[str, Any]:
    """The case as exported; masked (:func:`masked`) unless ``unmasked``. ``alias`` makes the
    identifiers' pseudonyms (default: a key of this call alone)."""
    record = case_record(case)
    if unmasked:
        return record
    return masked(record, alias or pseudonym(secrets.token_bytes(32)))


def case_record(case: Case) -> dict[str, Any]:
    now = utcnow()
    return {
        "reference": case.reference, "status": case.status, "account": case.account.name,
        "channel": case.account.kind, "public": case.public, "thread_id": case.thread_id,
        "contact": {"handle": case.contact.handle or "", "name": case.contact.name or ""},
        "division": case.division.code if case.division_id else None,
        "categories": case.effective_categories, "categories_auto": case.categories,
        "intent": case.effective_intent, "personal_data": case.personal_data,
        "dismiss_reason": case.dismiss_reason, "opened_at": iso(case.opened_at),
        "due_at": iso(case.due_at), "overdue": bool(case.is_open and case.due_at and case.due_at < now),
        "first_response_at": iso(case.first_response_at), "escalated_at": iso(case.escalated_at),
        "division_answered_at": iso(case.division_answered_at), "answered_at": iso(case.answered_at),
        "answered_late": bool(case.answered_at and case.due_at and case.answered_at > case.due_at),
        "recapped_on": case.recapped_on.isoformat() if case.recapped_on else None,
        **handling_fields(case),
        "messages": [{"external_id": m.external_id, "direction": m.direction, "kind": m.kind,
                      "public": m.public, "text": m.text, "created_at": iso(m.created_at),
                      "author": m.author.username if m.author_id else None}
                     for m in case.messages.order_by(Message.created_at, Message.id)],
        "events": [{"at": iso(e.at), "actor": e.actor_name, "action": e.action,
                    "detail": e.detail or {}}
                   for e in case.events.order_by(Event.at, Event.id)],
        **incident_and_links(case),
    }


def handling_fields(case: Case) -> dict[str, Any]:
    """Issue 30's fields of a case: LAPOR!'s klasifikasi, the class and its resolution clock,
    the confirmed maladministration type (``null`` when none was confirmed; ``"none"`` when a
    person confirmed there is none), how the case ended, the agency of a *bukan wewenang* case,
    and the LAPOR! tracking ID."""
    return {
        "report_type": report_type_of(case.report_type, case.effective_intent),
        "complaint_class": case.complaint_class,
        "resolution_due_at": iso(case.resolution_due_at), "resolved_at": iso(case.resolved_at),
        "maladministration": case.maladministration,
        "maladministration_suggested": case.maladministration_suggested,
        "outcome": case.outcome, "referred_to": case.referred_to,
        "referral_forwarded": case.referral_forwarded if case.referred_to else None,
        "lapor_tracking_id": case.lapor_tracking_id,
    }


def export_lapor(args: argparse.Namespace, ctx: Context, unmasked: bool) -> int:
    """``--format lapor``: the cases as LAPOR! reports, CSV for Excel or XLSX (by ``--out``)."""
    from recap import lapor
    from recap.figures import RecapError
    rt = ctx.runtime()
    month = None
    if args.month:
        try:
            year, number = (int(part) for part in args.month.split("-"))
            month = (year, number)
            lapor.selected_cases(month, rt.config.tz)  # checks the month
        except (ValueError, RecapError) as exc:
            raise UserError(f"--month: {exc}" if isinstance(exc, RecapError)
                            else "--month: tulis bulan seperti 2026-11") from None
    cases = lapor.selected_cases(month, rt.config.tz, args.linked_only).iterator()
    found = lapor.reports(cases, unmasked)
    if args.out and args.out.lower().endswith(".xlsx"):
        lapor.write_xlsx(found, Path(args.out), rt.config.tz)
        return 0
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else ctx.out
    try:
        lapor.write_csv_excel(found, out, rt.config.tz)
    finally:
        if args.out:
            out.close()
    return 0


def incident_and_links(case: Case) -> dict[str, Any]:
    """The mass incident the case is linked to (its id, or null) and the case numbers an
    officer linked as the same citizen's (issue 31)."""
    incident = (IncidentCase.select(IncidentCase.incident)
                .where((IncidentCase.case == case) & (IncidentCase.state == "linked")).scalar())
    return {"incident_id": incident, "linked_cases": sorted(c.reference for c in linked(case))}


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
    if args.format == "lapor":
        return export_lapor(args, ctx, unmasked)
    from inbox.web.app import secret_key
    secret = hashlib.sha256(b"aduan export pseudonyms\0" + secret_key(ctx.runtime()).encode()).digest()
    alias = pseudonym(secret)
    excel = args.format == "csv-excel"  # Excel with Indonesian settings: ";" and a BOM
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else ctx.out
    try:
        if excel:
            out.write("\ufeff")
        # the practice channels' cases never reach an export of the office's record
        cases = practice_scope().narrow(Case.select().order_by(Case.id))
        if args.format == "jsonl":
            for case in cases.iterator():
                out.write(json_line(export_case(case, unmasked, alias)))
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
                row = export_case(case, unmasked, alias)
                row["categories"] = " ".join(row["categories"])
                row["first_message"] = row["messages"][0]["text"] if row["messages"] else ""
                row["messages"] = len(row["messages"])
                writer.writerow({k: csv_value(v) for k, v in row.items()})
    finally:
        if args.out:
            out.close()
    return 0
