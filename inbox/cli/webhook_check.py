"""``aduan webhook check``: prove the receiver works before asking Meta to call it.

It prints the path Meta must call, then talks to the running aduan (``aduan run`` or ``serve``)
the way Meta does: the subscription handshake with the verify token, a correctly signed test
delivery, and a forged one that must be refused. Each step is one line; exit 1 if any failed.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
from typing import Any

import requests

from inbox.arrive.webhooks import SELF_TEST_HEADER, app_secrets, self_test_mark, verify_tokens

TEST_BODY = {"object": "whatsapp_business_account", "entry": [], "aduan_test": True}


def check(base_url: str, runtime: Any, session: requests.Session | None = None) -> list[tuple[bool, str]]:
    """The steps and whether each passed."""
    session = session or requests.Session()
    url = f"{base_url.rstrip('/')}/webhooks/meta"
    steps: list[tuple[bool, str]] = []
    tokens, keys = verify_tokens(runtime), app_secrets(runtime)
    if not tokens or not keys:
        return [(False, "Belum ada akun whatsapp dengan verify_token dan app_secret di config.toml.")]
    challenge = str(secrets.randbelow(10**9))
    try:
        answer = session.get(url, params={"hub.mode": "subscribe", "hub.verify_token": tokens[0],
                                          "hub.challenge": challenge}, timeout=10)
    except requests.RequestException as exc:
        return [(False, f"aduan tidak menjawab di {url} ({type(exc).__name__}); jalankan aduan run "
                        "atau aduan serve dulu.")]
    steps.append((answer.status_code == 200 and answer.text == challenge,
                  f"verifikasi (hub.challenge): HTTP {answer.status_code}"))
    raw = json.dumps(TEST_BODY).encode()
    signature = "sha256=" + hmac.new(keys[0], raw, hashlib.sha256).hexdigest()
    signed = session.post(url, data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": signature})
    steps.append((signed.status_code == 200, f"kiriman bertanda tangan benar: HTTP {signed.status_code}"))
    # Marked as the check's own, so it is refused without counting among the dashboard's
    # refused signatures (someone else's forgery still counts).
    forged = session.post(url, data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64,
        SELF_TEST_HEADER: self_test_mark(raw, keys[0])})
    steps.append((forged.status_code == 403, f"kiriman palsu ditolak: HTTP {forged.status_code}"))
    return steps


def cmd_webhook_check(args: argparse.Namespace, ctx: Any) -> int:
    """Check the Meta webhook receiver of the running aduan."""
    runtime = ctx.runtime()
    web = runtime.config.web
    base = args.url or f"http://{web['host']}:{web['port']}"
    ctx.print(f"Alamat yang didaftarkan di Meta: https://<alamat publik kantor>/webhooks/meta "
              f"(diteruskan ke {base}/webhooks/meta)")
    steps = check(base, runtime)
    for ok, line in steps:
        ctx.print(("OK    " if ok else "GAGAL ") + line)
    if any(not ok and "HTTP 403" in line for ok, line in steps[:2]):
        # The running aduan read config.toml when it started: an account added since is unknown
        # to it, so it refuses the token and the signature.
        ctx.print("Bila akun WhatsApp ditambahkan ke config.toml setelah aduan run (atau aduan "
                  "serve) dimulai, aduan yang berjalan belum mengenalnya: hentikan (Ctrl+C atau "
                  "aduan service) lalu jalankan lagi aduan run, kemudian ulangi aduan webhook check.")
    return 0 if all(ok for ok, _ in steps) else 1


def register(sub: Any, add: Any) -> None:
    webhook = sub.add_parser("webhook", help="penerima webhook Meta (WhatsApp)")
    actions = webhook.add_subparsers(dest="webhook_command", metavar="TINDAKAN", title="tindakan")
    p = actions.add_parser("check", help="kirim kiriman uji bertanda tangan ke aduan yang berjalan")
    p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--url", metavar="URL", help="alamat web aduan (bawaan: [web] host dan port)")
    p.set_defaults(func=cmd_webhook_check)
