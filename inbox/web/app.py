"""The web inbox's app factory (DESIGN.md, "Web"), with one blueprint per area.

``create_app(rt)`` builds an app over an open :class:`inbox.setup.runtime.Runtime`; each test gets a
fresh one. Every page needs a login except the login page and the static files; every form
carries a CSRF token; platform text is only ever rendered through Jinja's autoescaping.

The database is the shared peewee proxy. peewee keeps one connection per thread, so each
request opens its thread's connection (or reuses it) and closes it when the request ends:
waitress serves from a pool of threads next to the daemon's own thread.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from inbox import pii
from inbox.dates import format_date_id, format_datetime_id, format_local_id
from inbox.db import database
from inbox.labels import label, message_kind
from inbox.models import ROLES, STATUS_LABELS, Account, utcnow
from inbox.setup.keys import data_key
from inbox.setup.runtime import Runtime
from inbox.web.current import runtime

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def secret_key(rt: Runtime) -> str:
    """The configured ``web.secret_key``, or one made once and kept in ``data_dir/secret_key``
    (mode 600), so sessions survive a restart and several processes share it."""
    return rt.config.web.get("secret_key") or data_key(rt.data_dir, "secret_key")


def create_app(rt: Runtime, testing: bool = False) -> Flask:
    """The web app over ``rt``; ``testing`` only turns on Flask's test mode (CSRF stays on)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(rt),
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="aduan_sesi",
        # The admin keeps one page open all day; a token that expires after an hour would
        # throw away a half-typed reply. The token still dies with the session.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.extensions["aduan_runtime"] = rt
    from inbox.web.sessions import SessionInterface
    app.session_interface = SessionInterface()
    app.config["ADUAN_SECURE_COOKIES"] = rt.config.web.get("secure_cookies", "auto")
    csrf = CSRFProtect(app)
    from inbox.web import params
    # Before the blueprints: their <int:...> rules are built with the converter in place.
    app.url_map.converters["int"] = params.IdConverter
    app.before_request(params.refuse_nul)

    from inbox.web import (admin, auth, case_page, cases, dashboard, files, golive, healthz,
                           incidents, knowledge, notify_prefs, privacy, recaps, webhooks)
    for module in (auth, cases, case_page, dashboard, recaps, admin, files, healthz, privacy,
                   webhooks, notify_prefs, knowledge, incidents, golive):
        app.register_blueprint(module.bp)
    from inbox.sop.knowledge import can_manage
    app.jinja_env.globals["can_manage_knowledge"] = lambda: g.get("user") is not None and can_manage(g.user)
    if not testing:   # a year of past answers takes a minute to read: not on the first case page
        from inbox.understand.suggest import suggester_for
        suggester_for(rt.db, rt.config.suggest["history_days"]).warm_up(rt.db)
    # Meta signs its deliveries instead: the one route without a session has no CSRF token.
    csrf.exempt(webhooks.bp)
    app.wsgi_app = webhooks.DirectReceiver(app.wsgi_app, rt, SECURITY_HEADERS)  # type: ignore[method-assign]

    # Browsers ask for /favicon.ico on every page whatever the HTML says; answer, don't 404.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.svg"))

    app.before_request(_open_db)
    app.teardown_request(_close_db)
    app.before_request(auth.load_user)
    app.after_request(_security_headers)
    app.context_processor(_layout_context)
    _register_filters(app, rt)
    _register_errors(app)
    return app


def _open_db() -> None:
    # Meta's deliveries go to the spool on SQLite and touch the database only on PostgreSQL
    # or for a forged one (peewee connects when first used): the connection and its pragmas
    # cost more than the rest of the receiver.
    if request.blueprint != "webhooks":
        database.connect(reuse_if_open=True)


def _close_db(_exc: BaseException | None) -> None:
    # A test may call a view inside its own transaction; closing then would fail.
    if not database.is_closed() and not database.in_transaction():
        database.close()


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" or response.mimetype == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _layout_context() -> dict[str, Any]:
    from inbox.web import home
    user = g.get("user")
    stopped: list[Account] = []
    waiting = None
    if user is not None:
        # A stopped channel is the admin's to fix (inbox.web.home): the others are not asked.
        if home.sees_office_health(user):
            names = list(runtime().config.accounts)
            stopped = list(Account.select().where(Account.name.in_(names)
                                                  & Account.disabled_reason.is_null(False)))
        waiting = home.waiting_count(user)
    return {"current_user": user, "ROLES": ROLES, "STATUS_LABELS": STATUS_LABELS,
            "stopped_accounts": stopped, "waiting_count": waiting,
            "waiting_filter": home.WAITING,
            "home_url": home.home_url(user) if user is not None else url_for("auth.login"),
            "office_name": runtime().config.office.get("short_name") or runtime().config.office["name"]}


def _register_filters(app: Flask, rt: Runtime) -> None:
    tz = rt.config.tz

    @app.template_filter("wib")
    def wib(moment: datetime | None) -> str:
        return format_datetime_id(moment, tz) if moment else "–"

    @app.template_filter("wib_short")
    def wib_short(moment: datetime | None) -> str:
        return format_datetime_id(moment, tz, fmt="d MMM y HH.mm") if moment else "–"

    @app.template_filter("wib_row")
    def wib_row(moment: datetime | None) -> str:
        """``23 Nov 09.00`` (this year) or ``23 Nov 2025`` for a list row whose column header
        says (WIB): short, so the category tags and status badges have room (issue 28)."""
        if not moment:
            return "–"
        local = moment.astimezone(tz)
        same_year = local.year == utcnow().astimezone(tz).year
        return format_local_id(local, "d MMM HH.mm" if same_year else "d MMM y")

    @app.template_filter("tanggal")
    def tanggal(day: Any) -> str:
        return format_date_id(day) if day else "–"

    @app.template_filter("masked")
    def masked(text: str | None) -> str:
        """Personal data masked (a NIK typed into a display name or handle, too)."""
        return pii.mask(text or "")

    @app.template_filter("status_label")
    def status_label(status: str) -> str:
        return label("status", status)

    @app.template_filter("label")
    def label_filter(name: Any, group: str) -> str:
        return label(group, name)

    @app.template_global("message_kind")
    def message_kind_global(message: Any) -> str:
        return message_kind(message.direction, message.kind, message.public)


def _register_errors(app: Flask) -> None:
    messages = {
        400: "Permintaan tidak dapat diproses.",
        403: "Anda tidak berhak membuka halaman atau menjalankan tindakan ini.",
        404: "Halaman tidak ditemukan.",
        405: "Cara membuka halaman ini tidak didukung.",
        413: "Isian terlalu besar.",
    }

    def render_error(code: int, message: str) -> tuple[str, int]:
        return render_template("error.html", code=code, message=message), code

    for code, message in messages.items():
        app.register_error_handler(code, lambda _e, c=code, m=message: render_error(c, m))

    from inbox.web.params import BadParameter

    @app.errorhandler(BadParameter)
    def bad_parameter(e: BadParameter) -> tuple[str, int]:
        return render_error(400, e.description or messages[400])

    @app.errorhandler(CSRFError)
    def csrf_error(_e: CSRFError) -> tuple[str, int]:
        return render_error(400, "Formulir sudah kedaluwarsa atau tidak sah. Muat ulang halaman, "
                                 "lalu coba lagi.")

    @app.errorhandler(500)
    def server_error(_e: Exception) -> tuple[str, int]:
        return render_error(500, "Terjadi kesalahan pada aplikasi. Coba lagi; bila berulang, "
                                 "hubungi petugas teknis.")
