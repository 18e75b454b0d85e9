"""Small ones of issue 20 (item 12): common passwords and the user name are refused everywhere a
password is set; an unmasked export asks for the superuser's password and lands on a superuser
audit page."""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from inbox.models import Event, User
from inbox.passwords import password_problem
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from main import main
from tests.web_helpers import PASSWORD, login, make_users, page_text, post_form

COMMON = "terlalu umum"


@pytest.mark.parametrize("password", ["12345678", "password", "Bismillah", "DUKCAPIL123",
                                      "aaaaaaaa", "abababab", "98765432", "qwertyuiop"])
def test_common_passwords_are_refused(password: str) -> None:
    assert COMMON in password_problem(password, password)


def test_the_user_name_is_refused_and_good_passwords_pass() -> None:
    assert "nama pengguna" in password_problem("sitirahma2026", "sitirahma2026", "sitirahma")
    assert "nama pengguna" in password_problem("Operator01", "Operator01", "operator01")
    assert password_problem("kopi-tubruk-pagi", "kopi-tubruk-pagi", "siti") is None
    assert password_problem("kopi-tubruk-pagi", "kopi-tubruk-siang") is not None


def test_every_way_of_setting_a_password_uses_the_rule(rt: Runtime, tmp_path: Path, capsys,
                                                      monkeypatch) -> None:
    users = make_users()
    client = create_app(rt, testing=True).test_client()
    assert login(client, "super1").status_code == 302
    refused = post_form(client, "/kelola/pengguna/tambah", {
        "username": "budi", "role": "admin", "password": "12345678", "repeat": "12345678"})
    assert refused.status_code == 400 and COMMON in page_text(refused)
    post_form(client, f"/kelola/pengguna/{users['admin'].id}/sandi",
              {"password": "admin1admin1", "repeat": "admin1admin1"}, follow_redirects=True)
    assert login(create_app(rt, testing=True).test_client(), "admin1", "admin1admin1").status_code == 401
    changed = post_form(client, "/sandi", {"current": PASSWORD, "new": "password123",
                                           "repeat": "password123"})
    assert changed.status_code == 400 and COMMON in page_text(changed)
    monkeypatch.setattr(sys, "stdin", io.StringIO("12345678\n"))
    assert main(["--config", str(tmp_path / "config.toml"), "user", "add", "eko", "--role",
                 "admin"]) == 2
    assert COMMON in capsys.readouterr().err
    assert not User.select().where(User.username.in_(["budi", "eko"])).exists()


def test_an_unmasked_export_asks_the_superusers_password_and_is_audited(
        rt: Runtime, tmp_path: Path, capsys, monkeypatch) -> None:
    make_users()
    config = str(tmp_path / "config.toml")
    monkeypatch.setattr(sys, "stdin", io.StringIO("bukan-sandinya\n"))
    assert main(["--config", config, "export", "--unmasked", "--as", "super1"]) == 1
    assert "kata sandi superuser salah" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--config", config, "export", "--unmasked", "--as", "super1"]) == 0
    assert [e.action for e in Event.select().order_by(Event.id)] == [
        "export_unmasked_refused", "export_unmasked"]
    client = create_app(rt, testing=True).test_client()
    assert login(client, "super1").status_code == 302
    page = page_text(client.get("/kelola/audit"))
    assert "Ditolak: kata sandi salah" in page and "Ekspor tanpa penyamaran" in page
    assert len(re.findall(r"<td>super1</td>", page)) == 2
    admin = create_app(rt, testing=True).test_client()
    assert login(admin, "admin1").status_code == 302
    assert admin.get("/kelola/audit").status_code == 403
