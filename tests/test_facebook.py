"""FacebookConnector: feed, /tagged and comments, Messenger, replies and their windows.

The network is faked at the requests layer with ``responses``; bodies come from
tests/fixtures/meta. Time is frozen at 2026-11-03 03:00 UTC (10:00 WIB).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import time_machine
from responses import matchers

from connectors.base import ConnectorError, OutboundReply, PollResult
from connectors.facebook import NIK_HIDDEN_REPLY, FacebookConnector

FIXTURES = Path(__file__).parent / "fixtures" / "meta"
NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "104857600000001"
PAGE_POST = f"{PAGE}_900000000000003"
VISITOR_POST = f"{PAGE}_900000000000002"
TAGGED_POST = "6100000000000009_800000000000001"
CONVERSATION = "t_10160000000000001"
CITIZEN_PSID = "25630000000000001"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def query(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(call.request.body).items()}


def paths_of(calls: list[responses.Call]) -> list[str]:
    return [f"{call.request.method} {urlparse(call.request.url).path}" for call in calls]


def paths(rsps: responses.RequestsMock) -> list[str]:
    return paths_of(list(rsps.calls))


def connector(**options: object) -> FacebookConnector:
    return FacebookConnector("fb_dukcapil", {"page_id": PAGE, "page_access_token": "PAGE-TOKEN",
                                             "app_secret": "app-secret-for-tests", **options})


def without(param: str) -> Callable[[Any], tuple[bool, str]]:
    return lambda request: (param not in parse_qs(urlparse(request.url).query), f"no {param}")


def add_listings(rsps: responses.RequestsMock, feed: str = "fb_feed.json") -> None:
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/conversations", json=fixture("fb_conversations.json"))
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/tagged", json=fixture("fb_tagged.json"))
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/feed", json=fixture(feed))


def add_first_poll(rsps: responses.RequestsMock, page_post_comments: dict | None = None) -> None:
    add_listings(rsps)
    rsps.add(responses.GET, f"{GRAPH}/{CONVERSATION}/messages",
             json=fixture("fb_conversation_messages.json"))
    rsps.add(responses.GET, f"{GRAPH}/{VISITOR_POST}/comments", json=fixture("fb_comments_empty.json"))
    rsps.add(responses.GET, f"{GRAPH}/{TAGGED_POST}/comments", json=fixture("fb_comments_empty.json"))
    if page_post_comments is not None:
        rsps.add(responses.GET, f"{GRAPH}/{PAGE_POST}/comments", **page_post_comments)
        return
    rsps.add(responses.GET, f"{GRAPH}/{PAGE_POST}/comments", json=fixture("fb_comments_page1.json"),
             match=[without("after")])
    rsps.add(responses.GET, f"{GRAPH}/{PAGE_POST}/comments", json=fixture("fb_comments_page2.json"),
             match=[matchers.query_param_matcher({"after": "WTI5dGJXVnVkRjlqZFhKemIzSTZNVEF6"},
                                                 strict_match=False)])


def first_poll(fb: FacebookConnector) -> PollResult:
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_first_poll(rsps)
        return fb.poll({})


def dm_reply(last_inbound_at: datetime | None) -> OutboundReply:
    return OutboundReply(reply_id=7, case_reference="ADU-202611-0042",
                         text="Baik Bu, akta sudah selesai dan bisa diambil besok.", public=False,
                         thread_id=CONVERSATION, in_reply_to="m_ZmJfbWVzc2FnZV8wMDAy",
                         recipient_id=CITIZEN_PSID, kind="dm", last_inbound_at=last_inbound_at)


# --- polling ----------------------------------------------------------------------------------

def test_first_poll_reads_posts_comments_across_two_pages_and_messenger_oldest_first():
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_first_poll(rsps)
        result = fb.poll({})
        calls = list(rsps.calls)
    assert [(m.external_id, m.kind, m.thread_id) for m in result.messages] == [
        (VISITOR_POST, "post", VISITOR_POST),
        ("900000000000003_1000000000000002", "comment", "900000000000003_1000000000000002"),
        ("900000000000003_1000000000000003", "comment", "900000000000003_1000000000000002"),
        (TAGGED_POST, "mention", TAGGED_POST),
        ("900000000000003_1000000000000004", "comment", "900000000000003_1000000000000004"),
        ("900000000000003_1000000000000005", "comment", "900000000000003_1000000000000002"),
        ("m_ZmJfbWVzc2FnZV8wMDAx", "dm", CONVERSATION),
        ("m_ZmJfbWVzc2FnZV8wMDAy", "dm", CONVERSATION),
        ("m_ZmJfbWVzc2FnZV8wMDAz", "dm", CONVERSATION),
    ]
    by_id = {m.external_id: m for m in result.messages}
    reply = by_id["900000000000003_1000000000000003"]
    assert reply.from_office and reply.in_reply_to == "900000000000003_1000000000000002"
    top = by_id["900000000000003_1000000000000004"]
    assert (top.author_id, top.author_name, top.in_reply_to) == (
        "6100000000000003", "Ahmad Hidayat", PAGE_POST)
    assert top.public and top.created_at == datetime(2026, 11, 3, 2, 30, tzinfo=timezone.utc)
    assert top.permalink.endswith("comment_id=1000000000000004")
    tagged = by_id[TAGGED_POST]
    # /tagged hides `from`: the author is shown as unknown, a contact of its own
    assert tagged.author_name == "pengirim tidak diketahui"
    assert tagged.author_id == f"tidak-diketahui:{tagged.thread_id}:{tagged.external_id}"
    # The comment of 20 October is older than the first poll's 7-day floor; the old post ends
    # the feed window, so the feed's next page is never fetched.
    assert "900000000000003_1000000000000001" not in by_id
    assert paths_of(calls).count(f"GET /v26.0/{PAGE}/feed") == 1
    assert result.requests == 8 and result.resources > 0 and result.not_before is None
    page2 = [c for c in calls if "after=" in c.request.url and PAGE_POST in c.request.url]
    assert query(page2[0])["filter"] == "stream" and query(page2[0])["order"] == "chronological"


def test_the_cursor_is_plain_json_without_graph_paging_cursors():
    result = first_poll(connector())
    text = json.dumps(result.cursor)
    for paging_cursor in ("Q2c4U1pX", "WTI5dGJX", "QVFIUm", "after"):
        assert paging_cursor not in text
    assert result.cursor["posts"][PAGE_POST]["u"] == "2026-11-03T02:40:00+0000"
    assert result.cursor["dm"]["convs"][CONVERSATION]["u"] == "2026-11-03T02:50:00+0000"


def test_an_idle_poll_costs_three_requests():
    """The minimum: conversations, /tagged and /feed, one request each, nothing re-read."""
    fb = connector()
    cursor = first_poll(fb).cursor
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        result = fb.poll(cursor)
    assert result.messages == [] and result.requests == 3


def test_second_poll_rereads_only_the_post_whose_updated_time_moved():
    fb = connector()
    cursor = first_poll(fb).cursor
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps, feed="fb_feed_after_new_comment.json")
        rsps.add(responses.GET, f"{GRAPH}/{PAGE_POST}/comments",
                 json=fixture("fb_comments_after_new_comment.json"))
        result = fb.poll(cursor)
        called = paths(rsps)
    assert [m.external_id for m in result.messages] == ["900000000000003_1000000000000006"]
    assert result.messages[0].thread_id == "900000000000003_1000000000000004"
    assert called == [f"GET /v26.0/{PAGE}/conversations", f"GET /v26.0/{PAGE}/tagged",
                      f"GET /v26.0/{PAGE}/feed", f"GET /v26.0/{PAGE_POST}/comments"]


def test_messenger_messages_include_the_pages_own_replies_as_from_office():
    result = first_poll(connector())
    dms = [m for m in result.messages if m.kind == "dm"]
    assert [(m.from_office, m.public, m.author_id) for m in dms] == [
        (False, False, CITIZEN_PSID), (False, False, CITIZEN_PSID), (True, False, PAGE)]
    assert dms[1].author_name == "Siti Rahayu" and dms[1].text.startswith("Akta kelahiran")
    assert dms[1].raw["to"]["data"][0]["id"] == PAGE


def test_a_rate_limit_part_way_returns_what_is_complete_and_waits():
    fb = connector()
    limited = {"json": fixture("errors.json")["613_custom_limit"], "status": 400}
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_first_poll(rsps, page_post_comments=limited)
        result = fb.poll({})
    assert {m.kind for m in result.messages} == {"dm", "post", "mention"}
    assert result.not_before == NOW + timedelta(minutes=15)
    assert any("613" in note for note in result.notes)
    # The post that failed keeps no entry, so the next poll reads it again from its start.
    assert PAGE_POST not in result.cursor["posts"] and VISITOR_POST in result.cursor["posts"]
    assert "seen" in result.cursor["dm"]


def test_an_expired_token_before_anything_was_read_disables_the_account():
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{GRAPH}/{PAGE}/conversations",
                 json=fixture("errors.json")["190_expired"], status=400)
        with pytest.raises(ConnectorError) as caught:
            fb.poll({})
    assert caught.value.permanent and "subkode 463" in caught.value.message


def test_a_post_deleted_between_listing_and_reading_is_skipped():
    fb = connector()
    gone = {"json": fixture("errors.json")["100_gone"], "status": 400}
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_first_poll(rsps, page_post_comments=gone)
        result = fb.poll({})
    assert result.not_before is None and len(result.messages) == 5
    assert PAGE_POST not in result.cursor["posts"] and result.notes


def test_a_code_100_that_is_not_gone_stops_the_poll_with_metas_words_and_keeps_the_post():
    """An appsecret_proof or parameter fault on one post is the office's to fix, not a deletion:
    the post must not be dropped from the cursor as if it were gone."""
    fb = connector()
    proof = {"json": fixture("errors.json")["100_appsecret_proof"], "status": 400}
    with time_machine.travel(NOW, tick=False), responses.RequestsMock(
            assert_all_requests_are_fired=False) as rsps:
        add_first_poll(rsps, page_post_comments=proof)
        with pytest.raises(ConnectorError) as caught:
            fb.poll({})
    assert caught.value.permanent and "Invalid appsecret_proof" in caught.value.message


def test_high_usage_sets_not_before_from_metas_estimate():
    fb = connector()
    usage = {PAGE: [{"type": "pages", "call_count": 88, "total_cputime": 12, "total_time": 20,
                     "estimated_time_to_regain_access": 0}]}
    cursor = first_poll(fb).cursor
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        rsps.replace(responses.GET, f"{GRAPH}/{PAGE}/feed", json=fixture("fb_feed.json"),
                     headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
        result = fb.poll(cursor)
    assert result.not_before == NOW + timedelta(minutes=10)
    assert any("80 %" in note for note in result.notes)


# --- replies ----------------------------------------------------------------------------------

@pytest.mark.parametrize("age, messaging_type, tag", [
    (timedelta(hours=23), "RESPONSE", None),
    (timedelta(hours=30), "MESSAGE_TAG", "HUMAN_AGENT"),
    (timedelta(days=6, hours=23), "MESSAGE_TAG", "HUMAN_AGENT"),
])
def test_messenger_reply_uses_the_window_of_the_citizens_last_message(age, messaging_type, tag):
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{PAGE}/messages", json=fixture("fb_send_message.json"))
        platform_id = fb.send(dm_reply(NOW - age))
        sent = form(rsps.calls[0])
    assert platform_id == "m_ZmJfc2VudF9tZXNzYWdlXzAwMQ"
    assert json.loads(sent["recipient"]) == {"id": CITIZEN_PSID}
    assert json.loads(sent["message"]) == {"text": dm_reply(None).text}
    assert sent["messaging_type"] == messaging_type and sent.get("tag") == tag


def test_messenger_reply_after_seven_days_is_refused_without_calling_meta():
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        with pytest.raises(ConnectorError) as caught:
            fb.send(dm_reply(NOW - timedelta(days=7, minutes=1)))
        assert len(rsps.calls) == 0
    assert caught.value.permanent
    assert caught.value.message == ("Jendela balasan Messenger 7 hari sudah lewat; hubungi warga "
                                    "lewat kanal lain.")


def test_meta_refusing_the_window_is_a_permanent_indonesian_reason():
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{PAGE}/messages",
                 json=fixture("errors.json")["10_outside_window"], status=400)
        with pytest.raises(ConnectorError) as caught:
            fb.send(dm_reply(NOW - timedelta(hours=2)))
    assert caught.value.permanent and caught.value.message.startswith("Jendela balasan")


def test_a_public_reply_is_a_comment_on_the_thread():
    fb = connector()
    reply = OutboundReply(reply_id=8, case_reference="ADU-202611-0043", public=True, kind="comment",
                          text="Perbaikan nama ibu di KK bisa di kecamatan, Pak.",
                          thread_id="900000000000003_1000000000000004",
                          in_reply_to="900000000000003_1000000000000006",
                          recipient_id="6100000000000003")
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/900000000000003_1000000000000004/comments",
                 json=fixture("fb_comment_created.json"))
        assert fb.send(reply) == "900000000000003_1000000000000010"
        assert form(rsps.calls[0])["message"] == reply.text


# --- hiding a comment that shows a NIK (optional, off by default) -----------------------------

def nik_poll(fb: FacebookConnector, rsps: responses.RequestsMock) -> PollResult:
    add_listings(rsps)
    rsps.add(responses.GET, f"{GRAPH}/{CONVERSATION}/messages",
             json=fixture("fb_conversation_messages.json"))
    rsps.add(responses.GET, f"{GRAPH}/{VISITOR_POST}/comments",
             json=fixture("fb_comment_with_nik.json"))
    rsps.add(responses.GET, f"{GRAPH}/{TAGGED_POST}/comments", json=fixture("fb_comments_empty.json"))
    rsps.add(responses.GET, f"{GRAPH}/{PAGE_POST}/comments", json=fixture("fb_comments_empty.json"))
    return fb.poll({})


def test_a_comment_showing_a_nik_is_hidden_then_answered_when_enabled():
    fb = connector(hide_comments_with_nik=True)
    comment = "900000000000002_1000000000000009"
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{comment}", json=fixture("fb_comment_hidden.json"))
        rsps.add(responses.POST, f"{GRAPH}/{comment}/comments", json=fixture("fb_comment_created.json"))
        result = nik_poll(fb, rsps)
        posts = [(c.request.url, form(c)) for c in rsps.calls if c.request.method == "POST"]
        fields = [query(c)["fields"] for c in rsps.calls if VISITOR_POST in c.request.url]
    assert [urlparse(url).path for url, _ in posts] == [
        f"/v26.0/{comment}", f"/v26.0/{comment}/comments"]
    assert posts[0][1]["is_hidden"] == "true" and posts[1][1]["message"] == NIK_HIDDEN_REPLY
    assert "is_hidden" in fields[0]
    assert comment in {m.external_id for m in result.messages}  # still a case for the admin


def test_comments_showing_a_nik_are_left_alone_by_default():
    fb = connector()
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        result = nik_poll(fb, rsps)
        assert all(call.request.method == "GET" for call in rsps.calls)
        fields = [query(c)["fields"] for c in rsps.calls if VISITOR_POST in c.request.url]
    assert "is_hidden" not in fields[0] and result.notes == []
