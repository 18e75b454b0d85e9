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
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from connectors.base import AttachmentRef, ConnectorError, make_session
from inbox.models import Attachment, Message, utcnow

log = logging.getLogger(__name__)

PLACEHOLDERS = {"image": "[foto]", "video": "[video]", "audio": "[suara]", "file": "[berkas]",
                "sticker": "[stiker]"}
#: Kinds worth a copy in the office's records; videos stay on the platform (size, and the
#: admin can open them there).
DOWNLOADED_KINDS = ("image", "sticker", "file", "audio")
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=20),
               timedelta(hours=1), timedelta(hours=3))
LEASE = timedelta(minutes=2)
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
        if ref.kind not in DOWNLOADED_KINDS:
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


def absolute_path(data_dir: Path, attachment: Attachment) -> Path | None:
    """The stored file of ``attachment``, or None when it has none (or the path left the folder)."""
    if not attachment.path:
        return None
    root = (data_dir / FOLDER).resolve()
    path = (data_dir / attachment.path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


class Downloader:
    """Fetches pending attachments for one runtime, one per :meth:`download_one` call."""

    def __init__(self, runtime: Any, session: requests.Session | None = None) -> None:
        self.runtime = runtime
        factory = getattr(runtime, "_session_factory", None)
        self.session = session or (factory() if factory else make_session())

    @property
    def max_bytes(self) -> int:
        return int(self.runtime.config.attachments["max_mb"]) * 1_000_000

    def download_one(self) -> bool:
        """Download the oldest due attachment; True when one was handled (stored, failed,
        skipped or put back for a retry), False when none is due."""
        now = utcnow()
        row = (Attachment.select().where(
            (Attachment.status == "pending") & (Attachment.next_attempt_at <= now)
            & (Attachment.lease_until.is_null() | (Attachment.lease_until < now)))
            .order_by(Attachment.next_attempt_at, Attachment.id).first())
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
            connector = self.runtime.connector(account.name)
            body, declared = connector.fetch_attachment(self.session, row.url, self.max_bytes)
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
