"""Odd input answers 400 or 404 with an Indonesian page, never 500 (issue 20, item 7); the
command line answers one plain line."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from main import main
from tests.web_helpers import login, make_case, make_users, page_text, post_form

HUGE = str(2**63)
SUPERSCRIPT = "\u00b2"


@pytest.fixture
def client(rt: Runtime) -> FlaskClient:
    make_users()
    make_case(rt, 1)
    client = create_app(rt, testing=True).test_client()
    assert login(client, "super1").status_code == 302
    return client


@pytest.mark.parametrize("url, status, words", [
    ("/?q=KTP%00", 400, "karakter yang tidak sah"),
    (f"/?account={HUGE}", 400, "saluran harus berupa nomor"),
    (f"/?division={HUGE}", 400, "bidang harus berupa nomor"),
    (f"/?account={SUPERSCRIPT}", 400, "saluran harus berupa nomor"),
    (f"/?division={SUPERSCRIPT}", 400, "bidang harus berupa nomor"),
    (f"/?sebelum={HUGE}", 400, "sebelum harus berupa nomor"),
    (f"/?sebelum={SUPERSCRIPT}", 400, "sebelum harus berupa nomor"),
    (f"/jumlah-baru.json?setelah={HUGE}", 400, "setelah harus berupa nomor"),
    (f"/jumlah-baru.json?setelah={SUPERSCRIPT}", 400, "setelah harus berupa nomor"),
    (f"/pengaduan/{HUGE}", 404, "Halaman tidak ditemukan"),
    (f"/pengaduan/{SUPERSCRIPT}", 404, "Halaman tidak ditemukan"),
    (f"/rekap/{HUGE}/unduh", 404, "Halaman tidak ditemukan"),
    (f"/pengaduan/1?templat={SUPERSCRIPT}", 200, ""),
    (f"/kelola/templat?ubah={HUGE}", 200, ""),
])
def test_odd_parameters_get_an_indonesian_answer(client: FlaskClient, url: str, status: int,
                                                 words: str) -> None:
    response = client.get(url)
    assert response.status_code == status, url
    assert words in page_text(response)


def test_the_largest_id_is_still_an_id(client: FlaskClient) -> None:
    assert client.get(f"/pengaduan/{2**63 - 1}").status_code == 404
    assert client.get(f"/?sebelum={2**63 - 1}").status_code == 200


def test_a_form_field_with_nul_is_refused(client: FlaskClient) -> None:
    response = post_form(client, "/pengaduan/1/aksi/note", {"text": "catatan\x00"})
    assert response.status_code == 400 and "karakter yang tidak sah" in page_text(response)


@pytest.mark.parametrize("args, words", [
    (["recap", "daily", "--date", "9999-12-31"], "belum terjadi"),
    (["recap", "daily", "--date", "0001-01-01"], "tidak valid"),
    (["recap", "monthly", "--month", "9999-12"], "belum dimulai"),
])
def test_the_command_line_answers_a_far_date_in_one_line(rt: Runtime, tmp_path: Path, capsys,
                                                         args: list[str], words: str) -> None:
    assert main(["--config", str(tmp_path / "config.toml"), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_web_answers_a_far_date_with_a_sentence(rt: Runtime, client: FlaskClient) -> None:
    response = post_form(client, "/rekap/buat-harian", {"day": "9999-12-31"}, follow_redirects=True)
    assert response.status_code == 200 and "belum terjadi" in page_text(response)
