"""The dashboard: today and this month at a glance, and the health of every channel, so an
expired token or a failing account is seen the same day."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import peewee as pw
from flask import Blueprint, g, render_template

from inbox.arrive.setaside import counts as set_aside_counts
from inbox.dates import format_datetime_id
from inbox.models import OPEN_STATUSES, Account, Case, Event, Outbox, Usage, utcnow
from inbox.records.practice import scope
from inbox.records.schedule import backup_health
from inbox.run.health import office_offline_since
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
    # a "bukan wewenang" answer counts apart, never for or against the SLA (issue 30)
    answered_q = cases.clone().where((Case.answered_at >= start) & (Case.answered_at < end)
                                     & Case.referred_to.is_null())
    answered = answered_q.count()
    on_time = answered_q.clone().where(Case.due_at.is_null() | (Case.answered_at <= Case.due_at)).count()
    escalated = cases.clone().where((Case.escalated_at >= start) & (Case.escalated_at < end)).count()
    dismissed = cases.clone().where((Case.status == "not_complaint") & (Case.closed_at >= start)
                                    & (Case.closed_at < end) & Case.referred_to.is_null()).count()
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
        elif acc.offline_since:
            since = format_datetime_id(acc.offline_since, rt.config.tz, "d MMM HH.mm")
            state, level = f"TIDAK TERSAMBUNG sejak {since}; pesan dan balasan menunggu", "today"
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
        overdue=open_cases.clone().where(Case.answer_overdue_condition(now)).count(),
        # issue 30: classed cases past their resolution deadline with no follow-up recorded
        resolution_overdue=scope.clone().where(Case.resolution_overdue_condition(now)).count(),
        referred_month=scope.clone().where(
            Case.referred_to.is_null(False) & Case.status.in_(("answered", "not_complaint"))
            & (Case.closed_at >= month_start) & (Case.closed_at < next_month)).count(),
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
        offline_since=office_offline_since(rt) if health else None,
        backup=backup_health(rt.config, now) if health else None,
        notifications=notification_problems(now), **answer_panels(user, now),
        practice=practice_line())


def answer_panels(user: Any, now: datetime) -> dict[str, Any]:
    """Proposed and open mass incidents, and how often suggested answers were used (30 days):
    office-wide matters, so not on a bidang's dashboard."""
    if division_scoped(user):
        return {"incident_rows": [], "suggestion_usage": None}
    from inbox.models import Incident
    from inbox.sop import incidents, suggestions
    rows = list(Incident.select().where(Incident.status.in_(("proposed", "open")))
                .order_by(Incident.id.desc()).limit(10))
    return {"incident_rows": [(i, incidents.summary(i)) for i in rows],
            "suggestion_usage": suggestions.last_days(30, now)}


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


def webhook_health() -> dict[str, Any] | None:
    """Deliveries refused for a bad signature, and those waiting or set aside (with their
    reasons), when any exist."""
    from inbox.arrive.webhook_failures import failed_total, summary
    from inbox.arrive.webhooks import rejected_total, waiting_total
    counts = {"pending": waiting_total(runtime()), "failed": failed_total(),
              "rejected": rejected_total()}
    uses = any(a.kind == "whatsapp" for a in runtime().config.accounts.values())
    if not (uses or any(counts.values())):
        return None
    return {**counts, "failures": summary() if counts["failed"] else []}
