"""Issue 30 in the workflow: complaint classes with their own resolution clocks and the
follow-up that stops them, "bukan wewenang", the maladministration type and SP4N-LAPOR! data;
who may do each, what each writes, and how old "not_our_authority" dismissals are migrated."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zoneinfo import ZoneInfo

import peewee
import pytest
import time_machine

from connectors.base import ConnectorError
from inbox.arrive.ingest import ingest
from inbox.db import database
from inbox.models import Account, Case, Event, Outbox, SchemaMigration, User
from inbox.setup.config import check_config
from inbox.setup.migrations import (_CASE_COLUMNS_15, MIGRATIONS, UNRECORDED_AGENCY, _migration_15,
                                    migrate)
from inbox.setup.runtime import Runtime
from inbox.sop import handling, workflow
from inbox.sop.outbox import deliver_one
from inbox.sop.workflow import WorkflowError
from inbox.web.queries import InboxFilter, apply_filter, queue_counts
from tests.conftest import write_config
from tests.factories import T0, msg
from tests.workflow_helpers import (FakeConnector, case_in_status, fresh, make_users, open_case,
                                    runtime_with, use_connector)

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.fixture
def people(rt: Runtime) -> dict[str, User]:
    return make_users()


def deliver_everything(rt: Runtime) -> None:
    use_connector(rt, FakeConnector())
    while deliver_one(rt, "test-worker"):
        pass


# --- the class and its clock --------------------------------------------------------------------

@pytest.mark.parametrize("code, due", [
    ("ringan", wib(2026, 11, 25, 16)),                 # 2 working days after Mon 23 Nov 2026
    ("normatif", wib(2026, 11, 30, 16)),
    ("tidak_berkadar_pengawasan", wib(2026, 12, 11, 16)),
    # 60 working days: past Natal (24-25 Dec), 1 Jan, Isra Mikraj (5 Jan) and Imlek (5 Feb)
    ("berkadar_pengawasan", wib(2027, 2, 22, 16)),
])
def test_a_class_gives_the_case_a_resolution_deadline_on_the_working_day_calendar(
        rt: Runtime, people: dict[str, User], code: str, due: datetime) -> None:
    case = open_case(rt, 1)   # received Monday 23 Nov 2026, 09:00 WIB
    answer_due = case.due_at
    handling.set_class(rt, case, people["group_admin"], code, note="perlu pemeriksaan")
    case = fresh(case)
    assert (case.complaint_class, case.resolution_due_at) == (code, due.astimezone(timezone.utc))
    assert case.due_at == answer_due   # the SOP's answer clock is untouched
    event = case.events.where(Event.action == "class_set").get()
    assert event.actor_id == people["group_admin"].id
    assert event.detail["class"] == code and event.detail["note"] == "perlu pemeriksaan"


def test_a_class_needs_a_reason_and_an_existing_code(rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1)
    with pytest.raises(WorkflowError, match="Tulis alasan"):
        handling.set_class(rt, case, people["group_admin"], "ringan", note="  ")
    with pytest.raises(WorkflowError, match="Kelas \"berat\" tidak dikenal"):
        handling.set_class(rt, case, people["group_admin"], "berat", note="uji")
    assert fresh(case).complaint_class is None and not Event.select().where(
        Event.action == "class_set").exists()
    handling.set_class(rt, case, people["group_admin"], "ringan", note="uji")
    handling.set_class(rt, fresh(case), people["group_admin"], "")   # out again: no reason needed
    assert (fresh(case).complaint_class, fresh(case).resolution_due_at) == (None, None)


@pytest.mark.parametrize("role, allowed", [
    ("admin", False), ("group_admin", True), ("division", True), ("division_other", False),
    ("supervisor", False), ("superuser", True)])
def test_who_may_set_a_class_follows_config(rt: Runtime, people: dict[str, User], role: str,
                                            allowed: bool) -> None:
    case = case_in_status(rt, people, "at_division", 1)   # at dafduk's bidang
    if allowed:
        handling.set_class(rt, case, people[role], "normatif", note="uji")
        assert fresh(case).complaint_class == "normatif"
        assert "set_class" in handling.allowed_actions(rt, people[role], fresh(case))
    else:
        with pytest.raises(WorkflowError):
            handling.set_class(rt, case, people[role], "normatif", note="uji")
        assert fresh(case).complaint_class is None
        assert "set_class" not in handling.allowed_actions(rt, people[role], case)


def test_a_class_only_the_group_admin_may_set_is_refused_to_a_bidang(tmp_path: Path) -> None:
    extra = """
[resolution]
[[resolution.classes]]
code = "ringan"
name = "Ringan"
days = 2

[[resolution.classes]]
code = "pengawasan"
name = "Pengawasan internal"
days = 60
set_by = ["group_admin"]
"""
    with runtime_with(tmp_path, extra=extra) as rt:
        people = make_users()
        case = case_in_status(rt, people, "at_division", 1)
        with pytest.raises(WorkflowError, match="tidak boleh menetapkan kelas \"Pengawasan"):
            handling.set_class(rt, case, people["division"], "pengawasan", note="uji")
        handling.set_class(rt, case, people["group_admin"], "pengawasan", note="uji")
        # nor may the bidang move it out of that class again
        with pytest.raises(WorkflowError, match="tidak boleh"):
            handling.set_class(rt, fresh(case), people["division"], "ringan", note="uji")
        assert fresh(case).complaint_class == "pengawasan"


@pytest.mark.parametrize("extra, finding", [
    ("[resolution]\nset_by = [\"kepala\"]\n", "resolution.set_by: peran 'kepala' tidak dikenal"),
    ("[[resolution.classes]]\ncode = \"Ringan!\"\nname = \"R\"\ndays = 2\n",
     "resolution.classes[0].code: gunakan huruf kecil"),
    ("[[resolution.classes]]\ncode = \"r\"\nname = \"R\"\ndays = 0\n",
     "resolution.classes[0].days: harus 1 sampai 365"),
    ("[[resolution.classes]]\ncode = \"r\"\nname = \"R\"\n", "resolution.classes[0].days: wajib diisi"),
    ("[resolution]\ninterim_text = \"paling lambat {tanggal}\"\n",
     "resolution.interim_text: {tanggal} tidak dikenal"),
    ("[[referral.agencies]]\ncode = \"bpn\"\n", "referral.agencies[0].name: wajib diisi"),
    ("[referral]\nanswer_text = \"ke {instansi\"\n", "referral.answer_text: kurung kurawal"),
])
def test_check_config_names_a_bad_class_or_agency_by_its_key(tmp_path: Path, extra: str,
                                                              finding: str) -> None:
    config, findings = check_config(write_config(tmp_path, extra=extra))
    assert config is None
    assert any(f.startswith(finding) for f in findings), findings


def test_the_interim_answer_names_the_resolution_deadline_and_the_answer_clock_stops(
        rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1)
    handling.set_class(rt, case, people["superuser"], "berkadar_pengawasan", note="uji")
    case = fresh(case)
    assert handling.needs_interim(case)
    text = handling.interim_text(rt, case)
    assert "sedang ditindaklanjuti" in text and "paling lambat Senin, 22 Februari 2027" in text
    with time_machine.travel(wib(2026, 11, 25, 10), tick=False):
        workflow.reply(rt, case, people["admin"], text)
        deliver_everything(rt)
    case = fresh(case)
    assert case.status == "answered" and case.answered_at <= case.due_at
    assert case.outcome == "in_follow_up" and case.resolution_open
    assert Case.select().where(Case.overdue_condition(wib(2027, 2, 22, 15))).count() == 0
    assert Case.overdue(wib(2027, 2, 23, 9)).count() == 1   # day 61: the class is late


def test_recording_the_follow_up_stops_the_clock_and_tells_the_citizen_without_touching_the_answer(
        rt: Runtime, people: dict[str, User]) -> None:
    case = case_in_status(rt, people, "answered", 1)
    answered_at = case.answered_at
    handling.set_class(rt, case, people["group_admin"], "tidak_berkadar_pengawasan", note="uji")
    with pytest.raises(WorkflowError, match="tidak boleh kosong"):
        handling.record_follow_up(rt, fresh(case), people["group_admin"], "  ")
    with pytest.raises(WorkflowError, match="bukan untuk bidang Anda"):   # not its bidang's case
        handling.record_follow_up(rt, fresh(case), people["division"], "dicek")
    with pytest.raises(WorkflowError, match="Pengawas hanya boleh melihat"):
        handling.record_follow_up(rt, fresh(case), people["supervisor"], "dicek")
    message = handling.follow_up_message(rt, fresh(case), "KTP Anda sudah dicetak.")
    assert "KTP Anda sudah dicetak." in message
    with time_machine.travel(wib(2026, 12, 1, 10), tick=False):
        row = handling.record_follow_up(rt, fresh(case), people["admin"],
                                        "Blangko tersedia, KTP dicetak 1 Desember.", message)
        deliver_everything(rt)
    case = fresh(case)
    assert case.resolved_at == wib(2026, 12, 1, 10).astimezone(timezone.utc)
    assert case.follow_up == "Blangko tersedia, KTP dicetak 1 Desember."
    assert (case.outcome, case.answered_at, case.status) == ("resolved", answered_at, "answered")
    assert Outbox.get_by_id(row.id).purpose == "follow_up" and Outbox.get_by_id(row.id).status == "sent"
    event = case.events.where(Event.action == "follow_up_recorded").get()
    assert event.detail["late"] is False and event.actor_id == people["admin"].id
    with pytest.raises(WorkflowError, match="tidak punya kelas"):
        handling.record_follow_up(rt, case, people["admin"], "lagi")
    with pytest.raises(WorkflowError, match="sudah dicatat"):
        handling.set_class(rt, case, people["group_admin"], "ringan", note="uji")


# --- bukan wewenang -----------------------------------------------------------------------------

def test_bukan_wewenang_sends_the_citizen_to_the_agency_and_is_no_dismissal(
        rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1, text="kartu BPJS saya tidak aktif padahal sudah bayar")
    for role in ("group_admin", "division", "supervisor"):
        with pytest.raises(WorkflowError):
            handling.refer(rt, case, people[role], "bpjs_kesehatan")
    with pytest.raises(WorkflowError, match="Pilih instansi"):
        handling.refer(rt, case, people["admin"], "bpjs")
    row = handling.refer(rt, case, people["admin"], "bpjs_kesehatan", forwarded=True)
    assert "bukan wewenang" in row.text and "BPJS Kesehatan" in row.text
    assert "Care Center 165" in row.text and "sudah kami teruskan kepada BPJS Kesehatan" in row.text
    deliver_everything(rt)
    case = fresh(case)
    assert (case.status, case.referred_to, case.referral_forwarded) == (
        "answered", "BPJS Kesehatan", True)
    assert case.outcome == "bukan_wewenang" and case.dismiss_reason is None
    assert case.events.where(Event.action == "referred").get().detail["agency"] == "BPJS Kesehatan"


def test_another_agency_is_named_by_the_admin_and_a_later_answer_replaces_the_referral(
        rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1, text="sertifikat tanah saya belum jadi")
    with pytest.raises(WorkflowError, match="Tulis nama instansi"):
        handling.refer(rt, case, people["admin"], handling.OTHER_AGENCY)
    handling.refer(rt, case, people["admin"], handling.OTHER_AGENCY, other_name="  Kantah  Brebes ")
    assert fresh(case).referred_to == "Kantah Brebes"
    use_connector(rt, FakeConnector(script=[ConnectorError("ditolak", permanent=True)]))
    assert deliver_one(rt, "w")
    case = fresh(case)
    assert case.status == "new"   # the failed referral came back to the admin
    workflow.reply(rt, case, people["admin"], "Mohon maaf, kami cek dulu.")
    assert fresh(case).referred_to is None   # the last answer decides the outcome


def test_a_reopened_bukan_wewenang_case_starts_a_new_round(rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1, text="kartu bpjs saya mati")
    handling.refer(rt, case, people["admin"], "bpjs_kesehatan")
    deliver_everything(rt)
    assert fresh(case).outcome == "bukan_wewenang"
    ingest(Account.get(Account.name == "sandbox"),
           [msg("in-1b", thread="thread-1", author="warga1", text="kata BPJS harus ke dukcapil",
                at=T0.replace(day=25))], None, rt.ingest_options)
    case = fresh(case)
    assert (case.status, case.referred_to, case.outcome) == ("new", None, "open")


# --- maladministration and LAPOR! ---------------------------------------------------------------

@pytest.mark.parametrize("role, allowed", [
    ("admin", False), ("group_admin", True), ("division", True), ("division_other", False),
    ("supervisor", False), ("superuser", True)])
def test_the_group_admin_or_the_bidang_confirms_the_maladministration_type(
        rt: Runtime, people: dict[str, User], role: str, allowed: bool) -> None:
    case = case_in_status(rt, people, "at_division", 1)
    assert case.maladministration_suggested == "penundaan_berlarut"   # "sudah 3 minggu belum jadi"
    if allowed:
        handling.set_maladministration(rt, case, people[role], "tidak_patut")
        assert fresh(case).maladministration == "tidak_patut"
        event = fresh(case).events.where(Event.action == "maladministration_set").get()
        assert event.detail == {"maladministration": "tidak_patut",
                                "suggested": "penundaan_berlarut"}
    else:
        with pytest.raises(WorkflowError):
            handling.set_maladministration(rt, case, people[role], "tidak_patut")
        assert fresh(case).maladministration is None


def test_an_unknown_maladministration_type_is_refused(rt: Runtime, people: dict[str, User]) -> None:
    case = case_in_status(rt, people, "escalated", 1)
    with pytest.raises(WorkflowError, match="Pilih salah satu jenis"):
        handling.set_maladministration(rt, case, people["group_admin"], "lambat")
    handling.set_maladministration(rt, case, people["group_admin"], "none")
    assert fresh(case).maladministration == "none"


@pytest.mark.parametrize("typed, stored", [
    ("1916449", "1916449"), ("#1916449", "1916449"),
    ("https://www.lapor.go.id/pengaduan/1916449", "1916449"), ("", None)])
def test_the_admin_links_a_case_to_its_lapor_report(rt: Runtime, people: dict[str, User],
                                                    typed: str, stored: str | None) -> None:
    case = open_case(rt, 1)
    if stored is None:
        handling.set_lapor(rt, case, people["admin"], "1916449", "")
    handling.set_lapor(rt, fresh(case), people["admin"], typed, "pengaduan")
    case = fresh(case)
    assert (case.lapor_tracking_id, case.report_type) == (stored, "pengaduan")
    assert case.events.where(Event.action == "lapor_linked").count() == (2 if stored is None else 1)


@pytest.mark.parametrize("role", ["group_admin", "division", "supervisor"])
def test_only_the_admin_sets_the_lapor_data(rt: Runtime, people: dict[str, User], role: str) -> None:
    case = case_in_status(rt, people, "at_division", 1)
    with pytest.raises(WorkflowError):
        handling.set_lapor(rt, case, people[role], "1916449", "")


@pytest.mark.parametrize("typed", ["3329014507890001", "12", "abc", "lapor.go.id/pengaduan/x"])
def test_a_number_that_is_no_tracking_id_is_refused(rt: Runtime, people: dict[str, User],
                                                    typed: str) -> None:
    case = open_case(rt, 1)
    with pytest.raises(WorkflowError, match="ID LAPOR!"):
        handling.set_lapor(rt, case, people["admin"], typed, "")
    assert fresh(case).lapor_tracking_id is None


def test_a_lapor_id_quoted_by_the_citizen_is_recognised_once_and_never_overwrites(
        rt: Runtime, people: dict[str, User]) -> None:
    account = Account.get(Account.name == "sandbox")
    ingest(account, [msg("a1", thread="t1", author="w1", text="KTP saya belum jadi sudah sebulan"),
                     msg("a2", thread="t1", author="w1", at=T0.replace(hour=3),
                         text="sudah saya laporkan juga di https://www.lapor.go.id/pengaduan/2234567")],
           None, rt.ingest_options)
    case = Case.get()
    assert case.lapor_tracking_id == "2234567"
    handling.set_lapor(rt, case, people["admin"], "7654321", "")
    ingest(account, [msg("a3", thread="t1", author="w1", at=T0.replace(hour=4),
                         text="tracking id LAPOR! #1111111 ya min")], None, rt.ingest_options)
    assert fresh(case).lapor_tracking_id == "7654321"
    assert case.events.where(Event.action == "lapor_recognised").count() == 1


# --- overdue in the inbox -------------------------------------------------------------------------

def test_a_class_past_its_deadline_is_overdue_in_the_inbox_after_the_answer(
        rt: Runtime, people: dict[str, User]) -> None:
    case = case_in_status(rt, people, "answered", 1)
    handling.set_class(rt, case, people["group_admin"], "ringan",   # due Wed 25 Nov 16:00 WIB
                       note="uji")
    visible = workflow.visible_cases(people["admin"])
    before, after = wib(2026, 11, 25, 15), wib(2026, 11, 25, 17)
    overdue = InboxFilter(overdue="1")
    assert list(apply_filter(visible, overdue, before, WIB)) == []
    assert [c.id for c in apply_filter(visible, overdue, after, WIB)] == [case.id]
    assert queue_counts(workflow.visible_cases(people["admin"], by_status=True), after, WIB)[
        "overdue"] == 1


# --- migration 15 ---------------------------------------------------------------------------------

def test_migration_15_upgrades_a_case_table_of_the_previous_release_and_moves_old_dismissals(
        rt: Runtime, people: dict[str, User]) -> None:
    """A case table as the previous release made it (without issue 30's columns), holding a
    case dismissed as "not_our_authority" and one dismissed as spam."""
    spam = case_in_status(rt, people, "new", 1)
    workflow.dismiss(rt, spam, people["admin"], "spam")
    other = case_in_status(rt, people, "new", 2)
    for index in ("case_resolved_at_resolution_due_at", "case_lapor_tracking_id"):
        database.execute_sql(f'DROP INDEX IF EXISTS "{index}"')
    for name in [name for name, _ in _CASE_COLUMNS_15] + ["referral_forwarded"]:
        database.execute_sql(f'ALTER TABLE "case" DROP COLUMN "{name}"')
    assert "referred_to" not in {c.name for c in database.get_columns("case")}
    Case.update(dismiss_reason="not_our_authority", status="not_complaint").where(
        Case.id == other.id).execute()
    number = next(n for n, _, apply in MIGRATIONS if apply is _migration_15)
    SchemaMigration.delete().where(SchemaMigration.number == number).execute()

    assert [f"{n:03d} {name}" for n, name, apply in MIGRATIONS if apply is _migration_15] == \
        migrate()

    moved, spam = Case.get_by_id(other.id), Case.get_by_id(spam.id)
    assert (moved.referred_to, moved.dismiss_reason, moved.outcome) == (
        UNRECORDED_AGENCY, None, "bukan_wewenang")
    assert (spam.referred_to, spam.dismiss_reason, spam.outcome) == (None, "spam", "dismissed")
    event = moved.events.where(Event.action == "referred").get()
    assert event.detail["migrated"] is True and event.actor_name == "system"
    assert migrate() == []
    assert "case_resolved_at_resolution_due_at" in {i.name for i in database.get_indexes("case")}


def test_the_old_dismiss_reason_keeps_its_word_in_a_case_history() -> None:
    from inbox.labels import DISMISS_REASONS, detail_value
    assert "not_our_authority" not in DISMISS_REASONS
    assert detail_value("reason", "not_our_authority").startswith("Bukan kewenangan")


def test_a_dismissal_cannot_use_the_old_reason(rt: Runtime, people: dict[str, User]) -> None:
    case = open_case(rt, 1)
    with pytest.raises(WorkflowError, match="tidak dikenal"):
        workflow.dismiss(rt, case, people["admin"], "not_our_authority")
    with pytest.raises(peewee.DoesNotExist):
        Event.get(Event.action == "dismissed")


# --- the case page's forms: the server checks every role ----------------------------------------

@pytest.mark.parametrize("role, action, data, status", [
    ("supervisor", "set_class", {"complaint_class": "ringan"}, 403),
    ("admin", "set_class", {"complaint_class": "ringan"}, 403),
    ("group_admin", "refer", {"agency": "bpjs_kesehatan"}, 403),
    ("division", "lapor", {"tracking_id": "1916449"}, 403),
    ("admin", "maladministration", {"maladministration": "tidak_patut"}, 403),
    ("group_admin", "set_class", {"complaint_class": "ringan", "text": "keluhan ringan"}, 302),
    ("group_admin", "maladministration", {"maladministration": "tidak_patut"}, 302),
    ("admin", "lapor", {"tracking_id": "1916449", "report_type": "aspirasi"}, 302),
    ("admin", "refer", {"agency": "bpjs_kesehatan"}, 302),
])
def test_the_case_page_runs_each_handling_action_only_for_its_roles(
        rt: Runtime, client_for: Any, role: str, action: str, data: dict[str, str],
        status: int) -> None:
    from tests.web_helpers import make_case, post_form
    case = make_case(rt, 1)
    client = client_for(role)
    response = post_form(client, f"/pengaduan/{case.id}/aksi/{action}", data)
    assert response.status_code == status
    changed = Case.get_by_id(case.id)
    values = (changed.complaint_class, changed.referred_to, changed.lapor_tracking_id,
              changed.maladministration)
    assert any(values) is (status == 302)


def test_a_refused_follow_up_keeps_what_the_officer_typed(rt: Runtime, client_for: Any) -> None:
    from tests.web_helpers import make_case, page_text, post_form
    case = make_case(rt, 1)
    handling.set_class(rt, case, User.get(User.username == "super1"), "normatif", note="uji")
    client = client_for("admin")
    response = post_form(client, f"/pengaduan/{case.id}/aksi/follow_up",
                         {"text": "  ", "message": "Kabar saya", "notify": "1"})
    assert response.status_code == 422
    assert "Tindak lanjut tidak boleh kosong" in page_text(response)
    assert "Kabar saya" in page_text(response)


def test_the_dashboard_never_counts_a_late_referral_as_a_late_answer(
        rt: Runtime, people: dict[str, User]) -> None:
    from inbox.web.dashboard import period_stats
    case = open_case(rt, 1, text="sertifikat tanah saya belum jadi")
    with time_machine.travel(wib(2026, 12, 3, 10), tick=False):   # after its due (26 Nov)
        handling.refer(rt, case, people["admin"], "pertanahan")
        deliver_everything(rt)
    assert fresh(case).answered_at > fresh(case).due_at
    stats = period_stats(wib(2026, 12, 1), wib(2027, 1, 1), wib(2026, 12, 4))
    assert (stats["answered"], stats["late"], stats["dismissed"]) == (0, 0, 0)
