"""What a newcomer tripped over in the web inbox (issue 19), through Flask's test client."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from inbox.models import Outbox, User
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import make_runtime, write_config
from tests.web_helpers import PASSWORD, login, make_case, make_users, page_text, post_form

NIK = "3329012345678901"
CHECK_BOX = 'name="confirm_personal_data"'


def admin_client(rt: Runtime) -> FlaskClient:
    make_users()
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    return client


@pytest.fixture
def warn_rt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose office chose ``privacy.public_reply_with_personal_data = "warn"``."""
    runtime = make_runtime(write_config(
        tmp_path, extra='[privacy]\npublic_reply_with_personal_data = "warn"\n'))
    yield runtime
    runtime.close()


def test_under_block_no_check_box_is_offered_and_the_refusal_says_what_to_do(rt: Runtime) -> None:
    client = admin_client(rt)
    case = make_case(rt, 1, public=True)
    draft = f"Silakan cek NIK {NIK} di kantor kecamatan"
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply", {"text": draft})
    html = page_text(response)
    assert response.status_code == 422 and draft in html
    assert CHECK_BOX not in html
    assert "Hapus nomor itu dari balasan" in html and "pesan pribadi" in html
    # a hand-made confirmation changes nothing: the policy is block
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply",
                         {"text": draft, "confirm_personal_data": "1"})
    assert response.status_code == 422 and CHECK_BOX not in page_text(response)
    assert Outbox.select().count() == 0


def test_under_warn_the_check_box_is_offered_and_ticking_it_sends(warn_rt: Runtime) -> None:
    client = admin_client(warn_rt)
    case = make_case(warn_rt, 1, public=True)
    draft = f"Silakan cek NIK {NIK} di kantor kecamatan"
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply", {"text": draft})
    assert response.status_code == 422 and CHECK_BOX in page_text(response)
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply",
                         {"text": draft, "confirm_personal_data": "1"})
    assert response.status_code == 302
    assert Outbox.get().text == draft


def test_a_private_reply_with_a_nik_is_never_questioned(rt: Runtime) -> None:
    client = admin_client(rt)
    case = make_case(rt, 1, public=False)
    response = post_form(client, f"/pengaduan/{case.id}/aksi/reply", {"text": f"NIK {NIK} aktif"})
    assert response.status_code == 302 and Outbox.select().count() == 1


def test_a_deactivated_user_with_the_right_password_is_told_whom_to_ask(rt: Runtime) -> None:
    users = make_users()
    User.update(active=False).where(User.id == users["supervisor"].id).execute()
    client = create_app(rt, testing=True).test_client()
    right = login(client, "pengawas1", PASSWORD)
    html = page_text(right)
    assert right.status_code == 401
    assert "Akun Anda sedang tidak aktif" in html and "Super" in html and "menu Pengguna" in html
    assert "kata sandi salah" not in html
    wrong = page_text(login(client, "pengawas1", "bukan-sandinya"))
    assert "Nama pengguna atau kata sandi salah." in wrong and "tidak aktif" not in wrong
    assert client.get("/").status_code == 302  # still not logged in


@pytest.mark.parametrize("q", ["@budiamin111", "budiamin111", "#budiamin111", " @BudiAmin111 "])
def test_a_leading_at_or_hash_is_ignored_in_the_search(rt: Runtime, q: str) -> None:
    from inbox.arrive.ingest import ingest
    from inbox.models import Account, Case
    from tests.factories import msg
    client = admin_client(rt)
    account = Account.get(Account.name == "sandbox")
    # the sandbox (like X's API) gives handles without the @ sign
    message = msg("s-1", author="budi", text="Antrean KTP-el di kecamatan panjang sekali")
    ingest(account, [message.__class__(**{**message.__dict__, "author_handle": "budiamin111"})],
           None, rt.ingest_options)
    make_case(rt, 2, author="siti")
    wanted = Case.select().order_by(Case.id).first()
    html = page_text(client.get("/", query_string={"q": q}))
    assert wanted.reference in html
    assert Case.select().count() == 2 and html.count("ADU-") - html.count(wanted.reference) == 0
