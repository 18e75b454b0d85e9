"""The page where each user chooses how and of what to be told: login, CSRF, validation."""
from __future__ import annotations

import pytest

from inbox.models import NotificationPreference
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import csrf_token, login, make_users, page_text

NOTIFY = """
[notify.email]
host = "smtp.dukcapil.test"
from_address = "aduan@dukcapil.test"
password = "x"
"""
URL = "/akun/notifikasi"


@pytest.fixture
def client(tmp_path):
    rt = make_runtime(write_config(tmp_path, extra=NOTIFY))
    users = make_users()
    app = create_app(rt, testing=True)
    yield app.test_client(), users
    rt.close()


def save(client, **form):
    data = {"csrf_token": csrf_token(client, URL), **form}
    return client.post(URL, data=data)


def test_the_page_needs_a_login(client) -> None:
    web, _ = client
    response = web.get(URL)
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_the_header_links_to_the_page_and_telegram_is_shown_as_not_set_up(client) -> None:
    web, users = client
    login(web, users["group_admin"].username)
    page = page_text(web.get(URL))
    assert f'href="{URL}"' in page
    assert "Telegram (belum diatur)" in page
    assert "Pengaduan diteruskan ke Group Admin" in page  # the group admin's own event
    assert "Bidang sudah menjawab" not in page  # an admin's event


def test_a_user_saves_its_own_channels_and_events(client) -> None:
    web, users = client
    login(web, users["group_admin"].username)
    response = save(web, email="grup1@dukcapil.test", channels=["email"],
                    events=["escalated", "overdue"])
    assert response.status_code == 302
    pref = NotificationPreference.get(NotificationPreference.user == users["group_admin"].id)
    assert pref.email == "grup1@dukcapil.test" and pref.channels == ["email"]
    # the events left unticked, the class clock's reminders (issue 30) included
    assert pref.events_off == ["due_tomorrow", "due_today", "resolution_due", "resolution_overdue"]
    save(web, email="grup1@dukcapil.test", channels=[], events=[])
    pref = NotificationPreference.get(NotificationPreference.user == users["group_admin"].id)
    assert pref.channels == [] and NotificationPreference.select().count() == 1


@pytest.mark.parametrize("form, sentence", [
    ({"email": "bukan-alamat", "channels": ["email"]}, "Alamat e-mail tidak sah"),
    ({"email": "", "channels": ["email"]}, "Isi alamat e-mail"),
    ({"telegram_chat_id": "12ab", "channels": []}, "ID chat Telegram hanya berisi angka"),
    ({"telegram_chat_id": "123456", "channels": ["telegram"]}, "Saluran itu belum diatur"),
])
def test_a_bad_entry_is_one_sentence_and_nothing_is_saved(client, form, sentence) -> None:
    web, users = client
    login(web, users["admin"].username)
    response = save(web, **form)
    assert response.status_code == 400 and sentence in page_text(response)
    assert NotificationPreference.select().count() == 0


def test_a_post_without_the_csrf_token_is_refused(client) -> None:
    web, users = client
    login(web, users["admin"].username)
    response = web.post(URL, data={"email": "a@dukcapil.test", "channels": ["email"]})
    assert response.status_code == 400
    assert NotificationPreference.select().count() == 0


def test_what_was_typed_is_shown_back_escaped(client) -> None:
    web, users = client
    login(web, users["admin"].username)
    response = save(web, email='"><script>alert(1)</script>@x.test', channels=[])
    page = page_text(response)
    assert response.status_code == 400 and "Alamat e-mail tidak sah" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
