"""X (Twitter): the office account's mentions and DMs through X API v2 with tweepy 4.17.

Mentions are read with ``since_id`` (the first page's ``meta.newest_id``), so each is read once.
``GET /2/dm_events`` has no ``since_id``: it pages newest first and stops at the first event it
has already seen (the cursor keeps the newest event's id and time). DMs are read less often than
mentions (``dm_poll_interval``) because each DM event read costs ten times a mention read.

Cursor keys: ``mentions_since_id``; ``dm_newest_id``, ``dm_newest_at``, ``dm_next_at`` (ISO
times); ``dms_disabled`` (the Indonesian reason, while X refuses DMs with a 403; re-tried daily).
Errors on the mentions read raise and leave the cursor as it was (a half-read catch-up is read
again); DM failures other than a 401 are contained, so mentions keep flowing.
tweepy calls ``https://api.twitter.com`` (hard-coded); X serves it like ``api.x.com``.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar
from urllib.parse import urlparse

import requests
import tweepy
from urllib3.exceptions import ProtocolError

from connectors.base import (Connector, ConnectorError, InboundMessage, OutboundReply, PollResult,
                             Setting, utcnow)

log = logging.getLogger(__name__)
# tweepy logs every request's headers at DEBUG, the bearer token included: never let that through.
logging.getLogger("tweepy.client").setLevel(logging.INFO)

TWEET_FIELDS = ["created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets", "author_id"]
DM_FIELDS = ["created_at", "sender_id", "dm_conversation_id", "text", "attachments"]
USER_FIELDS = ["username", "name"]
PAGE = 100
# X bills every DM event a page returns, seen or not, and DMs have no since_id: in steady state the
# first page is small, so a quiet interval re-reads a few seen events, and pages grow 4x in a burst.
DM_STEADY_PAGE = 5
DM_REPROBE = timedelta(hours=24)
DETAIL_CHARS = 2000

UNAUTHORIZED = "Token X tidak valid atau dicabut; perbarui kunci akses di config.toml."
RATE_LIMITED = "Batas permintaan ke X tercapai; aduan menunggu sampai batas itu direset."
UNREACHABLE = "X tidak dapat dihubungi (koneksi gagal atau habis waktu); aduan akan mencoba lagi."
UNREADABLE = "Jawaban X tidak dapat dibaca (format tidak dikenal); aduan akan mencoba lagi."
UNCERTAIN = ("Balasan mungkin sudah terkirim ke X tetapi konfirmasinya tidak diterima; "
             "periksa di X sebelum mengirim ulang.")
NOT_SUMMONED = "X menolak balasan publik karena warga tidak menyebut akun kantor; balas lewat DM."
DMS_FORBIDDEN = ("DM X tidak dibaca karena X menolak akses (HTTP 403); beri aplikasi X izin Direct "
                 "Messages lalu buat ulang access token.")
# Phrases of X's 403 bodies on POST /2/tweets (lower case; see docs/x.md for the full texts).
NOT_SUMMONED_MARKERS = ("not been mentioned", "otherwise engaged by the author", "summon",
                        "reply to this conversation is not allowed")


@dataclass
class _Tally:
    requests: int = 0
    resources: int = 0


class XConnector(Connector):
    kind: ClassVar[str] = "x"
    label: ClassVar[str] = "X (Twitter)"
    settings: ClassVar[dict[str, Setting]] = {
        "user_id": Setting(str, required=True, help="numeric id of the office's X account"),
        "bearer_token": Setting(str, secret=True, help="app bearer token for reading mentions"),
        "consumer_key": Setting(str, required=True, secret=True),
        "consumer_secret": Setting(str, required=True, secret=True),
        "access_token": Setting(str, required=True, secret=True, help="OAuth 1.0a, office account"),
        "access_token_secret": Setting(str, required=True, secret=True),
        "lookback_days": Setting(int, default=3, help="how far back the first poll reads"),
        "dm_poll_interval": Setting(int, default=120, help="seconds between DM reads"),
        "dms": Setting(bool, default=True, help="read and answer direct messages"),
    }

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None,
                 data_dir: str | None = None) -> None:
        super().__init__(name, options, session, data_dir)
        self.user_id = str(self._opt("user_id"))
        self._limits: dict[str, tuple[int, int | None]] = {}
        self._last_response: requests.Response | None = None
        self.session.hooks["response"].append(self._remember_rate_limit)
        self.client = tweepy.Client(
            bearer_token=self._opt("bearer_token"), consumer_key=self._opt("consumer_key"),
            consumer_secret=self._opt("consumer_secret"), access_token=self._opt("access_token"),
            access_token_secret=self._opt("access_token_secret"),
            return_type=requests.Response, wait_on_rate_limit=False)
        self.client.session = self.session  # tweepy's own session has no timeout

    def _opt(self, key: str) -> Any:
        value = self.options.get(key)
        return self.settings[key].default if value is None else value

    # --- polling -----------------------------------------------------------------------------

    def poll(self, cursor: dict[str, Any]) -> PollResult:
        """Mentions newer than the cursor, then DMs when due; raises ConnectorError."""
        now, tally, cursor, notes = utcnow(), _Tally(), dict(cursor), []
        messages = self._read_mentions(cursor, now, tally)
        not_before = self._exhausted(f"/2/users/{self.user_id}/mentions")
        if self._opt("dms"):
            messages += self._read_dms(cursor, now, tally, notes)
        messages.sort(key=lambda m: (m.created_at, _id_key(m.external_id)))
        return PollResult(messages, cursor, not_before=not_before, requests=tally.requests,
                          resources=tally.resources, notes=notes)

    def _read_mentions(self, cursor: dict[str, Any], now: datetime, tally: _Tally) -> list[InboundMessage]:
        params: dict[str, Any] = dict(max_results=PAGE, expansions=["author_id"],
                                      tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS)
        if cursor.get("mentions_since_id"):
            params["since_id"] = cursor["mentions_since_id"]
        else:  # first poll: X keeps the 800 newest mentions; the office wants the last few days
            params["start_time"] = now - timedelta(days=int(self._opt("lookback_days")))
        user_auth = not self._opt("bearer_token")
        self._limits.pop(f"/2/users/{self.user_id}/mentions", None)
        found: dict[str, InboundMessage] = {}
        newest: str | None = None
        for page in itertools.count():
            try:
                response = self._call(tally, self.client.get_users_mentions, self.user_id,
                                      user_auth=user_auth, **params)
            except tweepy.HTTPException as exc:
                raise _refused_read(exc) from None
            data, users, meta = _page(response)
            tally.resources += len(data)
            if page == 0:  # the first page is the newest: its newest_id bounds the next poll
                newest = meta.get("newest_id")
            for item in data:
                message = self._mention(item, users, response)
                found[message.external_id] = message
            if not data or not meta.get("next_token"):
                break
            params["pagination_token"] = meta["next_token"]
        if newest:  # an empty result has no newest_id and keeps the cursor
            cursor["mentions_since_id"] = str(newest)
        return list(found.values())

    def _mention(self, item: dict[str, Any], users: dict[str, dict[str, Any]],
                 response: requests.Response) -> InboundMessage:
        tweet_id, author_id = _text(item, "id", response), _text(item, "author_id", response)
        user = users.get(author_id)
        handle = str(user.get("username") or "") if user else ""
        replied = [str(r.get("id")) for r in item.get("referenced_tweets") or []
                   if isinstance(r, dict) and r.get("type") == "replied_to" and r.get("id")]
        return InboundMessage(
            external_id=tweet_id, thread_id=str(item.get("conversation_id") or tweet_id),
            kind="mention", public=True, author_id=author_id, author_handle=handle or author_id,
            author_name=str(user.get("name") or "") if user else "",
            text=_text(item, "text", response), created_at=_time(item, response),
            permalink=(f"https://x.com/{handle}/status/{tweet_id}" if handle
                       else f"https://x.com/i/web/status/{tweet_id}"),
            in_reply_to=replied[0] if replied else None, raw=item,
            from_office=author_id == self.user_id)

    def _read_dms(self, cursor: dict[str, Any], now: datetime, tally: _Tally,
                  notes: list[str]) -> list[InboundMessage]:
        """DM events not seen yet, when due; failures other than 401 become notes, not errors."""
        next_at = _parse_time(cursor.get("dm_next_at"))
        if next_at is not None and now < next_at:
            if cursor.get("dms_disabled"):
                notes.append(cursor["dms_disabled"])  # the daemon shows only this poll's notes
            return []
        interval = timedelta(seconds=int(self._opt("dm_poll_interval")))
        try:
            messages = self._read_dm_events(cursor, now, tally)
        except tweepy.Forbidden as exc:
            log.warning("account %s: DMs refused: %s", self.name, _detail(exc.response))
            cursor.update(dms_disabled=DMS_FORBIDDEN, dm_next_at=(now + DM_REPROBE).isoformat())
            notes.append(DMS_FORBIDDEN)
            return []
        except (tweepy.HTTPException, ConnectorError) as exc:
            if isinstance(exc, ConnectorError) and exc.permanent:
                raise
            retry_at = getattr(exc, "retry_at", None)
            detail = getattr(exc, "detail", None) or _detail(getattr(exc, "response", None))
            log.warning("account %s: DMs not read this time: %s", self.name, detail)
            cursor["dm_next_at"] = max(now + interval, retry_at or now).isoformat()
            notes.append("Pemeriksaan DM X ditunda sampai batas permintaan direset." if retry_at
                         else "DM X belum terbaca kali ini; aduan mencoba lagi pada giliran DM berikutnya.")
            if cursor.get("dms_disabled"):
                notes.append(cursor["dms_disabled"])
            return []
        if cursor.pop("dms_disabled", None):
            log.info("account %s: X accepts DM reads again", self.name)
        cursor["dm_next_at"] = max(now + interval, self._exhausted("/2/dm_events") or now).isoformat()
        return messages

    def _read_dm_events(self, cursor: dict[str, Any], now: datetime, tally: _Tally) -> list[InboundMessage]:
        seen_id, seen_at = cursor.get("dm_newest_id"), _parse_time(cursor.get("dm_newest_at"))
        floor = seen_at or now - timedelta(days=int(self._opt("lookback_days")))
        params: dict[str, Any] = dict(event_types="MessageCreate", dm_event_fields=DM_FIELDS,
                                      expansions=["sender_id"], user_fields=USER_FIELDS,
                                      max_results=DM_STEADY_PAGE if seen_at else PAGE)
        self._limits.pop("/2/dm_events", None)
        messages: list[InboundMessage] = []
        newest: tuple[str, datetime] | None = None
        while True:
            response = self._call(tally, self.client.get_direct_message_events, user_auth=True, **params)
            data, users, meta = _page(response)
            tally.resources += len(data)
            reached_seen = False
            for event in data:
                event_id, created = _text(event, "id", response), _time(event, response)
                newest = newest or (event_id, created)
                if created < floor or _not_newer(event_id, seen_id):
                    reached_seen = True
                    break
                if event.get("event_type", "MessageCreate") == "MessageCreate":
                    messages.append(self._dm(event, users, response))
            if reached_seen or not data or not meta.get("next_token"):
                break
            params.update(pagination_token=meta["next_token"],
                          max_results=min(PAGE, params["max_results"] * 4))
        if newest is not None:
            cursor.update(dm_newest_id=newest[0], dm_newest_at=newest[1].isoformat())
        elif seen_at is None:  # nothing in the look-back window: start from its edge next time
            cursor["dm_newest_at"] = floor.isoformat()
        return messages

    def _dm(self, event: dict[str, Any], users: dict[str, dict[str, Any]],
            response: requests.Response) -> InboundMessage:
        sender = _text(event, "sender_id", response)
        conversation = _text(event, "dm_conversation_id", response)
        user = users.get(sender) or {}
        return InboundMessage(
            external_id=_text(event, "id", response), thread_id=conversation, kind="dm", public=False,
            author_id=sender, author_handle=str(user.get("username") or sender),
            author_name=str(user.get("name") or ""),
            text=str(event.get("text") or ""),  # an attachment-only DM has no text
            created_at=_time(event, response),
            permalink=f"https://x.com/messages/{conversation}",  # opens for the office's login only
            raw=event, from_office=sender == self.user_id)

    # --- sending -----------------------------------------------------------------------------

    def send(self, reply: OutboundReply) -> str:
        """Post a public reply tweet or send a DM; return the tweet id or the DM event id."""
        tally = _Tally()
        try:
            if reply.public:
                if not reply.in_reply_to:
                    raise ConnectorError("Balasan publik X memerlukan id post warga yang dibalas.",
                                         permanent=True)
                response = self._call(tally, self.client.create_tweet, text=reply.text,
                                      in_reply_to_tweet_id=reply.in_reply_to, user_auth=True, sending=True)
                key = "id"
            else:
                response = self._call(tally, self.client.create_direct_message, text=reply.text,
                                      participant_id=reply.recipient_id, user_auth=True, sending=True)
                key = "dm_event_id"
        except tweepy.HTTPException as exc:
            raise _refused_send(exc, reply.public) from None
        try:
            data = _json(response).get("data")
        except ConnectorError:
            data = None
        if isinstance(data, dict) and data.get(key):
            return str(data[key])
        # X accepted the request (2xx) but its id is unreadable: the reply was most likely posted.
        raise ConnectorError(UNCERTAIN, uncertain=True, detail=_detail(response))

    # --- HTTP --------------------------------------------------------------------------------

    def _call(self, tally: _Tally, method: Callable[..., Any], *args: Any, sending: bool = False,
              **kwargs: Any) -> requests.Response:
        """One tweepy call mapped to ConnectorError; 400/403/404 stay tweepy errors for the caller."""
        tally.requests += 1
        try:
            return method(*args, **kwargs)
        except tweepy.TooManyRequests as exc:
            reset = exc.reset_time
            raise ConnectorError(RATE_LIMITED, detail=_detail(exc.response), retry_at=(
                datetime.fromtimestamp(reset, tz=timezone.utc) if reset else None)) from None
        except tweepy.Unauthorized as exc:
            raise ConnectorError(UNAUTHORIZED, permanent=True, detail=_detail(exc.response)) from None
        except tweepy.TwitterServerError as exc:
            raise ConnectorError(f"Server X sedang bermasalah (HTTP {exc.response.status_code}); "
                                 "aduan akan mencoba lagi.", detail=_detail(exc.response)) from None
        except (tweepy.BadRequest, tweepy.Forbidden, tweepy.NotFound):
            raise
        except tweepy.HTTPException as exc:
            # 402 Payment Required cannot clear by itself; other statuses (408, 409...) may.
            status = exc.response.status_code
            raise ConnectorError(f"X menolak permintaan (HTTP {status}); periksa akun dan saldo kredit "
                                 "di X Developer Console.", permanent=status == 402,
                                 detail=_detail(exc.response)) from None
        except requests.exceptions.ConnectTimeout as exc:  # nothing reached X
            raise ConnectorError(UNREACHABLE, detail=type(exc).__name__) from None
        except (requests.exceptions.ReadTimeout, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError) as exc:
            # After the request left: a reply may have been posted, so a blind re-send could post
            # it twice. A refused connection (no ProtocolError inside) is a plain transient error.
            after_send = not isinstance(exc, requests.exceptions.ConnectionError) or any(
                isinstance(arg, ProtocolError) for arg in exc.args)
            if sending and after_send:
                raise ConnectorError(UNCERTAIN, uncertain=True, detail=type(exc).__name__) from None
            detail = f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]
            raise ConnectorError(UNREACHABLE, detail=detail) from None
        except requests.RequestException as exc:
            raise ConnectorError(UNREACHABLE, detail=type(exc).__name__) from None
        except (AttributeError, TypeError) as exc:
            # tweepy parses error bodies itself and trips over JSON that is not an object.
            raise ConnectorError(UNREADABLE, detail=_detail(self._last_response) or repr(exc)) from None

    def _remember_rate_limit(self, response: requests.Response, *args: Any,
                             **kwargs: Any) -> requests.Response:
        """Session hook: keep each endpoint's last x-rate-limit-remaining and -reset."""
        self._last_response = response  # only for diagnosis when tweepy cannot parse an error body
        remaining = _int(response.headers.get("x-rate-limit-remaining"))
        if remaining is not None:
            reset = _int(response.headers.get("x-rate-limit-reset"))
            self._limits[urlparse(response.url).path] = (remaining, reset)
        return response

    def _exhausted(self, path: str) -> datetime | None:
        """The reset time when the last call to ``path`` left no request in the window."""
        remaining, reset = self._limits.get(path, (None, None))
        return datetime.fromtimestamp(reset, tz=timezone.utc) if remaining == 0 and reset else None


# --- helpers -----------------------------------------------------------------------------------

def _refused_read(exc: tweepy.HTTPException) -> ConnectorError:
    status = exc.response.status_code
    reason = {400: "X menolak membaca mention (HTTP 400); periksa user_id akun X di config.toml.",
              403: "X menolak membaca mention (HTTP 403); periksa akses, izin, dan saldo kredit aplikasi "
                   "di X Developer Console.",
              404: "Akun X dengan user_id di config.toml tidak ditemukan (HTTP 404)."}[status]
    return ConnectorError(reason, permanent=True, detail=_detail(exc.response))


def _refused_send(exc: tweepy.HTTPException, public: bool) -> ConnectorError:
    status, said = exc.response.status_code, " ".join(map(str, exc.api_messages)).lower()
    detail = _detail(exc.response)
    if status == 403 and public and any(marker in said for marker in NOT_SUMMONED_MARKERS):
        return ConnectorError(NOT_SUMMONED, permanent=True, detail=detail)
    if status == 403 and "duplicate" in said:
        reason = "X menolak balasan yang isinya sama persis dengan balasan sebelumnya; ubah sedikit teksnya."
    elif status == 403 and "oauth1" in exc.response.text.lower():
        reason = "Aplikasi X belum berizin menulis; ubah izinnya ke Read and Write dan Direct Messages."
    elif status == 403 and public and "deleted or not visible" in said:
        reason = "Post warga sudah dihapus atau tidak terlihat, jadi X menolak balasan publik."
    elif status == 403:
        reason = ("X menolak balasan publik ini (HTTP 403)." if public else
                  "X menolak DM ini; warga mungkin menutup DM dari akun kantor.")
    elif status == 404:
        reason = "Tujuan balasan tidak ditemukan di X; post atau akun warga mungkin sudah dihapus."
    else:
        reason = "X menolak balasan ini karena permintaannya tidak valid, misalnya teks terlalu panjang."
    return ConnectorError(reason, permanent=True, detail=detail)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ConnectorError(UNREADABLE, detail=_detail(response))
    return body


def _page(response: requests.Response
          ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """``data``, the expanded users by id, and ``meta`` of one page; raises on a malformed body."""
    body = _json(response)
    data, meta = body.get("data", []), body.get("meta")
    if (not isinstance(meta, dict) or not isinstance(data, list)
            or not all(isinstance(item, dict) for item in data)
            or ("data" not in body and meta.get("result_count", 0) != 0)):
        raise ConnectorError(UNREADABLE, detail=_detail(response))
    includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
    users = {str(u["id"]): u for u in includes.get("users") or [] if isinstance(u, dict) and u.get("id")}
    return data, users, meta


def _text(item: dict[str, Any], key: str, response: requests.Response) -> str:
    value = item.get(key)
    if value is None or isinstance(value, (dict, list, bool)) or (key != "text" and value == ""):
        raise ConnectorError(UNREADABLE, detail=f"missing {key!r}; " + _detail(response))
    return str(value)


def _time(item: dict[str, Any], response: requests.Response) -> datetime:
    parsed = _parse_time(item.get("created_at"))
    if parsed is None:
        raise ConnectorError(UNREADABLE, detail="missing or bad 'created_at'; " + _detail(response))
    return parsed


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _id_key(value: Any) -> int:
    """X ids are time-ordered integers (snowflakes); anything else sorts first."""
    return int(value) if isinstance(value, str) and value.isdigit() else -1


def _not_newer(event_id: str, seen_id: Any) -> bool:
    """True for the newest event already seen, or an older one (ids are time-ordered)."""
    if not seen_id:
        return False
    if event_id.isdigit() and str(seen_id).isdigit():
        return int(event_id) <= int(seen_id)
    return event_id == str(seen_id)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _detail(response: requests.Response | None) -> str:
    """Method, path, status and body for diagnosis; never headers, so never a token."""
    if response is None:
        return ""
    request = response.request
    path = urlparse(request.url).path if request is not None and request.url else ""
    method = request.method if request is not None else ""
    return f"{method} {path} -> HTTP {response.status_code}: {response.text[:DETAIL_CHARS]}"
