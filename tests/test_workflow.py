"""The SOP state machine: who may do what in which status, and what each step writes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inbox.arrive.ingest import ingest
from inbox.models import STATUS_LABELS, Account, Case, CaseCategory, Event, Outbox, Template, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from inbox.sop.workflow import WorkflowError
from tests.factories import msg
from tests.workflow_helpers import (NIK, ROLE_KEYS, FakeConnector, case_in_status, fresh,
                                    make_users, open_case, runtime_with, use_connector)

STATUSES = tuple(STATUS_LABELS)
EVERY = set(STATUSES)

# The SOP, written out independently of inbox.sop.workflow.RULES: action -> role -> statuses.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "reply": {"admin": {"new"}, "group_admin": {"escalated"}, "superuser": {"new", "escalated"}},
    "escalate": {"admin": {"new"}, "superuser": {"new"}},
    "assign": {"group_admin": {"escalated", "at_division"},
               "superuser": {"escalated", "at_division"}},
    "division_answer": {"division": {"at_division"}, "superuser": {"at_division"}},
    "forward": {"admin": {"division_answered"}, "superuser": {"division_answered"}},
    "dismiss": {"admin": {"new"}, "superuser": {"new"}},
    # A division user acts only on its own bidang's cases: those with the division set.
    "note": {"admin": EVERY, "group_admin": EVERY, "division": {"at_division", "division_answered"},
             "superuser": EVERY},
    "categorise": {"admin": EVERY, "group_admin": EVERY, "superuser": EVERY},
}


def perform(rt: Runtime, action: str, case: Case, user: User) -> Any:
    if action == "reply":
        return workflow.reply(rt, case, user, "Terima kasih, kami bantu cek.")
    if action == "escalate":
        return workflow.escalate(rt, case, user, "mohon bantuan")
    if action == "assign":
        return workflow.assign_division(rt, case, user, "dafduk")
    if action == "division_answer":
        return workflow.division_answer(rt, case, user, "Sudah kami proses.")
    if action == "forward":
        return workflow.forward(rt, case, user)
    if action == "dismiss":
        return workflow.dismiss(rt, case, user, "spam")
    if action == "note":
        return workflow.add_note(rt, case, user, "cek arsip")
    if action == "categorise":
        return workflow.set_categories(rt, case, user, ["ktp_el"])
    raise AssertionError(action)


@pytest.fixture
def users(rt: Runtime) -> dict[str, User]:
    return make_users()


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("role", ROLE_KEYS)
def test_each_role_may_do_each_action_only_in_the_sop_statuses(
        rt: Runtime, users: dict[str, User], role: str, action: str) -> None:
    allowed = EXPECTED[action].get(role, set())
    for n, status in enumerate(STATUSES):
        case = case_in_status(rt, users, status, n)
        user = users[role]
        assert (action in workflow.allowed_actions(user, case)) == (status in allowed), status
        before = Event.select().where(Event.case == case).count()
        if status in allowed:
            perform(rt, action, case, user)
            assert Event.select().where(Event.case == case).count() == before + 1, status
        else:
            with pytest.raises(WorkflowError) as refused:
                perform(rt, action, case, user)
            message = str(refused.value)
            assert message.endswith(".") and "\n" not in message
            assert fresh(case).status == status
            assert Event.select().where(Event.case == case).count() == before, status


def test_a_division_user_cannot_see_or_touch_another_divisions_case(
        rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "at_division", 1, division="dafduk")
    other = users["division_other"]
    assert not workflow.can_view(other, case)
    assert workflow.allowed_actions(other, case) == []
    assert list(workflow.visible_cases(other)) == []
    assert [c.id for c in workflow.visible_cases(users["division"])] == [case.id]
    with pytest.raises(WorkflowError, match="bukan untuk bidang Anda"):
        workflow.division_answer(rt, case, other, "jawaban")


def test_a_division_user_never_sends_to_the_citizen(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "division_answered", 1)
    for action in (workflow.reply, workflow.forward):
        with pytest.raises(WorkflowError, match="tidak mengirim jawaban langsung kepada warga"):
            action(rt, case, users["division"], "langsung ke warga")
    assert Outbox.select().count() == 0


def test_a_supervisor_sees_everything_and_changes_nothing(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "at_division", 1)
    supervisor = users["supervisor"]
    assert workflow.can_view(supervisor, case)
    assert [c.id for c in workflow.visible_cases(supervisor)] == [case.id]
    assert workflow.allowed_actions(supervisor, case) == []
    with pytest.raises(WorkflowError, match="Pengawas hanya boleh melihat"):
        workflow.add_note(rt, case, supervisor, "catatan")


def test_an_inactive_user_is_refused(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1)
    admin = users["admin"]
    admin.active = False
    admin.save()
    assert not workflow.can_view(admin, case)
    with pytest.raises(WorkflowError, match="tidak aktif"):
        workflow.escalate(rt, case, admin, "tolong")


def test_the_sop_path_records_each_step_with_its_actor_and_time(
        rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1)
    workflow.escalate(rt, case, users["admin"], "Saya tidak bisa menjawab sendiri")
    assert (case.status, case.queue) == ("escalated", "group_admin")
    workflow.assign_division(rt, fresh(case), users["group_admin"], "dafduk", note="urgent")
    case = fresh(case)
    assert (case.status, case.queue, case.division.code) == ("at_division", "division", "dafduk")
    workflow.division_answer(rt, case, users["division"], "KTP Ibu sudah dicetak.")
    case = fresh(case)
    assert (case.status, case.queue) == ("division_answered", "admin")
    assert workflow.division_answer_text(case) == "KTP Ibu sudah dicetak."
    row = workflow.forward(rt, case, users["admin"])
    case = fresh(case)
    assert case.status == "replying" and row.text == "KTP Ibu sudah dicetak."
    assert (row.purpose, row.status, row.public, row.created_by_id) == (
        "answer", "pending", True, users["admin"].id)
    events = [(e.action, e.actor_name) for e in case.events.order_by(Event.id)]
    assert events == [("opened", "system"), ("escalated", "admin1"), ("assigned", "grup1"),
                      ("division_answered", "dafduk1"), ("reply_queued", "admin1")]
    assigned = case.events.where(Event.action == "assigned").get()
    assert assigned.detail == {"division": "dafduk", "note": "urgent"}
    queued = case.events.where(Event.action == "reply_queued").get()
    assert queued.detail["outbox_id"] == row.id and queued.detail["purpose"] == "answer"
    assert case.escalated_at and case.division_answered_at and case.answered_at is None


def test_the_admin_may_edit_the_division_answer_before_forwarding(
        rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "division_answered", 1)
    row = workflow.forward(rt, case, users["admin"], "Halo Kak, KTP sudah dicetak. Silakan ambil.")
    assert row.text == "Halo Kak, KTP sudah dicetak. Silakan ambil."


def test_the_group_admin_may_answer_an_escalated_case_directly(
        rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "escalated", 1)
    row = workflow.reply(rt, case, users["group_admin"], "Syaratnya fotokopi KK.")
    assert fresh(case).status == "replying" and row.created_by_id == users["group_admin"].id


def test_the_group_admin_may_re_route_a_case_to_another_division(
        rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "at_division", 1)
    workflow.assign_division(rt, case, users["group_admin"], "capil")
    assert fresh(case).division.code == "capil"
    assert not workflow.can_view(users["division"], fresh(case))


@pytest.mark.parametrize("call,message", [
    (lambda rt, c, u: workflow.escalate(rt, c, u["admin"], "   "), "tidak boleh kosong"),
    (lambda rt, c, u: workflow.reply(rt, c, u["admin"], ""), "tidak boleh kosong"),
    (lambda rt, c, u: workflow.dismiss(rt, c, u["admin"], "bosan"), "tidak dikenal"),
    (lambda rt, c, u: workflow.add_note(rt, c, u["admin"], ""), "tidak boleh kosong"),
])
def test_an_empty_text_or_unknown_reason_is_refused(rt: Runtime, users: dict[str, User],
                                                    call: Any, message: str) -> None:
    case = open_case(rt, 1)
    with pytest.raises(WorkflowError, match=message):
        call(rt, case, users)
    assert fresh(case).status == "new"


def test_an_unknown_division_is_refused(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "escalated", 1)
    with pytest.raises(WorkflowError, match="Bidang \"humas\" tidak ada"):
        workflow.assign_division(rt, case, users["group_admin"], "humas")


def test_dismissing_closes_the_case_with_its_reason_and_no_deadline(
        rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1, text="makasih min")
    workflow.dismiss(rt, case, users["admin"], "thanks")
    case = fresh(case)
    assert (case.status, case.dismiss_reason, case.due_at) == ("not_complaint", "thanks", None)
    assert case.closed_at is not None
    assert case.events.where(Event.action == "dismissed").get().detail == {"reason": "thanks"}
    # issue 30: another agency's matter is the outcome "bukan wewenang", no dismissal reason
    assert set(workflow.DISMISS_REASONS) == {"thanks", "spam", "greeting", "duplicate"}


def test_a_second_officer_acting_on_a_stale_page_is_refused(rt: Runtime, users: dict[str, User]) -> None:
    seen_by_first = open_case(rt, 1)
    seen_by_second = fresh(seen_by_first)
    workflow.escalate(rt, seen_by_first, users["admin"], "tolong")
    with pytest.raises(WorkflowError, match="baru saja diubah"):
        workflow.reply(rt, seen_by_second, users["superuser"], "jawaban")
    assert Outbox.select().count() == 0
    assert fresh(seen_by_first).status == "escalated"


def test_a_public_reply_with_personal_data_is_blocked(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1, public=True)
    with pytest.raises(WorkflowError, match="data pribadi"):
        workflow.reply(rt, case, users["admin"], f"NIK {NIK} sudah aktif",
                       confirm_personal_data=True)
    assert fresh(case).status == "new" and Outbox.select().count() == 0


def test_a_private_reply_may_carry_personal_data(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1, public=False)
    row = workflow.reply(rt, case, users["admin"], f"NIK {NIK} sudah aktif kembali.")
    assert row.public is False and fresh(case).status == "replying"


def test_with_privacy_warn_a_public_reply_with_personal_data_needs_confirmation(tmp_path: Path) -> None:
    with runtime_with(tmp_path, extra='\n[privacy]\npublic_reply_with_personal_data = "warn"\n') as rt:
        users = make_users()
        case = open_case(rt, 1, public=True)
        with pytest.raises(WorkflowError, match="beri konfirmasi"):
            workflow.reply(rt, case, users["admin"], f"NIK {NIK} sudah aktif")
        row = workflow.reply(rt, case, users["admin"], f"NIK {NIK} sudah aktif",
                             confirm_personal_data=True)
        event = Event.get(Event.action == "reply_queued")
        assert row.public and event.detail["personal_data_confirmed"] is True


def test_the_personal_data_warning_is_masked(rt: Runtime) -> None:
    warnings = workflow.personal_data_warning(f"NIK saya {NIK}")
    assert warnings and all(NIK not in w for w in warnings)
    assert workflow.personal_data_warning("KTP saya belum jadi") == []


def test_templates_fill_name_number_deadline_and_office(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1, author="siti")
    template = Template.create(name="terima", text="Halo {nama}, nomor {nomor}, paling lambat "
                                                   "{batas_waktu}. Salam, {kantor}. {lain}")
    text = workflow.render_template(rt, template.text, case)
    # Opened Monday 23 Nov 2026: due the 3rd working day after, Thursday 26 Nov, 16.00 WIB.
    assert text == (f"Halo Warga siti, nomor {case.reference}, paling lambat Kamis, 26 November "
                    f"2026 pukul 16.00 WIB. Salam, Dukcapil Brebes. {{lain}}")


def test_notes_are_internal_and_visible_to_the_division(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "at_division", 1)
    event = workflow.add_note(rt, case, users["division"], "berkas ada di loket 3")
    assert (event.action, event.detail, event.actor_name) == ("note", {"text": "berkas ada di loket 3"},
                                                               "dafduk1")
    assert Outbox.select().count() == 0


def test_a_persons_categories_win_and_are_indexed(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1)
    workflow.set_categories(rt, case, users["admin"], ["akta_kelahiran", "ktp_el"], intent="question")
    case = fresh(case)
    assert case.effective_categories == ["akta_kelahiran", "ktp_el"]
    assert case.effective_intent == "question"
    assert sorted(r.code for r in CaseCategory.select().where(CaseCategory.case == case)) == [
        "akta_kelahiran", "ktp_el"]
    assert Event.get(Event.action == "categories_changed").detail["after"] == [
        "akta_kelahiran", "ktp_el"]


def test_a_citizen_writing_again_reopens_an_answered_case_for_the_admin(
        rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "answered", 1)
    assert case.answered_at is not None
    ingest(Account.get(Account.name == "sandbox"),
           [msg("in-1b", thread="thread-1", author="warga1", text="tapi KK saya juga salah min")],
           None, rt.ingest_options)
    case = fresh(case)
    assert (case.status, case.queue, case.reopen_count) == ("new", "admin", 1)
    assert "reply" in workflow.allowed_actions(users["admin"], case)
    workflow.reply(rt, case, users["admin"], "Untuk KK silakan ke kecamatan.")
    use_connector(rt, FakeConnector())
    assert deliver_one(rt, "w")
    assert fresh(case).status == "answered"


def test_uncertain_replies_are_settled_only_by_admins(rt: Runtime, users: dict[str, User]) -> None:
    case = open_case(rt, 1)
    row = workflow.reply(rt, case, users["admin"], "Baik, kami cek.")
    Outbox.update(status="uncertain").where(Outbox.id == row.id).execute()
    assert "confirm_delivery" in workflow.allowed_actions(users["admin"], fresh(case))
    assert "confirm_delivery" not in workflow.allowed_actions(users["supervisor"], fresh(case))
    with pytest.raises(WorkflowError):
        workflow.confirm_delivery(rt, Outbox.get_by_id(row.id), users["supervisor"], True)
    Outbox.update(status="sent").where(Outbox.id == row.id).execute()
    with pytest.raises(WorkflowError, match="tidak berstatus belum pasti"):
        workflow.confirm_delivery(rt, Outbox.get_by_id(row.id), users["admin"], True)


def test_refusals_are_in_indonesian_and_name_the_status(rt: Runtime, users: dict[str, User]) -> None:
    case = case_in_status(rt, users, "escalated", 1)
    with pytest.raises(WorkflowError) as refused:
        workflow.escalate(rt, case, users["admin"], "lagi")
    assert str(refused.value) == (
        f"Pengaduan {case.reference} berstatus \"Diteruskan ke Group Admin\"; meneruskan pengaduan "
        f"ke Group Admin hanya bisa saat berstatus \"Baru\".")
    with pytest.raises(WorkflowError) as refused:
        workflow.escalate(rt, case, users["group_admin"], "lagi")
    assert str(refused.value) == "Group Admin tidak boleh meneruskan pengaduan ke Group Admin."
