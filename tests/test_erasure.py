"""A WhatsApp citizen can be erased by phone number, and an erasure leaves no text of theirs
anywhere: not in the database file, not in a backup taken after (issue 26, items 11 and 12).

Before, ``aduan privacy erase --contact 6281277770022`` said "tidak ada warga" (a WhatsApp
contact has no handle; its platform id is the number), and the survey comment kept the NIK,
also in the next backup.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import main
from connectors.base import InboundMessage
from inbox.arrive.ingest import ingest
from inbox.db import database
from inbox.models import Account, Case, Contact, Message, SetAside, SurveyResponse
from inbox.records.archive import table_names
from inbox.records.retention import contact_keys
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from tests.conftest import PG_URL, SANDBOX, make_runtime, write_config
from tests.factories import T0, msg
from tests.test_whatsapp import ACCOUNT, CITIZEN, PNID, body, deliver, process_all
from tests.web_helpers import make_users

NIK = "3329010101900001"         # in the fixture's text
COMMENT_NIK = "3329014503900003"  # only in the survey comment
NATIONAL = CITIZEN[2:]            # 81234567890


def run(config: Path, *argv: str) -> int:
    return main.main(["--config", str(config), *argv])


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=SANDBOX + ACCOUNT))
    yield runtime
    runtime.close()


@pytest.fixture
def whatsapp_citizen(rt: Runtime) -> tuple[dict, Case]:
    """Siti writes on WhatsApp (the fixture holds her NIK), the office answers, she rates the
    answer with a comment holding another NIK, and one of her deliveries could not be read."""
    users = make_users()
    client = create_app(rt, testing=True).test_client()
    deliver(client, body("text"))
    unreadable = {"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": PNID},
                                       "contacts": [{"wa_id": CITIZEN}], "messages": 5}}]}]}
    deliver(client, json.dumps(unreadable).encode())
    assert process_all(rt) == 2
    case = Case.get()
    assert case.thread_id == CITIZEN and case.contact.handle == ""
    workflow.reply(rt, case, users["superuser"], "Baik Bu Siti, kami cek.",
                   confirm_personal_data=True)
    SurveyResponse.create(case=case, rating=2, comment=f"lama sekali, NIK saya {COMMENT_NIK}",
                          external_id="wamid.survey-1", answered_at=case.opened_at + timedelta(days=1))
    assert SetAside.select().count() == 1
    return users, case


def stored_everywhere(rt: Runtime, tmp_path: Path) -> list[bytes]:
    """The database as stored (SQLite: the file and its WAL; PostgreSQL: every row) and every
    member of a backup taken now, uncompressed."""
    if PG_URL:
        rows = [list(database.execute_sql(f'SELECT * FROM "{t}"'))
                for t in table_names() if database.table_exists(t)]
        stored = [json.dumps(rows, default=str, ensure_ascii=False).encode()]
    else:
        path = Path(rt.db.database)
        stored = [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
    assert run(rt.config.path, "backup", "--out", str(tmp_path / "usb")) == 0
    [archive] = (tmp_path / "usb").glob("aduan-*.tar.gz")
    return [*stored, gzip.decompress(archive.read_bytes())]


@pytest.mark.parametrize("typed", ["081234567890", CITIZEN, "+62 812-3456-7890", "+6281234567890"])
def test_a_whatsapp_citizen_is_found_by_the_number_in_any_usual_form(rt, whatsapp_citizen, capsys,
                                                                    typed: str) -> None:
    users, case = whatsapp_citizen
    assert run(rt.config.path, "privacy", "erase", "--contact", typed, "--as", "super1",
               "--reason", "Surat 470/9/2026") == 0
    assert "1 kontak, 1 pengaduan" in capsys.readouterr().out
    assert Contact.get_by_id(case.contact_id).platform_user_id.startswith("dihapus-")


def test_an_erasure_leaves_no_nik_or_number_in_the_database_or_a_fresh_backup(
        rt, whatsapp_citizen, tmp_path: Path, capsys) -> None:
    _, case = whatsapp_citizen
    before = b"".join(stored_everywhere(rt, tmp_path / "before"))
    assert NIK.encode() in before and COMMENT_NIK.encode() in before and CITIZEN.encode() in before
    assert run(rt.config.path, "privacy", "erase", "--contact", "081234567890", "--as", "super1",
               "--reason", "Surat 470/9/2026") == 0
    capsys.readouterr()
    assert SurveyResponse.get().rating == 2  # what the monthly report counts stays
    for stored in stored_everywhere(rt, tmp_path / "after"):
        for trace in (NIK, COMMENT_NIK, CITIZEN, "Siti Aminah"):
            assert trace.encode() not in stored, trace


def test_an_anonymous_contact_is_found_by_its_platform_id(rt: Runtime, capsys) -> None:
    make_users()
    anonymous = InboundMessage(external_id="fb-1", thread_id="post-1_c-1", kind="comment",
                               public=True, author_id="7720000000000042", author_handle="",
                               author_name="Pengguna Facebook", text=f"NIK {NIK} belum jadi",
                               created_at=T0)
    ingest(Account.get(Account.name == "sandbox"), [anonymous], None, rt.ingest_options)
    assert run(rt.config.path, "privacy", "erase", "--contact", "7720000000000042", "--as",
               "super1", "--reason", "surat") == 0
    assert NIK not in Message.get().text


def test_the_same_number_on_two_channels_needs_a_choice(rt, whatsapp_citizen, capsys) -> None:
    ingest(Account.get(Account.name == "sandbox"),
           [msg("sms-1", author=CITIZEN, text="halo")], None, rt.ingest_options)
    assert run(rt.config.path, "privacy", "erase", "--contact", "081234567890", "--as", "super1",
               "--reason", "surat") == 1
    err = capsys.readouterr().err
    assert "beberapa kanal (sandbox, whatsapp)" in err and "--channel" in err
    assert Contact.select().where(Contact.platform_user_id.startswith("dihapus-")).count() == 0
    assert run(rt.config.path, "privacy", "erase", "--contact", "081234567890", "--channel",
               "whatsapp", "--as", "super1", "--reason", "surat") == 0
    assert "1 kontak" in capsys.readouterr().out
    assert Contact.get(Contact.kind == "sandbox").platform_user_id == CITIZEN


@pytest.mark.parametrize("typed, expected", [
    ("@siti_brebes", {"@siti_brebes", "siti_brebes"}),
    ("0812 3456 7890", {"6281234567890", "+6281234567890", "081234567890"}),
    ("Siti@Example.ORG", {"siti@example.org"}),
    ("12345678", {"12345678"}),
])
def test_the_keys_an_identifier_may_be_stored_as(typed: str, expected: set[str]) -> None:
    assert expected <= contact_keys(typed)
    assert NATIONAL not in contact_keys(typed) or typed.startswith("8")
