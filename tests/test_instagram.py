"""InstagramConnector: comments and replies on recent media, tagged media, DMs, replies.

The network is faked at the requests layer with ``responses``; bodies come from
tests/fixtures/meta. Time is frozen at 2026-11-03 03:00 UTC (10:00 WIB).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from responses import matchers
import time_machine

from connectors.base import ConnectorError, OutboundReply, PollResult
from connectors.instagram import InstagramConnector

FIXTURES = Path(__file__).parent / "fixtures" / "meta"
NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "104857600000001"
IG = "17841400000000001"
MEDIA = "17895695668004550"
QUIET_MEDIA = "17918920912340654"
CONVERSATION = "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6MTc4NDE0MDAwMDAwMDAwMDE6MzQwMjgyMzY2ODQxNzEw"
COMMENT = "17870913679156914"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def query(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(call.request.body).items()}


def paths(rsps: responses.RequestsMock) -> list[str]:
    return [urlparse(call.request.url).path for call in rsps.calls]


def connector(**options: object) -> InstagramConnector:
    return InstagramConnector("ig_dukcapil", {"ig_user_id": IG, "page_id": PAGE,
                                              "page_access_token": "PAGE-TOKEN", **options})


def add_listings(rsps: responses.RequestsMock, media: str = "ig_media.json") -> None:
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/conversations", json=fixture("ig_conversations.json"))
    rsps.add(responses.GET, f"{GRAPH}/{IG}/tags", json=fixture("ig_tags.json"))
    rsps.add(responses.GET, f"{GRAPH}/{IG}/media", json=fixture(media))


def first_poll(ig: InstagramConnector) -> tuple[PollResult, list[responses.Call]]:
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        rsps.add(responses.GET, f"{GRAPH}/{CONVERSATION}/messages",
                 json=fixture("ig_conversation_messages.json"))
        rsps.add(responses.GET, f"{GRAPH}/{MEDIA}/comments", json=fixture("ig_comments.json"))
        result = ig.poll({})
        calls = list(rsps.calls)
    return result, calls


def test_first_poll_reads_comments_with_replies_tagged_media_and_dms_oldest_first():
    result, calls = first_poll(connector())
    assert [(m.external_id, m.kind, m.thread_id, m.from_office) for m in result.messages] == [
        (COMMENT, "comment", COMMENT, False),
        ("17873440459141021", "comment", COMMENT, True),
        ("18038000000000001", "mention", "18038000000000001", False),
        ("17873440459141099", "comment", COMMENT, False),
        ("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjAwMQ", "dm", CONVERSATION, False),
        ("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjAwMg", "dm", CONVERSATION, True),
    ]
    first = result.messages[0]
    assert (first.author_id, first.author_handle, first.in_reply_to) == (
        "17841400000000077", "wulan.hidayat", MEDIA)
    assert first.permalink == "https://www.instagram.com/p/DQx1AbCdEfG/" and "replies" not in first.raw
    assert result.messages[3].in_reply_to == COMMENT
    tagged = result.messages[2]
    assert tagged.author_handle == "eko.prasetyo" and tagged.text.startswith("Antre dari subuh")
    dm = result.messages[4]
    assert (dm.author_id, dm.public, dm.author_handle) == ("6533000000000001", False, "fajar.maulana")
    # The media with no comments is not opened; the September tag is older than the floor.
    assert f"/v26.0/{QUIET_MEDIA}/comments" not in [urlparse(c.request.url).path for c in calls]
    assert query(calls[0])["platform"] == "instagram"
    assert query(calls[3])["fields"] == "id,timestamp,permalink,caption,comments_count,username"
    assert result.requests == 5


def test_an_idle_poll_costs_three_requests():
    """The minimum: conversations, /tags and /media, one request each, no comments re-read."""
    ig = connector()
    cursor = first_poll(ig)[0].cursor
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        result = ig.poll(cursor)
    assert result.messages == [] and result.requests == 3


def without(param: str):
    return lambda request: (param not in parse_qs(urlparse(request.url).query), f"no {param}")


def media_page(first: int, count: int, following: str | None) -> dict:
    """A /media page of ``count`` quiet posts (no comments), newest first."""
    data = [{"id": f"1790000000000{n:04d}", "timestamp": f"2026-10-{28 - n // 10:02d}T0{n % 10}:00:00+0000",
             "permalink": f"https://www.instagram.com/p/P{n}/", "caption": f"Info {n}",
             "comments_count": 0, "username": "dukcapilbrebes"} for n in range(first, first + count)]
    page = {"data": data, "paging": {"cursors": {"after": f"AFTER{first + count}"}}}
    if following:
        page["paging"]["next"] = following
    return page


@pytest.mark.parametrize("lookback, requests", [(3, 2), (5, 3), (2, 1)])
def test_media_are_read_across_pages_up_to_media_lookback_and_no_further(lookback, requests):
    """Meta may send fewer posts a page than asked (a short page is not the last): the next
    page is read only while fewer than media_lookback posts have been seen."""
    ig = connector(media_lookback=lookback)
    page2 = f"{GRAPH}/{IG}/media?access_token=PAGE-TOKEN&fields=id&limit={lookback}&after=AFTER2"
    page3 = f"{GRAPH}/{IG}/media?access_token=PAGE-TOKEN&fields=id&limit={lookback}&after=AFTER4"
    with time_machine.travel(NOW, tick=False), responses.RequestsMock(
            assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{GRAPH}/{PAGE}/conversations", json={"data": []})
        rsps.add(responses.GET, f"{GRAPH}/{IG}/tags", json={"data": []})
        rsps.add(responses.GET, f"{GRAPH}/{IG}/media", json=media_page(0, 2, page2),
                 match=[matchers.query_param_matcher({"limit": str(lookback)}, strict_match=False),
                        without("after")])
        rsps.add(responses.GET, f"{GRAPH}/{IG}/media", json=media_page(2, 2, page3),
                 match=[matchers.query_param_matcher({"after": "AFTER2"}, strict_match=False)])
        rsps.add(responses.GET, f"{GRAPH}/{IG}/media", json=media_page(4, 2, None),
                 match=[matchers.query_param_matcher({"after": "AFTER4"}, strict_match=False)])
        result = ig.poll({})
        media_calls = [c for c in rsps.calls if c.request.url.split("?")[0].endswith("/media")]
    assert len(media_calls) == requests
    assert len(result.cursor["media"]) == lookback  # every post in the window is watched
    assert result.messages == [] and result.set_aside == []


def test_only_media_whose_comment_count_changed_are_reread():
    ig = connector()
    cursor = first_poll(ig)[0].cursor
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps, media="ig_media_after_new_comment.json")
        rsps.add(responses.GET, f"{GRAPH}/{QUIET_MEDIA}/comments",
                 json=fixture("ig_comments_second_media.json"))
        result = ig.poll(cursor)
        called = paths(rsps)
    assert [(m.external_id, m.author_handle) for m in result.messages] == [
        ("17870913679156999", "agus_saputra")]
    assert called[-1] == f"/v26.0/{QUIET_MEDIA}/comments" and len(called) == 4
    assert result.cursor["media"][QUIET_MEDIA]["n"] == 1


def test_media_with_comments_are_reread_every_six_hours_even_when_counts_match():
    ig = connector()
    cursor = first_poll(ig)[0].cursor
    later = NOW + timedelta(hours=6, minutes=1)
    with time_machine.travel(later, tick=False), responses.RequestsMock() as rsps:
        add_listings(rsps)
        rsps.add(responses.GET, f"{GRAPH}/{MEDIA}/comments", json=fixture("ig_comments.json"))
        result = ig.poll(cursor)
    assert result.messages == [] and result.requests == 4
    assert result.cursor["rescan_at"] == (later + timedelta(hours=6)).isoformat()


def test_the_cursor_is_plain_json_without_graph_paging_cursors():
    result, _ = first_poll(connector())
    text = json.dumps(result.cursor)
    assert "QVFIUm" not in text and "after" not in text
    assert result.cursor["media"][MEDIA]["n"] == 3 and result.cursor["username"] == "dukcapilbrebes"


def test_a_business_use_case_limit_on_instagram_waits_for_metas_estimate():
    ig = connector()
    usage = {IG: [{"type": "instagram", "call_count": 100, "total_cputime": 3, "total_time": 4,
                   "estimated_time_to_regain_access": 30}]}
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{GRAPH}/{PAGE}/conversations",
                 json=fixture("errors.json")["80002_instagram_buc"], status=400,
                 headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
        with pytest.raises(ConnectorError) as caught:
            ig.poll({})
    assert not caught.value.permanent and caught.value.retry_at == NOW + timedelta(minutes=30)


# --- replies ----------------------------------------------------------------------------------

def reply(kind: str, public: bool, thread_id: str,
          last_inbound_at: datetime | None = None) -> OutboundReply:
    return OutboundReply(reply_id=3, case_reference="ADU-202611-0050",
                         text="Bisa lewat layanan online, Kak; tautannya ada di bio.", public=public,
                         thread_id=thread_id, in_reply_to=thread_id, recipient_id="6533000000000001",
                         kind=kind, last_inbound_at=last_inbound_at)


def test_a_comment_reply_posts_to_the_top_level_comments_replies():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{COMMENT}/replies", json=fixture("ig_reply_created.json"))
        assert connector().send(reply("comment", True, COMMENT)) == "17873440459141100"
        assert form(rsps.calls[0])["message"].startswith("Bisa lewat layanan online")


@pytest.mark.parametrize("age, messaging_type, tag", [
    (timedelta(hours=5), "RESPONSE", None),
    (timedelta(days=3), "MESSAGE_TAG", "HUMAN_AGENT"),
])
def test_a_dm_reply_goes_through_the_pages_messages_with_the_window(age, messaging_type, tag):
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{GRAPH}/{PAGE}/messages", json=fixture("fb_send_message.json"))
        connector().send(reply("dm", False, CONVERSATION, NOW - age))
        sent = form(rsps.calls[0])
    assert json.loads(sent["recipient"]) == {"id": "6533000000000001"}
    assert sent["messaging_type"] == messaging_type and sent.get("tag") == tag


def test_a_dm_reply_after_seven_days_is_refused():
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as rsps:
        with pytest.raises(ConnectorError) as caught:
            connector().send(reply("dm", False, CONVERSATION, NOW - timedelta(days=8)))
        assert len(rsps.calls) == 0
    assert caught.value.permanent and caught.value.message.startswith(
        "Jendela balasan DM Instagram 7 hari sudah lewat")


def test_a_reply_on_someone_elses_tagged_media_is_refused_with_a_reason():
    with responses.RequestsMock() as rsps:
        with pytest.raises(ConnectorError) as caught:
            connector().send(reply("mention", True, "18038000000000001"))
        assert len(rsps.calls) == 0
    assert caught.value.permanent and "aplikasi Instagram" in caught.value.message
