"""Serving the web inbox with waitress (pure Python, the same on Windows and Linux).

``start_in_thread`` runs it next to the daemon (``aduan run``); ``aduan serve`` runs it alone
in the foreground until SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from inbox.run.memory import Trimmer, limit_arenas
from inbox.setup.runtime import Runtime, setup
from inbox.web.app import create_app

log = logging.getLogger(__name__)

THREADS = 8


def proxy_options(web: dict[str, Any]) -> dict[str, Any]:
    """waitress options for ``web.trusted_proxy``: behind that reverse proxy, its
    X-Forwarded-Proto tells the app the browser used HTTPS (for ``Secure`` cookies) and its
    X-Forwarded-For gives the client's address (for login throttling)."""
    proxy = web.get("trusted_proxy") or ""
    if not proxy:
        return {}
    return {"trusted_proxy": proxy, "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
            "clear_untrusted_proxy_headers": True}


class WebServer:
    """A waitress server running in a daemon thread; ``close()`` stops it and waits."""

    def __init__(self, rt: Runtime, host: str | None = None, port: int | None = None) -> None:
        web = rt.config.web
        self.host = host if host is not None else web["host"]
        self.server = create_server(create_app(rt), host=self.host,
                                    port=port if port is not None else web["port"],
                                    threads=THREADS, ident="aduan", **proxy_options(web))
        self.port: int = getattr(self.server, "effective_port", None) or \
            self.server.effective_listen[0][1]
        self.closing = False
        self.thread = threading.Thread(target=self._serve, name="aduan-web", daemon=True)

    def _serve(self) -> None:
        """waitress's loop; the sockets ``close()`` shuts under a select() still waiting on them
        end it with EBADF, which is the stop asked for, not a failure to report."""
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self.closing:
                raise

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, let running requests finish (up to ``timeout``), end the thread."""
        server = self.server
        self.closing = True
        server.task_dispatcher.shutdown(timeout=timeout)
        wasyncore.close_all(getattr(server, "map", None) or server._map)
        self.thread.join(timeout)


#: Why an address cannot be listened on, in words (Linux, macOS and Windows error numbers).
SOCKET_PROBLEMS = {
    errno.EADDRINUSE: "alamat ini sudah dipakai program lain", 10048: "alamat ini sudah dipakai program lain",
    errno.EADDRNOTAVAIL: "alamat ini bukan milik komputer ini", 10049: "alamat ini bukan milik komputer ini",
    errno.EACCES: "tidak diizinkan; port di bawah 1024 perlu hak administrator",
    10013: "tidak diizinkan; port di bawah 1024 perlu hak administrator",
}


def socket_problem(exc: OSError) -> str:
    """The reason an address cannot be used, in Indonesian (never the system's English)."""
    found = SOCKET_PROBLEMS.get(exc.errno or 0) or SOCKET_PROBLEMS.get(getattr(exc, "winerror", 0) or 0)
    if found:
        return found
    if isinstance(exc, socket.gaierror):
        return "nama host tidak dikenal"
    return f"kesalahan sistem {exc.errno}" if exc.errno else "kesalahan sistem"


def address_lines(server: WebServer) -> list[str]:
    lines = [f"Buka {server.url} di peramban"]
    if server.host in ("0.0.0.0", "", "::"):
        lines.append(f"(dari komputer lain di kantor: http://ALAMAT-IP-KOMPUTER-INI:{server.port})")
    return lines


def start_in_thread(rt: Runtime, ctx: Any) -> WebServer:
    """Serve the web in a daemon thread next to the daemon; prints the address to open.

    Raises inbox.cli.common.UserError when the address cannot be used (port taken, bad host)."""
    from inbox.cli.common import UserError
    try:
        server = WebServer(rt).start()
    except OSError as exc:
        web = rt.config.web
        raise UserError(f"web: tidak dapat memakai {web['host']}:{web['port']} ({socket_problem(exc)}); "
                        f"tutup program lain yang memakainya atau ganti [web] port di config.toml",
                        exit_code=1) from None
    for line in address_lines(server):
        ctx.print(line)
    return server


def cmd_serve(args: argparse.Namespace, ctx: Any) -> int:
    """The web alone, in the foreground; SIGINT/SIGTERM stop it with exit code 0."""
    limit_arenas()
    rt = ctx.runtime()
    rt.resident = True
    _, created = setup(ctx.config)
    if created:
        from inbox.cli.common import print_first_superuser
        print_first_superuser(ctx, created)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("sinyal %s diterima; halaman web dihentikan", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = start_in_thread(rt, ctx)
    trimmer = Trimmer()  # what the daemon's loop does in aduan run (inbox.run.memory)
    try:
        while not stop.wait(0.5):
            trimmer.maybe()
            if not server.thread.is_alive():
                log.error("halaman web berhenti tanpa diduga")
                return 1
    finally:
        server.close()
    return 0


def register(sub: Any, add: Any) -> None:
    """Add ``aduan serve`` to the command line."""
    add("serve", cmd_serve, "jalankan halaman web saja (tanpa pemeriksa saluran)")
