"""Real mail servers for the e-mail tests: Dovecot (IMAPS) and an aiosmtpd sink (STARTTLS + AUTH).

Everything lives in a temporary folder: a self-signed certificate made with ``openssl req``
(trusted through the account's ``ca_file``), a Dovecot config listening on 127.0.0.1 on a free
port with a passwd-file user whose Maildir is under the folder, and no systemd. Mail is
"delivered" the way an MDA does it: a file written into ``Maildir/new``. Dovecot runs its mail
processes as ``nobody`` because it refuses mail access as root.

When Dovecot or openssl is missing the tests are skipped with the reason, except with
``ADUAN_REQUIRE_MAIL=1`` (CI), where they fail.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

USER, PASSWORD = "pengaduan@dukcapil.test", "sandi-rahasia-uji"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def require_or_skip(reason: str) -> None:
    if os.environ.get("ADUAN_REQUIRE_MAIL") == "1":
        pytest.fail(f"ADUAN_REQUIRE_MAIL=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@dataclass
class Dovecot:
    folder: Path
    cert: Path
    port: int = 0
    starttls_port: int = 0
    process_dir: Path = field(init=False)

    @property
    def maildir(self) -> Path:
        return self.folder / "mail" / "Maildir"

    def start(self) -> None:
        self.port, self.starttls_port = free_port(), free_port()
        self.process_dir = self.folder / "run"
        (self.process_dir / "state").mkdir(parents=True)
        key = self.cert.with_name("key.pem")
        home = self.folder / "mail"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::{home}::\n")
        (self.folder / "dovecot.conf").write_text(f"""
base_dir = {self.process_dir}
state_dir = {self.process_dir}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = nobody
mail_gid = nogroup
disable_plaintext_auth = yes
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{key}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {self.folder}/users
}}
userdb {{
  driver = passwd-file
  args = {self.folder}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.chown()
        os.chmod(self.folder, 0o755)
        # Dovecot forks into the background and its children keep inherited pipes open:
        # never capture its output, or run() waits for them.
        subprocess.run([DOVECOT, "-c", str(self.folder / "dovecot.conf")], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Dovecot did not start: " + self.log())

    def chown(self) -> None:
        nobody = pwd.getpwnam("nobody")
        for path in [self.folder / "mail", *(self.folder / "mail").rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def deliver(self, data: bytes) -> None:
        """Deliver one mail like an MDA: written in tmp/, renamed into new/."""
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.aduan-test"
        temporary = self.maildir / "tmp" / name
        temporary.write_bytes(data)
        os.rename(temporary, self.maildir / "new" / name)
        self.chown()

    def renumber(self) -> None:
        """Make Dovecot give the folder a new UIDVALIDITY (as after a mailbox restore)."""
        for path in self.maildir.glob("dovecot*"):
            path.unlink()

    def stop(self) -> None:
        pid_file = self.process_dir / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 15)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> Any:
        """Another mail client (a person's Thunderbird) on the same mailbox."""
        import imapclient
        client = imapclient.IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=
                                       ssl.create_default_context(cafile=str(self.cert)))
        client.login(USER, PASSWORD)
        return client


class Sink:
    """An SMTP server that keeps what it receives: STARTTLS required (or SMTPS with
    ``implicit_tls``), AUTH PLAIN/LOGIN."""

    def __init__(self, cert: Path, implicit_tls: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.received: list[Any] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(cert.with_name("key.pem")))
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.received.append(envelope)
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                          data: Any) -> Any:
            ok = data.login.decode() == USER and data.password.decode() == PASSWORD
            return AuthResult(success=ok)

        self.port = free_port()
        # aiosmtpd counts only STARTTLS as TLS for AUTH; an SMTPS connection is TLS throughout.
        tls: dict[str, Any] = ({"ssl_context": context, "auth_require_tls": False} if implicit_tls
                               else {"tls_context": context, "require_starttls": True})
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     authenticator=authenticator, auth_required=True, **tls)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def account(dovecot: Dovecot, sink: Sink, name: str = "surel", extra: str = "") -> str:
    return f"""
[accounts.{name}]
kind = "email"
label = "E-mail pengaduan"
poll_interval = 60
address = "{USER}"
password = "{PASSWORD}"
imap_host = "127.0.0.1"
imap_port = {dovecot.port}
imap_security = "tls"
smtp_host = "127.0.0.1"
smtp_port = {sink.port}
smtp_security = "starttls"
ca_file = "{dovecot.cert}"
{extra}
"""
