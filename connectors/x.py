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

Real responses: every item is read on its own (``connectors.items``). A post needs only its
``id``: X's default field set (``id``, ``text``, ``edit_history_tweet_ids``) is enough. A missing
``created_at`` is taken from the snowflake id (ms since the Unix epoch = ``(id >> 22) +
1288834974657``), a missing ``conversation_id`` is the post's own id, a missing author is
"pengirim tidak diketahui". A DM without ``sender_id`` is set aside (it could be the office's
own); a missing ``dm_conversation_id`` is derived from the two participants. Photos and videos
come through ``expansions=attachments.media_keys`` with ``media.fields``.
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

from connectors.base import (Connector, ConnectorError, InboundMessage,
                             OutboundReply, PollResult, Setting, utcnow)
from connectors.downloads import download
from connectors.errors import request_failed
from connectors.items import (UNKNOWN_AUTHOR, ItemReader, Unreadable, item_id, obj, objects,
                              require_id, snowflake_time, text_of, unknown_author)
from connectors import x_payload as payload

log = logging.getLogger(__name__)
# tweepy logs every request's headers at DEBUG, the bearer token included: never let that through.
logging.getLogger("tweepy.client").setLevel(logging.INFO)

TWEET_FIELDS = ["created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets",
                "author_id", "attachments"]
DM_FIELDS = ["created_at", "sender_id", "dm_conversation_id", "text", "attachments",
             "participant_ids"]
USER_FIELDS = ["username", "name"]
NOT_MESSAGES = ("ParticipantsJoin", "ParticipantsLeave")
MEDIA_FIELDS = ["media_key", "type", "url", "preview_image_url", "variants"]
MENTION_EXPANSIONS = ["author_id", "attachments.media_keys"]
DM_EXPANSIONS = ["sender_id", "attachments.media_keys"]
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
    parsers: ClassVar[dict[str, str]] = {"x.mention": "parse_mention", "x.dm": "parse_dm",
                                         "x.page": "parse_page"}
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

    def collect(self, cursor: dict[str, Any], items: ItemReader) -> PollResult:
        """Mentions newer than the cursor, then DMs when due; raises ConnectorError."""
        now, tally, cursor, notes = utcnow(), _Tally(), dict(cursor), []
        messages = self._read_mentions(cursor, now, tally, items, notes)
        not_before = self._exhausted(f"/2/users/{self.user_id}/mentions")
        if self._opt("dms"):
            messages += self._read_dms(cursor, now, tally, notes, items)
        messages.sort(key=lambda m: (m.created_at, _id_key(m.external_id)))
        return PollResult(messages, cursor, not_before=not_before, requests=tally.requests,
                          resources=tally.resources, notes=list(dict.fromkeys(notes)))

    def _read_mentions(self, cursor: dict[str, Any], now: datetime, tally: _Tally,
                       items: ItemReader, notes: list[str]) -> list[InboundMessage]:
        params: dict[str, Any] = dict(max_results=PAGE, expansions=MENTION_EXPANSIONS,
                                      tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS,
                                      media_fields=MEDIA_FIELDS)
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
            data, includes, meta = _page(response, notes)
            tally.resources += len(data)
            if not data and _int(str(meta.get("result_count") or 0)) and not objects(
                    _json(response).get("errors")):
                items.put_aside("x.page", _json(response), "X menyebut ada post baru tetapi tidak "
                                "mengirim isinya; buka mention akun kantor di X.")
            if page == 0:  # the first page is the newest: its newest_id bounds the next poll
                newest = payload.newest_id(meta, data)
            for item in data:
                message = items.read("x.mention", item, self.parse_mention,
                                     payload.context(item, "author_id", includes))
                if message is not None:
                    found[message.external_id] = message
            if not data or not meta.get("next_token"):
                break
            params["pagination_token"] = meta["next_token"]
        if newest:  # an empty result has no newest_id and keeps the cursor
            cursor["mentions_since_id"] = newest
        return list(found.values())

    def parse_mention(self, item: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """A post that mentions the office; X's default field set (``id``, ``text``) suffices."""
        tweet_id = require_id(item)
        thread = item_id(item, "conversation_id") or tweet_id
        author_id = item_id(item, "author_id")
        user = obj(context.get("user"))
        handle = text_of(user, "username")
        replied = [str(r.get("id")) for r in objects(item.get("referenced_tweets"))
                   if r.get("type") == "replied_to" and item_id(r)]
        return InboundMessage(
            external_id=tweet_id, thread_id=thread, kind="mention", public=True,
            author_id=author_id or unknown_author(thread, tweet_id),
            author_handle=handle or author_id or "",
            author_name=text_of(user, "name") or ("" if author_id else UNKNOWN_AUTHOR),
            text=text_of(item, "text"), created_at=payload.created(item, tweet_id),
            permalink=(f"https://x.com/{handle}/status/{tweet_id}" if handle
                       else f"https://x.com/i/web/status/{tweet_id}"),
            in_reply_to=replied[0] if replied else None, raw=item,
            from_office=author_id == self.user_id,
            attachments=payload.media(item, context))

    def parse_page(self, body: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """A page that announced posts without sending them: nothing in it can be read."""
        raise Unreadable("Halaman X tanpa isi post tetap tidak dapat dibaca.")

    def _read_dms(self, cursor: dict[str, Any], now: datetime, tally: _Tally,
                  notes: list[str], items: ItemReader) -> list[InboundMessage]:
        """DM events not seen yet, when due; failures other than 401 become notes, not errors."""
        next_at = payload.parse_time(cursor.get("dm_next_at"))
        if next_at is not None and now < next_at:
            if cursor.get("dms_disabled"):
                notes.append(cursor["dms_disabled"])  # the daemon shows only this poll's notes
            return []
        interval = timedelta(seconds=int(self._opt("dm_poll_interval")))
        try:
            messages = self._read_dm_events(cursor, now, tally, items, notes)
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

    def _read_dm_events(self, cursor: dict[str, Any], now: datetime, tally: _Tally,
                        items: ItemReader, notes: list[str]) -> list[InboundMessage]:
        seen_id, seen_at = cursor.get("dm_newest_id"), payload.parse_time(cursor.get("dm_newest_at"))
        floor = seen_at or now - timedelta(days=int(self._opt("lookback_days")))
        params: dict[str, Any] = dict(event_types="MessageCreate", dm_event_fields=DM_FIELDS,
                                      expansions=DM_EXPANSIONS, user_fields=USER_FIELDS,
                                      media_fields=MEDIA_FIELDS,
                                      max_results=DM_STEADY_PAGE if seen_at else PAGE)
        self._limits.pop("/2/dm_events", None)
        messages: list[InboundMessage] = []
        newest: tuple[str, datetime] | None = None
        while True:
            response = self._call(tally, self.client.get_direct_message_events, user_auth=True, **params)
            data, includes, meta = _page(response, notes)
            tally.resources += len(data)
            reached_seen = False
            for event in data:
                event_id = item_id(event)
                context = payload.context(event, "sender_id", includes)
                if event_id is None:  # cannot be placed in time nor recognised again
                    items.read("x.dm", event, self.parse_dm, context)
                    continue
                # Where the read stops: the later of created_at and the id's own time, so that a
                # bogus old created_at on a new event cannot end the read before newer events.
                times = [t for t in (snowflake_time(event_id), payload.parse_time(event.get("created_at")))
                         if t is not None]
                created = max(times) if times else None
                newest = newest or (event_id, created or now)
                if (created is not None and created < floor) or _not_newer(event_id, seen_id):
                    reached_seen = True
                    break
                if event.get("event_type") not in NOT_MESSAGES:  # an odd value is still read
                    message = items.read("x.dm", event, self.parse_dm, context)
                    if message is not None:
                        messages.append(message)
            if reached_seen or not data or not meta.get("next_token"):
                break
            params.update(pagination_token=meta["next_token"],
                          max_results=min(PAGE, params["max_results"] * 4))
        if newest is not None:
            cursor.update(dm_newest_id=newest[0], dm_newest_at=newest[1].isoformat())
        elif seen_at is None:  # nothing in the look-back window: start from its edge next time
            cursor["dm_newest_at"] = floor.isoformat()
        return messages

    def parse_dm(self, event: dict[str, Any], context: dict[str, Any]) -> InboundMessage:
        """A DM event. Without ``sender_id`` it cannot be told apart from the office's own DM,
        so it is set aside; a missing conversation id is derived from the two participants."""
        event_id = require_id(event)
        sender = item_id(event, "sender_id")
        if sender is None:
            raise Unreadable("DM tanpa sender_id: tidak dapat dibedakan dari pesan kantor sendiri.")
        conversation = item_id(event, "dm_conversation_id") or payload.conversation(
            sender, self.user_id, event.get("participant_ids"))
        if conversation is None:
            raise Unreadable("DM kantor tanpa dm_conversation_id dan tanpa participant_ids: "
                             "percakapannya tidak diketahui.")
        user = obj(context.get("user"))
        return InboundMessage(
            external_id=event_id, thread_id=conversation, kind="dm", public=False,
            author_id=sender, author_handle=text_of(user, "username") or sender,
            author_name=text_of(user, "name"),
            text=text_of(event, "text"),  # an attachment-only DM has no text
            created_at=payload.created(event, event_id),
            permalink=f"https://x.com/messages/{conversation}",  # opens for the office's login only
            raw=event, from_office=sender == self.user_id, attachments=payload.media(event, context))

    def fetch_attachment(self, session: requests.Session, url: str,
                         max_bytes: int) -> tuple[bytes, str | None]:
        """X serves DM media (ton.twitter.com) only to the account's own OAuth 1.0a signature."""
        auth = None
        if urlparse(url).hostname == "ton.twitter.com":
            from requests_oauthlib import OAuth1
            auth = OAuth1(self._opt("consumer_key"), self._opt("consumer_secret"),
                          self._opt("access_token"), self._opt("access_token_secret"))
        return download(session, url, max_bytes, auth=auth)

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
        except requests.RequestException as exc:
            # After the request left, a reply may have been posted, so a blind re-send could post
            # it twice; a connection never opened is a plain transient error.
            raise request_failed(exc, sending=sending, unreachable=UNREACHABLE, uncertain=UNCERTAIN,
                                 detail=f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]) from None
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


def _page(response: requests.Response, notes: list[str]
          ) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """``data``, ``includes`` and ``meta`` of one page; only a body that is not an object, or a
    ``data`` that is not a list, is unreadable as a whole. X's partial ``errors`` (withheld or
    deleted authors and media in ``includes``) are read, not fatal: their items arrive with an
    unknown author."""
    body = _json(response)
    data = body.get("data", [])
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ConnectorError(UNREADABLE, detail=_detail(response))
    meta = obj(body.get("meta"))
    includes = obj(body.get("includes"))
    errors = objects(body.get("errors"))
    if errors:
        log.info("X reported %d partial error(s): %s", len(errors),
                 "; ".join(str(e.get("detail") or e.get("title") or "")[:200] for e in errors[:5]))
        notes.append("X tidak memberi sebagian data pengirim atau lampiran (akun dihapus, "
                     "ditangguhkan atau dibatasi); pesannya tetap dicatat.")
    return data, includes, meta


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
