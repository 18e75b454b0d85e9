"""The one error type of every connector (DESIGN.md, STYLE.md: one error with a ``permanent``
flag); ``connectors.base`` re-exports it."""
from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """A platform refused or failed.

    ``permanent``: retrying cannot help (revoked token, missing permission, reply not allowed);
    the account is disabled, or the reply marked failed, with ``message`` as the reason a person
    reads (Bahasa Indonesia where a connector knows the cause).
    ``retry_at``: a rate limit; do not call before this time.
    ``uncertain``: the request may have reached the platform (a timeout after it was sent); a
    reply with this outcome must not be re-sent blindly.
    ``detail``: diagnostic material (a malformed body), stored, never shown as the reason.
    """

    def __init__(self, message: str, permanent: bool = False, retry_at: datetime | None = None,
                 uncertain: bool = False, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_at = retry_at
        self.uncertain = uncertain
        self.detail = detail
