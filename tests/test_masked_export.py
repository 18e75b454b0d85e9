"""A masked export carries no phone number, NIK or e-mail address in any field (issue 26,
item 13).

Before, ``thread_id`` was the WhatsApp number as it was (200 distinct numbers in one export),
and a WhatsApp message id carries the number in base64. The test walks every field of every
exported record, JSONL and CSV.
"""
from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import main
from inbox import pii
from inbox.arrive.ingest import ingest
from inbox.cli.export import masked, pseudonym
from inbox.models import Account, Case, Message
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.factories import InboundMessage, msg
from tests.test_whatsapp import ACCOUNT, CITIZEN, body, deliver, process_all
from tests.web_helpers import make_users

NIK = "3329015708900003"
EMAIL = "siti.aminah@example.org"
PHONE = "0813-2755-1122"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=SANDBOX + ACCOUNT))
    yield runtime
    runtime.close()


def leaves(value: Any) -> Iterator[str]:
    """Every string of a record, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)


def secrets_of_the_office() -> list[str]:
    wamids = [m.external_id for m in Message.select() if m.external_id.startswith("wamid.")]
    assert wamids
    return [NIK, EMAIL, PHONE, CITIZEN, CITIZEN[2:], *wamids,
            base64.b64encode(CITIZEN.encode()).decode()[:16]]


def assert_nothing_personal(strings: list[str]) -> None:
    found = [(s, f.kind) for s in strings for f in pii.find_personal_data(s)]
    assert not found, found
    joined = "\n".join(strings)
    for secret in secrets_of_the_office():
        assert secret not in joined, secret


@pytest.fixture
def office(rt: Runtime) -> Runtime:
    users = make_users()
    client = create_app(rt, testing=True).test_client()
    for name in ("text", "image"):  # two messages of one WhatsApp thread
        deliver(client, body(name))
    process_all(rt)
    data = msg("sb-1", author="budi", public=False, text=f"NIK {NIK}, HP {PHONE}, surel {EMAIL}",
               thread=f"dm-{CITIZEN}").to_dict()
    data.update(author_name="Budi Santoso 0813 2755 1122", author_handle=f"@budi_{NIK}")
    # On the office's real channel: a practice (sandbox) case is never exported beside one
    # (inbox.records.practice).
    ingest(Account.get(Account.name == "wa_dukcapil"), [InboundMessage.from_dict(data)], None,
           rt.ingest_options)
    case = Case.get(Case.thread_id == f"dm-{CITIZEN}")
    workflow.add_note(rt, case, users["admin"], f"warga minta dihubungi di {PHONE} / {EMAIL}")
    workflow.escalate(rt, case, users["admin"], f"cek NIK {NIK}")
    return rt


def export(rt: Runtime, capsys, fmt: str) -> str:
    capsys.readouterr()
    assert main.main(["--config", str(rt.config.path), "export", "--format", fmt]) == 0
    return capsys.readouterr().out


def test_no_field_of_the_masked_jsonl_export_holds_personal_data(office: Runtime, capsys) -> None:
    records = [json.loads(line) for line in export(office, capsys, "jsonl").splitlines()]
    assert len(records) == 2
    assert_nothing_personal([s for record in records for s in leaves(record)])
    whatsapp = next(r for r in records if r["channel"] == "whatsapp")
    # The thread can still be followed: one pseudonym for the case and its two messages.
    assert whatsapp["thread_id"].startswith("id-")
    assert len({m["external_id"] for m in whatsapp["messages"]}) == 2
    again = [json.loads(line) for line in export(office, capsys, "jsonl").splitlines()]
    assert again == records  # the same pseudonyms in every export of this installation


def test_no_field_of_the_masked_csv_export_holds_personal_data(office: Runtime, capsys) -> None:
    rows = list(csv.reader(io.StringIO(export(office, capsys, "csv"))))
    assert len(rows) == 3
    assert_nothing_personal([cell for row in rows for cell in row])


def test_a_field_added_later_is_masked_by_the_walk() -> None:
    alias = pseudonym(b"k" * 32)
    record = {"reference": "ADU-202611-0001", "lapor": {"pelapor": f"Siti {NIK}",
                                                        "kontak": [PHONE, EMAIL]},
              "platform_id": CITIZEN, "count": 3, "flag": True, "nothing": None}
    out = masked(record, alias)
    assert out["reference"] == "ADU-202611-0001" and out["count"] == 3 and out["flag"] is True
    assert out["platform_id"] == alias(CITIZEN) != CITIZEN
    assert NIK not in json.dumps(out) and EMAIL not in json.dumps(out)
    assert out["lapor"]["kontak"][0] == pii.mask(PHONE)


def test_the_unmasked_export_is_unchanged_and_escapes_what_a_terminal_cannot_take(
        rt: Runtime, capsys, monkeypatch) -> None:
    make_users()
    ingest(Account.get(Account.name == "wa_dukcapil"),  # a real channel: practice is not exported
           [msg("odd", text=f"NIK {NIK} \x85\x9b2J \x7f ok", thread=CITIZEN)], None, rt.ingest_options)
    monkeypatch.setattr("sys.stdin", io.StringIO("kata-sandi-uji-123\n"))
    assert main.main(["--config", str(rt.config.path), "export", "--unmasked", "--as",
                      "super1"]) == 0
    line = capsys.readouterr().out
    assert "\\u0085\\u009b2J \\u007f" in line and "\x9b" not in line
    record = json.loads(line)
    assert record["thread_id"] == CITIZEN and NIK in record["messages"][0]["text"]
    assert record["messages"][0]["text"].endswith("\x85\x9b2J \x7f ok")
