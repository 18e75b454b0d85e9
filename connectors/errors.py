"""The one error type of every connector (DESIGN.md, STYLE.md: one error with a ``permanent``
flag), and the one rule that turns a failed HTTP call into it; ``connectors.base`` re-exports
the type.

The rule (:func:`request_failed`) draws the line every send path needs: a request that never
left the office (the platform's name did not resolve, the connection was refused or timed out
while connecting, the proxy could not be reached) was certainly not sent and is simply tried
again; an error after the request may have reached the platform (a read timeout, a connection
dropped after sending, a TLS error past the handshake) leaves a reply's outcome unknown.
"""
from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import datetime

import requests
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ProxyError as ProxyConnectError


class ConnectorError(Exception):
    """A platform refused or failed.

    ``permanent``: retrying cannot help (revoked token, missing permission, reply not allowed);
    the account is disabled, or the reply marked failed, with ``message`` as the reason a person
    reads (Bahasa Indonesia where a connector knows the cause).
    ``retry_at``: a rate limit; do not call before this time.
    ``uncertain``: the request may have reached the platform (a timeout after it was sent); a
    reply with this outcome must not be re-sent blindly.
    ``unreachable``: no connection to the platform could be opened at all (no name resolution,
    refused, timed out while connecting): nothing was sent, and the office may be offline. Never
    together with ``uncertain``; retried without counting against a reply's tries.
    ``detail``: diagnostic material (a malformed body), stored, never shown as the reason.
    """

    def __init__(self, message: str, permanent: bool = False, retry_at: datetime | None = None,
                 uncertain: bool = False, detail: str | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_at = retry_at
        self.uncertain = uncertain and not unreachable
        self.unreachable = unreachable
        self.detail = detail


def request_failed(exc: requests.RequestException, *, sending: bool, unreachable: str,
                   uncertain: str, detail: str | None = None,
                   error_type: type[ConnectorError] = ConnectorError) -> ConnectorError:
    """The ConnectorError for a ``requests`` exception.

    ``sending``: the request publishes something (a reply), so an error after it may have
    reached the platform makes the outcome unknown (``uncertain`` with the ``uncertain`` text).
    Otherwise, and always when :func:`never_connected`, it is an ordinary transient error with
    the ``unreachable`` text (flagged ``unreachable`` when no connection was opened)."""
    detail = detail if detail is not None else type(exc).__name__
    if never_connected(exc):
        return error_type(unreachable, unreachable=True, detail=detail)
    if sending and not never_sent(exc):
        return error_type(uncertain, uncertain=True, detail=detail)
    return error_type(unreachable, detail=detail)


def never_connected(exc: BaseException) -> bool:
    """True when no connection to the platform was opened, so not a byte of the request left:
    a connect timeout, a name that did not resolve (urllib3's ``NameResolutionError`` is a
    ``NewConnectionError``), a refused or unroutable connection, a proxy that could not be
    reached or could not reach the platform (``Tunnel connection failed``).

    requests wraps these as ``ConnectTimeout``, ``ProxyError`` or ``ConnectionError`` around
    urllib3's ``MaxRetryError`` whose ``reason`` names the cause. A ``ConnectionError`` around a
    ``ProtocolError`` ("Connection aborted.") is a connection that broke while the request was
    being sent or answered: not this."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.ProxyError)):
        return True
    if isinstance(exc, requests.exceptions.SSLError) or not isinstance(exc, requests.ConnectionError):
        return False
    for cause in _causes(exc):
        if isinstance(cause, (NewConnectionError, ProxyConnectError)):
            return True
        if isinstance(cause, OSError) and str(cause).startswith("Tunnel connection failed"):
            return True  # http.client's CONNECT through the office proxy was refused
    return False


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly did not reach the platform: :func:`never_connected`, a
    certificate the handshake refused (before any request byte), or a request requests refused
    to build (a bad URL or header)."""
    if never_connected(exc):
        return True
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader,
                        requests.exceptions.URLRequired)):
        return True
    return isinstance(exc, requests.exceptions.SSLError) and any(
        isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc))


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """``exc`` and the exceptions requests and urllib3 wrapped inside it (``args``, ``reason``,
    ``original_error``), never the unrelated ones Python chains as ``__context__``."""
    yield exc
    if depth > 6:
        return
    inner = [arg for arg in exc.args if isinstance(arg, BaseException)]
    for name in ("reason", "original_error"):
        value = getattr(exc, name, None)
        if isinstance(value, BaseException):
            inner.append(value)
    for cause in inner:
        yield from _causes(cause, depth + 1)
