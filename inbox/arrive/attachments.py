"""Attachments: the photos and files citizens send, stored beside their messages.

Ingest writes one row per attachment (``pending``) in the poll's transaction; the daemon's
downloader thread then fetches them one at a time (:func:`download_one`), so a slow platform
CDN never delays a poll. Platform URLs expire within hours, so a failed download is retried
with growing waits (:data:`RETRY_WAITS`) and then given up with the reason on the row; a file
larger than ``attachments.max_mb`` or a video is left on the platform, with the reason shown.

Files go under ``<data folder>/attachments/YYYY/MM/<row id><ext>``; the web serves them behind
login and the case's role checks (``inbox.web.files``), never by linking to a platform CDN.
The type a file is served as comes from its first bytes, not from the platform's header.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.base import AttachmentRef, ConnectorError, make_session
from connectors.media_session import deadline, guard
from inbox.models import Attachment, Message, utcnow

log = logging.getLogger(__name__)

PLACEHOLDERS = {"image": "[foto]", "video": "[video]", "audio": "[suara]", "file": "[berkas]",
                "sticker": "[stiker]", "link": "[tautan]"}
#: Kinds worth a copy in the office's records; videos stay on the platform (size, and the
#: admin can open them there).
DOWNLOADED_KINDS = ("image", "sticker", "file", "audio")
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=20),
               timedelta(hours=1), timedelta(hours=3))
LEASE = timedelta(minutes=2)
#: How long a host's other files wait after one of its downloads ran out of time.
SLOW_HOST_PAUSE = timedelta(minutes=10)
FOLDER = "attachments"
#: Magic numbers of the types the web shows inline; everything else is served as a download.
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
              (b"GIF87a", "image/gif", ".gif"), (b"GIF89a", "image/gif", ".gif"),
              (b"%PDF-", "application/pdf", ".pdf"))
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def placeholder(kinds: list[str] | tuple[str, ...]) -> str:
    """What a message without text reads as in lists: ``[foto]``, ``[foto] [berkas]``…"""
    return " ".join(dict.fromkeys(PLACEHOLDERS.get(kind, "[berkas]") for kind in kinds))


def rows(message_id: int, refs: tuple[AttachmentRef, ...]) -> list[dict[str, Any]]:
    """The Attachment rows ingest inserts for one message."""
    found = []
    for ref in refs:
        row: dict[str, Any] = dict(message=message_id, kind=ref.kind, platform_id=ref.platform_id,
                                   url=ref.url, mime=ref.mime, size=ref.size, name=ref.name[:200])
        if ref.kind == "link":  # an address the citizen chose: fetching it would be SSRF
            row.update(status="skipped", reason="Tautan yang dibagikan warga; tidak diunduh aduan. "
                                                "Buka sendiri bila perlu, dengan hati-hati.")
        elif ref.kind not in DOWNLOADED_KINDS:
            row.update(status="skipped", reason="Video tidak diunduh; buka pesan aslinya di platform.")
        elif not ref.url:
            row.update(status="skipped", reason="Platform tidak memberi alamat berkas ini; buka "
                                                "pesan aslinya di platform.")
        found.append(row)
    return found


def sniff(body: bytes) -> tuple[str, str] | None:
    """The (mime type, extension) that the file's first bytes show, for the types we know."""
    for magic, mime, ext in SIGNATURES:
        if body.startswith(magic):
            return mime, ext
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def host_of(url: str | None) -> str:
    """The host a URL is fetched from, or its scheme (``wa-media``, ``tg-file``) for a platform
    reference fetched through the platform's API."""
    parts = urlsplit(url or "")
    return (parts.hostname or parts.scheme or "").lower()


def absolute_path(data_dir: Path, attachment: Attachment) -> Path | None:
    """The stored file of ``attachment``, or None when it has none (or the path left the folder)."""
    if not attachment.path:
        return None
    root = (data_dir / FOLDER).resolve()
    path = (data_dir / attachment.path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


class Downloader:
    """Fetches pending attachments for one runtime, one per :meth:`download_one` call.

    Its session fetches only from the platforms' media hosts and public addresses, each hop of
    a redirect included (``connectors.media_session``), and each download has an overall
    deadline (``attachments.download_seconds``): a server that trickles a byte every few
    seconds is cut off, its file tried again later, and the host's other files wait
    :data:`SLOW_HOST_PAUSE` while every other host's go first, so one slow server never holds
    the queue while other citizens' platform links expire."""

    def __init__(self, runtime: Any, session: requests.Session | None = None) -> None:
        self.runtime = runtime
        factory = getattr(runtime, "_session_factory", None)
        self.session = session or guard(factory() if factory else make_session())
        self.slow_hosts: dict[str, datetime] = {}

    @property
    def max_bytes(self) -> int:
        return int(self.runtime.config.attachments["max_mb"]) * 1_000_000

    @property
    def seconds(self) -> float:
        return float(self.runtime.config.attachments["download_seconds"])

    def download_one(self) -> bool:
        """Download the oldest due attachment; True when one was handled (stored, failed,
        skipped or put back for a retry), False when none is due."""
        now = utcnow()
        row = self._next_due(now)
        if row is None:
            return False
        claimed = Attachment.update(lease_until=now + LEASE).where(
            (Attachment.id == row.id) & (Attachment.status == "pending")
            & (Attachment.lease_until.is_null() | (Attachment.lease_until < now))).execute()
        if claimed != 1:
            return True  # another worker took it
        account = Message.get_by_id(row.message_id).account
        if account.name not in self.runtime.config.accounts:
            self._finish(row, status="failed", reason="Akun asal pesan ini tidak ada lagi di "
                                                      "config.toml, jadi berkasnya tidak diunduh.")
            return True
        try:
            body, declared = self._fetch(row, self.runtime.connector(account.name))
        except ConnectorError as exc:
            self._failed(row, exc)
            return True
        except Exception as exc:  # one odd file must not stop the downloader
            log.exception("attachment %s: unexpected error while downloading", row.id)
            self._failed(row, ConnectorError(f"Berkas tidak dapat diunduh ({type(exc).__name__}).",
                                             permanent=True))
            return True
        self._store(row, body, declared)
        return True

    def _next_due(self, now: datetime) -> Attachment | None:
        """The oldest due row whose host is not pausing after being too slow."""
        pausing = {host for host, until in self.slow_hosts.items() if until > now}
        for row in (Attachment.select().where(
                (Attachment.status == "pending") & (Attachment.next_attempt_at <= now)
                & (Attachment.lease_until.is_null() | (Attachment.lease_until < now)))
                .order_by(Attachment.next_attempt_at, Attachment.id).limit(50)):
            if host_of(row.url) not in pausing:
                return row
        return None

    def _fetch(self, row: Attachment, connector: Any) -> tuple[bytes, str | None]:
        """The file's bytes and declared type, within the overall deadline; raises
        ConnectorError (a download cut off by the deadline is a transient one)."""
        with deadline(self.seconds) as watch:
            try:
                found = connector.fetch_attachment(self.session, row.url, self.max_bytes)
            except Exception:
                if not watch.expired:
                    raise
            finally:
                self.session.close()  # the next download opens its own connections
        if watch.expired:  # cut off, with an error or without: what arrived is not the file
            self.slow_hosts[host_of(row.url)] = utcnow() + SLOW_HOST_PAUSE
            raise ConnectorError(f"Server berkas terlalu lambat (lebih dari {self.seconds:.0f} "
                                 "detik); dicoba lagi nanti.", detail="batas waktu unduhan")
        return found

    def _store(self, row: Attachment, body: bytes, declared: str | None) -> None:
        known = sniff(body)
        mime, ext = known if known else (declared or row.mime or "application/octet-stream", ".bin")
        if not known and mime in INLINE_TYPES:
            mime = "application/octet-stream"  # it said image but its bytes are not one
        when = row.created_at
        relative = Path(FOLDER) / f"{when:%Y}" / f"{when:%m}" / f"{row.id}{ext}"
        target = self.runtime.data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".part")
        temporary.write_bytes(body)
        os.replace(temporary, target)  # a crash leaves a .part file, never half a photo
        self._finish(row, status="stored", path=relative.as_posix(), mime=mime, size=len(body),
                     downloaded_at=utcnow(), reason=None)
        log.info("attachment %s stored (%d bytes, %s)", row.id, len(body), mime)

    def _failed(self, row: Attachment, exc: ConnectorError) -> None:
        if exc.unreachable:  # the office is offline: wait for the line without using up a try
            self._finish(row, status="pending", reason=exc.message,
                         next_attempt_at=utcnow() + RETRY_WAITS[0])
            return
        attempts = row.attempts + 1
        if exc.permanent or attempts > len(RETRY_WAITS):
            reason = exc.message if exc.permanent else (
                f"Berkas gagal diunduh {attempts} kali (terakhir: {exc.detail or 'gagal'}); tautan "
                "platform mungkin sudah kedaluwarsa. Minta warga mengirim ulang bila perlu.")
            self._finish(row, status="failed", reason=reason, attempts=attempts)
            log.warning("attachment %s given up: %s", row.id, exc.message)
            return
        self._finish(row, status="pending", reason=exc.message, attempts=attempts,
                     next_attempt_at=utcnow() + RETRY_WAITS[attempts - 1])

    @staticmethod
    def _finish(row: Attachment, **fields: Any) -> None:
        Attachment.update(lease_until=None, **fields).where(Attachment.id == row.id).execute()
