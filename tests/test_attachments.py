"""A photo-only DM on each platform reaches the case page as a thumbnail, for the right roles.

End to end: the connector polls payloads served at the requests layer (``responses``), the
daemon stores the message with its attachment row, the downloader fetches the file into the
data folder, and the web serves it behind login and the case's role checks. Failed downloads
retry with growing waits; a file that is too large or gone says why it has no file.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine

from inbox.arrive.attachments import RETRY_WAITS, Downloader, absolute_path
from inbox.models import Account, Attachment, Case, Message
from inbox.run.daemon import Daemon
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import login, make_users, page_text

FIXTURES = Path(__file__).parent / "fixtures"
#: The first bytes of a JPEG file: what the downloader checks before serving it as an image.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4
X_NOW = datetime(2026, 3, 2, 3, 5, tzinfo=timezone.utc)
META_NOW = datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc)
OFFICE = "1356871740001411075"
GRAPH = "https://graph.facebook.com/v26.0"
PAGE, IG = "104857600000001", "17841400000000001"
FB_THREAD = "t_10160000000000001"
IG_THREAD = "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6MTc4NDE0MDAwMDAwMDAwMDE6MzQwMjgyMzY2ODQxNzEw"

ACCOUNTS = f"""
[accounts.x_dukcapil]
kind = "x"
user_id = "{OFFICE}"
consumer_key = "ck-test"
consumer_secret = "cs-test"
access_token = "{OFFICE}-at-test"
access_token_secret = "ats-test"

[accounts.fb_dukcapil]
kind = "facebook"
page_id = "{PAGE}"
page_access_token = "fb-page-token-test"

[accounts.ig_dukcapil]
kind = "instagram"
ig_user_id = "{IG}"
page_id = "{PAGE}"
page_access_token = "ig-page-token-test"
"""


def fixture(folder: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / folder / name).read_text(encoding="utf-8"))


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=ACCOUNTS))
    yield runtime
    runtime.close()


def poll_x_photo(rt: Runtime) -> str:
    """Poll the X account once with a photo-only DM; return the photo's URL."""
    page = fixture("x", "dm_events_photo_only.json")
    with time_machine.travel(X_NOW, tick=False), responses.RequestsMock() as api:
        api.get(f"https://api.twitter.com/2/users/{OFFICE}/mentions", json={"meta": {"result_count": 0}})
        api.get("https://api.twitter.com/2/dm_events", json=page)
        outcome = Daemon(rt).poll_account("x_dukcapil")
    assert outcome.ok, outcome.error
    return page["includes"]["media"][0]["url"]


def poll_meta_photo(rt: Runtime, platform: str) -> str:
    """Poll the Facebook or Instagram account once with a photo-only DM; return its URL."""
    thread, page_file = ((FB_THREAD, "fb_messages_photo_only.json") if platform == "messenger"
                         else (IG_THREAD, "ig_messages_photo_only.json"))
    page = fixture("meta", page_file)
    with time_machine.travel(META_NOW, tick=False), responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{PAGE}/conversations",
                json={"data": [{"id": thread, "updated_time": page["data"][0]["created_time"]}]})
        api.get(f"{GRAPH}/{thread}/messages", json=page)
        if platform == "messenger":
            api.get(f"{GRAPH}/{PAGE}/tagged", json={"data": []})
            api.get(f"{GRAPH}/{PAGE}/feed", json={"data": []})
        else:
            api.get(f"{GRAPH}/{IG}/tags", json={"data": []})
            api.get(f"{GRAPH}/{IG}/media", json={"data": []})
        outcome = Daemon(rt).poll_account("fb_dukcapil" if platform == "messenger" else "ig_dukcapil")
    assert outcome.ok, outcome.error
    return page["data"][0]["attachments"]["data"][0]["image_data"]["url"]


POLLS = {"x": poll_x_photo, "messenger": lambda rt: poll_meta_photo(rt, "messenger"),
         "instagram": lambda rt: poll_meta_photo(rt, "instagram")}


@pytest.mark.parametrize("platform", sorted(POLLS))
def test_a_photo_only_dm_shows_as_a_thumbnail_for_the_right_roles_and_403_to_others(rt, platform):
    url = POLLS[platform](rt)
    [message] = Message.select()
    [row] = Attachment.select()
    case = Case.get_by_id(message.case_id)
    assert message.text == "" and case.summary == "[foto]"
    assert case.intent == "question"  # a photo alone is for a person to read, never a greeting
    assert (row.kind, row.url, row.status) == ("image", url, "pending")

    with responses.RequestsMock() as cdn:
        cdn.get(url, body=JPEG, content_type="application/octet-stream")
        assert Downloader(rt).download_one() is True
        if platform == "x":  # X serves DM media only to the account's OAuth 1.0a signature
            header = cdn.calls[0].request.headers["Authorization"]
            assert (header.decode() if isinstance(header, bytes) else header).startswith("OAuth ")
    row = Attachment.get_by_id(row.id)
    stored = absolute_path(rt.data_dir, row)
    assert row.status == "stored" and row.mime == "image/jpeg" and row.size == len(JPEG)
    assert stored is not None and stored.read_bytes() == JPEG
    assert stored.is_relative_to(rt.data_dir / "attachments")
    assert Downloader(rt).download_one() is False  # nothing else due

    users = make_users()
    app = create_app(rt, testing=True)
    src = f"/lampiran/{row.id}"
    assert app.test_client().get(src).status_code == 302  # anonymous: to the login page
    for role in ("admin", "group_admin", "superuser"):
        client = app.test_client()
        login(client, users[role].username)
        assert f'<img class="thumb" src="{src}"' in page_text(client.get(f"/pengaduan/{case.id}"))
        response = client.get(src)
        assert response.status_code == 200 and response.data == JPEG, role
        assert response.mimetype == "image/jpeg"
        assert "no-store" in response.headers["Cache-Control"]
    for role in ("supervisor", "division"):  # the supervisor reads masked; dafduk has no such case
        client = app.test_client()
        login(client, users[role].username)
        assert client.get(src).status_code == 403, role
        assert src not in page_text(client.get(f"/pengaduan/{case.id}"))
    admin = app.test_client()
    login(admin, "admin1")
    assert "[foto]" in page_text(admin.get("/"))  # the inbox list


def test_the_division_that_holds_the_case_sees_the_photo(rt):
    from inbox.sop import workflow
    poll_meta_photo(rt, "messenger")
    [row] = Attachment.select()
    with responses.RequestsMock() as cdn:
        cdn.get(row.url, body=JPEG)
        Downloader(rt).download_one()
    users = make_users()
    case = Case.get()
    workflow.escalate(rt, case, users["admin"], "Mohon dibantu.")
    workflow.assign_division(rt, Case.get_by_id(case.id), users["group_admin"], "dafduk", "Mohon dicek.")
    client = create_app(rt, testing=True).test_client()
    login(client, "dafduk1")
    assert client.get(f"/lampiran/{row.id}").status_code == 200


def test_a_failed_download_retries_with_growing_waits_then_says_why(rt):
    url = poll_meta_photo(rt, "messenger")
    [row] = Attachment.select()
    now = datetime(2026, 11, 3, 3, 1, tzinfo=timezone.utc)
    with responses.RequestsMock() as cdn:
        cdn.get(url, status=500)
        for attempt, wait in enumerate(RETRY_WAITS, start=1):
            with time_machine.travel(now, tick=False):
                assert Downloader(rt).download_one() is True
            row = Attachment.get_by_id(row.id)
            assert (row.status, row.attempts) == ("pending", attempt)
            assert row.next_attempt_at == now + wait and "HTTP 500" in row.reason
            with time_machine.travel(now + wait - timedelta(seconds=1), tick=False):
                assert Downloader(rt).download_one() is False  # not due yet
            now += wait
        with time_machine.travel(now, tick=False):
            assert Downloader(rt).download_one() is True
    row = Attachment.get_by_id(row.id)
    assert row.status == "failed" and row.path is None
    assert "gagal diunduh 6 kali (terakhir: HTTP 500)" in row.reason
    assert "kedaluwarsa" in row.reason and "mengirim ulang" in row.reason


@pytest.mark.parametrize("status, headers, body, words", [
    (404, {}, b"", "kedaluwarsa"),
    (200, {"Content-Length": str(11 * 1_000_000)}, b"x", "lebih besar dari batas 10 MB"),
])
def test_a_gone_or_too_large_file_is_given_up_at_once_with_the_reason(rt, status, headers, body, words):
    url = poll_meta_photo(rt, "instagram")
    with responses.RequestsMock() as cdn:
        cdn.get(url, status=status, body=body, headers=headers, auto_calculate_content_length=False)
        Downloader(rt).download_one()
    row = Attachment.get()
    assert row.status == "failed" and row.attempts == 1 and words in row.reason
    assert not (rt.data_dir / "attachments").exists() or not any((rt.data_dir / "attachments").rglob("*.*"))


def test_a_file_that_is_not_an_image_is_only_ever_a_download(rt):
    url = poll_meta_photo(rt, "messenger")
    html = b"<html><script>alert(document.cookie)</script></html>"
    with responses.RequestsMock() as cdn:
        cdn.get(url, body=html, content_type="image/jpeg")  # the header lies
        Downloader(rt).download_one()
    row = Attachment.get()
    assert row.status == "stored" and row.mime == "application/octet-stream"  # not a JPEG
    make_users()
    client = create_app(rt, testing=True).test_client()
    login(client, "admin1")
    case_page = page_text(client.get(f"/pengaduan/{Case.get().id}"))
    response = client.get(f"/lampiran/{row.id}")
    assert response.data == html
    # the web trusts only the file's first bytes: no <img>, served as a download, sandboxed
    assert absolute_path(rt.data_dir, row).suffix == ".bin"
    assert f'src="/lampiran/{row.id}"' not in case_page and f'href="/lampiran/{row.id}"' in case_page
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_a_video_is_listed_but_left_on_the_platform(rt):
    page = fixture("meta", "fb_messages_photo_only.json")
    entry = page["data"][0]["attachments"]["data"][0]
    entry.pop("image_data")
    entry.update(mime_type="video/mp4", video_data={"url": "https://video.xx.fbcdn.net/v/clip.mp4"})
    with time_machine.travel(META_NOW, tick=False), responses.RequestsMock() as api:
        api.get(f"{GRAPH}/{PAGE}/conversations",
                json={"data": [{"id": FB_THREAD, "updated_time": "2026-11-03T02:50:00+0000"}]})
        api.get(f"{GRAPH}/{FB_THREAD}/messages", json=page)
        api.get(f"{GRAPH}/{PAGE}/tagged", json={"data": []})
        api.get(f"{GRAPH}/{PAGE}/feed", json={"data": []})
        Daemon(rt).poll_account("fb_dukcapil")
    row = Attachment.get()
    assert (row.kind, row.status) == ("video", "skipped") and "buka pesan aslinya" in row.reason
    assert Case.get().summary == "[video]"
    assert Downloader(rt).download_one() is False


def test_the_daemon_downloads_in_its_own_thread_and_stops_with_it(rt):
    url = poll_meta_photo(rt, "messenger")
    daemon = Daemon(rt)
    with responses.RequestsMock() as cdn:
        cdn.get(url, body=JPEG)
        thread = daemon.start_downloader()
        for _ in range(200):
            if Attachment.get().status == "stored":
                break
            thread.join(0.05)
        daemon.stopping.set()
        thread.join(10)
    assert not thread.is_alive() and Attachment.get().status == "stored"
    assert Account.get(Account.name == "fb_dukcapil").disabled_reason is None
