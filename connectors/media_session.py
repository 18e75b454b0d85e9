"""The session attachments are downloaded through: the platforms' media hosts only, public
addresses only, and an overall deadline per download.

A URL in a platform payload is citizen-influenced (a shared link, a redirect from a CDN), and
the office PC sits inside the office network: fetched blindly, ``https://127.0.0.1:8080/...`` or
a router's page would be downloaded and served back at ``/lampiran/N`` (SSRF). So every request
this session makes, the first and each redirect (requests sends every hop through the adapter),
must name a host of :data:`MEDIA_HOSTS`, and the address the socket actually connected to —
after DNS, so a name that resolves inside the office is caught too — must be a public one
(through a configured proxy the proxy's own address is not judged: the name check still holds).

Per-read timeouts do not bound a download: a server sending one byte every five seconds never
trips a 30-second read timeout. :func:`deadline` gives one download an overall limit; when it
passes, the sockets that download opened are shut down, so a read blocked on them returns at
once and the download fails instead of holding the downloader's only thread.
"""
from __future__ import annotations

import functools
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connectors.errors import ConnectorError

#: The hosts the platforms serve media from (a host matches a suffix, or is it): Meta's CDNs
#: and Graph for Facebook, Instagram and WhatsApp media, X's media and DM-media hosts, and the
#: Telegram Bot API's file host. A shared link to anywhere else is never fetched.
MEDIA_HOSTS = ("fbcdn.net", "fbsbx.com", "facebook.com", "cdninstagram.com", "instagram.com",
               "whatsapp.net", "twimg.com", "twitter.com", "x.com", "telegram.org")
MAX_REDIRECTS = 5

_local = threading.local()


class RefusedAddress(ConnectorError):
    """A URL or address an attachment must not be fetched from (permanent: never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


def host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in hosts)


def public_address(text: str) -> bool:
    """True for an address on the public internet: not loopback, private, link-local, shared
    (CGNAT), multicast, reserved or unspecified; an IPv4-mapped IPv6 address is judged as IPv4."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, hosts: tuple[str, ...] | None, public_only: bool) -> None:
    """Raise :class:`RefusedAddress` unless ``url`` may be fetched (before any connection)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise RefusedAddress("Alamat berkas bukan alamat web; berkas tidak diunduh. Buka pesan "
                             "aslinya di platform.")
    if hosts is not None and not host_allowed(host, hosts):
        raise RefusedAddress(f"Berkas tidak diunduh: {host} bukan server media platform. Buka "
                             "pesan aslinya di platform bila perlu.")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if public_only and (host == "localhost" or host.endswith(".localhost")
                        or (literal is not None and not public_address(str(literal)))):
        raise RefusedAddress(f"Berkas tidak diunduh: {host} adalah alamat jaringan internal.")


class _Guarded:
    """Mixed into urllib3's connections: judge the address the socket reached, and put the
    socket under the current download's deadline."""

    public_only = True

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        if self.public_only and getattr(self, "proxy", None) is None:
            peer = sock.getpeername()[0]
            if not public_address(peer):
                sock.close()
                raise RefusedAddress(f"Berkas tidak diunduh: {getattr(self, 'host', '')} mengarah "
                                     f"ke alamat jaringan internal ({peer}).")
        watch = getattr(_local, "deadline", None)
        if watch is not None:
            watch.add(sock)
        return sock


@functools.cache
def _pool_classes(public_only: bool) -> dict[str, type]:
    classes: dict[str, type] = {}
    for scheme, connection, pool in (("http", HTTPConnection, HTTPConnectionPool),
                                     ("https", HTTPSConnection, HTTPSConnectionPool)):
        guarded = type(f"Guarded{connection.__name__}", (_Guarded, connection),
                       {"public_only": public_only})
        classes[scheme] = type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": guarded})
    return classes


class MediaAdapter(HTTPAdapter):
    """An adapter that refuses what :func:`check_url` refuses, on every hop, and connects with
    the guarded connections."""

    def __init__(self, hosts: tuple[str, ...] | None = MEDIA_HOSTS, public_only: bool = True) -> None:
        self.hosts = hosts
        self.public_only = public_only
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.public_only)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _pool_classes(self.public_only)
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        check_url(request.url or "", self.hosts, self.public_only)
        return super().send(request, *args, **kwargs)


def guard(session: requests.Session, hosts: tuple[str, ...] | None = MEDIA_HOSTS,
          public_only: bool = True) -> requests.Session:
    """Make ``session`` a media session (in place) and return it. ``hosts=None`` allows any
    host name and ``public_only=False`` any address: for a test server or a trusted mirror."""
    adapter = MediaAdapter(hosts, public_only)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.max_redirects = MAX_REDIRECTS
    return session


class Deadline:
    """One download's overall time limit (see the module docstring)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread; close() would not
    except OSError:
        pass  # already closed


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Give the downloads this thread makes inside the block ``seconds`` in all."""
    watch = Deadline(seconds)
    previous = getattr(_local, "deadline", None)
    _local.deadline = watch
    watch._timer.start()
    try:
        yield watch
    finally:
        watch._timer.cancel()
        _local.deadline = previous
