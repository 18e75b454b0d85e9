"""``/webhooks/meta``: the only route without login, so it is strict.

GET is Meta's subscription handshake (``hub.verify_token`` compared in constant time). POST must
be JSON, at most 1 MB, and signed (``X-Hub-Signature-256`` over the raw bytes, checked before
anything is parsed); a missing or wrong signature is 403 and counted for the dashboard, a body
nested deeper than any platform sends is 400. A good delivery is stored (a row, or on SQLite a
spool file) and answered 200 at once; the daemon ingests it (``inbox.arrive.webhooks``).

A good delivery is answered by :class:`DirectReceiver` in front of Flask: the checks, the store
and the 200 without Flask's request machinery, so the receiver stays quick beside a busy worker.
Every other request to the route (the handshake, any refusal) goes on to the views below.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, request

from inbox.arrive import webhooks
from inbox.arrive.webhook_failures import MAX_DEPTH, too_deep
from inbox.db import database
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


PATH = "/webhooks/meta"
RECEIVED = b"EVENT_RECEIVED"


class DirectReceiver:
    """WSGI middleware: a signed delivery that ``receive`` would store is stored and answered
    here, before Flask builds a request, runs the session, login and CSRF hooks and the response
    hooks (two thirds of the receiver's time, while the worker beside it ingests). The answer is
    the one ``receive`` gives, with the app's security headers. Anything else, and a store that
    fails, goes on to the Flask views with the body intact: they word every refusal and count a
    bad signature, in one place."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], rt: Any,
                 headers: dict[str, str]) -> None:
        self.wsgi_app = wsgi_app
        self.runtime = rt
        self.headers = [("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(RECEIVED))), *headers.items()]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == PATH \
                and self._stored(environ):
            start_response("200 OK", list(self.headers))
            return [RECEIVED]
        return self.wsgi_app(environ, start_response)

    def _stored(self, environ: dict[str, Any]) -> bool:
        """True when the delivery was good and is stored; False leaves it to the views."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if not 0 < length <= webhooks.MAX_BODY or mimetype != "application/json":
            return False
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # the views read it again
        secrets = webhooks.app_secrets(self.runtime)
        if len(body) != length or not webhooks.signature_ok(
                body, environ.get("HTTP_X_HUB_SIGNATURE_256"), secrets) or too_deep(body):
            return False
        try:
            webhooks.store(self.runtime, body)
        except Exception:  # the view stores it again or answers 500, as without this
            log.exception("webhook delivery not stored directly; handing it to the view")
            return False
        finally:
            if not database.is_closed() and not database.in_transaction():
                database.close()  # PostgreSQL: the store's connection, as a request's
        return True
