"""``aduan case ...``: every SOP transition from the command line, and ``aduan deliver``.

Each action names its officer with ``--as USER`` and goes through ``inbox.sop.workflow``, so the
command line obeys exactly the rules the web does. A refused action prints the reason (one
Indonesian sentence) on stderr and exits 1. Listings mask personal data, like the recaps.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox import pii
from inbox.dates import format_datetime_id
from inbox.labels import LABELS, detail_value, label
from inbox.models import STATUS_LABELS, Case, Event, Message, Outbox, Template, User, utcnow
from inbox.sop import workflow
from inbox.text import one_line


def _error(message: str) -> Exception:
    from inbox.cli.common import UserError
    return UserError(message, 1)


def _case(ref: str) -> Case:
    case = Case.get_or_none(Case.reference == ref.strip().upper())
    if case is None:
        raise _error(f"pengaduan {ref} tidak ditemukan")
    return case


def _user(name: str) -> User:
    from inbox.cli.common import user_by_name
    return user_by_name(name)


def _text(path: str) -> str:
    """The text of ``path`` (``-`` reads standard input)."""
    if path == "-":
        return sys.stdin.read()
    file = Path(path)
    if not file.is_file():
        raise _error(f"{file}: berkas tidak ditemukan")
    return file.read_text(encoding="utf-8")


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _run(action: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return action(*args, **kwargs)
    except workflow.WorkflowError as exc:
        raise _error(str(exc)) from None


def case_summary(case: Case, now: Any) -> dict[str, Any]:
    return {
        "reference": case.reference, "status": case.status, "status_label": STATUS_LABELS[case.status],
        "account": case.account.name, "public": case.public,
        "contact": pii.mask(case.contact.handle or ""),
        "division": case.division.code if case.division_id else None,
        "summary": pii.mask(case.summary), "opened_at": _iso(case.opened_at),
        "due_at": _iso(case.due_at), "overdue": bool(case.is_open and case.due_at and case.due_at < now),
        "answered_at": _iso(case.answered_at), "alert": pii.mask(case.alert) if case.alert else None,
    }


# --- read ------------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    """Cases, newest first; ``--as`` limits them to what that user may see."""
    ctx.runtime()
    query = workflow.visible_cases(_user(args.as_user)) if args.as_user else Case.select()
    if args.status:
        if args.status not in STATUS_LABELS:
            raise _error(f"status {args.status!r} tidak dikenal (ada: {', '.join(STATUS_LABELS)})")
        query = query.where(Case.status == args.status)
    now = utcnow()
    cases = list(query.order_by(Case.id.desc()).limit(args.limit))
    if args.json:
        for case in cases:
            ctx.print(json.dumps(case_summary(case, now), ensure_ascii=False))
        return 0
    tz = ctx.config.tz
    for case in cases:
        row = case_summary(case, now)
        due = format_datetime_id(case.due_at, tz, "d MMM y HH.mm") if case.due_at else "-"
        late = " TERLAMBAT" if row["overdue"] else ""
        ctx.print(f"{row['reference']}  {row['status_label']:<26} {one_line(row['contact']):<20} "
                  f"batas {due}{late}  {one_line(row['summary'])[:60]}")
    if not cases:
        ctx.print("tidak ada pengaduan")
    return 0


def _local(iso: str | None, tz: Any) -> str:
    """An ISO time from the JSON form, as an officer reads it (``29 Nov 2026 09.23 WIB``)."""
    return format_datetime_id(datetime.fromisoformat(iso), tz, "d MMM y HH.mm") if iso else "-"


def case_detail(case: Case) -> dict[str, Any]:
    data = case_summary(case, utcnow())
    data["division_answer"] = pii.mask(workflow.division_answer_text(case) or "") or None
    data["messages"] = [{"direction": m.direction, "kind": m.kind, "public": m.public,
                         "created_at": _iso(m.created_at), "text": pii.mask(m.text),
                         "author": m.author.username if m.author_id else None}
                        for m in case.messages.order_by(Message.created_at, Message.id)]
    data["events"] = [{"at": _iso(e.at), "actor": e.actor_name, "action": e.action,
                       "detail": json.loads(pii.mask(json.dumps(e.detail, ensure_ascii=False)))}
                      for e in case.events.order_by(Event.at, Event.id)]
    data["outbox"] = [{"id": o.id, "purpose": o.purpose, "status": o.status, "attempts": o.attempts,
                       "last_error": o.last_error, "platform_id": o.platform_id,
                       "sent_at": _iso(o.sent_at), "text": pii.mask(o.text)}
                      for o in case.outbox.order_by(Outbox.id)]
    return data


def cmd_show(args: argparse.Namespace, ctx: Any) -> int:
    """One case: status, SLA, thread, history and replies (personal data masked)."""
    ctx.runtime()
    case = _case(args.ref)
    if args.as_user and not workflow.can_view(_user(args.as_user), case):
        raise _error(f"pengaduan {case.reference} bukan untuk bidang Anda")
    data = case_detail(case)
    if args.json:
        ctx.print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    tz = ctx.config.tz
    ctx.print(f"{data['reference']} — {data['status_label']} ({'publik' if data['public'] else 'pribadi'}, "
              f"{data['account']}, {data['contact']})")
    ctx.print(f"masuk {format_datetime_id(case.opened_at, tz)}; batas {format_datetime_id(case.due_at, tz) or '-'}"
              f"{' — TERLAMBAT' if data['overdue'] else ''}")
    if data["alert"]:
        ctx.print(f"PERHATIAN: {data['alert']}")
    for m in data["messages"]:
        who = "warga" if m["direction"] == "in" else f"kantor ({m['author'] or 'sistem'})"
        ctx.print(f"  [{_local(m['created_at'], tz)}] {who}: {m['text']}")
    if data["division_answer"]:
        ctx.print(f"jawaban bidang: {data['division_answer']}")
    for e in data["events"]:
        detail = "; ".join(f"{label('detail', k)}: {detail_value(k, v)}" for k, v in e["detail"].items()
                           if k in LABELS["detail"] and v not in (None, "", []))
        who = "sistem" if e["actor"] == "system" else e["actor"]
        ctx.print(f"  {_local(e['at'], tz)} {who}: {label('event', e['action'])}"
                  f"{' (' + detail + ')' if detail else ''}")
    for o in data["outbox"]:
        ctx.print(f"  balasan #{o['id']} ({label('purpose', o['purpose']).lower()}): "
                  f"{label('outbox', o['status']).lower()}"
                  f"{' — ' + o['last_error'] if o['last_error'] else ''}")
    return 0


# --- transitions ---------------------------------------------------------------------------

def _queued(ctx: Any, case: Case, row: Outbox) -> int:
    ctx.print(f"{case.reference}: balasan #{row.id} diantrekan untuk dikirim")
    return 0


def cmd_reply(args: argparse.Namespace, ctx: Any) -> int:
    """The admin's (or group admin's) direct answer, from a file or a quick-answer template."""
    rt = ctx.runtime()
    case, user = _case(args.ref), _user(args.as_user)
    if bool(args.text_file) == bool(args.template):
        raise _error("berikan --text-file FILE atau --template NAMA (salah satu)")
    if args.template:
        template = Template.get_or_none((Template.name == args.template) & (Template.active == True))  # noqa: E712
        if template is None:
            raise _error(f"templat {args.template!r} tidak ada")
        text = workflow.render_template(rt, template.text, case)
    else:
        text = _text(args.text_file)
    row = _run(workflow.reply, rt, case, user, text, confirm_personal_data=args.confirm_personal_data)
    return _queued(ctx, case, row)


def cmd_escalate(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    _run(workflow.escalate, rt, case, _user(args.as_user), args.note)
    ctx.print(f"{case.reference}: diteruskan ke Group Admin")
    return 0


def cmd_assign(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    _run(workflow.assign_division, rt, case, _user(args.as_user), args.division, note=args.note or "")
    ctx.print(f"{case.reference}: diserahkan ke bidang {args.division}")
    return 0


def cmd_answer(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    _run(workflow.division_answer, rt, case, _user(args.as_user), _text(args.text_file),
         confirm_personal_data=args.confirm_personal_data)
    ctx.print(f"{case.reference}: jawaban bidang disimpan; Admin akan meneruskannya ke warga")
    return 0


def cmd_forward(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    text = _text(args.text_file) if args.text_file else None
    row = _run(workflow.forward, rt, case, _user(args.as_user), text,
               confirm_personal_data=args.confirm_personal_data)
    return _queued(ctx, case, row)


def cmd_dismiss(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    _run(workflow.dismiss, rt, case, _user(args.as_user), args.reason)
    ctx.print(f"{case.reference}: ditandai bukan pengaduan ({workflow.DISMISS_REASONS[args.reason]})")
    return 0


def cmd_note(args: argparse.Namespace, ctx: Any) -> int:
    rt = ctx.runtime()
    case = _case(args.ref)
    _run(workflow.add_note, rt, case, _user(args.as_user), args.text)
    ctx.print(f"{case.reference}: catatan disimpan")
    return 0


def cmd_confirm(args: argparse.Namespace, ctx: Any) -> int:
    """Settle the case's reply whose delivery is uncertain, after looking at the platform."""
    rt = ctx.runtime()
    case = _case(args.ref)
    row = (Outbox.select().where((Outbox.case == case) & (Outbox.status == "uncertain"))
           .order_by(Outbox.id.desc()).first())
    if row is None:
        raise _error(f"pengaduan {case.reference} tidak punya balasan yang belum pasti terkirim")
    delivered = args.delivered == "yes"
    _run(workflow.confirm_delivery, rt, row, _user(args.as_user), delivered)
    ctx.print(f"{case.reference}: balasan #{row.id} " +
              ("dicatat terkirim" if delivered else "diantrekan untuk dikirim lagi"))
    return 0


def cmd_deliver(args: argparse.Namespace, ctx: Any) -> int:
    """One round of outbox delivery now, a line per reply; exit 1 if any failed."""
    from inbox.run.daemon import new_worker_id
    from inbox.sop.outbox import deliver_next
    rt = ctx.runtime()
    worker, bad, handled = new_worker_id(), False, 0
    # Bounded: a row put back as pending "now" is tried again in this round, but never forever.
    while handled < args.limit:
        outcome = deliver_next(rt, worker)
        if outcome is None:
            break
        handled += 1
        ctx.print(outcome.line())
        bad |= outcome.outcome in ("failed", "uncertain")
    if not handled:
        ctx.print("tidak ada balasan yang menunggu dikirim")
    return 1 if bad else 0


def register(sub: Any, add: Any) -> None:
    p = add("deliver", cmd_deliver, "kirim sekarang balasan yang menunggu")
    p.add_argument("--limit", type=int, default=1000, help=argparse.SUPPRESS)
    case = sub.add_parser("case", help="daftar, lihat dan tangani pengaduan (langkah SOP)")
    case_sub = case.add_subparsers(dest="case_command", metavar="TINDAKAN", required=True,
                                   title="tindakan")

    def leaf(name: str, func: Any, help_text: str, ref: bool = True, actor: bool = True) -> Any:
        p = case_sub.add_parser(name, help=help_text)
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if ref:
            p.add_argument("ref", metavar="NOMOR", help="nomor pengaduan, misalnya ADU-202611-0042")
        p.add_argument("--as", dest="as_user", required=actor, metavar="PENGGUNA",
                       help="petugas yang melakukannya")
        p.set_defaults(func=func)
        return p

    p = leaf("list", cmd_list, "daftar pengaduan, terbaru lebih dulu", ref=False, actor=False)
    p.add_argument("--status", help="status: " + ", ".join(STATUS_LABELS))
    p.add_argument("--json", action="store_true", help="keluaran JSON")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="paling banyak N baris")
    p = leaf("show", cmd_show, "satu pengaduan dengan percakapan dan riwayatnya", actor=False)
    p.add_argument("--json", action="store_true", help="keluaran JSON")
    p = leaf("reply", cmd_reply, "jawab langsung (Admin; Group Admin untuk yang diteruskan)")
    p.add_argument("--text-file", metavar="BERKAS", help="berkas jawaban (- untuk masukan)")
    p.add_argument("--template", metavar="NAMA", help="nama templat jawaban cepat")
    p.add_argument("--confirm-personal-data", action="store_true",
                   help="tetap kirim walau memuat data pribadi (bila config mengizinkan)")
    p = leaf("escalate", cmd_escalate, "teruskan ke Group Admin (Admin)")
    p.add_argument("--note", required=True, metavar="TEKS", help="catatan untuk Group Admin")
    p = leaf("assign", cmd_assign, "serahkan ke bidang (Group Admin)")
    p.add_argument("--division", required=True, metavar="KODE", help="kode bidang")
    p.add_argument("--note", metavar="TEKS", help="catatan untuk bidang")
    p = leaf("answer", cmd_answer, "jawaban teknis bidang (Pejabat Bidang Teknis)")
    p.add_argument("--text-file", required=True, metavar="BERKAS",
                   help="berkas jawaban (- untuk masukan)")
    p.add_argument("--confirm-personal-data", action="store_true",
                   help="simpan walau memuat data pribadi (pengaduan publik)")
    p = leaf("forward", cmd_forward, "teruskan jawaban bidang kepada warga (Admin)")
    p.add_argument("--text-file", metavar="BERKAS",
                   help="jawaban yang sudah disunting (bawaan: teks dari bidang)")
    p.add_argument("--confirm-personal-data", action="store_true",
                   help="tetap kirim walau memuat data pribadi (bila config mengizinkan)")
    p = leaf("dismiss", cmd_dismiss, "tandai bukan pengaduan (Admin)")
    p.add_argument("--reason", required=True, choices=sorted(workflow.DISMISS_REASONS),
                   help="alasannya")
    p = leaf("note", cmd_note, "tambah catatan internal")
    p.add_argument("--text", required=True, metavar="TEKS", help="isi catatan")
    p = leaf("confirm", cmd_confirm, "pastikan balasan yang belum pasti terkirim")
    p.add_argument("--delivered", required=True, choices=["yes", "no"],
                   help="yes: sudah ada di platform; no: belum, kirim lagi")
