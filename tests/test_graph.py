"""connectors.graph: version, appsecret_proof, paging, usage headers and the error mapping.

The network is faked at the requests layer with ``responses``; bodies come from
tests/fixtures/meta (shaped like Meta's documentation).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
import time_machine

from connectors.base import make_session
from connectors.graph import Graph, GraphError

FIXTURES = Path(__file__).parent / "fixtures" / "meta"
NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "104857600000001"
TOKEN = "PAGE-TOKEN"
SECRET = "app-secret-for-tests"
FEED = f"{GRAPH}/{PAGE}/feed"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def meta_error(name: str) -> dict:
    return fixture("errors.json")[name]


def query(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(call.request.body).items()}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def graph() -> Graph:
    return Graph(make_session(), TOKEN, SECRET)


def expect_error(rsps: responses.RequestsMock, graph: Graph, body: object, status: int = 400,
                 headers: dict[str, str] | None = None) -> GraphError:
    rsps.add(responses.GET, FEED, json=body, status=status, headers=headers)
    with pytest.raises(GraphError) as caught:
        graph.get(f"{PAGE}/feed")
    return caught.value


# --- requests ---------------------------------------------------------------------------------

def test_it_calls_graph_version_v26_by_default(rsps, graph):
    rsps.add(responses.GET, FEED, json={"data": []})
    graph.get(f"{PAGE}/feed")
    assert urlparse(rsps.calls[0].request.url).path == f"/v26.0/{PAGE}/feed"


def test_it_calls_the_graph_version_from_config(rsps):
    graph = Graph(make_session(), TOKEN, version="v25.0")
    rsps.add(responses.GET, f"https://graph.facebook.com/v25.0/{PAGE}/feed", json={"data": []})
    graph.get(f"{PAGE}/feed")
    assert urlparse(rsps.calls[0].request.url).path == f"/v25.0/{PAGE}/feed"


def test_it_signs_reads_and_writes_with_an_appsecret_proof_of_the_token(rsps, graph):
    expected = hmac.new(SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    rsps.add(responses.GET, FEED, json={"data": []})
    rsps.add(responses.POST, f"{GRAPH}/123_456/comments", json={"id": "123_789"})
    graph.get(f"{PAGE}/feed")
    graph.send("123_456/comments", message="Terima kasih")
    assert query(rsps.calls[0])["appsecret_proof"] == expected
    assert query(rsps.calls[0])["access_token"] == TOKEN
    assert form(rsps.calls[1])["appsecret_proof"] == expected
    assert form(rsps.calls[1])["message"] == "Terima kasih"


def test_it_sends_no_proof_when_no_app_secret_is_configured(rsps):
    rsps.add(responses.GET, FEED, json={"data": []})
    Graph(make_session(), TOKEN).get(f"{PAGE}/feed")
    assert "appsecret_proof" not in query(rsps.calls[0])


def test_it_follows_paging_next_until_it_is_absent_and_counts_every_call(rsps, graph):
    first = {"data": [{"id": "1"}, {"id": "2"}],
             "paging": {"cursors": {"after": "QUZURVI"},
                        "next": f"{FEED}?access_token={TOKEN}&limit=2&after=QUZURVI"}}
    rsps.add(responses.GET, FEED, json=first,
             match=[lambda request: ("after" not in request.url, "first page")])
    rsps.add(responses.GET, FEED, json={"data": [{"id": "3"}], "paging": {"cursors": {}}},
             match=[responses.matchers.query_param_matcher({"after": "QUZURVI"}, strict_match=False)])
    assert [item["id"] for item in graph.pages(f"{PAGE}/feed", limit=2)] == ["1", "2", "3"]
    second = query(rsps.calls[1])
    assert second["after"] == "QUZURVI" and second["limit"] == "2"
    assert second["appsecret_proof"] and parse_qs(urlparse(rsps.calls[1].request.url).query)[
        "access_token"] == [TOKEN]  # the token from `next` is replaced, never doubled
    assert (graph.requests, graph.items) == (2, 3)


# --- usage headers ----------------------------------------------------------------------------

@pytest.mark.parametrize("header, value, wait", [
    ("X-App-Usage", {"call_count": 85, "total_cputime": 20, "total_time": 30}, 10),
    ("X-Page-Usage", {"call_count": 12, "total_cputime": 91, "total_time": 40}, 10),
    ("X-Business-Use-Case-Usage", {PAGE: [{"type": "pages", "call_count": 95, "total_cputime": 10,
                                           "total_time": 10,
                                           "estimated_time_to_regain_access": 25}]}, 25),
])
def test_it_slows_down_when_a_usage_header_passes_80_percent(rsps, graph, header, value, wait):
    rsps.add(responses.GET, FEED, json={"data": []}, headers={header: json.dumps(value)})
    graph.get(f"{PAGE}/feed")
    assert graph.slow_until == NOW + timedelta(minutes=wait)


def test_it_does_not_slow_down_below_80_percent(rsps, graph):
    usage = {"call_count": 79, "total_cputime": 5, "total_time": 5}
    rsps.add(responses.GET, FEED, json={"data": []}, headers={"X-App-Usage": json.dumps(usage)})
    graph.get(f"{PAGE}/feed")
    assert graph.slow_until is None


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, status, outcome, words", [
    ("190_expired", 400, "permanent", "Token halaman kedaluwarsa atau dicabut (subkode 463)"),
    ("200_permission", 403, "permanent", "Izin aplikasi Meta kurang: pages_read_engagement"),
    ("10_permission", 403, "permanent", "Izin aplikasi Meta kurang: pages_read_user_content"),
    ("230_no_name", 403, "permanent", "Izin aplikasi Meta kurang (kode 230)"),
    ("4_app_limit", 403, "rate", "kode 4"),
    ("17_user_limit", 403, "rate", "kode 17"),
    ("32_page_limit", 403, "rate", "kode 32"),
    ("613_custom_limit", 400, "rate", "kode 613"),
    ("80001_pages_buc", 400, "rate", "kode 80001"),
    ("80002_instagram_buc", 400, "rate", "kode 80002"),
    ("1_unknown", 500, "transient", "kode 1"),
    ("2_unexpected", 500, "transient", "kode 2"),
    ("100_gone", 400, "permanent", "tidak dapat dilihat dengan token ini (kode 100, subkode 33)"),
    ("100_appsecret_proof", 400, "permanent", "Invalid appsecret_proof provided"),
    ("100_nonexisting_field", 400, "permanent", "nonexisting field (attachment)"),
    ("100_bad_parameter", 400, "permanent", "The parameter user_id is required"),
])
def test_it_maps_each_graph_error_code(rsps, graph, name, status, outcome, words):
    error = expect_error(rsps, graph, meta_error(name), status)
    assert words in error.message
    assert error.permanent is (outcome == "permanent")
    assert (error.retry_at is not None) is (outcome == "rate")
    assert error.uncertain is False
    assert error.code == meta_error(name)["error"]["code"]
    # Only "object does not exist" (100/33) lets a poll skip the object and go on.
    assert error.gone is (name == "100_gone")


@pytest.mark.parametrize("name", ["100_appsecret_proof", "100_nonexisting_field", "100_bad_parameter"])
def test_a_code_100_that_is_not_subcode_33_names_what_to_check_in_config(rsps, graph, name):
    error = expect_error(rsps, graph, meta_error(name), 400)
    assert "tidak valid (kode 100" in error.message and "config.toml" in error.message


def test_a_rate_limit_waits_fifteen_minutes_when_meta_gives_no_estimate(rsps, graph):
    error = expect_error(rsps, graph, meta_error("613_custom_limit"))
    assert error.retry_at == NOW + timedelta(minutes=15)


def test_a_rate_limit_waits_for_metas_estimate_from_the_usage_header(rsps, graph):
    usage = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40,
                     "estimated_time_to_regain_access": 42}]}
    error = expect_error(rsps, graph, meta_error("80001_pages_buc"),
                         headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    assert error.retry_at == NOW + timedelta(minutes=42)


def test_the_expired_token_reason_is_indonesian_and_the_meta_text_is_kept_as_detail(rsps, graph):
    error = expect_error(rsps, graph, meta_error("190_expired"))
    assert error.message.startswith("Token halaman kedaluwarsa atau dicabut")
    assert "Session has expired" in error.detail and error.subcode == 463


def test_an_http_500_with_a_json_body_but_no_error_object_is_transient(rsps, graph):
    error = expect_error(rsps, graph, {"data": []}, status=500)
    assert not error.permanent and error.retry_at is None and "HTTP 500" in error.message


@pytest.mark.parametrize("status", [200, 502])
def test_a_non_json_body_is_transient_with_the_body_in_detail(rsps, graph, status):
    page = "<!DOCTYPE html><html><title>Sorry, something went wrong.</title></html>"
    rsps.add(responses.GET, FEED, body=page, status=status, content_type="text/html")
    with pytest.raises(GraphError) as caught:
        graph.get(f"{PAGE}/feed")
    assert not caught.value.permanent and caught.value.retry_at is None
    assert "Sorry, something went wrong." in caught.value.detail


def test_a_body_that_claims_json_but_does_not_parse_is_transient(rsps, graph):
    rsps.add(responses.GET, FEED, body="{\"data\": [", content_type="application/json")
    with pytest.raises(GraphError) as caught:
        graph.get(f"{PAGE}/feed")
    assert not caught.value.permanent and '{"data": [' in caught.value.detail


def test_a_read_timeout_after_a_send_left_is_uncertain(rsps, graph):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/messages", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(GraphError) as caught:
        graph.send(f"{PAGE}/messages", recipient={"id": "1"}, message={"text": "halo"})
    assert caught.value.uncertain and not caught.value.permanent


def test_a_send_that_never_connected_is_not_uncertain(rsps, graph):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/messages", body=requests.ConnectTimeout("connect"))
    with pytest.raises(GraphError) as caught:
        graph.send(f"{PAGE}/messages", recipient={"id": "1"}, message={"text": "halo"})
    assert not caught.value.uncertain and not caught.value.permanent


def test_a_read_timeout_while_reading_is_transient_not_uncertain(rsps, graph):
    rsps.add(responses.GET, FEED, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(GraphError) as caught:
        graph.get(f"{PAGE}/feed")
    assert not caught.value.uncertain and not caught.value.permanent


def test_connection_error_details_never_show_the_token(rsps, graph):
    leaked = (f"HTTPSConnectionPool(host='graph.facebook.com', port=443): Max retries exceeded with "
              f"url: /v26.0/{PAGE}/feed?access_token={TOKEN}&appsecret_proof=abc123")
    rsps.add(responses.GET, FEED, body=requests.ConnectionError(leaked))
    with pytest.raises(GraphError) as caught:
        graph.get(f"{PAGE}/feed")
    assert TOKEN not in caught.value.detail and "abc123" not in caught.value.detail
    assert "access_token=***" in caught.value.detail
