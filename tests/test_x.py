"""The X connector against X API v2 payloads, faked at the requests layer with ``responses``.

tweepy 4.17 calls the hard-coded host https://api.twitter.com, so that is what is registered.
The payloads in tests/fixtures/x/ follow X's documentation (docs.x.com quickstarts and the
documented error bodies).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import time_machine
from urllib3.exceptions import NewConnectionError, ProtocolError

from connectors.base import ConnectorError, OutboundReply
from connectors.x import DM_STEADY_PAGE, DMS_FORBIDDEN, NOT_SUMMONED, UNAUTHORIZED, XConnector

FIXTURES = Path(__file__).parent / "fixtures" / "x"
API = "https://api.twitter.com/2"
OFFICE = "1356871740001411075"
CITIZEN = "1523456789012345678"
MENTIONS = f"{API}/users/{OFFICE}/mentions"
DM_EVENTS = f"{API}/dm_events"
TWEETS = f"{API}/tweets"
NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)  # 10:05 WIB
OPTIONS = {"user_id": OFFICE, "consumer_key": "ck-secret-test", "consumer_secret": "cs-secret-test",
           "access_token": f"{OFFICE}-at-secret-test", "access_token_secret": "ats-secret-test"}
SECRETS = [v for k, v in OPTIONS.items() if k != "user_id"] + ["app-bearer-secret-test"]
ANSWER = "Mohon maaf atas kendalanya, Kak. Blangko KTP-el sudah tersedia kembali."


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def connector(**options: Any) -> XConnector:
    return XConnector("x_dukcapil", {**OPTIONS, **options})


def reply(public: bool) -> OutboundReply:
    return OutboundReply(reply_id=7, case_reference="ADU-202603-0001", text=ANSWER, public=public,
                         thread_id="2028400000000000300", in_reply_to="2028400000000000300",
                         recipient_id=CITIZEN, kind="mention" if public else "dm")


def epoch(when: datetime) -> str:
    return str(int(when.timestamp()))


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:  # every registered response must be asked for
        yield mock


# --- mentions ------------------------------------------------------------------------------------

def test_it_reads_a_mention_with_its_author_from_includes(api, clock):
    api.get(MENTIONS, json=fixture("mentions_new.json"))
    result = connector(dms=False).poll({"mentions_since_id": "2028400000000000300"})
    [mention] = result.messages
    assert (mention.external_id, mention.thread_id, mention.kind, mention.public) == (
        "2028400000000000400", "2028400000000000400", "mention", True)
    assert (mention.author_id, mention.author_handle, mention.author_name) == (
        "1700000000000000007", "wulan_lst", "Wulan Lestari")
    assert mention.text == "@dukcapilbrebes terima kasih min, KK sudah jadi"
    assert mention.created_at == datetime(2026, 3, 2, 3, 4, tzinfo=timezone.utc)
    assert mention.permalink == "https://x.com/wulan_lst/status/2028400000000000400"
    assert mention.in_reply_to is None and mention.from_office is False
    assert mention.raw == fixture("mentions_new.json")["data"][0]
    assert result.cursor == {"mentions_since_id": "2028400000000000400"}


def test_the_first_poll_pages_back_only_as_far_as_the_lookback_window(api, clock):
    api.get(MENTIONS, json=fixture("mentions_page1.json"))
    api.get(MENTIONS, json=fixture("mentions_page2.json"))
    result = connector(dms=False).poll({})
    first, second = (call.request.params for call in api.calls)
    assert first["start_time"] == "2026-02-27T03:05:00Z"
    assert "since_id" not in first and "pagination_token" not in first
    assert first["max_results"] == "100" and first["expansions"] == "author_id,attachments.media_keys"
    assert set(first["tweet.fields"].split(",")) == {
        "created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets", "author_id",
        "attachments"}
    assert first["user.fields"] == "username,name"
    assert set(first["media.fields"].split(",")) >= {"media_key", "type", "url"}
    assert second["pagination_token"] == "7140dibdnow9c7btw4b0ykjd0c0ajj2xtmo0g0cnh4sqz"
    assert [m.external_id for m in result.messages] == [
        "2028400000000000100", "2028400000000000200", "2028400000000000300"]  # oldest first
    assert result.cursor == {"mentions_since_id": "2028400000000000300"}  # the first page's newest
    assert (result.requests, result.resources) == (2, 3)


def test_a_reply_mention_keeps_its_conversation_and_the_post_it_answers(api, clock):
    api.get(MENTIONS, json=fixture("mentions_page1.json"))
    api.get(MENTIONS, json=fixture("mentions_page2.json"))
    answer = {m.external_id: m for m in connector(dms=False).poll({}).messages}["2028400000000000200"]
    assert answer.thread_id == "2028300000000000001"
    assert answer.in_reply_to == "2028300000000000001"


@pytest.mark.parametrize("cursor", [{}, {"mentions_since_id": "2028400000000000300"}])
def test_an_empty_result_keeps_the_cursor(api, clock, cursor):
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    result = connector(dms=False).poll(dict(cursor))
    assert result.messages == [] and result.cursor == cursor
    assert (result.requests, result.resources) == (1, 0)


def test_the_next_poll_asks_only_for_mentions_after_since_id(api, clock):
    x = connector(dms=False)
    api.get(MENTIONS, json=fixture("mentions_page1.json"))
    api.get(MENTIONS, json=fixture("mentions_page2.json"))
    first = x.poll({})
    api.get(MENTIONS, json=fixture("mentions_new.json"))
    x.poll(first.cursor)
    query = api.calls[-1].request.params
    assert query["since_id"] == "2028400000000000300"
    assert "start_time" not in query and "pagination_token" not in query


def test_a_mention_without_includes_keeps_the_author_id(api, clock):
    api.get(MENTIONS, json=fixture("mentions_without_includes.json"))
    [mention] = connector(dms=False).poll({}).messages
    assert (mention.author_id, mention.author_handle, mention.author_name) == (
        "1800000000000000099", "1800000000000000099", "")
    assert mention.permalink == "https://x.com/i/web/status/2028400000000000500"


def test_mentions_use_the_bearer_token_when_given_and_user_context_otherwise(api, clock):
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    connector(dms=False, bearer_token="app-bearer-secret-test").poll({})
    connector(dms=False).poll({})
    assert api.calls[0].request.headers["Authorization"] == "Bearer app-bearer-secret-test"
    assert api.calls[1].request.headers["Authorization"].startswith("OAuth ")


# --- direct messages -----------------------------------------------------------------------------

def test_dms_are_read_with_the_office_own_messages_marked_from_office(api, clock):
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_first.json"))
    result = connector().poll({})
    query = api.calls[1].request.params
    assert query["event_types"] == "MessageCreate" and query["expansions"] == "sender_id,attachments.media_keys"
    assert set(query["dm_event.fields"].split(",")) == {
        "created_at", "sender_id", "dm_conversation_id", "text", "attachments", "participant_ids"}
    assert set(query["media.fields"].split(",")) >= {"media_key", "type", "url"}
    assert query["user.fields"] == "username,name" and query["max_results"] == "100"
    assert api.calls[1].request.headers["Authorization"].startswith("OAuth ")  # DMs need user context
    # Oldest first; the event of 20 February lies before the 3-day look-back of a first poll.
    assert [m.external_id for m in result.messages] == [
        "1890000000000000010", "1890000000000000020", "1890000000000000030"]
    photo, office, citizen = result.messages
    assert office.from_office and office.author_id == OFFICE and office.author_handle == "dukcapilbrebes"
    assert not citizen.from_office and not photo.from_office
    assert (citizen.kind, citizen.public, citizen.thread_id) == (
        "dm", False, f"{OFFICE}-{CITIZEN}")
    assert (citizen.author_handle, citizen.author_name) == ("sitirahayu_bbs", "Siti Rahayu")
    assert citizen.permalink == f"https://x.com/messages/{OFFICE}-{CITIZEN}"
    assert photo.text == "" and photo.raw["attachments"] == {"media_keys": ["3_1890000000000000011"]}
    assert result.cursor == {"dm_newest_id": "1890000000000000030",
                             "dm_newest_at": "2026-03-02T02:50:00+00:00",
                             "dm_next_at": "2026-03-02T03:07:00+00:00"}  # now + dm_poll_interval
    assert (result.requests, result.resources) == (2, 4)


def test_the_dm_read_stops_at_the_first_event_already_seen(api, clock):
    cursor = {"mentions_since_id": "2028400000000000300", "dm_newest_id": "1890000000000000030",
              "dm_newest_at": "2026-03-02T02:50:00+00:00", "dm_next_at": NOW.isoformat()}
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_second.json"))
    result = connector().poll(cursor)
    assert [m.external_id for m in result.messages] == ["1890000000000000040"]
    assert len(api.calls) == 2  # its next_token is not followed: everything past it was seen
    assert api.calls[1].request.params["max_results"] == str(DM_STEADY_PAGE)  # a small first page
    assert result.cursor["dm_newest_id"] == "1890000000000000040"
    assert result.cursor["dm_newest_at"] == "2026-03-02T03:01:00+00:00"


@pytest.mark.parametrize("cursor, sizes", [
    ({}, ["100", "100"]),  # first poll: full pages back to the look-back window
    ({"dm_newest_id": "1889000000000000005", "dm_newest_at": "2026-02-20T04:00:00+00:00"},
     [str(DM_STEADY_PAGE), str(DM_STEADY_PAGE * 4)]),  # a burst: small first page, then larger
])
def test_the_dm_read_follows_next_token_until_it_reaches_what_it_has_seen(api, clock, cursor, sizes):
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_second.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_older.json"))
    result = connector().poll({"mentions_since_id": "2028400000000000300", **cursor})
    first, second = (call.request.params for call in api.calls[1:])
    assert "pagination_token" not in first
    assert second["pagination_token"] == "18LAA581J5II7LA00C00ZZZZ"
    assert [first["max_results"], second["max_results"]] == sizes
    assert [m.external_id for m in result.messages] == [
        "1890000000000000010", "1890000000000000020", "1890000000000000030", "1890000000000000040"]
    assert result.cursor["dm_newest_id"] == "1890000000000000040"  # the newest, from the first page
    assert (result.requests, result.resources) == (3, 5)


def test_dms_are_not_read_before_dm_next_at(api, clock):
    cursor = {"mentions_since_id": "2028400000000000300", "dm_newest_id": "1890000000000000030",
              "dm_newest_at": "2026-03-02T02:50:00+00:00", "dm_next_at": "2026-03-02T03:06:00+00:00"}
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    result = connector().poll(dict(cursor))
    assert result.requests == 1 and len(api.calls) == 1
    assert result.cursor == cursor


def test_dms_off_in_the_options_are_never_read(api, clock):
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    result = connector(dms=False).poll({})
    assert [c.request.url.split("?")[0] for c in api.calls] == [MENTIONS]
    assert result.notes == []


def test_a_403_on_dms_disables_them_while_mentions_go_on(api, clock):
    api.get(MENTIONS, json=fixture("mentions_new.json"))
    api.get(DM_EVENTS, status=403, json=fixture("error_403_oauth1_permissions.json"))
    x = connector()
    result = x.poll({"mentions_since_id": "2028400000000000300"})
    assert [m.external_id for m in result.messages] == ["2028400000000000400"]
    assert result.notes == [DMS_FORBIDDEN] and "Direct Messages" in DMS_FORBIDDEN
    assert result.cursor["dms_disabled"] == DMS_FORBIDDEN
    assert result.cursor["dm_next_at"] == (NOW + timedelta(hours=24)).isoformat()
    assert result.cursor["mentions_since_id"] == "2028400000000000400"
    # An hour later the DMs are not asked for again, and the warning stays on the account.
    clock.shift(3600)
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    again = x.poll(result.cursor)
    assert again.requests == 1 and again.notes == [DMS_FORBIDDEN]


def test_a_rate_limited_dm_read_waits_for_its_reset_while_mentions_go_on(api, clock):
    reset = NOW + timedelta(minutes=12)
    api.get(MENTIONS, json=fixture("mentions_new.json"))
    api.get(DM_EVENTS, status=429, json=fixture("error_429.json"),
            headers={"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0",
                     "x-rate-limit-reset": epoch(reset)})
    result = connector().poll({"mentions_since_id": "2028400000000000300"})
    assert [m.external_id for m in result.messages] == ["2028400000000000400"]
    assert result.cursor["dm_next_at"] == reset.isoformat()
    assert "dm_newest_id" not in result.cursor and result.not_before is None
    assert len(result.notes) == 1


# --- polling errors ------------------------------------------------------------------------------

def test_a_429_gives_retry_at_from_the_reset_header(api, clock):
    reset = NOW + timedelta(minutes=10)
    api.get(MENTIONS, status=429, json=fixture("error_429.json"),
            headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
                     "x-rate-limit-reset": epoch(reset)})
    with pytest.raises(ConnectorError) as caught:
        connector().poll({})
    assert caught.value.retry_at == reset
    assert not caught.value.permanent and not caught.value.uncertain


def test_a_401_is_permanent_and_names_no_secret(api, clock):
    api.get(MENTIONS, status=401, json=fixture("error_401.json"))
    with pytest.raises(ConnectorError) as caught:
        connector(bearer_token="app-bearer-secret-test").poll({})
    assert caught.value.permanent and caught.value.message == UNAUTHORIZED
    for secret in SECRETS:
        assert secret not in caught.value.message and secret not in (caught.value.detail or "")


def test_a_503_is_transient(api, clock):
    api.get(MENTIONS, status=503, json=fixture("error_503.json"))
    with pytest.raises(ConnectorError) as caught:
        connector().poll({})
    error = caught.value
    assert not error.permanent and error.retry_at is None and not error.uncertain
    assert "503" in error.message


@pytest.mark.parametrize("status, body", [
    (200, '{"data": [{"id": "2028400000000000600", "text": "@dukcap'),  # cut off mid-way
    (200, "<html><body><h1>Something is technically wrong.</h1></body></html>"),
    (200, '{"data": {"id": "2028400000000000600"}, "meta": {"result_count": 1}}'),  # not a list
    (500, '["not", "an", "object"]'),  # an error body tweepy itself cannot parse
])
def test_a_body_that_is_not_the_documented_json_is_transient_with_the_payload(api, clock, status, body):
    api.get(MENTIONS, status=status, body=body, content_type="application/json")
    with pytest.raises(ConnectorError) as caught:
        connector().poll({})
    assert not caught.value.permanent and not caught.value.uncertain
    assert body[:20] in (caught.value.detail or "")


def test_not_before_is_the_reset_when_the_mentions_window_runs_out(api, clock):
    reset = NOW + timedelta(minutes=14)
    api.get(MENTIONS, json=fixture("mentions_new.json"),
            headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
                     "x-rate-limit-reset": epoch(reset)})
    api.get(MENTIONS, json=fixture("mentions_empty.json"),
            headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "12",
                     "x-rate-limit-reset": epoch(reset)})
    x = connector(dms=False)
    assert x.poll({}).not_before == reset
    assert x.poll({"mentions_since_id": "2028400000000000400"}).not_before is None


def test_a_steady_state_poll_is_one_request_and_reads_nothing_twice(api, clock):
    x = connector()
    api.get(MENTIONS, json=fixture("mentions_page1.json"))
    api.get(MENTIONS, json=fixture("mentions_page2.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_first.json"))
    first = x.poll({})
    clock.shift(60)  # the next mentions poll; DMs are due only after dm_poll_interval (120 s)
    api.get(MENTIONS, json=fixture("mentions_new.json"))
    second = x.poll(first.cursor)
    assert (second.requests, second.resources) == (1, 1)
    assert [m.external_id for m in second.messages] == ["2028400000000000400"]
    assert not {m.external_id for m in first.messages} & {m.external_id for m in second.messages}
    clock.shift(60)
    api.get(MENTIONS, json=fixture("mentions_empty.json"))
    api.get(DM_EVENTS, json=fixture("dm_events_second.json"))
    third = x.poll(second.cursor)
    assert [m.external_id for m in third.messages] == ["1890000000000000040"]
    assert api.calls[-2].request.params["since_id"] == "2028400000000000400"


# --- replies -------------------------------------------------------------------------------------

def test_a_public_reply_is_posted_as_a_reply_to_the_citizen_post(api):
    api.post(TWEETS, status=201, json=fixture("tweet_created.json"))
    assert connector().send(reply(public=True)) == "2028400000000000900"
    request = api.calls[0].request
    assert json.loads(request.body) == {"text": ANSWER,
                                        "reply": {"in_reply_to_tweet_id": "2028400000000000300"}}
    assert request.headers["Authorization"].startswith("OAuth ")


def test_a_private_reply_is_sent_as_a_dm_to_the_citizen(api):
    api.post(f"{API}/dm_conversations/with/{CITIZEN}/messages", status=201,
             json=fixture("dm_created.json"))
    assert connector().send(reply(public=False)) == "1890000000000000099"
    request = api.calls[0].request
    assert json.loads(request.body) == {"text": ANSWER}
    assert request.headers["Authorization"].startswith("OAuth ")


def test_a_reply_refused_because_the_citizen_did_not_mention_the_office_suggests_a_dm(api):
    api.post(TWEETS, status=403, json=fixture("error_403_reply_not_allowed.json"))
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply(public=True))
    assert caught.value.permanent and caught.value.message == NOT_SUMMONED
    assert "DM" in caught.value.message and "not allowed" in caught.value.detail


def test_a_refused_dm_is_permanent_but_not_taken_for_the_public_reply_rule(api):
    api.post(f"{API}/dm_conversations/with/{CITIZEN}/messages", status=403,
             json={"title": "Forbidden", "status": 403, "type": "about:blank",
                   "detail": "You are not permitted to send Direct Messages to this user."})
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply(public=False))
    assert caught.value.permanent and caught.value.message != NOT_SUMMONED


@pytest.mark.parametrize("failure", [
    requests.exceptions.ReadTimeout("Read timed out. (read timeout=30.0)"),
    requests.exceptions.ConnectionError(ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))),
])
def test_a_send_that_fails_after_the_request_left_is_uncertain(api, failure):
    api.post(TWEETS, body=failure)
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply(public=True))
    assert caught.value.uncertain and not caught.value.permanent


@pytest.mark.parametrize("failure", [
    requests.exceptions.ConnectTimeout("Connection to api.twitter.com timed out."),
    requests.exceptions.ConnectionError(NewConnectionError(None, "Failed to establish a new connection")),
])
def test_a_send_that_never_reached_x_is_a_plain_transient_error(api, failure):
    api.post(TWEETS, body=failure)
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply(public=True))
    assert not caught.value.uncertain and not caught.value.permanent


def test_an_accepted_send_whose_answer_is_unreadable_is_uncertain(api):
    api.post(TWEETS, status=201, body="<html>ok</html>")
    with pytest.raises(ConnectorError) as caught:
        connector().send(reply(public=True))
    assert caught.value.uncertain and "<html>ok</html>" in caught.value.detail
