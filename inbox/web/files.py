"""Attachments served behind login and the case's role checks, and the set-aside items (of the
connectors, and the webhook deliveries that could not be ingested).

A citizen's photo of a KTP is personal data: it is served only to a user who may open the
case it belongs to (``workflow.can_view``), never hot-linked from a platform CDN (the CSP keeps
``img-src 'self'``). Only the image types whose first bytes were checked on download are shown
inline; everything else is a download, so a file posing as HTML can never run in the page.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, send_file, url_for

from inbox import pii
from inbox.arrive import webhook_failures
from inbox.arrive.attachments import INLINE_TYPES, absolute_path
from inbox.arrive.setaside import recent
from inbox.models import ATTACHMENT_STATES, Attachment, Case, Message, SetAside
from inbox.sop import workflow
from inbox.web.auth import login_required, roles_required
from inbox.web.current import runtime
from inbox.web.display import handles_case

bp = Blueprint("files", __name__)


def visible_attachment(attachment_id: int) -> tuple[Attachment, Case]:
    """The attachment (404) of a case the user may open (403)."""
    attachment = Attachment.get_or_none(Attachment.id == attachment_id)
    message = Message.get_or_none(Message.id == attachment.message_id) if attachment else None
    if attachment is None or message is None or message.case_id is None:
        abort(404)
    case = Case.get_by_id(message.case_id)
    if not workflow.can_view(g.user, case) or not handles_case(g.user, case):
        abort(403)
    return attachment, case


@bp.route("/lampiran/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Any:
    """One stored attachment: an image inline, any other file as a download."""
    row, _case = visible_attachment(attachment_id)
    path = absolute_path(runtime().data_dir, row)
    if path is None:
        abort(404)
    inline = row.mime in INLINE_TYPES
    response = send_file(path, mimetype=row.mime if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=download_name(row),
                         max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def download_name(row: Attachment) -> str:
    suffix = absolute_path(runtime().data_dir, row)
    ext = suffix.suffix if suffix is not None else ""
    return f"lampiran-{row.id}{ext}"


def thread_attachments(messages: list[Message],
                       files_allowed: bool = True) -> dict[int, list[dict[str, Any]]]:
    """{message id: the attachments as the case page shows them}; without ``files_allowed``
    (a reader who sees the case masked) only that something was attached."""
    found: dict[int, list[dict[str, Any]]] = {}
    ids = [m.id for m in messages]
    if not ids:
        return found
    for row in Attachment.select().where(Attachment.message.in_(ids)).order_by(Attachment.id):
        found.setdefault(row.message_id, []).append({
            "id": row.id, "kind": row.kind, "status": row.status,
            "state": ATTACHMENT_STATES.get(row.status, row.status), "reason": row.reason,
            "inline": files_allowed and row.status == "stored" and row.mime in INLINE_TYPES,
            "stored": files_allowed and row.status == "stored", "size": row.size,
            "label": {"image": "Foto", "sticker": "Stiker", "video": "Video",
                      "audio": "Rekaman suara", "link": "Tautan"}.get(row.kind, "Berkas"),
            # a shared link is shown for an officer to open, never fetched by aduan
            "link": row.url if files_allowed and row.kind == "link" else None,
            "name": row.name,
        })
    return found


@bp.route("/kelola/tersisih")
@roles_required(superuser=True)
def set_aside_list() -> str:
    """The items connectors could not read and the webhook deliveries set aside, newest first."""
    return render_template("admin/set_aside.html", rows=list(recent()),
                           deliveries=list(webhook_failures.recent()),
                           failed_total=webhook_failures.failed_total(),
                           causes=webhook_failures.CAUSES)


@bp.route("/kelola/tersisih/webhook/ulang", methods=["POST"])
@roles_required(superuser=True)
def requeue_deliveries() -> Any:
    """Put every webhook delivery set aside back in the daemon's queue (after a fix)."""
    count = webhook_failures.requeue()
    flash(f"{count} kiriman webhook dikembalikan ke antrean; layanan aduan memprosesnya dalam "
          "beberapa detik." if count else "Tidak ada kiriman webhook yang disisihkan.", "success")
    return redirect(url_for("files.set_aside_list"))


@bp.route("/kelola/tersisih/<int:row_id>")
@roles_required(superuser=True)
def set_aside_item(row_id: int) -> str:
    """One set-aside item: its reason and its raw JSON, escaped and with personal data masked."""
    row = SetAside.get_or_none(SetAside.id == row_id)
    if row is None:
        abort(404)
    raw = pii.mask(json.dumps(row.raw, ensure_ascii=False, indent=2, sort_keys=True))
    return render_template("admin/set_aside_item.html", row=row, raw=raw)
