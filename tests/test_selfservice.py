"""The citizen's own status check and the satisfaction survey (issue 16 items 3-4): who gets
which answer, that nothing opens or reopens a case, the rate limit, the survey's digit vs a
new complaint, asked once and only inside the reply window."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from inbox.arrive import selfservice
from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Event, Message, Outbox, SurveyResponse, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from tests.factories import T0, msg
from tests.workflow_helpers import (FakeConnector, fresh, make_users, open_case, runtime_with,
                                    use_connector)

NOW = T0 + timedelta(hours=1)  # Monday 23 Nov 2026, 10:00 WIB
CITIZEN = """
[citizen]
survey = true
status_checks_per_day = 3
"""


@pytest.fixture
def crt(tmp_path: Path) -> Iterator[Runtime]:
    with runtime_with(tmp_path, extra=CITIZEN) as runtime:
        yield runtime


@pytest.fixture
def users(crt: Runtime) -> dict[str, User]:
    return make_users()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def fake(crt: Runtime) -> FakeConnector:
    return use_connector(crt, FakeConnector())


def send(rt: Runtime, n: str, text: str, author: str = "warga1", thread: str = "thread-1",
         public: bool = False, at: object = None) -> None:
    ingest(Account.get(Account.name == "sandbox"),
           [msg(n, thread=thread, author=author, public=public, text=text,
                at=at or NOW, kind="comment" if public else "dm")], None, rt.ingest_options)


def status_rows() -> list[Outbox]:
    return list(Outbox.select().where(Outbox.purpose == "status").order_by(Outbox.id))


def checks() -> list[Event]:
    return list(Event.select().where(Event.action == "status_check").order_by(Event.id))


@pytest.mark.parametrize("text, reference", [
    ("status ADU-202611-0001", "ADU-202611-0001"),
    ("cek ADU-202611-0001", "ADU-202611-0001"),
    ("ADU-202611-0001", "ADU-202611-0001"),
    ("  status adu-202611-0001 ", "ADU-202611-0001"),
    ("Cek status pengaduan no. ADU 202611 0001?", "ADU-202611-0001"),
    ("ADU2026110001", "ADU-202611-0001"),
    ("status ADU-202611-13", "ADU-202611-0013"),
    ("ADU-202611-0001 KTP saya belum jadi", None),   # words beyond the number: read as usual
    ("KTP saya belum jadi", None),
    ("status", None),
    ("", None),
])
def test_it_recognises_a_status_request_only_when_it_is_the_whole_message(
        text: str, reference: str | None) -> None:
    assert selfservice.status_reference(text) == reference


def test_the_cases_own_citizen_gets_its_status_and_deadline_in_private(
        crt: Runtime, clock: time_machine.Traveller, fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    send(crt, "s1", f"status {case.reference.lower()}")

    assert Case.select().count() == 1
    assert fresh(case).status == "new"  # nothing reopened or moved
    assert Message.get(Message.external_id == "s1").case_id == case.id
    [row] = status_rows()
    assert row.case_id == case.id and not row.public
    assert case.reference in row.text and "sedang kami periksa" in row.text
    assert "Batas waktu penyelesaian: Kamis, 26 November 2026 pukul 16.00 WIB" in row.text
    [event] = checks()
    assert (event.case_id, event.detail["outcome"], event.detail["outbox_id"]) == (
        case.id, "owner", row.id)

    assert deliver_one(crt, "w1") is True
    reply = fake.attempts[-1]
    assert (reply.recipient_id, reply.in_reply_to, reply.thread_id, reply.public) == (
        "warga1", "s1", "thread-1", False)
    assert reply.last_inbound_at == NOW
    assert fresh(case).first_response_at is None  # a status answer is no answer to the complaint


def test_anyone_else_gets_the_same_neutral_sentence_whether_the_number_exists_or_not(
        crt: Runtime, clock: time_machine.Traveller, fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    send(crt, "s1", f"status {case.reference}", author="warga2", thread="thread-2")
    send(crt, "s2", "status ADU-202611-0999", author="warga3", thread="thread-3")

    assert Case.select().count() == 1
    first, second = status_rows()
    assert first.text == second.text == selfservice.NEUTRAL_TEXT
    assert case.reference not in first.text
    assert (first.case_id, second.case_id) == (None, None)
    assert [m.case_id for m in Message.select().where(Message.external_id.in_(["s1", "s2"]))] \
        == [None, None]
    assert [(e.case_id, e.detail["outcome"]) for e in checks()] == [(None, "other"), (None, "other")]

    assert deliver_one(crt, "w1") is True
    reply = fake.attempts[-1]
    assert (reply.recipient_id, reply.in_reply_to, reply.thread_id) == ("warga2", "s1", "thread-2")
    assert Outbox.get_by_id(first.id).status == "sent"
    out = Message.get((Message.direction == "out") & (Message.external_id == reply_platform(fake)))
    assert out.case_id is None and out.thread_id == "thread-2"
    assert Event.get((Event.action == "delivered") & Event.case.is_null()).detail["purpose"] == "status"


def reply_platform(fake: FakeConnector) -> str:
    return fake.delivered[fake.attempts[-1].reply_id]


def test_on_a_public_channel_even_the_owner_is_only_invited_to_write_privately(
        crt: Runtime, clock: time_machine.Traveller, fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    send(crt, "c1", f"cek {case.reference}", thread="post-9", public=True)

    assert Case.select().count() == 1
    [row] = status_rows()
    assert row.public and row.case_id is None and row.text == selfservice.PUBLIC_TEXT
    assert case.reference not in row.text
    assert checks()[0].detail["outcome"] == "public"
    assert deliver_one(crt, "w1") is True
    assert (fake.attempts[-1].public, fake.attempts[-1].in_reply_to, fake.attempts[-1].kind) == (
        True, "c1", "comment")


def test_a_status_check_on_an_answered_case_does_not_reopen_it(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    workflow.reply(crt, case, users["admin"], "KTP sudah dicetak.")
    assert deliver_one(crt, "w1")
    send(crt, "s1", case.reference)
    case = fresh(case)
    assert (case.status, case.reopen_count) == ("answered", 0)
    assert "sudah dijawab" in status_rows()[0].text


def test_status_answers_are_limited_per_contact_in_24_hours(
        crt: Runtime, clock: time_machine.Traveller) -> None:
    send(crt, "s1", "status ADU-202611-0001", author="warga2", thread="thread-2")
    ingest(Account.get(Account.name == "sandbox"),
           [msg(f"s{n}", thread="thread-2", author="warga2", public=False, kind="dm",
                text="status ADU-202611-0001", at=NOW + timedelta(minutes=n)) for n in (2, 3, 4)],
           None, crt.ingest_options)
    send(crt, "x1", "status ADU-202611-0001", author="warga3", thread="thread-3")

    assert [r.recipient_id for r in status_rows()] == ["warga2"] * 3 + ["warga3"]
    assert [e.detail["outcome"] for e in checks()] == ["other"] * 3 + ["rate_limited", "other"]
    assert Message.get(Message.external_id == "s4").case_id is None  # stored, not lost
    assert Case.select().count() == 0

    clock.shift(timedelta(hours=25))
    send(crt, "s5", "status ADU-202611-0001", author="warga2", thread="thread-2",
         at=NOW + timedelta(hours=25))
    assert len(status_rows()) == 5


def test_status_checks_can_be_switched_off(tmp_path: Path, clock: time_machine.Traveller) -> None:
    with runtime_with(tmp_path, extra="[citizen]\nstatus_check = false\n") as rt:
        send(rt, "s1", "status ADU-202611-0001")
        assert status_rows() == [] and Case.select().count() == 1


# --- the survey -------------------------------------------------------------------------------

def answered_case(rt: Runtime, users: dict[str, User], n: int = 1) -> Case:
    """A private case answered at NOW, with the survey question delivered too."""
    case = open_case(rt, n, public=False)
    workflow.reply(rt, case, users["admin"], "KTP sudah dicetak, silakan diambil.")
    while deliver_one(rt, "w1"):
        pass
    return fresh(case)


def test_the_question_is_asked_once_after_a_private_answer_with_the_scale_words(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = answered_case(crt, users)
    [row] = Outbox.select().where(Outbox.purpose == "survey")
    assert row.status == "sent" and not row.public and row.case_id == case.id
    for words in ("1 = tidak puas", "2 = kurang puas", "3 = puas", "4 = sangat puas", case.reference):
        assert words in row.text
    assert fake.attempts[-1].text == row.text and fake.attempts[-1].recipient_id == "warga1"

    # The citizen writes again, the case is answered again: no second question.
    send(crt, "again", "KTP saya kok belum bisa diambil", at=NOW + timedelta(minutes=5))
    assert fresh(case).status == "new"
    workflow.reply(crt, fresh(case), users["admin"], "Sudah bisa diambil besok.")
    while deliver_one(crt, "w1"):
        pass
    assert fresh(case).status == "answered"
    assert Outbox.select().where(Outbox.purpose == "survey").count() == 1


def test_a_bare_digit_is_recorded_and_the_next_message_is_its_comment(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = answered_case(crt, users)
    send(crt, "r1", "3", at=NOW + timedelta(minutes=10))

    response = SurveyResponse.get(SurveyResponse.case == case)
    assert (response.rating, response.comment, response.awaiting_comment) == (3, "", True)
    case = fresh(case)
    assert (case.status, case.reopen_count) == ("answered", 0)
    assert Case.select().count() == 1
    assert Message.get(Message.external_id == "r1").case_id == case.id
    assert Event.get(Event.action == "survey_answered").detail["rating"] == 3

    send(crt, "r2", "pelayanannya cepat, terima kasih", at=NOW + timedelta(minutes=11))
    response = SurveyResponse.get_by_id(response.id)
    assert (response.comment, response.awaiting_comment) == ("pelayanannya cepat, terima kasih", False)
    assert fresh(case).status == "answered"  # a thank-you, read as usual, reopens nothing

    send(crt, "r3", "4", at=NOW + timedelta(minutes=12))  # answered once only
    assert SurveyResponse.get_by_id(response.id).rating == 3


def test_a_digit_followed_by_a_complaint_is_the_rating_and_reopens_the_case(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = answered_case(crt, users)
    send(crt, "r1", "1 KTP saya belum jadi juga", at=NOW + timedelta(minutes=10))
    response = SurveyResponse.get(SurveyResponse.case == case)
    assert (response.rating, response.comment) == (1, "KTP saya belum jadi juga")
    case = fresh(case)
    assert (case.status, case.reopen_count) == ("new", 1)
    assert Case.select().count() == 1


def test_a_digit_when_no_question_was_asked_is_an_ordinary_message(
        tmp_path: Path, clock: time_machine.Traveller) -> None:
    with runtime_with(tmp_path) as rt:  # the survey is off by default
        use_connector(rt, FakeConnector())
        users = make_users()
        case = answered_case(rt, users)
        assert Outbox.select().where(Outbox.purpose == "survey").count() == 0
        send(rt, "r1", "1", at=NOW + timedelta(minutes=10))
        assert SurveyResponse.select().count() == 0
        assert fresh(case).status == "new"  # written again: back to the admin as always


def test_no_question_outside_the_reply_window(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    workflow.reply(crt, case, users["admin"], "KTP sudah dicetak.")
    clock.move_to(T0 + timedelta(hours=25))  # the citizen wrote at T0; WhatsApp-style 24 hours
    while deliver_one(crt, "w1"):
        pass
    assert fresh(case).status == "answered"
    assert Outbox.select().where(Outbox.purpose == "survey").count() == 0


def test_a_question_whose_window_closed_before_sending_is_not_sent(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=False)
    workflow.reply(crt, case, users["admin"], "KTP sudah dicetak.")
    assert deliver_one(crt, "w1")  # the answer; the question is queued
    clock.move_to(T0 + timedelta(hours=24, minutes=1))
    assert deliver_one(crt, "w1")
    [row] = Outbox.select().where(Outbox.purpose == "survey")
    assert row.status == "failed" and "jendela balasan" in row.last_error
    assert [a.text for a in fake.attempts] == ["KTP sudah dicetak."]
    assert fresh(case).alert is None


def test_no_question_on_a_public_case(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    case = open_case(crt, 1, public=True)
    workflow.reply(crt, case, users["admin"], "KTP sudah dicetak.")
    while deliver_one(crt, "w1"):
        pass
    assert fresh(case).status == "answered"
    assert Outbox.select().where(Outbox.purpose == "survey").count() == 0


@pytest.mark.parametrize("text, expected", [
    ("3", (3, "")), ("4.", (4, "")), (" 2) kurang cepat ", (2, "kurang cepat")),
    ("1 KTP saya belum jadi", (1, "KTP saya belum jadi")), ("12", None), ("5", None),
    ("0", None), ("2,5", None), ("terima kasih", None), ("1.5 juta", None),
])
def test_a_rating_is_a_lone_digit_from_1_to_4(text: str, expected: tuple[int, str] | None) -> None:
    assert selfservice.rating_of(text) == expected


# --- the monthly report ---------------------------------------------------------------------

def division_case(rt: Runtime, users: dict[str, User], n: int) -> Case:
    """A private case answered through bidang dafduk, with the survey question delivered."""
    case = open_case(rt, n, public=False)
    su = users["superuser"]
    workflow.escalate(rt, case, su, "mohon bantuan")
    workflow.assign_division(rt, fresh(case), su, "dafduk")
    workflow.division_answer(rt, fresh(case), su, "KTP sudah dicetak, silakan diambil.")
    workflow.forward(rt, fresh(case), su)
    while deliver_one(rt, "w1"):
        pass
    return fresh(case)


def test_the_monthly_report_shows_the_index_by_bidang_and_the_masked_responses(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller,
        fake: FakeConnector) -> None:
    from recap.make import make_monthly_report
    from tests.test_recap import find_row, pdf_text, sheet_rows

    answered_case(crt, users, 1)
    division_case(crt, users, 2)
    division_case(crt, users, 3)
    send(crt, "r1", "4", thread="thread-1", author="warga1", at=NOW + timedelta(minutes=30))
    send(crt, "r2", "2 NIK saya 3329014507890001 belum aktif", thread="thread-2", author="warga2",
         at=NOW + timedelta(minutes=31))
    send(crt, "r3", "3", thread="thread-3", author="warga3", at=NOW + timedelta(minutes=32))
    assert SurveyResponse.select().count() == 3

    clock.move_to(NOW + timedelta(hours=2))
    paths = make_monthly_report(crt, 2026, 11)
    text = pdf_text(paths[0])
    assert "Indeks kepuasan bulan ini 75,0 (mutu C (kurang baik)) dari 3 responden." in text
    assert "rata-rata nilai jawaban" in text and "× 25" in text
    assert "Bidang: Bidang Pelayanan Pendaftaran Penduduk 2 2,5 62,5 D (tidak baik)" in text

    index = sheet_rows(paths[1], "Kepuasan")
    assert find_row(index, "Semua saluran dan bidang")[1:] == (3, 3.0, 75.0, "C (kurang baik)")
    assert find_row(index, "Bidang: Bidang Pelayanan Pendaftaran Penduduk")[1:4] == (2, 2.5, 62.5)
    assert find_row(index, "Bidang: Tanpa bidang (dijawab Admin/Group Admin)")[1:4] == (1, 4.0, 100.0)
    assert find_row(index, "Saluran: Sandbox (latihan)")[1] == 3
    answers = sheet_rows(paths[1], "Jawaban survei")
    r2 = find_row(answers, fresh(Case.get(Case.thread_id == "thread-2")).reference)
    assert r2[4:6] == (2, "kurang puas")
    assert "3329014507890001" not in r2[6] and "belum aktif" in r2[6]
    assert "warga2" not in " ".join(str(v) for row in answers for v in row)


def test_officers_see_every_status_check_with_the_phone_masked_and_divisions_do_not(
        crt: Runtime, clock: time_machine.Traveller) -> None:
    from inbox.web.app import create_app
    from tests.web_helpers import login, make_users as web_users, page_text

    people = web_users()
    case = open_case(crt, 1, public=False)
    send(crt, "s1", f"status {case.reference}")
    send(crt, "s2", f"cek {case.reference}", author="6281234567890", thread="wa-2")
    client = create_app(crt, testing=True).test_client()
    assert login(client, people["admin"].username).status_code == 302
    page = page_text(client.get("/kelola/cek-status"))
    assert "status dikirim ke warga pemilik pengaduan" in page
    assert "jawaban netral (bukan pemilik atau nomor tidak ada)" in page
    assert page.count(case.reference) >= 3  # asked twice, and the owner's case linked
    assert "6281234567890" not in page and "Menunggu dikirim" in page

    other = create_app(crt, testing=True).test_client()
    assert login(other, people["division"].username).status_code == 302
    assert other.get("/kelola/cek-status").status_code == 403


def test_the_offices_own_question_is_sent_with_the_case_number(
        tmp_path: Path, clock: time_machine.Traveller) -> None:
    text = "Nilai jawaban kami untuk {nomor}: balas 1, 2, 3 atau 4."
    with runtime_with(tmp_path, extra=f'[citizen]\nsurvey = true\nsurvey_text = "{text}"\n') as rt:
        fake = use_connector(rt, FakeConnector())
        case = answered_case(rt, make_users())
        assert fake.attempts[-1].text == text.format(nomor=case.reference)
        assert Event.get(Event.action == "survey_queued").case_id == case.id


def test_erasing_a_citizen_also_erases_the_number_a_status_answer_went_to(
        crt: Runtime, users: dict[str, User], clock: time_machine.Traveller) -> None:
    from inbox.records.retention import ERASED, erase_contact

    send(crt, "s1", "status ADU-202611-0001", author="6281234567890", thread="wa-1")
    erase_contact(crt.data_dir, "@6281234567890", users["superuser"], "permintaan warga")
    [row] = status_rows()
    assert row.recipient_id != "6281234567890" and row.recipient_id.startswith("dihapus-")
    assert Message.get(Message.external_id == "s1").text == ERASED


def test_a_status_answer_whose_outcome_is_unknown_is_never_sent_again(
        crt: Runtime, clock: time_machine.Traveller) -> None:
    from connectors.base import ConnectorError

    fake = use_connector(crt, FakeConnector(script=[ConnectorError("waktu habis", uncertain=True)]))
    send(crt, "s1", "status ADU-202611-0001", author="warga2", thread="thread-2")
    assert deliver_one(crt, "w1") is True
    [row] = status_rows()
    assert row.status == "failed" and "tidak dikirim ulang" in row.last_error
    assert deliver_one(crt, "w1") is False
    assert len(fake.attempts) == 1
    assert Event.get(Event.action == "delivery_uncertain").case_id is None
