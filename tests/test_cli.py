"""Every core command through ``main.main(argv)``."""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

import main
from inbox.models import Case, Event, Message, Outbox, User
from tests.conftest import PG_URL, reset_database
from tests.factories import jsonl_line, write_jsonl


def run(config_path: Path, *argv: str) -> int:
    return main.main(["--config", str(config_path), *argv])


@pytest.fixture
def cfg(config_path: Path) -> Path:
    """A config whose database is empty (PostgreSQL tables dropped first; on SQLite an empty
    file, as only `aduan init` and `aduan run` make one)."""
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime
    Runtime(load_config(config_path))
    if PG_URL:
        reset_database()
    return config_path


def test_init_is_idempotent_and_prints_the_first_password_once(cfg: Path, capsys) -> None:
    assert run(cfg, "init") == 0
    out = capsys.readouterr().out
    # issue 28: the migrations by number, not by their developers' English names
    assert re.search(r"skema database diperbarui: \d+ migrasi \(001–\d{3}\)", out)
    assert "kata sandi   :" in out
    assert run(cfg, "init") == 0
    again = capsys.readouterr().out
    assert "kata sandi" not in again and "migrasi" not in again
    assert User.select().count() == 1 and User.get().is_superuser


def test_the_first_password_works(cfg: Path, capsys) -> None:
    from werkzeug.security import check_password_hash
    run(cfg, "init")
    password = [l for l in capsys.readouterr().out.splitlines() if "kata sandi   :" in l][0].split(": ")[1]
    assert check_password_hash(User.get(User.username == "admin").password_hash, password)


def test_poll_prints_a_line_per_account_and_status_counts_cases(cfg: Path, capsys) -> None:
    assert run(cfg, "poll") == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("sandbox: ok — 12 pesan baru")
    assert run(cfg, "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["accounts"][0]["name"] == "sandbox"
    assert {"name", "kind", "last_poll_at", "last_error", "disabled_reason"} <= set(status["accounts"][0])
    assert status["cases"]["total"] == Case.select().count() > 0
    assert sum(status["cases"]["by_status"].values()) == status["cases"]["total"]
    assert status["cases"]["overdue"] == 0
    assert status["accounts"][0]["usage_today"]["resources"] == 12


def test_poll_of_an_unknown_account_is_a_user_error(cfg: Path, capsys) -> None:
    assert run(cfg, "poll", "--account", "nope") == 2
    assert capsys.readouterr().err.strip() == f"aduan: akun 'nope' tidak ada di {cfg}"


def test_import_stores_good_lines_and_reports_each_bad_one(cfg: Path, tmp_path: Path, capsys) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [
        jsonl_line(n=1),
        "{not json",
        jsonl_line(n=2, text=None) .replace('"text": null, ', ""),
        jsonl_line(n=3, created_at="2026-11-23T09:00:00"),
        jsonl_line(account="ghost", n=4),
        jsonl_line(n=5, author_id="u5"),
        "[1, 2]",
        jsonl_line(n=6, kind="tweet"),
    ])
    assert run(cfg, "import", "--jsonl", str(path)) == 1
    captured = capsys.readouterr()
    # what the officer reads is Indonesian, one line per rejected line
    assert captured.err.splitlines() == [
        "baris 2: bukan JSON yang sah (kolom 2)",
        "baris 3: kolom 'text' tidak ada",
        "baris 4: kolom 'created_at' tidak punya zona waktu (tambahkan +07:00 atau Z)",
        f"baris 5: akun 'ghost' tidak ada di {cfg}",
        "baris 7: harus berupa objek JSON ({...})",
        "baris 8: kolom 'kind' harus salah satu dari mention, comment, dm, post, bukan 'tweet'",
    ]
    assert captured.out.strip() == "2 pesan disimpan, 0 sudah ada, 6 baris ditolak"
    assert sorted(m.external_id for m in Message.select()) == ["1", "5"]


def test_the_same_jsonl_imported_twice_gives_an_identical_export(cfg: Path, tmp_path: Path, capsys) -> None:
    lines = [jsonl_line(n=i, author_id=f"u{i % 7}", thread_id=f"t{i % 11}",
                        created_at=f"2026-11-2{i % 5}T0{i % 9}:00:00+07:00") for i in range(60)]
    path = write_jsonl(tmp_path / "in.jsonl", lines)
    assert run(cfg, "import", "--jsonl", str(path)) == 0
    assert run(cfg, "export", "--format", "jsonl", "--out", str(tmp_path / "a.jsonl")) == 0
    assert run(cfg, "import", "--jsonl", str(path)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 pesan disimpan, 60 sudah ada, 0 baris ditolak"
    assert run(cfg, "export", "--format", "jsonl", "--out", str(tmp_path / "b.jsonl")) == 0
    a = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert a == (tmp_path / "b.jsonl").read_text(encoding="utf-8")
    assert sum(len(json.loads(l)["messages"]) for l in a.splitlines()) == 60


def test_export_jsonl_has_the_documented_fields_and_masks_personal_data(cfg: Path, tmp_path: Path,
                                                                        capsys) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [
        jsonl_line(n=1, text="NIK 3329015708900003 saya tidak aktif", public=False, kind="dm")])
    run(cfg, "import", "--jsonl", str(path))
    capsys.readouterr()
    assert run(cfg, "export", "--format", "jsonl") == 0
    case = json.loads(capsys.readouterr().out)
    for key in ("reference", "status", "account", "public", "opened_at", "due_at", "answered_at",
                "categories", "messages", "events"):
        assert key in case
    assert case["opened_at"].endswith("+00:00") and case["due_at"].endswith("+00:00")
    assert set(case["messages"][0]) >= {"external_id", "direction", "text", "created_at"}
    assert set(case["events"][0]) >= {"at", "actor", "action"}
    assert "3329015708900003" not in json.dumps(case)
    assert "nik_bermasalah" in case["categories"]


def test_an_unmasked_export_needs_a_superuser_and_is_recorded(cfg: Path, tmp_path: Path, capsys,
                                                              monkeypatch) -> None:
    run(cfg, "init")
    password = re.search(r"kata sandi\s*: (\S+)", capsys.readouterr().out).group(1)
    write_jsonl(tmp_path / "in.jsonl", [jsonl_line(n=1, text="NIK 3329015708900003")])
    run(cfg, "import", "--jsonl", str(tmp_path / "in.jsonl"))
    capsys.readouterr()
    assert run(cfg, "export", "--unmasked") == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert run(cfg, "export", "--unmasked", "--as", "admin") == 0
    assert "3329015708900003" in capsys.readouterr().out
    assert Event.get(Event.action == "export_unmasked").actor_name == "admin"


def test_export_csv_has_a_row_per_case(cfg: Path, tmp_path: Path, capsys) -> None:
    write_jsonl(tmp_path / "in.jsonl", [jsonl_line(n=1), jsonl_line(n=2, author_id="u2")])
    run(cfg, "import", "--jsonl", str(tmp_path / "in.jsonl"))
    capsys.readouterr()
    assert run(cfg, "export", "--format", "csv") == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("reference,status,account") and len(rows) == 3


def test_user_add_reads_the_password_from_stdin(cfg: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("rahasia-kuat-1\n"))
    assert run(cfg, "user", "add", "siti", "--role", "division", "--division", "capil") == 0
    user = User.get(User.username == "siti")
    assert user.role == "division" and user.division.code == "capil"
    monkeypatch.setattr(sys, "stdin", io.StringIO("pendek\n"))
    assert run(cfg, "user", "add", "budi", "--role", "admin") == 2
    assert "minimal 8 karakter" in capsys.readouterr().err
    assert run(cfg, "user", "add", "eko", "--role", "division", "--division", "kebun") == 2
    assert "bidang 'kebun' tidak ada" in capsys.readouterr().err


def test_import_of_a_missing_file_is_one_line(cfg: Path, capsys) -> None:
    assert run(cfg, "import", "--jsonl", "/nonexistent.jsonl") == 2
    assert capsys.readouterr().err == "aduan: /nonexistent.jsonl: berkas tidak ditemukan\n"


def test_status_in_text_form(cfg: Path, capsys) -> None:
    run(cfg, "poll")
    capsys.readouterr()
    assert run(cfg, "status") == 0
    out = capsys.readouterr().out
    assert out.startswith("sandbox") and "sehat" in out and "pengaduan:" in out
    assert "balasan:" not in out  # nothing waiting, nothing to say


def test_status_counts_replies_that_need_a_person(cfg: Path, capsys) -> None:
    run(cfg, "poll")
    case = Case.select().first()
    for status in ("failed", "uncertain", "pending", "sent"):
        Outbox.create(case=case, text="jawaban", public=case.public, purpose="answer", status=status)
    capsys.readouterr()
    assert run(cfg, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["outbox"] == {"failed": 1, "uncertain": 1, "pending": 1}
    assert run(cfg, "status") == 0
    assert ("balasan: gagal dikirim 1, menunggu dikirim 1, belum pasti terkirim 1  (periksa di halaman "
            "pengaduan)") in capsys.readouterr().out


def test_status_reads_in_indonesian_with_wib_times_and_counts_usage_by_the_wib_day(
        cfg: Path, capsys) -> None:
    import time_machine
    from datetime import datetime, timezone
    # 06.28 WIB on Wednesday 2 December is still 1 December in UTC
    with time_machine.travel(datetime(2026, 12, 1, 23, 28, tzinfo=timezone.utc), tick=False):
        assert run(cfg, "poll") == 0
        from inbox.models import Usage
        assert [u.day.isoformat() for u in Usage.select()] == ["2026-12-02"]
        capsys.readouterr()
        assert run(cfg, "status") == 0
        out = capsys.readouterr().out
        assert "terakhir 2 Des 2026 06.28 WIB" in out
        assert "(hari ini 1 permintaan, 12 item)" in out
        statuses = out.split("pengaduan: ")[1].split(";")[0]
        assert "baru " in statuses
        for name in ("new", "answered", "not_complaint", "escalated"):
            assert name not in out
        assert "T23:28" not in out and "+00:00" not in out
        assert run(cfg, "status", "--json") == 0  # the JSON form keeps English keys and ISO times
        data = json.loads(capsys.readouterr().out)
        assert data["accounts"][0]["last_success_at"].startswith("2026-12-01T23:28")
        assert data["accounts"][0]["usage_today"]["requests"] == 1


def test_export_csv_excel_has_semicolons_and_a_byte_order_mark(cfg: Path, tmp_path: Path) -> None:
    import csv
    assert run(cfg, "poll") == 0
    out = tmp_path / "kasus.csv"
    assert run(cfg, "export", "--format", "csv-excel", "--out", str(out)) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == Case.select().count() > 0
    assert rows[0]["reference"].startswith("ADU-") and rows[0]["status"]


def test_the_readme_import_example_line_imports(cfg: Path, tmp_path: Path, capsys) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("One line of an `import --jsonl` file")[1].split("```json\n")[1].split("\n```")[0]
    path = write_jsonl(tmp_path / "contoh.jsonl", [example])
    assert run(cfg, "import", "--jsonl", str(path)) == 0
    assert capsys.readouterr().out.strip() == "1 pesan disimpan, 0 sudah ada, 0 baris ditolak"
    assert Case.get().contact.handle == "budiamin111"
