"""The dashboard: today and this month at a glance, and the health of every channel, so an
expired token or a failing account is seen the same day."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import peewee as pw
from flask import Blueprint, g, render_template

from inbox.arrive.setaside import counts as set_aside_counts
from inbox.models import OPEN_STATUSES, Account, Case, Event, Outbox, Usage, utcnow
from inbox.records.practice import scope
from inbox.records.schedule import backup_health
from inbox.sop.workflow import division_scoped, visible_cases
from inbox.web.auth import login_required
from inbox.web.current import runtime
from inbox.web.display import CHANNEL_LABELS
from inbox.web.home import sees_office_health, waiting_statuses_shown
from inbox.web.queries import day_bounds, status_counts

bp = Blueprint("dashboard", __name__)

USAGE_DAYS = 7


def period_stats(start: datetime, end: datetime, now: datetime,
                 scope: pw.ModelSelect | None = None) -> dict[str, Any]:
    """Received, answered, escalated and SLA compliance (answered on time / answered), counted
    over ``scope`` (the cases the user may see; every case when None)."""
    cases = scope if scope is not None else Case.select()
    received = cases.clone().where((Case.opened_at >= start) & (Case.opened_at < end)).count()
    answered_q = cases.clone().where((Case.answered_at >= start) & (Case.answered_at < end))
    answered = answered_q.count()
    on_time = answered_q.clone().where(Case.due_at.is_null() | (Case.answered_at <= Case.due_at)).count()
    escalated = cases.clone().where((Case.escalated_at >= start) & (Case.escalated_at < end)).count()
    dismissed = cases.clone().where((Case.status == "not_complaint") & (Case.closed_at >= start)
                                    & (Case.closed_at < end)).count()
    compliance = f"{100 * on_time / answered:.0f}%" if answered else "–"
    return {"received": received, "answered": answered, "on_time": on_time, "late": answered - on_time,
            "escalated": escalated, "dismissed": dismissed, "compliance": compliance}


def channel_health(now: datetime) -> list[dict[str, Any]]:
    """One row per configured account with its state in words (not colour alone)."""
    rt = runtime()
    names = list(rt.config.accounts)
    since = (now.astimezone(rt.config.tz) - timedelta(days=USAGE_DAYS - 1)).date()  # WIB days
    aside = set_aside_counts(rt.config.tz, now)
    usage: dict[int, list[Usage]] = {}
    for row in Usage.select().where(Usage.day >= since).order_by(Usage.day.desc()):
        usage.setdefault(row.account_id, []).append(row)
    rows = []
    for acc in Account.select().where(Account.name.in_(names)).order_by(Account.name):
        if acc.disabled_reason:
            state, level = f"BERHENTI: {acc.disabled_reason}", "late"
        elif not acc.enabled and acc.practice and Event.went_live() is not None:
            state, level = (f"Latihan selesai: sandbox dihentikan saat kantor mulai memakai aduan "
                            f"(hapus [accounts.{acc.name}] dari config.toml)"), "muted"
        elif not acc.enabled:
            state, level = "Dimatikan di config.toml", "muted"
        elif acc.last_error:
            state, level = f"GANGGUAN (percobaan ke-{acc.consecutive_failures}): {acc.last_error}", "today"
        elif acc.last_success_at is None:
            state, level = "Belum pernah diperiksa", "today"
        elif acc.last_success_at < now - timedelta(seconds=max(acc.poll_interval * 10, 900)):
            state, level = "Lama tidak diperiksa — apakah layanan aduan berjalan?", "today"
        else:
            state, level = "Sehat", "ok"
        rows.append({"account": acc, "kind": CHANNEL_LABELS.get(acc.kind, acc.kind),
                     "state": state, "level": level, "usage": usage.get(acc.id, []),
                     "set_aside": aside.get(acc.id)})
    return rows


@bp.route("/dasbor")
@login_required
def index() -> str:
    """Today and this month at a glance, overdue cases, and channel health; a division user's
    figures count its own bidang's cases only, as its inbox does, and the channels, backups and
    webhook figures are shown only to whom they concern (``inbox.web.home``)."""
    rt = runtime()
    user = g.user
    scope = visible_cases(user)
    health = sees_office_health(user)
    now = utcnow()
    tz = rt.config.tz
    day_start, day_end = day_bounds(now, tz)
    local = now.astimezone(tz)
    month_start = datetime.combine(local.date().replace(day=1), time(0), tzinfo=tz)
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    open_cases = visible_cases(user, by_status=True).where(Case.status.in_(OPEN_STATUSES))
    by_status = status_counts(open_cases)
    return render_template(
        "dashboard.html", today=period_stats(day_start, day_end, now, scope),
        month=period_stats(month_start, next_month, now, scope), now=now,
        open_count=sum(by_status.values()),
        overdue=open_cases.clone().where(Case.due_at < now).count(),
        due_today=open_cases.clone().where((Case.due_at >= now) & (Case.due_at < day_end)).count(),
        waiting={s: by_status.get(s, 0) for s in waiting_statuses_shown(user)},
        channels=channel_health(now) if health else None, month_label=local.date(),
        # A bidang never sends replies, so it is not asked to settle one; everyone else sees
        # every case (an "IN (every case id)" here read the whole year: 0.2 s a page).
        uncertain=[] if division_scoped(user) else list(
            Outbox.select(Outbox, Case).join(Case).where(Outbox.status == "uncertain")
            .order_by(Outbox.id).limit(20)),
        scope_label=user.division.name if division_scoped(user) else "",
        webhook=webhook_health() if health else None,
        backup=backup_health(rt.config, now) if health else None,
        notifications=notification_problems(now), practice=practice_line())


def practice_line() -> dict[str, Any] | None:
    """*Mode latihan* while practice cases are in the database (issue 28): how many, and
    whether the recaps made now are practice recaps or leave them out."""
    ids = Account.practice_ids()
    cases = Case.select().where(Case.account.in_(ids)).count() if ids else 0
    if not cases:
        return None
    return {"cases": cases, "recaps_practice": scope().practice}


def notification_problems(now: datetime) -> list[Any]:
    """Failed or uncertain notifications, for superusers and admins (whose work they are)."""
    if not (g.user.is_superuser or g.user.role == "admin"):
        return []
    from inbox.notify.sending import problems
    return problems(now=now)


def webhook_health() -> dict[str, int] | None:
    """Deliveries refused for a bad signature, and those waiting or failed, when any exist."""
    from inbox.arrive.webhooks import rejected_total, waiting_total
    from inbox.models import WebhookDelivery
    counts = {"pending": waiting_total(runtime()),
              "failed": WebhookDelivery.select().where(WebhookDelivery.status == "failed").count(),
              "rejected": rejected_total()}
    uses = any(a.kind == "whatsapp" for a in runtime().config.accounts.values())
    return counts if uses or any(counts.values()) else None
