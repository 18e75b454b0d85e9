"""The X, Facebook and Instagram channels end to end, through ``main.main(argv)`` only.

The "Done when" of issues 5 and 6: ``aduan poll`` stores every mention, comment, tagging post
and DM exactly once, a second poll re-reads nothing, each failure ends as a plain Indonesian
reason in ``aduan status``, and ``aduan case reply`` + ``aduan deliver`` answer on the surface
the citizen used. The network is faked at the requests layer (``responses``) with the platform
payloads of tests/fixtures/x and tests/fixtures/meta; time is frozen with time-machine.
"""
from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import time_machine
from responses import matchers

import main
from connectors.x import DMS_FORBIDDEN, RATE_LIMITED, UNAUTHORIZED, UNREADABLE
from inbox.models import Account, Case, Message, Outbox
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from tests.conftest import PG_URL, SANDBOX, reset_database, write_config

FIXTURES = Path(__file__).parent / "fixtures"
Aduan = Callable[..., tuple[int, str, str]]
ANSWER = "Baik, data Anda sudah kami perbaiki. Silakan cek kembali besok pagi."

# --- X -----------------------------------------------------------------------------------------

X_NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)  # the time the X fixtures are written for
OFFICE = "1356871740001411075"
MENTIONS = f"https://api.twitter.com/2/users/{OFFICE}/mentions"
DM_EVENTS = "https://api.twitter.com/2/dm_events"
X_SECRETS = {"bearer_token": "x-bearer-TOKEN-never-shown",
             "consumer_key": "x-consumer-KEY-never-shown",
             "consumer_secret": "x-consumer-SECRET-never-shown",
             "access_token": f"{OFFICE}-x-access-TOKEN-never-shown",
             "access_token_secret": "x-access-SECRET-never-shown"}
X_ACCOUNT = f"""
[accounts.x_dukcapil]
kind = "x"
label = "X @dukcapilbrebes"
poll_interval = 60
user_id = "{OFFICE}"
""" + "".join(f'{key} = "{value}"\n' for key, value in X_SECRETS.items())

# --- Meta --------------------------------------------------------------------------------------

META_NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)  # the time the Meta fixtures are for
GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "104857600000001"
IG = "17841400000000001"
PAGE_POST = f"{PAGE}_900000000000003"
VISITOR_POST = f"{PAGE}_900000000000002"
TAGGED_POST = "6100000000000009_800000000000001"
FB_COMMENT = "900000000000003_1000000000000004"  # Ahmad's top-level comment on the Page's post
FB_DM_THREAD = "t_10160000000000001"
IG_MEDIA = "17895695668004550"
IG_QUIET_MEDIA = "17918920912340654"
IG_COMMENT = "17870913679156914"
IG_DM_THREAD = "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6MTc4NDE0MDAwMDAwMDAwMDE6MzQwMjgyMzY2ODQxNzEw"
META_SECRETS = ["fb-page-TOKEN-never-shown", "ig-page-TOKEN-never-shown",
                "meta-app-SECRET-never-shown"]
META_ACCOUNTS = f"""
[accounts.fb_dukcapil]
kind = "facebook"
label = "Facebook Dukcapil Brebes"
page_id = "{PAGE}"
page_access_token = "{META_SECRETS[0]}"
app_secret = "{META_SECRETS[2]}"

[accounts.ig_dukcapil]
kind = "instagram"
label = "Instagram @dukcapilbrebes"
ig_user_id = "{IG}"
page_id = "{PAGE}"
page_access_token = "{META_SECRETS[1]}"
"""
FB_MESSAGES = {"post": [VISITOR_POST], "mention": [TAGGED_POST],
               "comment": [f"900000000000003_100000000000000{n}" for n in (2, 3, 4, 5)],
               "dm": ["m_ZmJfbWVzc2FnZV8wMDAx", "m_ZmJfbWVzc2FnZV8wMDAy", "m_ZmJfbWVzc2FnZV8wMDAz"]}
IG_MESSAGES = {"mention": ["18038000000000001"],
               "comment": [IG_COMMENT, "17873440459141021", "17873440459141099"],
               "dm": ["aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjAwMQ",
                      "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjAwMg"]}


# --- helpers -----------------------------------------------------------------------------------

def from_x(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "x" / name).read_text(encoding="utf-8"))


def from_meta(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "meta" / name).read_text(encoding="utf-8"))


def fresh_config(tmp_path: Path, accounts: str) -> Path:
    """A config on an empty database (PostgreSQL tables dropped first)."""
    path = write_config(tmp_path, accounts=accounts)
    Runtime(load_config(path)).close()  # an empty database file, as `aduan init` leaves it
    if PG_URL:
        reset_database()
    return path


def command_line(config: Path, capsys: pytest.CaptureFixture[str]) -> Aduan:
    """``aduan ARGS`` with ``config``: returns (exit code, stdout, stderr)."""
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main.main(["--config", str(config), *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def x_aduan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Aduan:
    return command_line(fresh_config(tmp_path, X_ACCOUNT), capsys)


@pytest.fixture
def meta_aduan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Aduan:
    return command_line(fresh_config(tmp_path, SANDBOX + META_ACCOUNTS), capsys)


def lines(out: str) -> dict[str, str]:
    """``aduan poll`` output as {account: outcome}."""
    return dict(line.split(": ", 1) for line in out.splitlines())


def ok(new: int, cases: int) -> str:
    return f"ok — {new} pesan baru, {cases} pengaduan baru, 0 dibuka kembali, 0 sudah ada"


def stored(account: str) -> dict[str, list[str]]:
    """The external ids stored for ``account``, by kind."""
    found: dict[str, list[str]] = {}
    for kind, external_id in Message.select(Message.kind, Message.external_id).join(Account).where(
            Account.name == account).order_by(Message.external_id).tuples():
        found.setdefault(kind, []).append(external_id)
    return found


def assert_no_secret(secrets: list[str], account: str, *printed: str) -> None:
    """No secret in what was printed nor anywhere on the account's row (errors, details)."""
    row = json.dumps(Account.select().where(Account.name == account).dicts().get(), default=str)
    for secret in secrets:
        assert not any(secret in text for text in (row, *printed)), secret


def path_of(call: responses.Call) -> str:
    return urlparse(call.request.url).path.removeprefix("/v26.0/")


def form(call: responses.Call) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(call.request.body).items()}


# --- X: mentions and DMs -----------------------------------------------------------------------

def test_x_stores_every_mention_and_dm_once_and_a_revoked_token_disables_it(x_aduan: Aduan) -> None:
    with time_machine.travel(X_NOW, tick=False) as clock:
        with responses.RequestsMock() as api:
            api.get(MENTIONS, json=from_x("mentions_page1.json"))
            api.get(MENTIONS, json=from_x("mentions_page2.json"))
            api.get(DM_EVENTS, json=from_x("dm_events_first.json"))
            code, out, _ = x_aduan("poll")
        assert code == 0
        assert lines(out) == {"x_dukcapil": ok(6, 5)}
        # Three mentions on two pages; the DMs of the 3-day look-back, the office's own one too.
        assert stored("x_dukcapil") == {
            "mention": ["2028400000000000100", "2028400000000000200", "2028400000000000300"],
            "dm": ["1890000000000000010", "1890000000000000020", "1890000000000000030"]}
        assert Message.get(Message.external_id == "1890000000000000020").direction == "out"
        assert Case.select().count() == 5

        clock.shift(60)  # the next mention poll; DMs are due only after dm_poll_interval (120 s)
        with responses.RequestsMock() as api:
            api.get(MENTIONS, json=from_x("mentions_empty.json"))
            code, out, _ = x_aduan("poll")
            [call] = api.calls
        assert call.request.params["since_id"] == "2028400000000000300"
        assert not {"start_time", "pagination_token"} & set(call.request.params)
        assert (code, lines(out)) == (0, {"x_dukcapil": ok(0, 0)})

        clock.shift(120)  # DMs are due: one small page, read only down to the newest one seen
        with responses.RequestsMock() as api:
            api.get(MENTIONS, json=from_x("mentions_empty.json"))
            api.get(DM_EVENTS, json=from_x("dm_events_second.json"))
            code, out, _ = x_aduan("poll")
            mentions_query, dm_query = (call.request.params for call in api.calls)
        assert mentions_query["since_id"] == "2028400000000000300"  # an empty read kept the cursor
        assert dm_query["max_results"] == "5" and "pagination_token" not in dm_query
        assert lines(out) == {"x_dukcapil": ok(1, 1)}
        assert stored("x_dukcapil")["dm"][-1] == "1890000000000000040"
        assert Message.select().count() == 7

        code, out, _ = x_aduan("status", "--json")
        [usage] = [a["usage_today"] for a in json.loads(out)["accounts"]]
        assert usage == {"requests": 6, "resources": 10, "messages": 7}  # what X bills, per day

        clock.shift(60)
        with responses.RequestsMock() as api:
            api.get(MENTIONS, status=401, json=from_x("error_401.json"))
            code, out, err = x_aduan("poll")
        assert code == 1 and lines(out) == {"x_dukcapil": f"GAGAL — {UNAUTHORIZED}"}
        _, status, _ = x_aduan("status")
    assert status.startswith("x_dukcapil") and f"NONAKTIF: {UNAUTHORIZED}" in status
    assert Account.get(Account.name == "x_dukcapil").disabled_reason == UNAUTHORIZED
    assert Message.select().count() == 7
    assert_no_secret(list(X_SECRETS.values()), "x_dukcapil", out, err, status)


RESET = X_NOW + timedelta(minutes=10)
EXHAUSTED = {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
             "x-rate-limit-reset": str(int(RESET.timestamp()))}


@pytest.mark.parametrize("mentions, dms, code, health, earliest_next_poll", [
    pytest.param(dict(status=429, json=from_x("error_429.json"), headers=EXHAUSTED),
                 None, 1, f"galat: {RATE_LIMITED}", RESET, id="429-waits-for-the-reset"),
    pytest.param(dict(status=503, json=from_x("error_503.json")), None, 1,
                 "galat: Server X sedang bermasalah (HTTP 503); aduan akan mencoba lagi.",
                 X_NOW + timedelta(seconds=60), id="503-backs-off"),
    pytest.param(dict(body="<html><h1>Something is technically wrong.</h1></html>",
                      content_type="text/html"), None, 1, f"galat: {UNREADABLE}",
                 X_NOW + timedelta(seconds=60), id="not-json-backs-off"),
    pytest.param(dict(json=from_x("mentions_new.json")),
                 dict(status=403, json=from_x("error_403_oauth1_permissions.json")), 0,
                 f"peringatan: {DMS_FORBIDDEN}", X_NOW + timedelta(seconds=60),
                 id="403-on-dms-keeps-mentions"),
])
def test_each_x_failure_keeps_the_account_and_says_why_in_status(
        x_aduan: Aduan, mentions: dict[str, Any], dms: dict[str, Any] | None, code: int,
        health: str, earliest_next_poll: datetime) -> None:
    with time_machine.travel(X_NOW, tick=False), responses.RequestsMock() as api:
        api.get(MENTIONS, **mentions)
        if dms is not None:
            api.get(DM_EVENTS, **dms)
        assert x_aduan("poll")[0] == code
        _, status, _ = x_aduan("status")
    assert health in status
    account = Account.get(Account.name == "x_dukcapil")
    assert account.disabled_reason is None and account.next_poll_at >= earliest_next_poll
    assert Message.select().count() == (1 if dms else 0)  # mentions go on while DMs are refused
    assert_no_secret(list(X_SECRETS.values()), "x_dukcapil", status)


# --- Facebook and Instagram: polling -----------------------------------------------------------

def only(**params: str) -> list[Any]:
    return [matchers.query_param_matcher(params, strict_match=False)]


def without_after(request: Any) -> tuple[bool, str]:
    return "after" not in parse_qs(urlparse(request.url).query), "a first page"


def serve(rsps: responses.RequestsMock, path: str, name: str, **kwargs: Any) -> None:
    """Answer ``GET /v26.0/{path}`` with the Meta payload ``name``."""
    rsps.get(f"{GRAPH}/{path}", json=from_meta(name), **kwargs)


def add_listings(rsps: responses.RequestsMock, messenger: dict[str, Any] | None = None,
                 media: str = "ig_media.json") -> None:
    """The requests of an idle poll: three per account (docs/meta.md)."""
    if messenger is None:
        serve(rsps, f"{PAGE}/conversations", "fb_conversations.json",
              match=only(platform="messenger"))
        serve(rsps, f"{PAGE}/tagged", "fb_tagged.json")
        serve(rsps, f"{PAGE}/feed", "fb_feed.json")
    else:
        rsps.get(f"{GRAPH}/{PAGE}/conversations", match=only(platform="messenger"), **messenger)
    serve(rsps, f"{PAGE}/conversations", "ig_conversations.json", match=only(platform="instagram"))
    serve(rsps, f"{IG}/tags", "ig_tags.json")
    serve(rsps, f"{IG}/media", media)


def first_meta_poll(aduan: Aduan) -> str:
    """Poll the sandbox, Facebook and Instagram accounts once at META_NOW; returns stdout."""
    with time_machine.travel(META_NOW, tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        serve(rsps, f"{FB_DM_THREAD}/messages", "fb_conversation_messages.json")
        serve(rsps, f"{VISITOR_POST}/comments", "fb_comments_empty.json")
        serve(rsps, f"{TAGGED_POST}/comments", "fb_comments_empty.json")
        serve(rsps, f"{PAGE_POST}/comments", "fb_comments_page1.json", match=[without_after])
        serve(rsps, f"{PAGE_POST}/comments", "fb_comments_page2.json",
              match=only(after="WTI5dGJXVnVkRjlqZFhKemIzSTZNVEF6"))
        serve(rsps, f"{IG_DM_THREAD}/messages", "ig_conversation_messages.json")
        serve(rsps, f"{IG_MEDIA}/comments", "ig_comments.json")
        code, out, _ = aduan("poll")
    assert code == 0, out
    return out


def test_facebook_and_instagram_store_everything_once_and_an_idle_poll_costs_the_minimum(
        meta_aduan: Aduan) -> None:
    out = lines(first_meta_poll(meta_aduan))
    assert (out["fb_dukcapil"], out["ig_dukcapil"]) == (ok(9, 5), ok(6, 3))
    assert stored("fb_dukcapil") == {kind: sorted(ids) for kind, ids in FB_MESSAGES.items()}
    assert stored("ig_dukcapil") == {kind: sorted(ids) for kind, ids in IG_MESSAGES.items()}
    # The office's own comment and DMs are kept as outbound, never as a complaint.
    outbound = Message.select(Message.external_id).where(Message.direction == "out").tuples()
    assert sorted(i for (i,) in outbound) == sorted([
        "900000000000003_1000000000000003", "m_ZmJfbWVzc2FnZV8wMDAz", "17873440459141021",
        IG_MESSAGES["dm"][1]])
    before = Message.select().count()

    with time_machine.travel(META_NOW + timedelta(minutes=1), tick=False), \
            responses.RequestsMock() as rsps:
        add_listings(rsps)  # anything else asked for would fail the poll
        code, idle, _ = meta_aduan("poll")
        called = Counter(path_of(call) for call in rsps.calls)
        _, status, _ = meta_aduan("status", "--json")
    assert code == 0
    assert called == Counter([f"{PAGE}/conversations", f"{PAGE}/tagged", f"{PAGE}/feed",
                              f"{PAGE}/conversations", f"{IG}/tags", f"{IG}/media"])
    assert (lines(idle)["fb_dukcapil"], lines(idle)["ig_dukcapil"]) == (ok(0, 0), ok(0, 0))
    assert Message.select().count() - before == int(lines(idle)["sandbox"].split()[2])
    usage = {a["name"]: a["usage_today"]["requests"] for a in json.loads(status)["accounts"]}
    assert (usage["fb_dukcapil"], usage["ig_dukcapil"]) == (8 + 3, 5 + 3)  # first poll + idle poll


def test_an_expired_page_token_disables_only_that_account_with_a_plain_reason(
        meta_aduan: Aduan) -> None:
    first_meta_poll(meta_aduan)
    expired = {"status": 400, "json": from_meta("errors.json")["190_expired"]}
    with time_machine.travel(META_NOW + timedelta(minutes=2), tick=False), \
            responses.RequestsMock() as rsps:
        add_listings(rsps, messenger=expired, media="ig_media_after_new_comment.json")
        serve(rsps, f"{IG_QUIET_MEDIA}/comments", "ig_comments_second_media.json")
        code, out, err = meta_aduan("poll")
        _, status, _ = meta_aduan("status")
    reason = ("Token halaman kedaluwarsa atau dicabut (subkode 463); buat token baru lalu perbarui "
              "config.toml.")
    assert code == 1
    assert lines(out)["fb_dukcapil"] == f"GAGAL — {reason}"
    # Instagram, on the same Page but its own token, goes on and stores its new comment.
    assert lines(out)["ig_dukcapil"] == ok(1, 1)
    assert "17870913679156999" in stored("ig_dukcapil")["comment"]
    assert lines(out)["sandbox"].startswith("ok")
    by_account = {line.split()[0]: line for line in status.splitlines() if line.strip()}
    assert f"NONAKTIF: {reason}" in by_account["fb_dukcapil"]
    assert "sehat" in by_account["ig_dukcapil"] and "sehat" in by_account["sandbox"]
    assert [a.name for a in Account.select().where(Account.disabled_reason.is_null(False))] == [
        "fb_dukcapil"]
    assert_no_secret(META_SECRETS, "fb_dukcapil", out, err, status)


# --- Facebook and Instagram: replies -----------------------------------------------------------

def case_of(account: str, thread_id: str) -> Case:
    return Case.select().join(Account).where(
        (Account.name == account) & (Case.thread_id == thread_id)).get()


def queue_answers(aduan: Aduan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  *cases: Case) -> None:
    """Add the admin (password on stdin) and queue ANSWER for each case."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("kata-sandi-admin-1\n"))
    assert aduan("user", "add", "admin1", "--role", "admin")[0] == 0
    answer = tmp_path / "jawaban.txt"
    answer.write_text(ANSWER, encoding="utf-8")
    for case in cases:
        code, out, err = aduan("case", "reply", case.reference, "--as", "admin1",
                               "--text-file", str(answer))
        assert (code, err) == (0, ""), out


def test_answers_go_back_on_the_surface_the_citizen_used_exactly_once(
        meta_aduan: Aduan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first_meta_poll(meta_aduan)
    fb_comment, fb_dm = case_of("fb_dukcapil", FB_COMMENT), case_of("fb_dukcapil", FB_DM_THREAD)
    ig_comment = case_of("ig_dukcapil", IG_COMMENT)
    with time_machine.travel(META_NOW + timedelta(hours=1), tick=False):
        queue_answers(meta_aduan, tmp_path, monkeypatch, fb_comment, fb_dm, ig_comment)
        with responses.RequestsMock() as rsps:
            rsps.post(f"{GRAPH}/{FB_COMMENT}/comments", json=from_meta("fb_comment_created.json"))
            rsps.post(f"{GRAPH}/{PAGE}/messages", json=from_meta("fb_send_message.json"))
            rsps.post(f"{GRAPH}/{IG_COMMENT}/replies", json=from_meta("ig_reply_created.json"))
            code, out, _ = meta_aduan("deliver")
            sent = {path_of(call): form(call) for call in rsps.calls}
            assert len(rsps.calls) == 3
        assert code == 0 and out.count("terkirim") == 3
        with responses.RequestsMock() as rsps:  # nothing registered: any request would fail
            code, again, _ = meta_aduan("deliver")
            assert len(rsps.calls) == 0
    assert (code, again.strip()) == (0, "tidak ada balasan yang menunggu dikirim")
    assert sent[f"{FB_COMMENT}/comments"]["message"] == ANSWER
    assert sent[f"{IG_COMMENT}/replies"]["message"] == ANSWER
    dm = sent[f"{PAGE}/messages"]
    assert json.loads(dm["recipient"]) == {"id": "25630000000000001"}  # the citizen's PSID
    assert json.loads(dm["message"]) == {"text": ANSWER}
    assert dm["messaging_type"] == "RESPONSE" and "tag" not in dm  # inside 24 hours
    platform_ids = {row.case_id: row.platform_id for row in Outbox.select()}
    assert platform_ids == {fb_comment.id: "900000000000003_1000000000000010",
                            fb_dm.id: "m_ZmJfc2VudF9tZXNzYWdlXzAwMQ",
                            ig_comment.id: "17873440459141100"}
    assert {c.status for c in Case.select().where(Case.id.in_(list(platform_ids)))} == {"answered"}


def test_a_dm_answered_two_days_later_carries_the_human_agent_tag(
        meta_aduan: Aduan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first_meta_poll(meta_aduan)
    case = case_of("ig_dukcapil", IG_DM_THREAD)
    with time_machine.travel(META_NOW + timedelta(days=2), tick=False):
        queue_answers(meta_aduan, tmp_path, monkeypatch, case)
        with responses.RequestsMock() as rsps:
            rsps.post(f"{GRAPH}/{PAGE}/messages", json=from_meta("fb_send_message.json"))
            code, out, _ = meta_aduan("deliver")
            [call] = rsps.calls
    assert code == 0 and "terkirim" in out
    sent = form(call)
    assert json.loads(sent["recipient"]) == {"id": "6533000000000001"}  # the Instagram citizen
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert Case.get_by_id(case.id).status == "answered"


def test_a_dm_answered_after_seven_days_is_refused_without_a_request_and_back_with_the_admin(
        meta_aduan: Aduan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first_meta_poll(meta_aduan)
    case = case_of("fb_dukcapil", FB_DM_THREAD)
    with time_machine.travel(META_NOW + timedelta(days=8), tick=False):
        queue_answers(meta_aduan, tmp_path, monkeypatch, case)
        with responses.RequestsMock() as rsps:
            code, out, _ = meta_aduan("deliver")
            assert len(rsps.calls) == 0
        _, status, _ = meta_aduan("status")
    reason = "Jendela balasan Messenger 7 hari sudah lewat; hubungi warga lewat kanal lain."
    assert code == 1 and f"GAGAL — {reason}" in out
    assert Outbox.get().status == "failed" and Outbox.get().last_error == reason
    case = Case.get_by_id(case.id)
    assert case.status == "new" and reason in case.alert
    assert "balasan: gagal dikirim 1" in status
