"""``aduan case ...`` and ``aduan deliver`` through ``main.main(argv)``, on the sandbox channel."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.sandbox import read_sandbox_replies
from inbox.models import Case, Event, Outbox, Template, User
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from main import main
from tests.workflow_helpers import NIK, case_in_status, fresh, make_users, open_case

Aduan = Callable[..., tuple[int, str, str]]
DIVISION_ANSWER = "KTP-el Bapak/Ibu sudah dicetak dan bisa diambil di kantor kecamatan."


@pytest.fixture
def users(rt: Runtime) -> dict[str, User]:
    return make_users()


@pytest.fixture
def aduan(config_path: Path, capsys: pytest.CaptureFixture[str]) -> Aduan:
    """Run ``aduan ARGS`` with the test config; return (exit code, stdout, stderr)."""
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_the_whole_sop_runs_from_the_command_line_and_is_exported_step_by_step(
        rt: Runtime, users: dict[str, User], aduan: Aduan, tmp_path: Path) -> None:
    code, out, _ = aduan("poll")
    assert code == 0 and "sandbox: ok" in out
    case = Case.select().where(Case.status == "new").order_by(Case.id).first()
    assert case is not None
    ref = case.reference
    answer = tmp_path / "jawaban.txt"
    answer.write_text(DIVISION_ANSWER + "\n", encoding="utf-8")

    steps = [
        (("case", "escalate", ref, "--as", "admin1", "--note", "Mohon dijawab bidang"), "escalated"),
        (("case", "assign", ref, "--as", "grup1", "--division", "dafduk"), "at_division"),
        (("case", "answer", ref, "--as", "dafduk1", "--text-file", str(answer)), "division_answered"),
        (("case", "forward", ref, "--as", "admin1"), "replying"),
    ]
    for argv, status in steps:
        code, out, err = aduan(*argv)
        assert (code, err) == (0, ""), argv
        assert ref in out
        assert fresh(case).status == status
    code, out, _ = aduan("deliver")
    assert code == 0 and f"{ref} balasan" in out and "terkirim" in out
    assert fresh(case).status == "answered"

    [sent] = read_sandbox_replies(rt.data_dir, "sandbox")
    assert (sent["case_reference"], sent["text"]) == (ref, DIVISION_ANSWER)
    code, out, _ = aduan("deliver")
    assert code == 0 and "tidak ada balasan" in out
    assert len(read_sandbox_replies(rt.data_dir, "sandbox")) == 1

    code, out, _ = aduan("export", "--format", "jsonl")
    assert code == 0
    exported = {row["reference"]: row for row in map(json.loads, out.splitlines())}[ref]
    steps_seen = [(e["action"], e["actor"]) for e in exported["events"]]
    assert steps_seen == [("opened", "system"), ("escalated", "admin1"), ("assigned", "grup1"),
                          ("division_answered", "dafduk1"), ("reply_queued", "admin1"),
                          ("delivered", "system")]
    assert all(e["at"] for e in exported["events"])
    assert exported["status"] == "answered" and exported["answered_at"]
    assert exported["division"] == "dafduk"
    assert [m["direction"] for m in exported["messages"]][-1] == "out"


def test_a_refused_action_exits_1_with_the_reason_on_stderr(
        rt: Runtime, users: dict[str, User], aduan: Aduan) -> None:
    case = open_case(rt, 1)
    code, out, err = aduan("case", "escalate", case.reference, "--as", "pengawas1", "--note", "x")
    assert code == 1 and out == ""
    assert err.strip() == "aduan: Pengawas hanya boleh melihat pengaduan, tidak boleh mengubahnya."
    assert fresh(case).status == "new"


@pytest.mark.parametrize("argv,message", [
    (("case", "reply", "ADU-000000-0000", "--as", "admin1", "--text-file", "x"), "tidak ditemukan"),
    (("case", "reply", "{ref}", "--as", "nobody", "--text-file", "x"), "tidak ada atau tidak aktif"),
    (("case", "reply", "{ref}", "--as", "admin1", "--text-file", "/tidak/ada.txt"), "tidak ditemukan"),
    (("case", "reply", "{ref}", "--as", "dafduk1", "--text-file", "{file}"), "bukan untuk bidang Anda"),
    (("case", "assign", "{ref}", "--as", "admin1", "--division", "dafduk"), "Admin tidak boleh"),
    (("case", "confirm", "{ref}", "--as", "admin1", "--delivered", "yes"), "belum pasti"),
])
def test_mistakes_and_refusals_exit_1(rt: Runtime, users: dict[str, User], aduan: Aduan,
                                      tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    case = open_case(rt, 1)
    text = tmp_path / "balas.txt"
    text.write_text("Baik, kami cek.", encoding="utf-8")
    code, _, err = aduan(*(a.format(ref=case.reference, file=text) for a in argv))
    assert code == 1 and message in err and "Traceback" not in err


def test_a_division_user_cannot_send_to_the_citizen_from_the_command_line(
        rt: Runtime, users: dict[str, User], aduan: Aduan, tmp_path: Path) -> None:
    case = case_in_status(rt, users, "division_answered", 1)
    code, _, err = aduan("case", "forward", case.reference, "--as", "dafduk1")
    assert code == 1 and "tidak mengirim jawaban langsung kepada warga" in err
    assert Outbox.select().count() == 0


def test_a_public_reply_with_a_nik_is_refused_by_default(
        rt: Runtime, users: dict[str, User], aduan: Aduan, tmp_path: Path) -> None:
    case = open_case(rt, 1, public=True)
    text = tmp_path / "balas.txt"
    text.write_text(f"NIK {NIK} sudah aktif", encoding="utf-8")
    code, _, err = aduan("case", "reply", case.reference, "--as", "admin1", "--text-file", str(text),
                         "--confirm-personal-data")
    assert code == 1 and "data pribadi" in err and NIK not in err


def test_list_and_show_mask_personal_data(rt: Runtime, users: dict[str, User],
                                          aduan: Aduan) -> None:
    case = open_case(rt, 1, text=f"NIK saya {NIK} tidak aktif, mohon dicek")
    dismissed = case_in_status(rt, users, "not_complaint", 2)
    code, out, _ = aduan("case", "list")
    assert code == 0 and case.reference in out and dismissed.reference in out and NIK not in out
    code, out, _ = aduan("case", "list", "--status", "new", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["reference"] for r in rows] == [case.reference]
    assert NIK not in out and rows[0]["status_label"] == "Baru"
    code, out, _ = aduan("case", "show", case.reference)
    assert code == 0 and case.reference in out and NIK not in out
    code, out, _ = aduan("case", "show", case.reference, "--json")
    data = json.loads(out)
    assert data["messages"][0]["direction"] == "in" and NIK not in out
    assert [e["action"] for e in data["events"]] == ["opened"]


def test_list_as_a_division_user_shows_only_its_cases(
        rt: Runtime, users: dict[str, User], aduan: Aduan) -> None:
    mine = case_in_status(rt, users, "at_division", 1)
    other = open_case(rt, 2)
    code, out, _ = aduan("case", "list", "--as", "dafduk1")
    assert mine.reference in out and other.reference not in out
    code, _, err = aduan("case", "show", other.reference, "--as", "dafduk1")
    assert code == 1 and "bukan untuk bidang Anda" in err


def test_dismiss_note_and_template_reply_from_the_command_line(
        rt: Runtime, users: dict[str, User], aduan: Aduan) -> None:
    spam = open_case(rt, 1, text="slot gacor maxwin")
    code, out, _ = aduan("case", "dismiss", spam.reference, "--as", "admin1", "--reason", "spam")
    assert code == 0 and fresh(spam).status == "not_complaint" and "Spam" in out
    code, _, _ = aduan("case", "note", spam.reference, "--as", "grup1", "--text", "akun bot")
    assert code == 0 and Event.select().where(Event.case == spam).count() == 3
    case = open_case(rt, 2, author="siti")
    Template.create(name="syarat-ktp", text="Halo {nama}, syarat KTP-el: KK asli. ({nomor})")
    code, out, _ = aduan("case", "reply", case.reference, "--as", "admin1", "--template", "syarat-ktp")
    assert code == 0
    assert Outbox.get().text == f"Halo Warga siti, syarat KTP-el: KK asli. ({case.reference})"


def test_an_uncertain_reply_is_settled_from_the_command_line(
        rt: Runtime, users: dict[str, User], aduan: Aduan) -> None:
    case = open_case(rt, 1)
    row = workflow.reply(rt, case, users["admin"], "Baik, kami cek.")
    Outbox.update(status="uncertain").where(Outbox.id == row.id).execute()
    code, _, err = aduan("case", "confirm", case.reference, "--as", "pengawas1", "--delivered", "yes")
    assert code == 1 and err
    code, out, _ = aduan("case", "confirm", case.reference, "--as", "admin1", "--delivered", "no")
    assert code == 0 and "dikirim lagi" in out
    assert Outbox.get_by_id(row.id).status == "pending"
    code, out, _ = aduan("deliver")
    assert code == 0 and "terkirim" in out
    assert fresh(case).status == "answered"
    assert len(read_sandbox_replies(rt.data_dir, "sandbox")) == 1


def test_show_names_events_purposes_and_reply_states_in_indonesian(
        rt: Runtime, users: dict[str, User], aduan: Aduan, tmp_path: Path) -> None:
    case = open_case(rt, 1, text="KTP-el saya belum jadi sejak bulan lalu")
    answer = tmp_path / "jawaban.txt"
    answer.write_text("KTP-el sudah dicetak, silakan ambil di kecamatan.", encoding="utf-8")
    assert aduan("case", "reply", case.reference, "--as", "admin1", "--text-file", str(answer))[0] == 0
    code, out, _ = aduan("case", "show", case.reference)
    assert code == 0
    assert "sistem: Pengaduan masuk" in out
    assert "admin1: Balasan disiapkan untuk dikirim (Jenis: Jawaban" in out
    assert "balasan #1 (jawaban): menunggu dikirim" in out
    for english in ("opened", "reply_queued", "answer)", "pending", "purpose"):
        assert english not in out, english
