"""``/webhooks/meta``: the only route without login, so it is strict.

GET is Meta's subscription handshake (``hub.verify_token`` compared in constant time). POST must
be JSON, at most 1 MB, and signed (``X-Hub-Signature-256`` over the raw bytes, checked before
anything is parsed); a missing or wrong signature is 403 and counted for the dashboard, a body
nested deeper than any platform sends is 400. A good delivery is stored (a row, or on SQLite a
spool file) and answered 200 at once; the daemon ingests it (``inbox.arrive.webhooks``).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from inbox.arrive import webhooks
from inbox.arrive.webhook_failures import MAX_DEPTH, too_deep
from inbox.web.current import runtime

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.route("/webhooks/meta", methods=["GET"])
def verify() -> Response:
    """Meta's handshake: echo ``hub.challenge`` when the verify token matches."""
    if request.args.get("hub.mode") != "subscribe" or not webhooks.token_ok(
            request.args.get("hub.verify_token"), webhooks.verify_tokens(runtime())):
        return Response("forbidden", status=403, mimetype="text/plain")
    return Response(request.args.get("hub.challenge", ""), mimetype="text/plain")


@bp.route("/webhooks/meta", methods=["POST"])
def receive() -> Response:
    """Store a signed delivery, then 200; 403 for a bad signature, 413/415/400 for the wrong body."""
    if (request.content_length or 0) > webhooks.MAX_BODY:
        return Response("too large", status=413, mimetype="text/plain")
    if request.mimetype != "application/json":  # the header only: the body is not parsed yet
        return Response("json only", status=415, mimetype="text/plain")
    body = request.get_data(cache=False)
    if len(body) > webhooks.MAX_BODY:
        return Response("too large", status=413, mimetype="text/plain")
    secrets = webhooks.app_secrets(runtime())
    if not webhooks.signature_ok(body, request.headers.get("X-Hub-Signature-256"), secrets):
        if not webhooks.is_self_test(body, request.headers.get(webhooks.SELF_TEST_HEADER), secrets):
            webhooks.count_rejected()
        return Response("forbidden", status=403, mimetype="text/plain")
    if too_deep(body):  # no platform nests so deep; every later reader would overflow on it
        log.warning("webhook delivery refused: nested deeper than %d levels", MAX_DEPTH)
        return Response("too deeply nested", status=400, mimetype="text/plain")
    webhooks.store(runtime(), body)
    return Response("EVENT_RECEIVED", mimetype="text/plain")
