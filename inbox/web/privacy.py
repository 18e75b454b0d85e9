"""The superuser's page of personal-data access (UU 27/2022 PDP): who saw or exported unmasked
data, and every erasure and retention act, newest first."""
from __future__ import annotations

import peewee as pw
from flask import Blueprint, render_template

from inbox import pii
from inbox.models import Case, Event
from inbox.web.auth import roles_required
from inbox.labels import EVENT_LABELS

bp = Blueprint("privacy", __name__)

ACTS = ("privacy_erase", "retention_reduced")
LIMIT = 500


def access_events() -> pw.ModelSelect:
    """Unmasked views and exports (any ``*_unmasked`` event), erasures and retention acts."""
    return (Event.select(Event, Case).join(Case, pw.JOIN.LEFT_OUTER)
            .where(Event.action.endswith("_unmasked") | Event.action.in_(ACTS))
            .order_by(Event.at.desc(), Event.id.desc()).limit(LIMIT))


@bp.route("/privasi")
@roles_required(superuser=True)
def index() -> str:
    """Who saw unmasked personal data, and what was erased."""
    rows = [{"event": e, "label": EVENT_LABELS.get(e.action, e.action),
             "detail": ", ".join(f"{k}: {pii.mask(str(v))}" for k, v in sorted((e.detail or {}).items()))}
            for e in access_events()]
    return render_template("admin/privacy.html", rows=rows, limit=LIMIT)
