"""WhatsApp usernames and business-scoped user ids (BSUID), Flows, edits and placeholders.

Payloads follow Meta's 2026 webhook shapes for usernames: ``messages[].from_user_id`` (the BSUID)
beside or instead of ``from`` (the phone number), ``contacts[].user_id`` and
``contacts[].profile.username``, statuses with ``recipient_user_id``, and the send API's
``recipient`` for a BSUID (docs/whatsapp.md).
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
import time_machine

from connectors.base import InboundMessage
from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Contact, Event, Message, Notification, Outbox, SetAside
from inbox.sop.outbox import deliver_one
from inbox.web.app import create_app
from tests.conftest import PG_URL
from tests.test_whatsapp import (CITIZEN, GRAPH, NOW, PNID, answer, body, client, deliver,  # noqa: F401
                                 process_all, rt)
from tests.web_helpers import login, make_users, page_text

RINA = "ID.1502576394655843"      # a username user: Meta withholds her number
SITI = "ID.2093847561029384"      # Siti's BSUID; her number is CITIZEN


def send(rt: Any, fixture: str = "send_ok") -> dict[str, Any]:
    with time_machine.travel(NOW, tick=False), responses.RequestsMock() as api:
        api.post(f"{GRAPH}/{PNID}/messages", json=json.loads(body(fixture)))
        assert deliver_one(rt, "w1")
        return json.loads(api.calls[0].request.body)


def test_a_bsuid_only_message_is_a_case_from_the_username_answered_by_recipient_and_settled(rt, client):
    deliver(client, body("bsuid_only"))
    process_all(rt)
    case = Case.get()
    assert (case.thread_id, case.contact.platform_user_id, case.contact.alias_id) == (RINA, RINA, None)
    assert (case.contact.handle, case.contact.name) == ("rina.brebes", "Rina")
    assert SetAside.select().count() == 0

    answer(rt, NOW)
    sent = send(rt, "send_ok_bsuid")
    assert sent["recipient"] == RINA and "to" not in sent and sent["type"] == "text"
    assert Outbox.get(Outbox.purpose == "answer").platform_id == "wamid.SENT0001"

    deliver(client, body("status_bsuid"))  # names the recipient by BSUID alone
    process_all(rt)
    assert [e.action for e in Event.select().where(Event.action.startswith("whatsapp_"))] == [
        "whatsapp_delivered"]
    admin = create_app(rt, testing=True).test_client()
    login(admin, "admin1")
    page = page_text(admin.get(f"/pengaduan/{case.id}"))
    assert "rina.brebes" in page and "Rina" in page


def test_the_same_citizen_by_phone_then_by_both_then_by_bsuid_is_one_contact_and_one_case(rt, client):
    deliver(client, body("text"))  # from before BSUIDs: the number alone
    process_all(rt)
    first = Case.get()
    assert first.contact.platform_user_id == CITIZEN
    for name in ("bsuid_with_phone", "bsuid_later"):
        deliver(client, body(name))
        process_all(rt)
    contact = Contact.get()
    assert Contact.select().count() == 1 and Case.select().count() == 1
    assert (contact.platform_user_id, contact.alias_id) == (SITI, CITIZEN)
    assert (contact.name, contact.handle) == ("Siti Aminah", "siti.aminah88")  # name kept
    assert {m.thread_id for m in Message.select()} == {SITI}
    assert Case.get().thread_id == SITI and Message.select().count() == 3

    answer(rt, NOW)
    sent = send(rt)
    assert sent["to"] == CITIZEN and "recipient" not in sent  # the number, while it is known


def test_a_late_copy_naming_the_citizen_by_number_only_joins_the_bsuid_contact(rt, client):
    for name in ("bsuid_with_phone", "text"):  # Meta's retry of an older delivery comes last
        deliver(client, body(name))
        process_all(rt)
    assert Contact.select().count() == 1 and Case.select().count() == 1
    assert {(m.thread_id, m.contact.platform_user_id) for m in Message.select()} == {(SITI, SITI)}


def test_two_contacts_found_to_be_one_citizen_are_merged_with_their_cases(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    ingest(Account.get(), [message("wamid.ONLYB", SITI, "Apakah KIA bisa diurus online?")])
    assert Contact.select().count() == 2
    deliver(client, body("bsuid_with_phone"))  # the first message naming both
    process_all(rt)
    [contact] = Contact.select()
    assert (contact.platform_user_id, contact.alias_id) == (SITI, CITIZEN)
    assert {c.contact_id for c in Case.select()} == {contact.id}
    assert {c.thread_id for c in Case.select()} == {SITI}
    assert Message.select().where(Message.contact != contact.id).count() == 0


def test_a_number_now_used_with_another_bsuid_moves_but_merges_nothing(rt):
    account = Account.get()
    ingest(account, [message("wamid.OLD1", SITI, "KK saya hilang", alias=CITIZEN)])
    ingest(account, [message("wamid.NEW1", "ID.9999999999999999", "Ini nomor baru saya", alias=CITIZEN)])
    old, new = Contact.get(Contact.platform_user_id == SITI), Contact.get(
        Contact.platform_user_id == "ID.9999999999999999")
    assert (old.alias_id, new.alias_id) == (None, CITIZEN)
    assert Case.select().where(Case.contact == old.id).count() == 1  # never shown to the new one


def test_one_number_with_two_bsuids_in_one_batch_stores_both_and_gives_the_number_to_one(rt):
    ingest(Account.get(), [message("wamid.TWO1", SITI, "KK hilang", alias=CITIZEN),
                           message("wamid.TWO2", "ID.9999999999999999", "KTP rusak", alias=CITIZEN)])
    assert Message.select().count() == 2 and Contact.select().count() == 2
    assert Contact.select().where(Contact.alias_id == CITIZEN).count() == 1


def test_a_later_message_without_a_profile_name_keeps_the_name(rt, client):
    deliver(client, body("text"))
    process_all(rt)
    raw = json.loads(body("text"))
    value = raw["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"] = {}
    value["messages"][0].update(id="wamid.NONAME1", timestamp="1772420460", text={"body": "Halo?"})
    deliver(client, json.dumps(raw).encode())
    process_all(rt)
    assert Contact.get().name == "Siti Aminah" and Message.select().count() == 2


def test_a_flow_reply_reads_as_labelled_lines_and_its_nik_is_masked_on_the_page(rt, client):
    deliver(client, body("flow"))
    process_all(rt)
    text = Message.get().text
    assert text.splitlines() == ["[formulir WhatsApp]", "Nama lengkap: Siti Aminah",
                                 "NIK: 3329015708900003", "Layanan: kartu_keluarga",
                                 "Keterangan: KK hilang saat banjir", "Setuju syarat: ya"]
    assert Case.get().personal_data
    make_users()
    supervisor = create_app(rt, testing=True).test_client()  # reads every text masked
    login(supervisor, "pengawas1")
    page = page_text(supervisor.get(f"/pengaduan/{Case.get().id}"))
    assert "Layanan: kartu_keluarga" in page and "NIK: 3329**********03" in page
    assert "3329015708900003" not in page


def test_an_interactive_reply_without_a_body_and_an_edit_read_as_text_on_the_same_case(rt, client):
    for name in ("text", "interactive_empty", "edit"):
        deliver(client, body(name))
    process_all(rt)
    texts = {m.external_id: m for m in Message.select()}
    assert texts["wamid.INTEMPTY1"].text == "[balasan interaktif WhatsApp: product_reply]"
    edit = texts["wamid.EDIT0001"]
    assert edit.text == "[diubah] Selamat pagi, KK saya belum jadi sudah 3 minggu."
    assert edit.in_reply_to == "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMDAx"
    assert Case.select().count() == 1 and all(m.text.strip() for m in Message.select())


def test_a_group_message_names_its_sender_by_bsuid_like_a_private_one(rt, client):
    deliver(client, body("group"))
    process_all(rt)
    message = Message.get()
    assert (message.contact.platform_user_id, message.contact.handle) == (RINA, "rina.brebes")
    assert message.text.startswith("Jadwal perekaman")


@pytest.mark.parametrize("kind", ["order", "system", "unsupported", "unknown"])
def test_types_aduan_does_not_read_stay_set_aside_and_notify(rt, client, kind):
    raw = json.loads(body("text"))
    item = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    item.pop("text")
    item.update(type=kind, id=f"wamid.{kind.upper()}1", **{kind: {"body": "x"}})
    deliver(client, json.dumps(raw).encode())
    process_all(rt)
    assert Message.select().count() == 0
    assert f"{kind!r} belum dikenal" in SetAside.get().reason


def test_aduan_import_reads_the_author_alias(rt, tmp_path):
    import main
    line = message("wamid.IMPORT1", SITI, "KTP saya rusak", alias=CITIZEN).to_dict()
    (tmp_path / "in.jsonl").write_text(json.dumps({**line, "account": "wa_dukcapil"}) + "\n")
    assert main.main(["--config", str(tmp_path / "config.toml"), "import", "--jsonl",
                      str(tmp_path / "in.jsonl")]) == 0
    assert (Contact.get().platform_user_id, Contact.get().alias_id) == (SITI, CITIZEN)
    with pytest.raises(ValueError, match="author_alias"):
        InboundMessage.from_dict({**line, "author_alias": ["x"]})


@pytest.mark.skipif(not PG_URL, reason="three workers at once: PostgreSQL")
def test_three_workers_naming_citizens_by_both_ids_by_bsuid_and_by_number_leave_one_contact_each(rt):
    """For each of 12 citizens first known by number, three workers started together ingest a
    message naming both ids, one naming the BSUID alone and a late copy naming the number
    alone: each citizen ends as one contact keyed by the BSUID, every message in its thread."""
    account = Account.get()
    phones = [f"62812000001{n:02d}" for n in range(12)]
    bsuids = [f"ID.77770000000000{n:02d}" for n in range(12)]
    for n, phone in enumerate(phones):
        ingest(account, [message(f"wamid.P{n}", phone, "Halo")])
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def worker(mode: str) -> None:
        try:
            barrier.wait()
            for n, (phone, bsuid) in enumerate(zip(phones, bsuids)):
                author, alias = {"A": (bsuid, phone), "B": (bsuid, None), "C": (phone, None)}[mode]
                ingest(Account.get_by_id(account.id), [message(f"wamid.{mode}{n}", author, "Masih "
                                                               "menunggu", alias=alias)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(mode,)) for mode in "ABC"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and Message.select().count() == 48
    assert sorted((c.platform_user_id, c.alias_id) for c in Contact.select()) == sorted(
        zip(bsuids, phones))
    for contact in Contact.select():
        mine = Message.select().where(Message.contact == contact.id)
        assert mine.count() == 4 and {m.thread_id for m in mine} == {contact.platform_user_id}
    assert Notification.select().count() == 0


def message(external_id: str, author: str, text: str, alias: str | None = None) -> InboundMessage:
    return InboundMessage(external_id=external_id, thread_id=author, kind="dm", public=False,
                          author_id=author, author_handle="", author_name="Warga", text=text,
                          created_at=datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc),
                          author_alias=alias)
