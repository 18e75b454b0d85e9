"""aduan backup and aduan restore through ``main.main``: round trips, refusals, rotation, health."""
from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

import main
from inbox.models import BackupRun, Case
from inbox.records.schedule import backup_due, backup_health, finished_backups, rotate
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from tests.conftest import PG_URL, write_config
from tests.web_helpers import make_case, make_users

NIK = "3329014503900003"


def run(config: Path, *argv: str) -> int:
    return main.main(["--config", str(config), *argv])


def export(config: Path, out: Path) -> list[dict]:
    """The unmasked export, the superuser typing its password (issue 20) on standard input."""
    import io
    import sys
    from tests.web_helpers import PASSWORD
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
    try:
        assert run(config, "export", "--format", "jsonl", "--unmasked", "--as", "super1",
                   "--out", str(out)) == 0
    finally:
        sys.stdin = stdin
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def office(rt: Runtime, tmp_path: Path) -> Path:
    """A database with cases (one holding a NIK), a superuser and one stored attachment file."""
    make_users()
    for n in range(5):
        make_case(rt, n, text=f"KTP saya belum jadi, NIK {NIK} nomor {n}")
    photo = rt.data_dir / "attachments" / "2026" / "11" / "foto-1.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    return rt.config.path


def only_backup(config: Path) -> Path:
    found = finished_backups(load_config(config).data_dir / "backups", load_config(config))
    assert len(found) == 1
    return found[0].path


def test_a_restore_round_trip_gives_the_same_unmasked_export(office: Path, tmp_path: Path,
                                                             capsys) -> None:
    before = export(office, tmp_path / "before.jsonl")
    assert run(office, "backup") == 0
    out = capsys.readouterr().out
    archive = only_backup(office)
    assert f"cadangan ditulis dan diperiksa: {archive}" in out and "1 lampiran" in out
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json" and "attachments/2026/11/foto-1.jpg" in names
    assert manifest["tables"]["case"] == 5 and manifest["tables"]["message"] == 5
    assert manifest["attachments"] == {"files": 1, "bytes": 4 + 256 * 40}
    assert archive.name.startswith("aduan-dukcapil-brebes-") and archive.name.endswith("-WIB.tar.gz")

    # The office loses data: two cases and the photo.
    Case.delete().where(Case.id.in_([c.id for c in Case.select().limit(2)])).execute()
    photo = load_config(office).data_dir / "attachments" / "2026" / "11" / "foto-1.jpg"
    original_photo = photo.read_bytes()
    photo.unlink()
    assert run(office, "restore", str(archive)) == 1
    assert "tambahkan --force" in capsys.readouterr().err
    assert run(office, "restore", str(archive), "--force") == 0
    printed = capsys.readouterr().out
    # issue 28: tables named in words ("pengaduan 5", not "case 5")
    assert "pengaduan 5" in printed and "lampiran: 1 berkas" in printed
    assert export(office, tmp_path / "after.jsonl") == before
    assert photo.read_bytes() == original_photo


@pytest.mark.skipif(bool(PG_URL), reason="the webhook spool is SQLite's; PostgreSQL stores a row at once")
def test_a_webhook_delivery_answered_before_a_backup_is_in_it(office: Path, rt: Runtime,
                                                               tmp_path: Path) -> None:
    """The receiver answers 200 once the delivery is in the spool folder; Meta never sends it
    again, so a backup taken while the daemon has not moved it into a row must still hold it."""
    import sqlite3
    from inbox.arrive import webhooks
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    names = [webhooks.spool(rt, body) for _ in range(3)]
    assert webhooks.spooled(rt) == sorted(names)
    assert run(office, "backup") == 0
    assert webhooks.spooled(rt) == []
    with tarfile.open(only_backup(office), "r:gz") as tar:
        tar.extract("database.sqlite", tmp_path, filter="data")
    copy = sqlite3.connect(tmp_path / "database.sqlite")
    stored = sorted(name for (name,) in copy.execute(
        "SELECT spool_name FROM webhook_delivery WHERE status = 'pending'"))
    copy.close()
    assert stored == sorted(names)


@pytest.mark.skipif(bool(PG_URL), reason="--to a second SQLite file; PostgreSQL has its own test")
def test_restore_to_a_new_database_url_gives_the_same_export(office: Path, tmp_path: Path) -> None:
    before = export(office, tmp_path / "before.jsonl")
    assert run(office, "backup", "--out", str(tmp_path / "usb")) == 0
    archive = next((tmp_path / "usb").glob("aduan-*.tar.gz"))
    other = tmp_path / "other" / "restored.db"
    assert run(office, "restore", str(archive), "--to", f"sqlite:///{other}") == 0
    copy = write_config(tmp_path / "other", url=f"sqlite:///{other}")
    assert export(copy, tmp_path / "after.jsonl") == before


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only")
def test_postgresql_backup_is_a_pg_dump_and_refuses_a_sqlite_target(office: Path, tmp_path: Path,
                                                                  capsys) -> None:
    assert run(office, "backup") == 0
    archive = only_backup(office)
    with tarfile.open(archive, "r:gz") as tar:
        assert "database.pgdump" in tar.getnames()
        assert tar.extractfile("database.pgdump").read(5) == b"PGDMP"
    assert run(office, "restore", str(archive), "--to", f"sqlite:///{tmp_path / 'x.db'}") == 1
    assert "berisi database postgresql" in capsys.readouterr().err


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only")
def test_a_postgresql_restore_leaves_the_search_indexes_to_the_daemon(office: Path, rt: Runtime,
                                                                      capsys) -> None:
    """The text-search indexes were most of a year's restore: the restore leaves them out,
    search still finds, and the daemon builds them once, under a lock, an invalid one again."""
    import psycopg2
    from inbox.db import database
    from inbox.models import PG_SEARCH_INDEXES
    from inbox.run.daemon import Daemon
    from inbox.setup.migrations import SEARCH_INDEX_LOCK, absent_search_indexes, build_search_indexes
    from inbox.web.queries import search_condition
    names = [name for name, _, _ in PG_SEARCH_INDEXES]
    assert absent_search_indexes() == []
    assert run(office, "backup") == 0
    assert run(office, "restore", str(only_backup(office)), "--force") == 0
    assert "indeks pencarian teks dibangun ulang di latar belakang" in capsys.readouterr().out
    assert absent_search_indexes() == names
    found = Case.select(Case.id).where(search_condition("nomor 3"))
    assert [c.id for c in found] == [Case.get(Case.summary.contains("nomor 3")).id]

    other = psycopg2.connect(PG_URL)  # another worker building them: this one leaves it be
    other.cursor().execute("SELECT pg_advisory_lock(%s, %s)", SEARCH_INDEX_LOCK)
    assert build_search_indexes() == [] and absent_search_indexes() == names
    other.close()

    builder = Daemon(rt).start_search_index_builder()
    builder.join(timeout=60)
    assert not builder.is_alive() and absent_search_indexes() == []
    assert build_search_indexes() == []
    assert [c.id for c in found.clone()] == [Case.get(Case.summary.contains("nomor 3")).id]
    # A build stopped half-way leaves an index PostgreSQL marks invalid: it is built again.
    database.execute_sql("UPDATE pg_index SET indisvalid = false "
                         "WHERE indexrelid = 'message_text_trgm'::regclass")
    assert absent_search_indexes() == ["message_text_trgm"]
    assert build_search_indexes() == ["message_text_trgm"]
    assert absent_search_indexes() == []


def tampered(archive: Path, target: Path) -> Path:
    """A copy of ``archive`` whose database bytes were changed after the manifest was written."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("database."):
                data = data[:-10] + b"0123456789"
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def test_restore_refuses_a_foreign_or_damaged_file_with_one_sentence(office: Path, tmp_path: Path,
                                                                    capsys) -> None:
    assert run(office, "backup") == 0
    archive = only_backup(office)
    capsys.readouterr()
    foreign_tar = tmp_path / "foto.tar.gz"
    with tarfile.open(foreign_tar, "w:gz") as tar:
        tar.add(archive, arcname="holiday.jpg")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("bukan arsip", encoding="utf-8")
    wrong_format = tmp_path / "other.tar.gz"
    with tarfile.open(wrong_format, "w:gz") as tar:
        body = json.dumps({"format": "something-else"}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    cases = {
        foreign_tar: "bukan berkas cadangan aduan (manifest.json tidak ada",
        truncated: "bukan cadangan aduan atau berkasnya rusak/terpotong",
        not_gzip: "bukan cadangan aduan atau berkasnya rusak/terpotong",
        wrong_format: "format manifest tidak dikenal",
        tampered(archive, tmp_path / "tampered.tar.gz"): "tidak sama dengan yang dicatat manifest",
        tmp_path / "missing.tar.gz": "berkas tidak ditemukan",
    }
    before = Case.select().count()
    for path, reason in cases.items():
        assert run(office, "restore", str(path), "--force") == 1, path
        err = capsys.readouterr().err
        assert err.startswith("aduan: pemulihan ditolak: ") and reason in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert Case.select().count() == before


def test_rotation_keeps_7_daily_4_weekly_12_monthly_over_400_days(rt: Runtime, tmp_path: Path) -> None:
    config, folder = rt.config, tmp_path / "rotated"
    folder.mkdir()
    (folder / "notes.txt").write_text("milik petugas", encoding="utf-8")
    other_office = folder / "aduan-dukcapil-tegal-20260101-160000-WIB.tar.gz"
    other_office.write_bytes(b"x")
    start = datetime(2025, 10, 1, 16, 30, tzinfo=config.tz)
    for day in range(400):
        moment = start + timedelta(days=day)
        with time_machine.travel(moment, tick=False):
            name = f"aduan-dukcapil-brebes-{moment:%Y%m%d-%H%M%S}-WIB.tar.gz"
            (folder / name).write_bytes(b"backup")
            rotate(config, folder, moment.astimezone(timezone.utc))
    last = (start + timedelta(days=399)).date()
    kept = {f.at.date() for f in finished_backups(folder, config)}
    daily = {last - timedelta(days=n) for n in range(7)}
    # the newest of each of the last 4 ISO weeks: last (a Wednesday) and the 3 Sundays before it
    weekly = {last} | {last - timedelta(days=last.isoweekday() + 7 * n) for n in range(3)}
    monthly = {last}
    day = last.replace(day=1)
    while len(monthly) < 12:
        day -= timedelta(days=1)  # the last day of each earlier month
        monthly.add(day)
        day = day.replace(day=1)
    assert last.isoweekday() == 3
    assert kept == daily | weekly | monthly
    assert len(kept) == len(daily | weekly | monthly) <= 23
    assert min(kept) == datetime(2025, 12, 31).date()
    assert (folder / "notes.txt").exists() and other_office.exists()


def test_a_partial_file_is_never_a_backup_and_is_removed_when_a_day_old(rt: Runtime,
                                                                       tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    partial = folder / ".aduan-dukcapil-brebes-20261201-160000-WIB.tar.gz.partial"
    partial.write_bytes(b"half")
    assert finished_backups(folder, rt.config) == []
    now = datetime.now(timezone.utc)
    assert rotate(rt.config, folder, now) == [] and partial.exists()
    assert rotate(rt.config, folder, now + timedelta(days=2)) == [partial] and not partial.exists()


def test_status_and_dashboard_warn_when_backups_stop_or_fail(office: Path, tmp_path: Path,
                                                             capsys) -> None:
    from inbox.web.app import create_app
    from tests.web_helpers import login, page_text
    config = load_config(office)
    assert backup_health(config)["warning"] == "Belum ada cadangan database; jalankan aduan backup"
    assert run(office, "backup") == 0
    health = backup_health(config)
    assert health["warning"] is None and health["last_good_path"] == str(only_backup(office))
    capsys.readouterr()
    assert run(office, "status") == 0
    # issue 28: the last backup in words and WIB ("5 Desember 2026 01.58 WIB"), not ISO
    assert re.search(r"cadangan: terakhir \d{1,2} \w+ 20\d\d \d\d\.\d\d WIB",
                     capsys.readouterr().out)

    three_days = datetime.now(timezone.utc) + timedelta(days=3)
    assert "lebih dari 2 hari" in backup_health(config, three_days)["warning"]

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder should be", encoding="utf-8")
    assert run(office, "backup", "--out", str(blocked / "sub")) == 1
    err = capsys.readouterr().err
    assert err.startswith("aduan: cadangan gagal: ") and "folder cadangan tidak bisa dibuat" in err
    assert BackupRun.select().where(BackupRun.status == "failed").count() == 1
    assert run(office, "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["backup"]["warning"].startswith("Pencadangan terakhir GAGAL: ")

    rt = Runtime(config)
    client = create_app(rt, testing=True).test_client()
    login(client, "super1")
    page = page_text(client.get("/dasbor"))
    assert "Cadangan data:</strong> Pencadangan terakhir GAGAL" in page

    # The next good backup clears the warning.
    assert run(office, "backup") == 0
    assert backup_health(config)["warning"] is None
    assert "backup-warning" not in page_text(client.get("/dasbor"))


def test_the_daemon_backs_up_daily_after_the_recap(office: Path) -> None:
    from recap.make import make_daily_recap
    config = load_config(office)
    rt = Runtime(config)
    tz = config.tz
    monday = datetime(2026, 11, 23, tzinfo=tz)
    assert not backup_due(rt, datetime(2026, 11, 23, 15, 59, tzinfo=tz))
    assert not backup_due(rt, datetime(2026, 11, 23, 16, 5, tzinfo=tz))  # the recap is not made yet
    assert backup_due(rt, datetime(2026, 11, 23, 17, 1, tzinfo=tz))  # an hour later, anyway
    with time_machine.travel(datetime(2026, 11, 23, 16, 1, tzinfo=tz), tick=False):
        make_daily_recap(rt, monday.date())
    assert backup_due(rt, datetime(2026, 11, 23, 16, 5, tzinfo=tz))
    assert backup_due(rt, datetime(2026, 11, 28, 16, 0, tzinfo=tz))  # Saturday: no recap to wait for
    BackupRun.create(started_at=datetime(2026, 11, 23, 16, 5, tzinfo=tz), status="failed", error="x")
    assert not backup_due(rt, datetime(2026, 11, 23, 16, 30, tzinfo=tz))  # retried after an hour
    assert backup_due(rt, datetime(2026, 11, 23, 17, 10, tzinfo=tz))
    BackupRun.create(started_at=datetime(2026, 11, 23, 17, 10, tzinfo=tz), status="ok", path="x")
    assert not backup_due(rt, datetime(2026, 11, 23, 23, 0, tzinfo=tz))
    assert not backup_due(rt, datetime(2026, 11, 24, 15, 0, tzinfo=tz))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_a_backup_thread_runs_at_a_lower_priority_and_leaves_the_other_threads_alone() -> None:
    """The daemon's backup runs in a thread of the process that also polls and serves."""
    import os
    import threading
    from inbox.records.backup import BACKUP_NICE, lower_priority
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int | None] = {}

    def backup_thread() -> None:
        seen["set"] = lower_priority()
        seen["now"] = os.getpriority(os.PRIO_PROCESS, 0)

    thread = threading.Thread(target=backup_thread)
    thread.start()
    thread.join()
    assert seen["set"] == seen["now"] == max(before, BACKUP_NICE)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
