from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inbox.arrive.ingest import ROWS_PER_INSERT, ingest
from inbox.db import database, is_postgres
from inbox.models import Account, Case, Event, Message, Usage
from inbox.setup.runtime import Runtime
from tests.factories import T0, msg

WIB = timezone(timedelta(hours=7))


def sandbox(rt: Runtime) -> Account:
    return Account.get(Account.name == "sandbox")


def snapshot() -> tuple[int, int, list[tuple[str, str]]]:
    cases = [(c.reference, c.status) for c in Case.select().order_by(Case.id)]
    return Message.select().count(), Event.select().count(), cases


def test_the_same_batch_ingested_twice_changes_nothing(rt: Runtime) -> None:
    batch = [msg(1), msg(2, author="u2"), msg(3, thread="t1", at=T0 + timedelta(minutes=5))]
    first = ingest(sandbox(rt), batch, {"seq": 3}, rt.ingest_options)
    assert (first.stored, first.new_cases, first.joined) == (3, 2, 1)
    before = snapshot()
    again = ingest(sandbox(rt), batch, {"seq": 3}, rt.ingest_options)
    assert (again.stored, again.duplicates) == (0, 3)
    assert snapshot() == before


def test_a_message_in_the_thread_of_an_open_case_joins_it(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="T")], None, rt.ingest_options)
    report = ingest(sandbox(rt), [msg(2, thread="T", at=T0 + timedelta(hours=1))], None, rt.ingest_options)
    assert (report.new_cases, report.joined) == (0, 1)
    case = Case.get()
    assert [m.external_id for m in case.messages.order_by(Message.id)] == ["1", "2"]
    assert case.last_inbound_at == T0 + timedelta(hours=1)


def test_another_citizen_in_the_same_thread_gets_a_case_of_its_own(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="post-9", author="a"), msg(2, thread="post-9", author="b")],
           None, rt.ingest_options)
    assert Case.select().count() == 2


def test_it_reopens_an_answered_case_when_the_citizen_writes_again(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="T")], None, rt.ingest_options)
    Case.update(status="answered", answered_at=T0 + timedelta(hours=2), escalated_at=T0,
                recapped_on=T0.date()).execute()
    later = T0 + timedelta(days=2)
    report = ingest(sandbox(rt), [msg(2, thread="T", at=later, text="KTP saya masih belum jadi juga")],
                    None, rt.ingest_options)
    assert report.reopened == 1
    case = Case.get()
    assert case.status == "new" and case.reopen_count == 1
    assert case.due_at == rt.calendar.due_at(later)
    # the new round is counted on its own: not answered, not escalated, not yet recapped
    assert (case.answered_at, case.escalated_at, case.recapped_on) == (None, None, None)
    assert Event.select().where(Event.action == "reopened").count() == 1


def test_a_thank_you_on_an_answered_case_does_not_reopen_it(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="T")], None, rt.ingest_options)
    Case.update(status="answered").execute()
    ingest(sandbox(rt), [msg(2, thread="T", at=T0 + timedelta(days=1),
                             text="terima kasih min, sudah jadi")], None, rt.ingest_options)
    assert Case.get().status == "answered"
    assert Message.select().count() == 2
    assert Event.select().where(Event.action == "citizen_thanked").count() == 1


def test_a_dismissed_case_is_reopened_by_a_new_message(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="T", text="halo min")], None, rt.ingest_options)
    Case.update(status="not_complaint", dismiss_reason="greeting").execute()
    ingest(sandbox(rt), [msg(2, thread="T", at=T0 + timedelta(minutes=3),
                             text="mau tanya syarat akta kelahiran")], None, rt.ingest_options)
    case = Case.get()
    assert case.status == "new" and case.dismiss_reason is None


def test_an_error_inside_the_transaction_leaves_neither_messages_nor_cursor(rt: Runtime) -> None:
    account = sandbox(rt)
    ingest(account, [msg(1)], {"seq": 1}, rt.ingest_options)
    before = snapshot()
    # A payload that cannot be stored (its raw part is not JSON) after two good ones.
    poisoned = msg(4, raw={"when": datetime(2026, 1, 1)})
    with pytest.raises(TypeError):
        ingest(account, [msg(2), msg(3), poisoned], {"seq": 4}, rt.ingest_options)
    assert snapshot() == before
    assert Account.get_by_id(account.id).cursor == {"seq": 1}


def test_the_reference_is_numbered_per_month_in_wib(rt: Runtime) -> None:
    nov_late = datetime(2026, 11, 30, 23, 30, tzinfo=WIB)   # still November in WIB
    dec_early = datetime(2026, 12, 1, 0, 30, tzinfo=WIB)    # 30 Nov 17:30 UTC, but December in WIB
    ingest(sandbox(rt), [msg(1, at=nov_late), msg(2, author="u2", at=nov_late),
                         msg(3, author="u3", at=dec_early)], None, rt.ingest_options)
    refs = [c.reference for c in Case.select().order_by(Case.id)]
    assert refs == ["ADU-202611-0001", "ADU-202611-0002", "ADU-202612-0001"]


def test_the_office_s_own_messages_are_stored_as_outbound_and_open_no_case(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, thread="T"),
                         msg(2, thread="T", author="office", from_office=True, text="Baik, kami cek",
                             at=T0 + timedelta(minutes=1))], None, rt.ingest_options)
    out = Message.get(Message.external_id == "2")
    assert out.direction == "out" and out.case_id == Case.get().id
    assert Case.select().count() == 1


def test_the_case_gets_its_deadline_window_and_raw_payload(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, public=False, text="akte kelahiran anak saya belum jadi")],
           None, rt.ingest_options)
    case = Case.get()
    assert case.opened_at == T0
    assert case.due_at == datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)  # Thu 26 Nov 16:00 WIB
    assert case.reply_window_closes_at == T0 + timedelta(hours=24)
    assert Message.get().raw == {"id": "1"}
    assert Event.get(Event.action == "opened").case_id == case.id


def test_personal_data_is_flagged_and_masked_in_the_summary(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg(1, text="NIK saya 3329015708900003 tidak aktif, hp 081327551122")],
           None, rt.ingest_options)
    case = Case.get()
    assert case.personal_data is True
    assert "3329015708900003" not in case.summary and "081327551122" not in case.summary
    assert Message.get().text.startswith("NIK saya 3329015708900003")  # the record itself is kept


def test_the_cursor_and_the_usage_are_stored_with_the_batch(rt: Runtime) -> None:
    account = sandbox(rt)
    ingest(account, [msg(1), msg(2, author="x")], {"since_id": "2"}, rt.ingest_options,
           requests=2, resources=2)
    assert Account.get_by_id(account.id).cursor == {"since_id": "2"}
    usage = Usage.get()
    assert (usage.polls, usage.requests, usage.resources, usage.messages) == (1, 2, 2, 2)


def test_a_private_case_is_acknowledged_when_configured(rt: Runtime) -> None:
    options = rt.ingest_options
    options.acknowledge_private = True
    ingest(sandbox(rt), [msg(1, public=False, text="KK saya salah nama"),
                         msg(2, author="u2", public=False, text="halo")], None, options)
    rows = list(Case.get(Case.thread_id == "t1").outbox)
    assert len(rows) == 1 and rows[0].purpose == "acknowledgement"
    assert "ADU-202611-0001" in rows[0].text and "Kamis, 26 November 2026 pukul 16.00 WIB" in rows[0].text
    assert not list(Case.get(Case.thread_id == "t2").outbox)  # a bare greeting is not acknowledged


def test_a_large_poll_is_stored_in_inserts_of_bounded_size(rt: Runtime) -> None:
    """Each prepared statement stays in sqlite3's cache (128 of them), ~2 KB per row: a 5,000-row
    INSERT per poll made a catching-up daemon grow by ~25 MB a poll. Every row still lands."""
    batch = [msg(n, author=f"u{n}", at=T0 + timedelta(seconds=n)) for n in range(250)]
    statements: list[str] = []
    if not is_postgres():
        database.connection().set_trace_callback(statements.append)
    try:
        result = ingest(sandbox(rt), batch, {"seq": 250}, rt.ingest_options)
    finally:
        if not is_postgres():
            database.connection().set_trace_callback(None)
    assert (result.stored, result.new_cases) == (250, 250)
    assert Message.select().count() == 250 and Case.select().count() == 250
    if not is_postgres():
        # The trace shows each statement with its values (again each time a trigger runs, hence
        # the dict); a message row's raw payload is {"id": …}.
        inserts = [s for s in dict.fromkeys(statements) if s.startswith('INSERT INTO "message"')]
        rows = [s.count('{"id": ') for s in inserts]
        assert sum(rows) == 250 and max(rows) <= ROWS_PER_INSERT


def test_a_batch_classified_as_one_matrix_gives_each_case_what_classifying_it_alone_gives(
        rt: Runtime) -> None:
    """Ingest scores a poll's new messages together (``Classifier.classify_many``); each case
    must still get exactly the categories and intent of its own first message."""
    from inbox.understand.training import shipped_classifier
    texts = ["KTP elektronik saya hilang, bagaimana cara buat lagi?",
             "Terima kasih banyak pak, akta kelahiran anak saya sudah jadi",
             "antrian di kantor dukcapil lama sekali, dari pagi belum dipanggil",
             "Mohon info syarat pindah domisili ke Tegal",
             "ada calo minta uang 200 ribu buat KK, apa benar?",
             "halo", "Akta kematian bapak saya salah nama, mohon dibetulkan"]
    classifier = rt.ingest_options.classifier or shipped_classifier()
    alone = {f"t{i}": classifier.classify(text) for i, text in enumerate(texts)}
    ingest(sandbox(rt), [msg(f"m{i}", thread=f"t{i}", author=f"warga{i}", text=text,
                             at=T0 + timedelta(minutes=i), public=False)
                         for i, text in enumerate(texts)], None, rt.ingest_options)
    got = {c.thread_id: (tuple(c.categories), c.intent) for c in Case.select()}
    assert got == {t: (tuple(c.categories), c.intent) for t, c in alone.items()}
    assert len({intent for _, intent in got.values()}) > 1  # the texts are not all alike


def test_the_opened_event_keeps_the_classifiers_confidence_for_perlu_dicek(rt: Runtime) -> None:
    ingest(sandbox(rt), [msg("c1", thread="tc", author="wargac", public=False, at=T0,
                             text="KTP saya hilang, bagaimana cara buat lagi?")], None, rt.ingest_options)
    event = Event.get(Event.action == "opened")
    assert isinstance(event.detail.get("confidence"), dict)
    assert Event.opened_confidence([event.case_id]) == {event.case_id: event.detail["confidence"]}



@pytest.mark.parametrize("second, reopened", [
    ("tapi akta anak saya ternyata salah nama, mohon dibetulkan", True),
    ("makasih banyak ya min", False)])
def test_after_a_thank_you_on_an_answered_case_the_next_message_of_the_poll_is_judged_itself(
        rt: Runtime, second: str, reopened: bool) -> None:
    """Ingest classifies ahead only the first message of a citizen's thread in a poll (the
    later ones usually join the case it opens or reopens). A thank-you leaves an answered case
    answered, so the next message of the same poll still needs its own intent: a complaint
    reopens the case, another thank-you does not."""
    ingest(sandbox(rt), [msg(1, thread="T")], None, rt.ingest_options)
    Case.update(status="answered").execute()
    later = T0 + timedelta(days=1)
    report = ingest(sandbox(rt), [
        msg(2, thread="T", at=later, text="terima kasih min, sudah jadi"),
        msg(3, thread="T", at=later + timedelta(minutes=2), text=second)], None, rt.ingest_options)
    assert (report.reopened, report.joined) == ((1, 1) if reopened else (0, 2))
    assert Case.get().status == ("new" if reopened else "answered")
    assert Event.select().where(Event.action == "citizen_thanked").count() == (1 if reopened else 2)
