"""Meta's webhook deliveries: checked and stored by the web app, ingested by the daemon.

The receiver (``inbox.web.webhooks``) checks the ``X-Hub-Signature-256`` HMAC of the raw body
against the configured app secrets before it parses anything, stores the body and answers 200 at
once, so a slow database never makes Meta retry and a crash after the 200 loses nothing. On
PostgreSQL the body becomes a ``pending`` row at once. On SQLite, whose one write lock the
daemon's ingest holds for milliseconds at a time, the receiver never waits for it: the body is
written to a file in ``data/webhooks/new`` (fsynced, then renamed into place), and the daemon
moves those files into rows (:func:`import_spool`; a file's name is the row's unique
``spool_name``, so a crash between the commit and the file's removal makes no second row).
The daemon then claims each row (:func:`process_one`) and ingests its messages through the
connector's item reader; the unique (account, external_id) index makes Meta's retries and
duplicates, in any order, one message each.

Handled: WhatsApp ``messages`` (messages and delivery statuses), Messenger and Instagram
messaging (``page`` / ``instagram`` objects, ``messaging`` events) and Instagram ``mentions``.
A Graph call made while ingesting (the conversation of a citizen, the mentioned comment) that
fails leaves the delivery pending for a later try; after five tries it is marked failed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import peewee

from connectors.base import ConnectorError
from connectors.items import ItemReader, item_id, obj, objects
from inbox import pii
from inbox.arrive import webhook_failures as failures
from inbox.arrive.ingest import ingest, insert_rows
from inbox.db import atomic_write, database
from inbox.models import Account, Case, Counter, Event, Outbox, WebhookDelivery, utcnow
from inbox.notify import notices as notify

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000
MAX_ATTEMPTS = 5
META_KINDS = ("whatsapp", "facebook", "instagram")
REJECTED_COUNTER = "webhook-rejected"
SPOOL_BATCH = 200  # files moved into rows per transaction


def app_secrets(runtime: Any) -> list[bytes]:
    """The app secrets of the configured Meta accounts: a delivery signed with any is Meta's."""
    found = []
    for account in runtime.config.accounts.values():
        secret = account.options.get("app_secret") if account.kind in META_KINDS else None
        if secret:
            found.append(str(secret).encode())
    return list(dict.fromkeys(found))


def verify_tokens(runtime: Any) -> list[str]:
    return list(dict.fromkeys(str(a.options["verify_token"]) for a in runtime.config.accounts.values()
                              if a.kind in META_KINDS and a.options.get("verify_token")))


def signature_ok(body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    """``sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time."""
    if not header or not header.startswith("sha256=") or not secrets:
        return False
    given = header[len("sha256="):].strip().lower()
    matched = False
    for secret in secrets:  # every secret is tried, so the time says nothing about which
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected, given)
    return matched


def token_ok(given: str | None, tokens: list[str]) -> bool:
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(token.encode(), (given or "").encode())
    return matched


def store(runtime: Any, body: bytes) -> None:
    """Keep a verified delivery durably; the caller answers 200 only after this returns."""
    if uses_spool():
        spool(runtime, body)
        return
    with atomic_write():
        WebhookDelivery.create(body=body.decode("utf-8", "replace"), source=source_of(body))


def source_of(body: bytes | str) -> str:
    """The envelope's ``object`` (``whatsapp_business_account``, ``page``, ``instagram``); empty
    for a body that is not a JSON object (never an exception: the spool must always move)."""
    if failures.too_deep(body):
        return ""
    try:
        return str(json.loads(body).get("object") or "")[:60]
    except (ValueError, AttributeError, RecursionError):
        return ""


def uses_spool() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def spool_dir(runtime: Any) -> Path:
    return Path(runtime.data_dir) / "webhooks"


def spool(runtime: Any, body: bytes) -> str:
    """Write ``body`` to ``webhooks/new/<ns>-<random>.json``: fsynced in ``tmp`` first, then
    renamed, so the daemon never reads half a file and a power cut after the 200 keeps it."""
    folder = spool_dir(runtime)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    partial, final = folder / "tmp" / name, folder / "new" / name
    if not final.parent.is_dir():
        for path in (partial, final):
            path.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "wb") as handle:
        handle.write(body)
        handle.flush()
        _sync(handle.fileno())
    os.replace(partial, final)
    return name


#: The file's data and size on disk (what reading it back needs) without its times: a third
#: quicker than ``fsync`` per delivery on Linux; Windows has only ``fsync``.
_sync = getattr(os, "fdatasync", os.fsync)


def spooled(runtime: Any) -> list[str]:
    """The names of the files waiting in the spool, oldest first."""
    try:
        return sorted(name for name in os.listdir(spool_dir(runtime) / "new") if name.endswith(".json"))
    except FileNotFoundError:
        return []


def import_spool(runtime: Any, limit: int = SPOOL_BATCH) -> int:
    """Move up to ``limit`` spooled deliveries into ``pending`` rows in one transaction, then
    remove their files; the number of files taken."""
    folder = spool_dir(runtime) / "new"
    names = spooled(runtime)[:limit]
    rows = []
    for name in names:
        try:
            raw = (folder / name).read_bytes()
        except FileNotFoundError:  # another worker took it
            continue
        received = datetime.fromtimestamp(int(name.split("-", 1)[0]) / 1e9, timezone.utc)
        rows.append({"body": raw.decode("utf-8", "replace"), "source": source_of(raw),
                     "spool_name": name, "received_at": received})
    if rows:
        with atomic_write():
            insert_rows(WebhookDelivery, rows, ignore_conflicts=True)
    for name in names:
        (folder / name).unlink(missing_ok=True)
    return len(rows)


def take_spool(runtime: Any) -> int:
    """Move every delivery waiting in the spool now into its row (on SQLite; elsewhere there is
    no spool), so that a backup taken next holds each delivery already answered: Meta will not
    send it again. Files arriving meanwhile are left to the daemon. The number moved."""
    if not uses_spool():
        return 0
    total, rounds = 0, len(spooled(runtime)) // SPOOL_BATCH + 1
    for _ in range(rounds):
        moved = import_spool(runtime)
        total += moved
        if not moved:
            break
    return total


def waiting_total(runtime: Any) -> int:
    """Deliveries not ingested yet: pending rows and files still in the spool."""
    rows = WebhookDelivery.select().where(WebhookDelivery.status == "pending").count()
    return rows + (len(spooled(runtime)) if uses_spool() else 0)


#: ``aduan webhook check`` marks its deliberately forged delivery with this header, an HMAC of the
#: body under the app secret: only someone who holds the secret can make it, and the check's own
#: forgery is then refused (403) without counting among the dashboard's refused signatures.
SELF_TEST_HEADER = "X-Aduan-Self-Test"


def self_test_mark(body: bytes, secret: bytes) -> str:
    return hmac.new(secret, b"aduan-self-test:" + body, hashlib.sha256).hexdigest()


def is_self_test(body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    """Whether a refused delivery is ``aduan webhook check``'s own forged one."""
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(self_test_mark(body, secret), (header or "").strip().lower())
    return bool(header) and matched


def count_rejected() -> None:
    with atomic_write():
        Counter.next(REJECTED_COUNTER)


def rejected_total() -> int:
    row = Counter.get_or_none(Counter.key == REJECTED_COUNTER)
    return row.value if row else 0


def process_one(runtime: Any) -> bool:
    """Ingest the oldest pending delivery; True when one was handled.

    The delivery is marked done and its messages stored in one transaction: a worker that dies
    half-way leaves it pending for the next, and two workers never both take it (the
    conditional UPDATE). ``lease_until`` is the not-before time of a delivery that failed. One
    that cannot be ingested is set aside (``inbox.arrive.webhook_failures``), never retried
    forever, so the deliveries after it go on."""
    now = utcnow()
    row = _next_pending(now)
    if row is None and uses_spool() and import_spool(runtime):
        row = _next_pending(now)
    if row is None:
        return False
    try:
        with atomic_write():
            taken = WebhookDelivery.update(status="done", processed_at=now, lease_until=None).where(
                (WebhookDelivery.id == row.id) & (WebhookDelivery.status == "pending")).execute()
            if taken == 1:
                notes, problem = _apply(runtime, row)
                if problem is not None:
                    failures.set_aside(runtime.config, row, *problem)
                    log.warning("webhook delivery %s set aside: %s", row.id, problem[1])
                elif notes:
                    WebhookDelivery.update(error="; ".join(notes)[:1000]).where(
                        WebhookDelivery.id == row.id).execute()
    except ConnectorError as exc:  # a Graph call made while ingesting
        log.warning("webhook delivery %s: %s", row.id, pii.mask(exc.message))
        _failed(runtime, row, exc, counted=not exc.unreachable)
    except Exception as exc:  # one bad delivery must not block the others
        log.exception("webhook delivery %s could not be ingested", row.id)
        _failed(runtime, row, exc)
    return True


def _failed(runtime: Any, row: WebhookDelivery, exc: Exception, counted: bool = True) -> None:
    """Try ``row`` again later, or set it aside after its last try. A Graph call that could not
    connect at all (the office is offline) does not use up a try."""
    reason = pii.mask(f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}")[:500]
    attempts = row.attempts + (1 if counted else 0)
    with atomic_write():
        if attempts >= MAX_ATTEMPTS:
            WebhookDelivery.update(attempts=attempts).where(WebhookDelivery.id == row.id).execute()
            failures.set_aside(runtime.config, row, "error",
                               f"gagal diproses {attempts} kali (terakhir: {reason})")
            return
        WebhookDelivery.update(status="pending", attempts=attempts, error=reason,
                               lease_until=utcnow() + timedelta(minutes=max(attempts, 1))).where(
            WebhookDelivery.id == row.id).execute()


def _next_pending(now: datetime) -> WebhookDelivery | None:
    return (WebhookDelivery.select().where(
        (WebhookDelivery.status == "pending")
        & (WebhookDelivery.lease_until.is_null() | (WebhookDelivery.lease_until < now)))
        .order_by(WebhookDelivery.id).first())


#: What ``_apply`` found: notes kept on a delivery that was ingested, and the (cause, reason)
#: that sets it aside instead.
Applied = tuple[list[str], tuple[str, str] | None]


def _apply(runtime: Any, row: WebhookDelivery) -> Applied:
    if failures.too_deep(row.body):
        return [], ("unreadable", f"isi kiriman bersarang lebih dari {failures.MAX_DEPTH} tingkat")
    try:
        payload = json.loads(row.body)
    except (ValueError, RecursionError):
        return [], ("unreadable", "isi kiriman bukan JSON")
    if not isinstance(payload, dict):
        return [], ("unreadable", "isi kiriman bukan objek JSON")
    source = payload.get("object")
    if source in ("page", "instagram"):
        return _apply_graph(runtime, payload, "facebook" if source == "page" else "instagram")
    if source != "whatsapp_business_account":
        return [f"objek {str(source)[:40]!r} tidak dikenal aduan; kiriman disimpan apa adanya"], None
    by_phone = {str(a.options.get("phone_number_id")): a.name
                for a in runtime.config.accounts.values() if a.kind == "whatsapp"}
    unknown = []
    for entry in objects(payload.get("entry")):
        for change in objects(entry.get("changes")):
            if change.get("field") != "messages":
                continue
            value = obj(change.get("value"))
            phone = item_id(obj(value.get("metadata")), "phone_number_id")
            name = by_phone.get(phone or "")
            if name is None:
                unknown.append(f"nomor WhatsApp dengan phone_number_id {phone} tidak ada di "
                               "config.toml (periksa phone_number_id akun WhatsApp)")
                continue
            account = Account.get(Account.name == name)
            items = ItemReader(name)
            messages = runtime.connector(name).read_change(value, items)
            _ingest(runtime, account, messages, items)
            for status in objects(value.get("statuses")):
                _apply_status(status)
    return _unknown_accounts(unknown)


def _apply_graph(runtime: Any, payload: dict[str, Any], kind: str) -> Applied:
    """Messenger / Instagram messaging and Instagram @mentions, read by the polling connectors'
    own parsers; the next poll reconciles anything a webhook missed, never duplicating."""
    key = "page_id" if kind == "facebook" else "ig_user_id"
    by_id = {str(a.options.get(key)): a.name for a in runtime.config.accounts.values() if a.kind == kind}
    unknown = []
    for entry in objects(payload.get("entry")):
        name = by_id.get(item_id(entry) or "")
        if name is None:
            unknown.append(f"akun {kind} dengan {key} {item_id(entry)} tidak ada di config.toml "
                           f"(periksa {key})")
            continue
        items = ItemReader(name)
        messages = runtime.connector(name).read_webhook(entry, items)
        _ingest(runtime, Account.get(Account.name == name), messages, items)
    return _unknown_accounts(unknown)


def _unknown_accounts(reasons: list[str]) -> Applied:
    """A delivery for an account config.toml does not have is set aside, not dropped: a typo in
    an id would otherwise lose every message of that number unseen."""
    if not reasons:
        return [], None
    return [], ("unknown_account", "; ".join(dict.fromkeys(reasons)))


def _ingest(runtime: Any, account: Account, messages: list[Any], items: ItemReader) -> None:
    """Store what a delivery carried; items set aside are told to the superusers, as a poll's."""
    report = ingest(account, messages, None, runtime.ingest_options, set_aside=items.set_aside,
                    ignored=dict(items.ignored))
    if report.set_aside:
        notify.set_aside(runtime.config, account, report.set_aside)


def _apply_status(status: dict[str, Any]) -> None:
    """``sent``/``delivered``/``read`` are recorded once each; ``failed`` fails the reply."""
    wamid, state = item_id(status), str(status.get("status") or "")
    outbox = Outbox.get_or_none(Outbox.platform_id == wamid) if wamid else None
    if outbox is None or state not in ("sent", "delivered", "read", "failed"):
        return
    seen = Event.select().where((Event.case == outbox.case_id)
                                & (Event.action == f"whatsapp_{state}"))
    if any((e.detail or {}).get("outbox_id") == outbox.id for e in seen):
        return  # Meta sends a status more than once
    if state != "failed":
        Event.record(f"whatsapp_{state}", case=outbox.case_id, outbox_id=outbox.id)
        return
    error = (objects(status.get("errors")) or [{}])[0]
    detail = obj(error.get("error_data")).get("details") or error.get("message") or error.get("title")
    reason = pii.mask(f"WhatsApp tidak dapat mengantar balasan (kode {error.get('code')}): {detail}")
    Outbox.update(status="failed", last_error=reason).where(Outbox.id == outbox.id).execute()
    fields: dict[str, Any] = {"alert": f"{reason}. Periksa lalu kirim ulang jawabannya.",
                              "updated_at": utcnow()}
    if outbox.purpose == "answer":
        fields.update(status="new", queue="admin", answered_at=None, closed_at=None)
    Case.update(**fields).where((Case.id == outbox.case_id)
                                & Case.status.in_(("answered", "replying"))).execute()
    Event.record("whatsapp_failed", case=outbox.case_id, outbox_id=outbox.id, error=reason)
