"""Downloading a file a citizen attached, with a size limit that holds even when the platform's
``Content-Length`` is missing or wrong. Which hosts and addresses may be fetched, and how long a
download may take, is the session's business (``connectors.media_session``)."""
from __future__ import annotations

from typing import Any

import requests

from connectors.errors import ConnectorError, never_connected


def download(session: requests.Session, url: str, max_bytes: int,
             **kwargs: Any) -> tuple[bytes, str | None]:
    """GET ``url`` as a stream, refusing more than ``max_bytes``; raises ConnectorError."""
    try:
        with session.get(url, stream=True, **kwargs) as response:
            if response.status_code in (403, 404, 410):
                raise ConnectorError(f"Platform menolak mengunduh berkas (HTTP {response.status_code});"
                                     " tautannya mungkin sudah kedaluwarsa.",
                                     permanent=response.status_code != 403)
            if response.status_code >= 400:
                raise ConnectorError(f"Platform menjawab HTTP {response.status_code} saat berkas "
                                     "diunduh; dicoba lagi nanti.",
                                     detail=f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ConnectorError(too_large(max_bytes), permanent=True)
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise ConnectorError(too_large(max_bytes), permanent=True)
            mime = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
            return bytes(body), mime
    except requests.TooManyRedirects:
        raise ConnectorError("Berkas tidak diunduh: alamatnya terus dialihkan ke alamat lain. Buka "
                             "pesan aslinya di platform.", permanent=True) from None
    except requests.RequestException as exc:
        raise ConnectorError("Berkas tidak dapat diunduh (koneksi gagal atau habis waktu); "
                             "dicoba lagi nanti.", detail=f"koneksi: {type(exc).__name__}",
                             unreachable=never_connected(exc)) from None


def too_large(max_bytes: int) -> str:
    return (f"Berkas lebih besar dari batas {max_bytes // 1_000_000} MB "
            "(attachments.max_mb di config.toml); buka langsung di platform.")
