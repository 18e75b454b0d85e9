"""The connectors against real-shaped and mutated platform payloads (issue 13).

A real page carries what the documentation does not promise: X's default field set, partial
``errors``, Graph items without ``id``, ``from`` or ``message``. Whatever one item holds, a poll
must return (nothing but ``ConnectorError`` may leave ``poll()``, and none should for an odd
item), store every other item exactly once, keep the odd item as a message or set it aside
(never lose it silently), and move its cursor so that the next poll asks only for what is new.

Two kinds of checks: an exhaustive, deterministic one (every top-level field of every item of
each surface's page deleted, set to null, a number, a list, an object, ``""``) and a Hypothesis
one (random JSON values anywhere in the items, ids dropped). Both poll twice with one connector
per case and no database; the network is faked with ``responses``, time frozen with
time-machine. Last, one test per platform through the real daemon and database.

The only items a poll may leave out (each is checked for precisely):

* an item without a usable id is set aside, never a message; the replies of an Instagram
  comment without an id travel in that comment's raw JSON, set aside with it;
* the out-of-window rule: an item whose time the connector reads as older than the poll's
  window (X DMs: the 3-day look-back; Graph: the 7-day floor; Graph reads a number as Unix
  seconds, so ``created_time = 7`` is 1970) may be skipped, but only that item;
* an Instagram media whose id changed is another media: its comments are not the old ones.
"""
from __future__ import annotations

import copy
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import time_machine
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from connectors.base import PollResult
from connectors.facebook import FIRST_LOOKBACK, FacebookConnector
from connectors.graph import OVERLAP, parse_time
from connectors.instagram import InstagramConnector
from connectors.items import UNKNOWN_AUTHOR, item_id
from connectors.x import DM_STEADY_PAGE, XConnector
from inbox.models import Account, Message, SetAside
from inbox.run.daemon import Daemon
from inbox.setup.runtime import Runtime
from tests.conftest import SANDBOX, make_runtime, write_config

FIXTURES = Path(__file__).parent / "fixtures"
X_NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)
META_NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
OFFICE = "1356871740001411075"
X_API = "https://api.twitter.com/2"
MENTIONS = f"{X_API}/users/{OFFICE}/mentions"
DM_EVENTS = f"{X_API}/dm_events"
X_OPTIONS = {"user_id": OFFICE, "consumer_key": "ck-test", "consumer_secret": "cs-test",
             "access_token": f"{OFFICE}-at-test", "access_token_secret": "ats-test"}
X_LOOKBACK = timedelta(days=3)  # XConnector's default lookback_days
GRAPH = "https://graph.facebook.com/v26.0"
PAGE, IG = "104857600000001", "17841400000000001"
PAGE_POST = f"{PAGE}_900000000000003"
FB_THREAD = "t_10160000000000001"
IG_MEDIA, IG_MEDIA2 = "17895695668004601", "17895695668004602"
EMPTY: dict[str, Any] = {"data": []}
X_EMPTY = {"meta": {"result_count": 0}}


def load(folder: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / folder / name).read_text(encoding="utf-8"))


def query(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def path_of(call: responses.Call) -> str:
    return urlparse(call.request.url).path.removeprefix("/v26.0/")


def graph(rsps: responses.RequestsMock, bodies: dict[str, Any]) -> None:
    """Serve Graph GETs by path; ``{id}/comments`` of an unknown media is empty (a mutated id
    names another media), any other unknown path is a test mistake and fails loudly."""
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        path = urlparse(request.url).path.removeprefix("/v26.0/")
        if path in bodies:
            return 200, {"Content-Type": "application/json"}, json.dumps(bodies[path])
        if path.endswith("/comments"):
            return 200, {"Content-Type": "application/json"}, json.dumps(EMPTY)
        return 400, {"Content-Type": "application/json"}, json.dumps(
            {"error": {"message": f"test serves no {path}", "type": "OAuthException", "code": 803}})
    rsps.add_callback(responses.GET, re.compile(re.escape(GRAPH) + r"/.*"), callback=reply)


def mock() -> responses.RequestsMock:
    return responses.RequestsMock(assert_all_requests_are_fired=False)


# --- the pages and how each is polled twice -----------------------------------------------------

@dataclass
class Run:
    first: PollResult
    second: PollResult
    second_calls: list[responses.Call]


def x_connector(dms: bool) -> XConnector:
    return XConnector("x_dukcapil", {**X_OPTIONS, "dms": dms})


def run_mentions(page: dict[str, Any]) -> Run:
    x = x_connector(dms=False)
    with time_machine.travel(X_NOW, tick=False), mock() as api:
        api.get(MENTIONS, json=page)
        first = x.poll({})
    with time_machine.travel(X_NOW + timedelta(minutes=1), tick=False), mock() as api:
        api.get(MENTIONS, json=X_EMPTY)  # X answers since_id with what is newer: nothing yet
        second = x.poll(first.cursor)
        calls = list(api.calls)
    return Run(first, second, calls)


def second_mentions(page: dict[str, Any], run: Run) -> None:
    [call] = run.second_calls
    params = call.request.params
    assert params["since_id"] == page["meta"]["newest_id"]
    assert "start_time" not in params and "pagination_token" not in params


def run_dms(page: dict[str, Any]) -> Run:
    x = x_connector(dms=True)
    with time_machine.travel(X_NOW, tick=False), mock() as api:
        api.get(MENTIONS, json=X_EMPTY)
        api.get(DM_EVENTS, json=page)
        first = x.poll({})
    # After dm_poll_interval (120 s): X has no since_id for DMs and sends the same page again.
    with time_machine.travel(X_NOW + timedelta(minutes=3), tick=False), mock() as api:
        api.get(MENTIONS, json=X_EMPTY)
        api.get(DM_EVENTS, json=page)
        second = x.poll(first.cursor)
        calls = list(api.calls)
    return Run(first, second, calls)


def second_dms(page: dict[str, Any], run: Run) -> None:
    newest = next((key for key in map(item_id, page["data"]) if key), None)
    assert run.first.cursor.get("dm_newest_id") == newest
    [dm_call] = [c for c in run.second_calls if c.request.url.startswith(DM_EVENTS)]
    assert dm_call.request.params["max_results"] == str(DM_STEADY_PAGE)
    assert "pagination_token" not in dm_call.request.params


def fb_connector() -> FacebookConnector:
    return FacebookConnector("fb_dukcapil", {"page_id": PAGE, "page_access_token": "fb-token-test"})


def fb_post(updated: str) -> dict[str, Any]:
    return {"data": [{"id": PAGE_POST, "created_time": "2026-11-02T01:00:00+0000",
                      "updated_time": updated, "from": {"name": "Dukcapil Brebes", "id": PAGE},
                      "message": "Jadwal perekaman KTP-el keliling minggu ini."}]}


def run_fb_comments(page: dict[str, Any]) -> Run:
    fb = fb_connector()
    bodies = {f"{PAGE}/conversations": EMPTY, f"{PAGE}/tagged": EMPTY,
              f"{PAGE}/feed": fb_post("2026-11-03T02:40:00+0000"), f"{PAGE_POST}/comments": page}
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        first = fb.poll({})
    # Someone commented again: the post's updated_time moved, so its comments are read again.
    bodies[f"{PAGE}/feed"] = fb_post("2026-11-03T02:59:00+0000")
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        second = fb.poll(first.cursor)
        calls = list(rsps.calls)
    return Run(first, second, calls)


def second_fb_comments(page: dict[str, Any], run: Run) -> None:
    floor = META_NOW - FIRST_LOOKBACK
    newest = max((m.created_at for m in run.first.messages), default=None)
    since = max(floor, newest - OVERLAP) if newest else floor
    [call] = [c for c in run.second_calls if path_of(c) == f"{PAGE_POST}/comments"]
    assert query(call)["since"] == str(int(since.timestamp()))


def fb_conversation(updated: str) -> dict[str, Any]:
    return {"data": [{"id": FB_THREAD, "updated_time": updated}]}


def run_fb_messages(page: dict[str, Any]) -> Run:
    fb = fb_connector()
    bodies = {f"{PAGE}/conversations": fb_conversation("2026-11-03T02:55:00+0000"),
              f"{PAGE}/tagged": EMPTY, f"{PAGE}/feed": EMPTY, f"{FB_THREAD}/messages": page}
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        first = fb.poll({})
    bodies[f"{PAGE}/conversations"] = fb_conversation("2026-11-03T02:59:00+0000")
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        second = fb.poll(first.cursor)
        calls = list(rsps.calls)
    return Run(first, second, calls)


def second_fb_messages(page: dict[str, Any], run: Run) -> None:
    assert f"{FB_THREAD}/messages" in [path_of(c) for c in run.second_calls]


def ig_connector() -> InstagramConnector:
    return InstagramConnector("ig_dukcapil", {"ig_user_id": IG, "page_id": PAGE,
                                              "page_access_token": "ig-token-test"})


def ig_media(count: int) -> dict[str, Any]:
    return {"data": [{"id": IG_MEDIA, "timestamp": "2026-11-02T02:00:00+0000",
                      "permalink": "https://www.instagram.com/p/DQx1AbCdEfH/",
                      "caption": "Syarat pembuatan KIA.", "comments_count": count,
                      "username": "dukcapilbrebes"}]}


def run_ig_comments(page: dict[str, Any]) -> Run:
    ig = ig_connector()
    bodies = {f"{PAGE}/conversations": EMPTY, f"{IG}/tags": EMPTY, f"{IG}/media": ig_media(4),
              f"{IG_MEDIA}/comments": page}
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        first = ig.poll({})
    bodies[f"{IG}/media"] = ig_media(5)  # comments_count moved: the comments are read again
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        second = ig.poll(first.cursor)
        calls = list(rsps.calls)
    return Run(first, second, calls)


def second_ig_comments(page: dict[str, Any], run: Run) -> None:
    assert f"{IG_MEDIA}/comments" in [path_of(c) for c in run.second_calls]


def run_ig_tags(page: dict[str, Any]) -> Run:
    ig = ig_connector()
    bodies = {f"{PAGE}/conversations": EMPTY, f"{IG}/tags": page, f"{IG}/media": EMPTY}
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        first = ig.poll({})
    with time_machine.travel(META_NOW + timedelta(minutes=1), tick=False), mock() as rsps:
        graph(rsps, bodies)  # /tags has no paging cursor: the same newest page comes again
        second = ig.poll(first.cursor)
        calls = list(rsps.calls)
    return Run(first, second, calls)


def second_ig_tags(page: dict[str, Any], run: Run) -> None:
    listed = [key for key in map(item_id, page["data"]) if key]
    assert run.first.cursor["tags"]["ids"] == list(dict.fromkeys(listed))


IG_MEDIA_COMMENTS = {IG_MEDIA: "real_ig_comments.json", IG_MEDIA2: "ig_comments_second_media.json"}


def comment_ids(body: dict[str, Any]) -> list[str]:
    found = []
    for comment in body["data"]:
        found.append(comment["id"])
        found.extend(reply["id"] for reply in comment.get("replies", {}).get("data", []))
    return found


def run_ig_media(page: dict[str, Any]) -> Run:
    ig = ig_connector()
    bodies = {f"{PAGE}/conversations": EMPTY, f"{IG}/tags": EMPTY, f"{IG}/media": page,
              **{f"{media}/comments": load("meta", name)
                 for media, name in IG_MEDIA_COMMENTS.items()}}
    with time_machine.travel(META_NOW, tick=False), mock() as rsps:
        graph(rsps, bodies)
        first = ig.poll({})
    with time_machine.travel(META_NOW + timedelta(minutes=1), tick=False), mock() as rsps:
        graph(rsps, bodies)
        second = ig.poll(first.cursor)
        calls = list(rsps.calls)
    return Run(first, second, calls)


def second_ig_media(page: dict[str, Any], run: Run) -> None:
    # No media's comments_count moved and no rescan is due: an idle poll, three requests; only a
    # media whose count Meta did not give (missing, null, not a number) has its comments read
    # again, since nothing else can tell that they changed (nothing is returned twice: checked).
    unknown = [f"{m['id']}/comments" for m in page["data"] if isinstance(m, dict)
               and item_id(m) and not (isinstance(m.get("comments_count"), int)
                                       and not isinstance(m.get("comments_count"), bool)
                                       or str(m.get("comments_count") or "").isdigit())]
    called = [path_of(c) for c in run.second_calls]
    assert called[:3] == [f"{PAGE}/conversations", f"{IG}/tags", f"{IG}/media"]
    assert sorted(called[3:]) == sorted(unknown)  # read oldest media first


# --- scenarios ------------------------------------------------------------------------------------

def data_items(page: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    return [(item, None) for item in page["data"] if isinstance(item, dict)]


def ig_comment_items(page: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Top-level comments and the replies still in them (a replaced ``replies`` holds none)."""
    found: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for comment in page["data"]:
        if not isinstance(comment, dict):
            continue
        found.append((comment, None))
        replies = comment.get("replies")
        data = replies.get("data") if isinstance(replies, dict) else None
        for reply in data if isinstance(data, list) else []:
            if isinstance(reply, dict):
                found.append((reply, comment))
    return found


def x_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Scenario:
    name: str
    page: Callable[[], dict[str, Any]]
    entries: Callable[[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any] | None]]]
    run: Callable[[dict[str, Any]], Run]
    check_second: Callable[[dict[str, Any], Run], None]
    #: The item's time field and how the connector reads it, for the out-of-window rule.
    time_field: str | None = None
    read_time: Callable[[Any], datetime | None] = parse_time
    floor: datetime | None = None
    #: "messages": each item is a message; "media": each item's comments are the messages.
    kind: str = "messages"

    def out_of_window(self, item: dict[str, Any]) -> bool:
        if self.time_field is None or self.floor is None:
            return False
        when = self.read_time(item.get(self.time_field))
        return when is not None and when < self.floor


def with_ids(folder: str, name: str, keep: Callable[[dict[str, Any]], bool] = lambda i: True
             ) -> Callable[[], dict[str, Any]]:
    """The real fixture with only the items the connector reads as messages when untouched."""
    def page() -> dict[str, Any]:
        body = load(folder, name)
        body["data"] = [item for item in body["data"] if "id" in item and keep(item)]
        return body
    return page


META_FLOOR = META_NOW - FIRST_LOOKBACK
SCENARIOS = {s.name: s for s in [
    Scenario("x_mentions", lambda: load("x", "real_mentions_partial_errors.json"), data_items,
             run_mentions, second_mentions),
    Scenario("x_mentions_default_fields", lambda: load("x", "real_mentions_default_fields.json"),
             data_items, run_mentions, second_mentions),
    Scenario("x_dms", lambda: load("x", "real_dm_events.json"), data_items, run_dms, second_dms,
             "created_at", x_time, X_NOW - X_LOOKBACK),
    Scenario("fb_comments", with_ids("meta", "real_fb_comments.json"), data_items,
             run_fb_comments, second_fb_comments, "created_time", parse_time, META_FLOOR),
    Scenario("fb_messages", with_ids("meta", "real_fb_messages.json", lambda i: "from" in i),
             data_items, run_fb_messages, second_fb_messages, "created_time", parse_time,
             META_FLOOR),
    Scenario("ig_comments", lambda: load("meta", "real_ig_comments.json"), ig_comment_items,
             run_ig_comments, second_ig_comments, "timestamp", parse_time, META_FLOOR),
    Scenario("ig_tags", lambda: load("meta", "real_ig_tags.json"), data_items, run_ig_tags,
             second_ig_tags, "timestamp", parse_time, META_FLOOR),
    Scenario("ig_media", lambda: load("meta", "real_ig_media.json"), data_items, run_ig_media,
             second_ig_media, kind="media"),
]}


# --- the properties -------------------------------------------------------------------------------

def holds(scenario: Scenario, page: dict[str, Any], touched: set[int]) -> Run:
    """Poll ``page`` twice and check every property; ``touched`` holds id() of changed items."""
    run = scenario.run(page)  # any exception leaving poll() fails the test right here
    first, second = run.first, run.second
    counts = Counter(m.external_id for m in first.messages)
    assert all(n == 1 for n in counts.values()), f"returned twice: {counts.most_common(3)}"
    set_aside_ids = {s.platform_id for s in first.set_aside if s.platform_id}
    set_aside_raws = [s.raw for s in first.set_aside]
    entries = scenario.entries(page)
    keys = Counter(k for k in (item_id(item) for item, _ in entries) if k)
    for item, parent in entries:
        key = item_id(item)
        changed = id(item) in touched
        if scenario.kind == "media":
            check_media(item, key, counts, set_aside_raws)
            continue
        if key is None:
            if parent is not None and item_id(parent) is None:
                continue  # rule: in the raw JSON of its comment, which is set aside
            assert item in set_aside_raws, f"item without a usable id is lost: {item!r}"
            continue
        if parent is not None and item_id(parent) is None:
            continue  # the same rule: an id-less comment's replies are read with it later
        if changed or keys[key] > 1:
            if scenario.out_of_window(item):
                continue  # rule: older than the window, skipped (and returned at most once)
            assert counts[key] == 1 or key in set_aside_ids, f"item {key} silently lost: {item!r}"
        else:
            assert counts[key] == 1, f"untouched item {key} not returned exactly once"
    # The next poll asks only for what is new, and returns nothing already returned.
    scenario.check_second(page, run)
    again = {m.external_id for m in second.messages} & set(counts)
    assert not again, f"the second poll returned again: {sorted(again)}"
    return run


def check_media(media: dict[str, Any], key: str | None, counts: Counter[str],
                set_aside_raws: list[Any]) -> None:
    if key is None:
        assert media in set_aside_raws, f"media without a usable id is lost: {media!r}"
        return
    name = IG_MEDIA_COMMENTS.get(key)
    if name is None:
        return  # rule: a media whose id changed is another media, with its own comments
    for comment in comment_ids(load("meta", name)):
        assert counts[comment] == 1, f"comment {comment} of media {key} not returned exactly once"


DELETE = object()
OPS: dict[str, Any] = {"deleted": DELETE, "null": None, "number": 7, "list": [1, "a"],
                       "object": {"a": 1}, "empty_text": ""}


def mutation_cases() -> Iterator[Any]:
    for scenario in SCENARIOS.values():
        for index, (item, _) in enumerate(scenario.entries(scenario.page())):
            for field in item:
                yield pytest.param(scenario.name, index, field,
                                   id=f"{scenario.name}-{index}-{field}")


@pytest.mark.parametrize("scenario_name, index, field", list(mutation_cases()))
def test_one_field_of_one_item_mutated_loses_nothing(scenario_name, index, field):
    """Each of the six mutations of this field on its own page and connector; every mutation
    that breaks a property is named in the one failure message."""
    scenario = SCENARIOS[scenario_name]
    failures = []
    for op, value in OPS.items():
        page = scenario.page()
        item, _ = scenario.entries(page)[index]
        if value is DELETE:
            del item[field]
        else:
            item[field] = copy.deepcopy(value)
        try:
            holds(scenario, page, {id(item)})
        except AssertionError as exc:
            failures.append(f"{field} {op}: {str(exc).splitlines()[0]}")
        except Exception as exc:  # poll() must return: nothing may escape it
            failures.append(f"{field} {op}: poll raised {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scenario_name", list(SCENARIOS))
def test_every_real_page_untouched_is_read_whole(scenario_name):
    scenario = SCENARIOS[scenario_name]
    run = holds(scenario, scenario.page(), set())
    assert run.first.set_aside == [] and run.first.messages


# --- Hypothesis -----------------------------------------------------------------------------------

# Hypothesis caches what it learns in ./.hypothesis; keep that out of the working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "aduan-hypothesis")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: (st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def scramble(data: st.DataObject, scenario: Scenario, page: dict[str, Any]) -> set[int]:
    """Replace random fields of random items (nested too) with random JSON; drop some ids."""
    touched: set[int] = set()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        entries = scenario.entries(page)
        if not entries:
            break
        item, _ = data.draw(st.sampled_from(entries), label="item")
        touched.add(id(item))
        container: Any = item
        key: Any = data.draw(st.sampled_from(sorted(item) + ["extra"]), label="field")
        # Descend while the value is a container (never into "replies": those are items too).
        while (key in container if isinstance(container, dict) else True) and \
                isinstance(container[key], (dict, list)) and container[key] and key != "replies" \
                and data.draw(st.booleans(), label="deeper"):
            container = container[key]
            key = (data.draw(st.sampled_from(sorted(container)), label="key")
                   if isinstance(container, dict)
                   else data.draw(st.integers(0, len(container) - 1), label="index"))
        container[key] = data.draw(JSON, label="value")
    for item, _ in data.draw(st.lists(st.sampled_from(scenario.entries(page)), max_size=2),
                             label="drop ids"):
        item.pop("id", None)
        touched.add(id(item))
    return touched


@pytest.mark.parametrize("scenario_name", list(SCENARIOS))
# Derandomized, so every run tries the same 60 examples (no flaky failures); no shrinking: the
# assertion already names the lost item, and shrinking a failure costs minutes.
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_in_any_field_loses_nothing(scenario_name, data):
    scenario = SCENARIOS[scenario_name]
    page = scenario.page()
    touched = scramble(data, scenario, page)
    holds(scenario, page, touched)  # responses are registered inside, for every example


# --- the real fixtures, as served -----------------------------------------------------------------

def test_x_default_fields_give_snowflake_times_and_an_unknown_author():
    page = load("x", "real_mentions_default_fields.json")
    run = run_mentions(page)
    messages = {m.external_id: m for m in run.first.messages}
    assert list(messages) == ["2028281634617012345", "2028299250694280839", "2028304283859123456"]
    newest = messages["2028304283859123456"]
    assert newest.created_at == datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)  # from the id
    assert newest.thread_id == "2028304283859123456"
    assert newest.author_id == "tidak-diketahui:2028304283859123456:2028304283859123456"
    assert (newest.author_name, newest.author_handle) == (UNKNOWN_AUTHOR, "")
    assert newest.permalink == "https://x.com/i/web/status/2028304283859123456"
    assert run.first.set_aside == []
    assert run.first.cursor == {"mentions_since_id": newest.external_id}


def test_x_partial_errors_keep_the_post_of_the_author_x_could_not_find():
    run = run_mentions(load("x", "real_mentions_partial_errors.json"))
    messages = {m.external_id: m for m in run.first.messages}
    assert len(messages) == 3 and run.first.set_aside == []
    missing = messages["2028299250694300002"]
    assert (missing.author_id, missing.author_handle, missing.author_name) == (
        "1611111111111111111", "1611111111111111111", "")
    assert messages["2028304283859200001"].author_handle == "sitirahayu_bbs"
    assert any("sebagian data pengirim" in note for note in run.first.notes)


def test_graph_comments_without_id_from_or_message():
    run = run_fb_comments(load("meta", "real_fb_comments.json"))
    messages = {m.external_id: m for m in run.first.messages}
    assert sorted(messages) == [f"900000000000003_100000000000010{n}" for n in (1, 2, 3, 4)]
    anonymous = messages["900000000000003_1000000000000102"]
    assert anonymous.author_id == ("tidak-diketahui:900000000000003_1000000000000102:"
                                   "900000000000003_1000000000000102")
    assert anonymous.author_name == UNKNOWN_AUTHOR
    photo = messages["900000000000003_1000000000000103"]
    assert photo.text == "" and [a.kind for a in photo.attachments] == ["image"]
    assert messages["900000000000003_1000000000000104"].from_office
    [aside] = run.first.set_aside
    assert (aside.surface, aside.platform_id) == ("facebook.comment", None)
    assert aside.raw == load("meta", "real_fb_comments.json")["data"][3] and "'id'" in aside.reason


def test_graph_messages_without_from_are_set_aside():
    run = run_fb_messages(load("meta", "real_fb_messages.json"))
    assert [m.external_id for m in run.first.messages] == [
        "m_cmVhbF9tZXNzYWdlXzAwMDE", "m_cmVhbF9tZXNzYWdlXzAwMDI", "m_cmVhbF9tZXNzYWdlXzAwMDQ"]
    [aside] = run.first.set_aside
    assert (aside.surface, aside.platform_id) == ("messenger.dm", "m_cmVhbF9tZXNzYWdlXzAwMDM")
    assert "'from'" in aside.reason


# --- end to end through the daemon and the database -----------------------------------------------

ACCOUNTS = SANDBOX + f"""
[accounts.x_dukcapil]
kind = "x"
label = "X @dukcapilbrebes"
user_id = "{OFFICE}"
consumer_key = "ck-test"
consumer_secret = "cs-test"
access_token = "{OFFICE}-at-test"
access_token_secret = "ats-test"

[accounts.fb_dukcapil]
kind = "facebook"
label = "Facebook Dukcapil Brebes"
page_id = "{PAGE}"
page_access_token = "fb-token-test"

[accounts.ig_dukcapil]
kind = "instagram"
label = "Instagram @dukcapilbrebes"
ig_user_id = "{IG}"
page_id = "{PAGE}"
page_access_token = "ig-token-test"
"""


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=ACCOUNTS))
    yield runtime
    runtime.close()


def x_page_with_an_idless_mention() -> dict[str, Any]:
    page = load("x", "real_mentions_default_fields.json")
    del page["data"][1]["id"]
    return page


def ig_comments_with_an_idless_one() -> dict[str, Any]:
    page = load("meta", "real_ig_comments.json")
    del page["data"][1]["id"]
    return page


def serve_x(api: responses.RequestsMock, page: dict[str, Any]) -> None:
    api.get(MENTIONS, json=page)
    api.get(DM_EVENTS, json=X_EMPTY)


def serve_fb(rsps: responses.RequestsMock, updated: str) -> None:
    graph(rsps, {f"{PAGE}/conversations": EMPTY, f"{PAGE}/tagged": EMPTY,
                 f"{PAGE}/feed": fb_post(updated),
                 f"{PAGE_POST}/comments": load("meta", "real_fb_comments.json")})


def serve_ig(rsps: responses.RequestsMock, count: int) -> None:
    graph(rsps, {f"{PAGE}/conversations": EMPTY, f"{IG}/tags": EMPTY,
                 f"{IG}/media": ig_media(count),
                 f"{IG_MEDIA}/comments": ig_comments_with_an_idless_one()})


E2E = {
    # account: (time, serve for poll 1 and 2, stored ids, set-aside surface)
    "x_dukcapil": (X_NOW, [lambda m: serve_x(m, x_page_with_an_idless_mention())] * 2,
                   ["2028304283859123456", "2028281634617012345"], "x.mention"),
    "fb_dukcapil": (META_NOW, [lambda m: serve_fb(m, "2026-11-03T02:40:00+0000"),
                               lambda m: serve_fb(m, "2026-11-03T02:59:00+0000")],
                    [f"900000000000003_100000000000010{n}" for n in (1, 2, 3, 4)],
                    "facebook.comment"),
    "ig_dukcapil": (META_NOW, [lambda m: serve_ig(m, 3), lambda m: serve_ig(m, 4)],
                    ["17870913679157001", "17873440459142002", "17873440459142003"],
                    "instagram.comment"),
}


@pytest.mark.parametrize("account", list(E2E))
def test_an_item_without_id_is_set_aside_once_and_the_rest_stored_once(rt, account):
    now, serves, stored, surface = E2E[account]
    for poll, serve in enumerate(serves, start=1):
        with time_machine.travel(now + timedelta(minutes=poll), tick=False), mock() as rsps:
            serve(rsps)
            outcome = Daemon(rt).poll_account(account)
        assert outcome.ok, outcome.error
        assert outcome.report.stored == (len(stored) if poll == 1 else 0)
        row = Account.get(Account.name == account)
        assert row.disabled_reason is None and row.last_error is None
        ids = [m.external_id for m in Message.select().where(Message.account == row)]
        assert sorted(ids) == sorted(stored)  # each once, nothing new on the second poll
        [aside] = list(SetAside.select().where(SetAside.account == row))
        assert (aside.surface, aside.platform_id, aside.seen_count) == (surface, None, poll)
        assert "'id'" in aside.reason and aside.resolved_at is None


def test_a_dm_dated_before_the_window_does_not_hide_the_newer_dms_after_it():
    """X lists DM events newest first; one whose created_at is years old but whose id (a
    snowflake) says it is new is read, and so are the DMs after it in the page."""
    page = load("x", "real_dm_events.json")
    page["data"][0]["created_at"] = "2020-01-01T00:00:00.000Z"
    run = run_dms(page)
    assert sorted(m.external_id for m in run.first.messages) == [
        "2028036267833500003", "2028299250694400002", "2028304283859300001"]
