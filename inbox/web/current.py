"""The Runtime of the app serving the current request (set by ``inbox.web.app.create_app``)."""
from __future__ import annotations

from flask import current_app

from inbox.setup.runtime import Runtime


def runtime() -> Runtime:
    """The Runtime of the current app."""
    return current_app.extensions["aduan_runtime"]
