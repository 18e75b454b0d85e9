"""Issue 30 in the recaps and exports: the monthly report's class clocks, *bukan wewenang* by
agency, maladministration types against last month and LAPOR!-linked cases, reconciled with
the XLSX case sheet; the daily recap; ``aduan export --format jsonl`` and ``--format lapor``.

The history (WIB, December 2026; 24-25 December are holidays):

====  ================  ===================================================================
case  opened            what happens
====  ================  ===================================================================
N1    Mon 23 Nov 09:00  confirmed *penundaan berlarut* (last month's maladministration)
D1    Tue  1 Dec 09:00  class ringan (due Thu 3 Dec), answered 1 Dec, follow-up Wed 2 Dec: on time
D2    Tue  1 Dec 10:00  class normatif (due Tue 8 Dec), answered, follow-up Wed 9 Dec: late
D3    Wed  2 Dec 09:00  class berkadar pengawasan (due Feb 2027), interim answer; LAPOR #1916449
D4    Thu  3 Dec 09:00  class tidak berkadar pengawasan (due Wed 23 Dec), answered, never followed up
D5    Mon  7 Dec 09:00  bukan wewenang: BPJS Kesehatan, forwarded; LAPOR #2234567
D6    Mon  7 Dec 10:00  bukan wewenang: "Kantah Brebes", delivered Mon 14 Dec (after its SOP due)
D7    Tue  8 Dec 09:00  confirmed *tidak patut* (and D1 confirmed *tidak kompeten*)
====  ================  ===================================================================

The report is made on Sat 2 Jan 2027 08:00 WIB.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, User
from inbox.setup.runtime import Runtime
from inbox.sop import handling, workflow
from inbox.sop.outbox import deliver_one
from main import main
from recap.daily import daily_figures
from recap.make import make_monthly_report
from tests.factories import msg
from tests.workflow_helpers import FakeConnector, make_users, use_connector

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2027, 1, 2, 8, tzinfo=WIB)


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026 if month > 6 else 2027, month, day, hour, tzinfo=WIB)


class History:
    def __init__(self, rt: Runtime) -> None:
        self.rt, self.people = rt, make_users()
        self.ids: dict[str, int] = {}
        use_connector(rt, FakeConnector())

    def case(self, name: str) -> Case:
        return Case.get_by_id(self.ids[name])

    def open(self, name: str, when: datetime, text: str) -> Case:
        with time_machine.travel(when, tick=False):
            ingest(Account.get(Account.name == "sandbox"),
                   [msg(name, thread=name, author=f"w-{name}", text=text, at=when)], None,
                   self.rt.ingest_options)
        case = Case.select().order_by(Case.id.desc()).get()
        self.ids[name] = case.id
        return case

    def answer(self, name: str, when: datetime, text: str = "Baik, kami tindak lanjuti.") -> None:
        with time_machine.travel(when, tick=False):
            workflow.reply(self.rt, self.case(name), self.people["admin"], text)
            self.deliver()

    def deliver(self) -> None:
        while deliver_one(self.rt, "test"):
            pass

    def klass(self, name: str, code: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            handling.set_class(self.rt, self.case(name), self.people["group_admin"], code,
                               note="perlu tindak lanjut")

    def follow_up(self, name: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            handling.record_follow_up(self.rt, self.case(name), self.people["admin"],
                                      "Sudah diperbaiki oleh petugas.")

    def build(self) -> History:
        su, ga = self.people["superuser"], self.people["group_admin"]
        self.open("N1", at(11, 23, 9), "KTP saya sudah 2 bulan belum jadi")
        with time_machine.travel(at(11, 23, 10), tick=False):
            handling.set_maladministration(self.rt, self.case("N1"), ga, "penundaan_berlarut")
        self.open("D1", at(12, 1, 9), "KK saya salah cetak nama, tolong diperbaiki")
        self.klass("D1", "ringan", at(12, 1, 9))
        self.answer("D1", at(12, 1, 10))
        self.follow_up("D1", at(12, 2, 10))
        self.open("D2", at(12, 1, 10), "akta kelahiran anak saya sudah 3 minggu belum jadi")
        self.klass("D2", "normatif", at(12, 1, 11))
        self.answer("D2", at(12, 1, 12))
        self.follow_up("D2", at(12, 9, 10))
        self.open("D3", at(12, 2, 9), "petugas kecamatan minta uang 50rb buat rekam KTP")
        self.klass("D3", "berkadar_pengawasan", at(12, 2, 9))
        with time_machine.travel(at(12, 2, 10), tick=False):
            handling.set_lapor(self.rt, self.case("D3"), self.people["admin"], "1916449", "")
            workflow.reply(self.rt, self.case("D3"), self.people["admin"],
                           handling.interim_text(self.rt, self.case("D3")))
            self.deliver()
        self.open("D4", at(12, 3, 9), "KIA anak saya sudah sebulan belum jadi")
        self.klass("D4", "tidak_berkadar_pengawasan", at(12, 3, 9))
        self.answer("D4", at(12, 3, 10))
        self.open("D5", at(12, 7, 9), "kartu BPJS saya tidak aktif, lapor di "
                                      "https://www.lapor.go.id/pengaduan/2234567")
        with time_machine.travel(at(12, 7, 10), tick=False):
            handling.refer(self.rt, self.case("D5"), self.people["admin"], "bpjs_kesehatan",
                           forwarded=True)
            self.deliver()
        self.open("D6", at(12, 7, 10), "sertifikat tanah saya belum jadi")
        with time_machine.travel(at(12, 14, 10), tick=False):   # after its SOP due (10 Dec)
            handling.refer(self.rt, self.case("D6"), self.people["admin"], "lainnya",
                           other_name="Kantah Brebes")
            self.deliver()
        self.open("D7", at(12, 8, 9), "petugas loketnya jutek banget")
        with time_machine.travel(at(12, 8, 10), tick=False):
            handling.set_maladministration(self.rt, self.case("D7"), su, "tidak_patut")
            handling.set_maladministration(self.rt, self.case("D1"), su, "tidak_kompeten")
        return self


@pytest.fixture
def history(rt: Runtime) -> History:
    return History(rt).build()


def sheet(path: Path, name: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in load_workbook(path, read_only=True)[name].iter_rows(values_only=True)]


def row_of(rows: list[tuple[Any, ...]], first: str) -> tuple[Any, ...]:
    return next(r for r in rows if r and r[0] == first)


def test_the_monthly_report_shows_class_clocks_referrals_maladministration_and_lapor(
        rt: Runtime, history: History) -> None:
    with time_machine.travel(NOW, tick=False):
        paths = make_monthly_report(rt, 2026, 12)
    xlsx = next(p for p in paths if p.suffix == ".xlsx")
    classes = sheet(xlsx, "Kelas pengaduan")
    assert row_of(classes, "Ringan")[1:5] == (1, 0, 0, 0)
    assert row_of(classes, "Normatif")[1:5] == (0, 1, 0, 0)
    assert row_of(classes, "Tidak berkadar pengawasan")[1:5] == (0, 0, 0, 1)
    assert row_of(classes, "Berkadar pengawasan (Inspektorat / pimpinan)")[1:5] == (0, 0, 1, 0)
    referrals = sheet(xlsx, "Bukan wewenang")
    assert row_of(referrals, "BPJS Kesehatan")[1:4] == (1, 1, 0)
    assert row_of(referrals, "Kantah Brebes")[1:4] == (1, 0, 0)
    kinds = sheet(xlsx, "Maladministrasi")
    assert row_of(kinds, "Penundaan berlarut")[1:] == (0, 1, "−1 (turun 100,0%)")
    assert row_of(kinds, "Tidak patut")[1:3] == (1, 0)
    assert row_of(kinds, "Tidak kompeten")[1:3] == (1, 0)
    lapor = sheet(xlsx, "LAPOR status")
    assert row_of(lapor, "Ditindaklanjuti")[1] == 1 and row_of(lapor, "Bukan Wewenang")[1] == 1
    assert row_of(lapor, "Jumlah")[1] == 2
    summary = sheet(xlsx, "Ringkasan")
    assert row_of(summary, "Bukan wewenang (diarahkan ke instansi lain)")[1] == 2
    # D6's referral went out after its SOP deadline: never a late answer
    assert row_of(summary, "Selesai dijawab")[1] == 4 and row_of(summary, "Kepatuhan SLA")[1] == 1.0

    # every figure reconciles with a 1/0 column of the case sheet
    data = sheet(xlsx, "Data pengaduan")
    header = next(i for i, r in enumerate(data) if r and r[0] == "Nomor")
    columns, rows = data[header], [r for r in data[header + 1:] if r and r[0]]

    def total(column: str) -> int:
        return sum(r[columns.index(column)] or 0 for r in rows)
    assert total("Tindak lanjut tepat waktu (bulan ini)") == 1
    assert total("Tindak lanjut terlambat (bulan ini)") == 1
    assert total("Masih berjalan (belum lewat batas) (akhir bulan)") == 1
    assert total("Lewat batas, belum ditindaklanjuti (akhir bulan)") == 1
    assert total("Bukan wewenang (bulan ini)") == 2
    assert total("Dihitung di tabel LAPOR!") == 2
    counted = total("Dihitung di tabel maladministrasi")
    assert counted == sum(r[1] for r in kinds if len(r) > 1 and isinstance(r[1], int))
    d5 = next(r for r in rows if r[0] == history.case("D5").reference)
    assert (d5[columns.index("ID LAPOR!")], d5[columns.index("Status LAPOR!")]) == (
        "2234567", "Bukan Wewenang")
    assert d5[columns.index("Jenis maladministrasi")] in ("", None)   # not counted there

    pdf = next(p for p in paths if p.suffix == ".pdf")
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages)
    assert "Kelas pengaduan, bukan wewenang, maladministrasi dan SP4N-LAPOR!" in text
    assert "Kepatuhan batas tindak lanjut per kelas pengaduan" in text


def test_the_daily_recap_counts_a_referral_apart_and_lists_late_follow_ups(
        rt: Runtime, history: History) -> None:
    with time_machine.travel(at(12, 7, 17), tick=False):
        day = daily_figures(rt, at(12, 7, 9).date(), mark=False)
    assert [c.reference for c in day.referred] == [history.case("D5").reference]
    assert history.case("D5").id not in {c.id for c in day.answered + day.dismissed}
    with time_machine.travel(at(12, 28, 17), tick=False):
        late = daily_figures(rt, at(12, 28, 9).date(), mark=False)
    assert [c.reference for c in late.resolution_overdue] == [history.case("D4").reference]


def test_the_jsonl_export_carries_the_handling_fields(rt: Runtime, history: History,
                                                      config_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(NOW, tick=False):
        assert main(["--config", str(config_path), "export", "--format", "jsonl"]) == 0
    found = {r["reference"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    d2, d3, d5 = (found[history.case(n).reference] for n in ("D2", "D3", "D5"))
    assert (d2["complaint_class"], d2["outcome"], d2["report_type"]) == (
        "normatif", "resolved", "pengaduan")
    assert d2["resolution_due_at"] == "2026-12-08T09:00:00+00:00" and d2["resolved_at"].startswith(
        "2026-12-09")
    assert (d3["outcome"], d3["lapor_tracking_id"], d3["resolved_at"]) == (
        "in_follow_up", "1916449", None)
    assert (d5["outcome"], d5["referred_to"], d5["complaint_class"]) == (
        "bukan_wewenang", "BPJS Kesehatan", None)
    assert found[history.case("D7").reference]["maladministration"] == "tidak_patut"
    for key in ("report_type", "complaint_class", "resolution_due_at", "resolved_at",
                "maladministration", "outcome", "referred_to", "lapor_tracking_id"):
        assert all(key in r for r in found.values()), key


def test_the_lapor_export_opens_in_indonesian_excel_and_masks_personal_data(
        rt: Runtime, history: History, config_path: Path, tmp_path: Path) -> None:
    history.open("D9", at(12, 9, 9), "NIK saya 3329015708900003 tidak terdaftar, hp 081327551122")
    out = tmp_path / "lapor.csv"
    with time_machine.travel(NOW, tick=False):
        assert main(["--config", str(config_path), "export", "--format", "lapor", "--month",
                     "2026-12", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")   # UTF-8 with a byte-order mark for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nomor aduan", "Judul", "Isi", "Kategori", "Klasifikasi", "Kanal",
                       "Tanggal masuk", "Status", "Tindak lanjut", "Tanggal selesai",
                       "Tracking ID LAPOR!", "Dialihkan ke"]
    by_ref = {r[0]: r for r in rows[1:]}
    assert history.case("N1").reference not in by_ref   # November's
    d3 = by_ref[history.case("D3").reference]
    assert (d3[7], d3[10], d3[6]) == ("Ditindaklanjuti", "1916449", "2026-12-02 09:00")
    d2 = by_ref[history.case("D2").reference]
    assert (d2[7], d2[8], d2[9]) == ("Selesai", "Sudah diperbaiki oleh petugas.", "2026-12-09 10:00")
    assert by_ref[history.case("D5").reference][7] == "Bukan Wewenang"
    assert by_ref[history.case("D5").reference][11] == "BPJS Kesehatan"
    d9 = by_ref[history.case("D9").reference]
    assert "3329015708900003" not in d9[2] and "081327551122" not in d9[2] and "3329" in d9[2]
    assert all("maladministrasi" not in cell.lower() for r in rows for cell in r)

    linked = tmp_path / "lapor.xlsx"
    with time_machine.travel(NOW, tick=False):
        assert main(["--config", str(config_path), "export", "--format", "lapor", "--linked-only",
                     "--out", str(linked)]) == 0
    cells = sheet(linked, "Laporan LAPOR!")
    assert cells[0][0] == "Nomor aduan" and len(cells) == 3
    assert {r[10] for r in cells[1:]} == {"1916449", "2234567"}
    assert isinstance(cells[1][6], datetime)


def test_a_bad_month_for_the_lapor_export_is_one_line(config_path: Path, rt: Runtime,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_path), "export", "--format", "lapor", "--month",
                 "desember"]) != 0
    assert "--month: tulis bulan seperti 2026-11" in capsys.readouterr().err
