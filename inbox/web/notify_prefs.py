"""Each user's own notification settings: where to be told (e-mail, Telegram) and of what."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from inbox import pii
from inbox.models import NotificationPreference, User, utcnow
from inbox.notify import notices as notify
from inbox.notify.channels import configured_channels
from inbox.web.auth import login_required
from inbox.web.current import runtime

bp = Blueprint("notify", __name__)

CHAT_ID = re.compile(r"-?\d{1,20}")


def preference(user: User) -> NotificationPreference:
    """The user's saved settings, or an unsaved empty one (nothing is sent until saved)."""
    return NotificationPreference.get_or_none(NotificationPreference.user == user.id) \
        or NotificationPreference(user=user.id, channels=[], events_off=[])


def problem(form: Any, configured: list[str]) -> str | None:
    """One sentence naming what to fix, or None."""
    email, chat = form.get("email", "").strip(), form.get("telegram_chat_id", "").strip()
    chosen = form.getlist("channels")
    if any(c not in configured for c in chosen):
        return "Saluran itu belum diatur oleh pengelola aduan; pilih saluran yang tersedia."
    if email and (len(email) > 200 or not pii.EMAIL.fullmatch(email)):
        return "Alamat e-mail tidak sah; tulis seperti nama@dukcapil.brebeskab.go.id."
    if chat and not CHAT_ID.fullmatch(chat):
        return "ID chat Telegram hanya berisi angka (boleh diawali tanda minus)."
    if "email" in chosen and not email:
        return "Isi alamat e-mail untuk menerima notifikasi lewat e-mail."
    if "telegram" in chosen and not chat:
        return "Isi ID chat Telegram untuk menerima notifikasi lewat Telegram."
    return None


@bp.route("/akun/notifikasi", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    """Choose channels and events; saved for the logged-in user only."""
    user: User = g.user
    configured = configured_channels(runtime().config.notify)
    events = notify.events_for(user)
    pref, error = preference(user), None
    if request.method == "POST":
        error = problem(request.form, configured)
        if error is None:
            wanted = set(request.form.getlist("events"))
            values = {"email": request.form.get("email", "").strip(),
                      "telegram_chat_id": request.form.get("telegram_chat_id", "").strip(),
                      "channels": sorted(set(request.form.getlist("channels"))),
                      "events_off": [e for e in events if e not in wanted],
                      "updated_at": utcnow()}
            NotificationPreference.insert(user=user.id, **values).on_conflict(
                conflict_target=[NotificationPreference.user], update=values).execute()
            flash("Pengaturan notifikasi disimpan.", "success")
            return redirect(url_for("notify.preferences"))
        pref = NotificationPreference(user=user.id, email=request.form.get("email", ""),
                                      telegram_chat_id=request.form.get("telegram_chat_id", ""),
                                      channels=request.form.getlist("channels"),
                                      events_off=[e for e in events
                                                  if e not in request.form.getlist("events")])
    return render_template("notify_prefs.html", pref=pref, events=events, configured=configured,
                           error=error), (400 if error else 200)
