"""``GET /healthz``: the daemon's and the backups' health for a monitor, without login and
without personal data (``inbox.run.health``)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from inbox.run.health import health
from inbox.web.current import runtime

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> Any:
    """Health for a monitor, without login and without personal data."""
    body, code = health(runtime())
    return jsonify(body), code
