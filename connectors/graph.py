"""The one door to Meta's Graph API: the only module that imports facebook-sdk.

facebook-sdk 3.1.0 (2018) still builds requests and decodes JSON well enough, but its
constructor rejects every current Graph version, it ignores HTTP status codes, and it knows
nothing of ``appsecret_proof`` or usage headers. :class:`Graph` keeps the SDK for the request
itself and adds the rest: the version from config, a session with timeouts, the proof, a
response hook that reads the usage headers, and one mapping from every failure to
:class:`~connectors.base.ConnectorError`. Access tokens appear in every Graph URL, so nothing
here ever puts a URL in a message or a detail without scrubbing it first.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import facebook
import requests

from connectors.base import DEFAULT_TIMEOUT, ConnectorError, utcnow
from connectors.errors import request_failed

DEFAULT_VERSION = "v26.0"
USAGE_HEADERS = ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage")
#: Percent of any usage figure at which the next poll waits (Meta throttles at 100).
SLOW_DOWN_AT = 80
#: The wait when a header says "slow down" without an estimate; the windows roll over an hour.
SLOW_DOWN_FOR = timedelta(minutes=10)
#: The wait after a rate-limit error that came without an estimate.
RATE_LIMIT_WAIT = timedelta(minutes=15)
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
TRANSIENT_CODES = frozenset({1, 2})
WINDOW_SUBCODES = frozenset({2018278, 2534022})
UNREACHABLE_SUBCODES = frozenset({1545041})
GONE_SUBCODE = 33
EARLIEST = datetime(2004, 1, 1, tzinfo=timezone.utc)  # no Graph object is older
_PERMISSION = re.compile(r"\b(pages_[a-z_]+|instagram_[a-z_]+|business_management"
                         r"|read_page_mailboxes|ads_management|ads_read)\b")
UNREACHABLE = "Koneksi ke Meta gagal atau terlalu lama; dicoba lagi otomatis."
UNCERTAIN = ("Balasan mungkin sudah terkirim tetapi Meta tidak menjawab; periksa di "
             "Facebook/Instagram sebelum mengirim ulang.")
_SECRET_IN_URL = re.compile(r"(access_token|appsecret_proof|client_secret)=[^&\s'\"]+")


class GraphError(ConnectorError):
    """A :class:`ConnectorError` that also keeps Meta's error code and subcode."""

    def __init__(self, message: str, code: int | None = None, subcode: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.subcode = subcode

    @property
    def gone(self) -> bool:
        """True when the object was deleted or is out of reach (code 100, subcode 33: "does not
        exist, cannot be loaded due to missing permissions"): skip it, go on. Every other code
        100 is a fault of the request or the configuration and is reported."""
        return self.code == 100 and self.subcode == GONE_SUBCODE


def scrub(text: str) -> str:
    """``text`` with every token-like query value masked, for details and logs."""
    return _SECRET_IN_URL.sub(r"\1=***", text)


def parse_time(value: Any) -> datetime | None:
    """A Graph time (``2026-11-03T02:15:00+0000``, ISO 8601 or Unix seconds) as aware UTC, or
    None when ``value`` is missing or is not a time at all (platform data is untrusted). A time
    before :data:`EARLIEST` (a ``0`` or a ``7`` read as Unix seconds) is no time either: taken
    as real, it would look older than everything and end a newest-first read."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            stamp = datetime.fromtimestamp(int(value), timezone.utc)
            return stamp if stamp >= EARLIEST else None
        if not isinstance(value, str):
            return None
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    parsed = parsed.astimezone(timezone.utc)
    return parsed if parsed >= EARLIEST else None


class Graph:
    """A Graph API client for one Page token.

    ``requests`` and ``items`` count the HTTP calls made and the objects read; ``slow_until``
    is set when a usage header crosses :data:`SLOW_DOWN_AT` (or Meta estimates a time to
    regain access), and is the earliest time the caller should call again.
    """

    def __init__(self, session: requests.Session, access_token: str, app_secret: str | None = None,
                 version: str | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.api = facebook.GraphAPI(access_token=access_token, timeout=timeout, session=session)
        # The constructor only accepts 2.8–3.1; set the real version afterwards (DESIGN.md).
        version = str(version or DEFAULT_VERSION)
        self.api.version = version if version.startswith("v") else f"v{version}"
        self._proof = (hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
                       if app_secret else None)
        self.requests = 0
        self.items = 0
        self.slow_until: datetime | None = None
        self._last: requests.Response | None = None
        session.hooks.setdefault("response", []).append(self._on_response)

    # --- calls ------------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET ``/{version}/{path}``; raises :class:`GraphError`."""
        return self._call(f"{self.api.version}/{path}", params, None, send=False)

    def post(self, path: str, **data: Any) -> dict[str, Any]:
        """An idempotent POST (hiding a comment): a timeout is an ordinary transient error."""
        return self._call(f"{self.api.version}/{path}", {}, data, send=False)

    def send(self, path: str, **data: Any) -> dict[str, Any]:
        """A POST that publishes something: a timeout after the request left is ``uncertain``,
        because a blind re-send could post the answer twice."""
        return self._call(f"{self.api.version}/{path}", {}, data, send=True)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of an edge, following ``paging.next`` until it is absent.

        The next URL is used once and forgotten: Meta invalidates paging cursors, so none is
        ever stored. Stop iterating to stop fetching pages."""
        page = self.get(path, **params)
        while True:
            data = page.get("data")
            if data is not None and not isinstance(data, list):
                raise self._malformed()
            yield from data or []  # each item, whatever its shape, is the reader's to judge
            paging = page.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            if not following or not isinstance(following, str):
                return
            url = urlparse(following)
            # The SDK adds the token again; the proof is re-added by _call.
            args = {key: values[-1] for key, values in parse_qs(url.query).items()
                    if key not in ("access_token", "appsecret_proof")}
            page = self._call(url.path.lstrip("/"), args, None, send=False)

    def _call(self, path: str, args: dict[str, Any], data: dict[str, Any] | None,
              send: bool) -> dict[str, Any]:
        args = dict(args)
        form = None if data is None else {k: _form_value(v) for k, v in data.items()}
        if self._proof:
            (args if form is None else form)["appsecret_proof"] = self._proof
        self.requests += 1
        self._last = None
        try:
            result = self.api.request(path, args=args, post_args=form,
                                      method="GET" if form is None else "POST")
        except facebook.GraphAPIError as exc:
            if isinstance(exc.result, dict):
                raise self._error(exc.result, send) from None
            raise self._malformed(send) from None  # "Maintype was not text, image, or querystring"
        except (KeyError, ValueError):
            raise self._malformed(send) from None  # no content-type, or JSON that does not parse
        except requests.RequestException as exc:
            raise request_failed(exc, sending=send, unreachable=UNREACHABLE, uncertain=UNCERTAIN,
                                 detail=scrub(repr(exc))[:2000], error_type=GraphError) from None
        status = self._last.status_code if self._last is not None else 200
        if status >= 400 or not isinstance(result, dict):
            # facebook-sdk reads the body and never the status: a 5xx with JSON still fails here.
            raise self._error(result if isinstance(result, dict) else {}, send)
        self.items += len(result["data"]) if isinstance(result.get("data"), list) else 1
        return result

    # --- usage headers ----------------------------------------------------------------------

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Session hook: keep the response for error mapping and read the usage headers."""
        self._last = response
        worst, regain = 0.0, 0.0
        for name in USAGE_HEADERS:
            for entry in _usage_entries(response.headers.get(name)):
                for key in ("call_count", "total_cputime", "total_time"):
                    worst = max(worst, _number(entry.get(key)))
                regain = max(regain, _number(entry.get("estimated_time_to_regain_access")))
        if worst >= SLOW_DOWN_AT or regain > 0:
            # estimated_time_to_regain_access is in minutes (Graph rate-limiting docs).
            until = utcnow() + max(SLOW_DOWN_FOR, timedelta(minutes=regain))
            self.slow_until = max(self.slow_until, until) if self.slow_until else until

    # --- errors -----------------------------------------------------------------------------

    def _malformed(self, send: bool = False) -> GraphError:
        body = self._last.text if self._last is not None else ""
        status = self._last.status_code if self._last is not None else "?"
        if send:  # Meta answered something after the reply reached it: it may be posted
            return GraphError(f"Balasan mungkin sudah terkirim walau jawaban Meta tidak bisa dibaca "
                              f"(HTTP {status}); periksa di Facebook/Instagram sebelum mengirim "
                              "ulang.", uncertain=True, detail=scrub(body)[:2000])
        return GraphError(f"Meta mengirim jawaban yang tidak bisa dibaca (HTTP {status}); "
                          "dicoba lagi otomatis.", detail=scrub(body)[:2000])

    def _error(self, result: dict[str, Any], send: bool = False) -> GraphError:
        error = self._mapped_error(result)
        status = self._last.status_code if self._last is not None else None
        if send and not error.permanent and error.retry_at is None and (
                (status or 0) >= 500 or error.code in TRANSIENT_CODES):
            # Meta may have posted the reply before failing (HTTP 5xx, code 1 or 2): a retry
            # could post it twice, so the send's outcome is unknown, settled before any retry.
            error.uncertain = True
            error.message = ("Balasan mungkin sudah terkirim walau Meta menjawab gangguan "
                             f"({'HTTP ' + str(status) if status else 'kode ' + str(error.code)}); "
                             "periksa di Facebook/Instagram sebelum mengirim ulang.")
        return error

    def _mapped_error(self, result: dict[str, Any]) -> GraphError:
        error = result.get("error")
        status = self._last.status_code if self._last is not None else None
        if not isinstance(error, dict):
            if status == 429:
                return self._rate_limited(None, None)
            return GraphError(f"Meta menjawab HTTP {status}; dicoba lagi otomatis.",
                              detail=scrub(json.dumps(result))[:2000])
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        text = str(error.get("message") or "")
        detail = scrub(json.dumps(error, ensure_ascii=False))[:2000]
        if code == 190:
            sub = f" (subkode {subcode})" if subcode else ""
            return GraphError(f"Token halaman kedaluwarsa atau dicabut{sub}; buat token baru lalu "
                              "perbarui config.toml.", code, subcode, permanent=True, detail=detail)
        if subcode in WINDOW_SUBCODES:
            return GraphError("Jendela balasan pesan pribadi sudah lewat menurut Meta; hubungi "
                              "warga lewat kanal lain.", code, subcode, permanent=True, detail=detail)
        if code == 551 or subcode in UNREACHABLE_SUBCODES:
            return GraphError("Warga ini tidak dapat menerima pesan dari halaman saat ini; hubungi "
                              "lewat kanal lain.", code, subcode, permanent=True, detail=detail)
        if code == 10 or (code is not None and 200 <= code <= 299):
            names = ", ".join(dict.fromkeys(_PERMISSION.findall(text)))
            reason = (f"Izin aplikasi Meta kurang: {names}; tambahkan izin itu lalu buat token baru."
                      if names else f"Izin aplikasi Meta kurang (kode {code}); periksa izin aplikasi "
                      "dan peran di halaman, lalu buat token baru.")
            return GraphError(reason, code, subcode, permanent=True, detail=detail)
        if code in RATE_LIMIT_CODES or (code is not None and 80000 <= code <= 80099):
            return self._rate_limited(code, detail)
        if code in TRANSIENT_CODES or error.get("is_transient") is True or (status or 0) >= 500:
            return GraphError(f"Layanan Meta sedang terganggu (kode {code}); dicoba lagi otomatis.",
                              code, subcode, detail=detail)
        sub = f", subkode {subcode}" if subcode else ""
        if code == 100 and subcode == GONE_SUBCODE:
            return GraphError(f"Objek di Meta sudah dihapus atau tidak dapat dilihat dengan token ini "
                              f"(kode 100{sub}): {text}", code, subcode, permanent=True, detail=detail)
        if code == 100:
            return GraphError(f"Meta menolak permintaan aduan sebagai tidak valid (kode 100{sub}): "
                              f"{text} — periksa page_id/ig_user_id, app_secret dan izin akun di "
                              "config.toml.", code, subcode, permanent=True, detail=detail)
        return GraphError(f"Meta menolak permintaan (kode {code}{sub}): {text}", code, subcode,
                          permanent=True, detail=detail)

    def _rate_limited(self, code: int | None, detail: str | None) -> GraphError:
        # The hook has already read the error response's headers: prefer Meta's estimate.
        retry_at = self.slow_until or utcnow() + RATE_LIMIT_WAIT
        label = f" (kode {code})" if code else ""
        return GraphError(f"Batas pemakaian API Meta tercapai{label}; dicoba lagi otomatis setelah "
                          "jeda.", code, None, retry_at=retry_at, detail=detail)


def _usage_entries(raw: str | None) -> list[dict[str, Any]]:
    """The usage objects of one header: X-App-Usage / X-Page-Usage hold one, BUC a list per id."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    if any(key in data for key in ("call_count", "total_cputime", "total_time")):
        return [data]
    return [entry for entries in data.values() if isinstance(entries, list)
            for entry in entries if isinstance(entry, dict)]


def _form_value(value: Any) -> str:
    """Form fields as Graph expects them: objects as JSON strings, booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- cursor helpers ---------------------------------------------------------------------------

#: How far back behind the newest item already returned a poll still looks, for items Meta
#: shows late; ids inside it are remembered so nothing is returned twice.
OVERLAP = timedelta(minutes=5)


class Mark:
    """Where one source (a post's comments, a conversation) has been read up to.

    ``floor`` is the oldest time the account imports at all; an item is new when it is at or
    after ``threshold()`` and its id was not returned before."""

    def __init__(self, data: dict[str, Any] | None, floor: datetime) -> None:
        data = data or {}
        self.floor = floor
        self.at = parse_time(data.get("at"))
        self.ids: dict[str, int] = dict(data.get("ids") or {})

    def threshold(self) -> datetime:
        return max(self.floor, self.at - OVERLAP) if self.at else self.floor

    def is_new(self, when: datetime, item_id: str) -> bool:
        return when >= self.threshold() and item_id not in self.ids

    def add(self, when: datetime, item_id: str) -> None:
        self.at = max(self.at, when) if self.at else when
        self.ids[item_id] = int(when.timestamp())

    def dump(self) -> dict[str, Any]:
        keep = int(self.threshold().timestamp())
        return {"at": self.at.isoformat() if self.at else None,
                "ids": {key: when for key, when in self.ids.items() if when >= keep}}
