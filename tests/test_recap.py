"""The daily recap and the monthly report on a small history built through the real ingest,
workflow and outbox, with frozen time; every figure is counted by hand below.

The history (WIB times; March 2026 holds Nyepi and Idul Fitri: 18–24 March are not working
days, so a "3 working days" deadline stretches over them):

=====  =======  ==================  ============================================  ===========
case   account  opened (WIB)        what happens                                  due (WIB)
=====  =======  ==================  ============================================  ===========
F1     sandbox  Mon  2 Feb 09:00    admin answers Mon 2 Feb 11:00 (2.0 office h)  5 Feb 16:00
F2     sandbox  Tue  3 Feb 10:00    dismissed as spam 10:30                       –
C8     sandbox  Thu 26 Feb 14:00    admin answers Tue 3 Mar 10:00 (21.5 h)        3 Mar 16:00
C9     sandbox  Mon  2 Mar 09:00    categories corrected, answered 09:30 (0.5 h)  5 Mar 16:00
C1     sandbox  Mon 16 Mar 08:00    admin answers 09:00 (1.0 h)                   26 Mar 16:00
C2     kedua    Mon 16 Mar 10:00    NIK + phone; escalated 11:00, to capil 13:00, 26 Mar 16:00
                                    capil answers Wed 25 Mar 09:00 (13.0 h after
                                    assignment), forwarded 10:00 (17.0 h)
C3     sandbox  Tue 17 Mar 15:00    escalated 15:30; group admin answers          27 Mar 16:00
                                    Fri 27 Mar 17:00: LATE (26.5 h)
C4     sandbox  Sat 21 Mar 23:30    greeting, dismissed Wed 25 Mar 08:00          –
C5     kedua    Wed 25 Mar 09:00    left open                                     30 Mar 16:00
C6     sandbox  Tue 31 Mar 23:30    left open (23:30 WIB is still 31 March)       6 Apr 16:00
C7     sandbox  Wed  1 Apr 00:30    left open (UTC: 31 March 17:30)               7 Apr 16:00
=====  =======  ==================  ============================================  ===========

The reports are made on Thu 2 Apr 2026 08:00 WIB.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import schedule
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from inbox import pii
from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Event, Recap
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.sop.outbox import deliver_one
from inbox.understand.classify import CATEGORY_LABELS
from main import main
from recap.daily import daily_figures
from recap.figures import RecapError
from recap.make import make_daily_recap, make_monthly_report
from recap.monthly import monthly_figures
from recap.schedule import due_recaps, make_due_recaps, schedule_recaps
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.factories import msg
from tests.workflow_helpers import FakeConnector, make_users, use_connector

WIB = timezone(timedelta(hours=7))
NIK = "3329015708900003"
PHONE = "081327551122"
KEDUA = """
[accounts.kedua]
kind = "sandbox"
label = "Sandbox kedua"
"""


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


NOW = wib(4, 2, 8)


class History:
    """Builds the history above; ``cases[name]`` holds each case's id."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.users = make_users()
        self.cases: dict[str, int] = {}
        for name in ("sandbox", "kedua"):
            use_connector(rt, FakeConnector(name))

    def case(self, name: str) -> Case:
        return Case.get_by_id(self.cases[name])

    def arrive(self, name: str, account: str, at: datetime, text: str, categories: list[str],
               public: bool = True) -> None:
        with time_machine.travel(at + timedelta(seconds=30), tick=False):
            ingest(Account.get(Account.name == account),
                   [msg(f"in-{name}", thread=f"t-{name}", author=f"warga-{name}", text=text,
                        at=at, public=public)], None, self.rt.ingest_options)
            self.cases[name] = Case.select().order_by(Case.id.desc()).get().id
            workflow.set_categories(self.rt, self.case(name), self.users["admin"], categories)

    def act(self, at: datetime, action: str, name: str, role: str, *args: Any) -> None:
        """A workflow step at ``at``; an answer is delivered at the same instant."""
        with time_machine.travel(at, tick=False):
            getattr(workflow, action)(self.rt, self.case(name), self.users[role], *args)
            if action in ("reply", "forward"):
                assert deliver_one(self.rt, "test-worker")

    def build(self) -> History:
        a = self.arrive
        a("F1", "sandbox", wib(2, 2, 9), "KTP el saya belum jadi", ["ktp_el"])
        self.act(wib(2, 2, 11), "reply", "F1", "admin", "Sudah bisa diambil di kecamatan.")
        a("F2", "sandbox", wib(2, 3, 10), "jual followers murah cek bio", [])
        self.act(wib(2, 3, 10, 30), "dismiss", "F2", "admin", "spam")
        a("C8", "sandbox", wib(2, 26, 14), "KK saya belum dicetak", ["kartu_keluarga"])
        self.act(wib(3, 3, 10), "reply", "C8", "admin", "KK sudah dicetak.")
        a("C9", "sandbox", wib(3, 2, 9), "mau tanya syarat legalisir akta kelahiran", ["legalisir"])
        self.act(wib(3, 2, 9, 30), "reply", "C9", "admin", "Bawa dokumen asli ke loket.")
        a("C1", "sandbox", wib(3, 16, 8), "KTP el saya sudah 20 hari belum jadi", ["ktp_el"])
        self.act(wib(3, 16, 9), "reply", "C1", "admin", "Blangko sudah tersedia.")
        a("C2", "kedua", wib(3, 16, 10), f"Akta kelahiran anak saya belum jadi, NIK {NIK}, "
          f"hubungi {PHONE}", ["akta_kelahiran"], public=False)
        self.act(wib(3, 16, 11), "escalate", "C2", "admin", "mohon dicek bidang capil")
        self.act(wib(3, 16, 13), "assign_division", "C2", "group_admin", "capil")
        self.act(wib(3, 25, 9), "division_answer", "C2", "division_other", "Akta sudah terbit.")
        self.act(wib(3, 25, 10), "forward", "C2", "admin")
        a("C3", "sandbox", wib(3, 17, 15), "Kartu keluarga salah nama ibu",
          ["kartu_keluarga", "perubahan_data"])
        self.act(wib(3, 17, 15, 30), "escalate", "C3", "admin", "perlu arahan")
        self.act(wib(3, 27, 17), "reply", "C3", "group_admin", "Data sudah diperbaiki.")
        a("C4", "sandbox", wib(3, 21, 23, 30), "halo min", [])
        self.act(wib(3, 25, 8), "dismiss", "C4", "admin", "greeting")
        a("C5", "kedua", wib(3, 25, 9), "ada calo di depan kantor minta bayar", ["pungli_calo_petugas"])
        a("C6", "sandbox", wib(3, 31, 23, 30), "KTP el belum jadi juga min", ["ktp_el"])
        a("C7", "sandbox", wib(4, 1, 0, 30), "KTP hilang mau cetak ulang", ["ktp_el"])
        # A summary stored unmasked (as an import from an older system could): the recaps must
        # mask on their own, not trust what is stored.
        Case.update(summary=f"Data ibu salah, NIK {NIK} HP {PHONE}").where(
            Case.id == self.cases["C3"]).execute()
        return self


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(write_config(tmp_path, accounts=SANDBOX + KEDUA))
    yield runtime
    runtime.close()


@pytest.fixture
def history(rt: Runtime) -> History:
    built = History(rt).build()
    return built


@pytest.fixture
def now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def refs(history: History, rows: list[Any]) -> set[str]:
    names = {i: n for n, i in history.cases.items()}
    return {names[r.id] for r in rows}


def pdf_text(path: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages)


def sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True)]


def find_row(rows: list[tuple[Any, ...]], label: str) -> tuple[Any, ...]:
    return next(r for r in rows if r and isinstance(r[0], str) and r[0].strip() == label)


# --- the daily recap ----------------------------------------------------------------------------

def test_the_daily_recap_counts_the_wib_day_and_marks_the_answered_cases(
        rt: Runtime, history: History, now: None) -> None:
    f = daily_figures(rt, date(2026, 3, 16), history.users["admin"])
    assert refs(history, f.received) == {"C1", "C2"}
    assert refs(history, f.answered) == {"C1"}
    assert f.answered_by_path() == {"direct": 1, "group_admin": 0, "division": 0}
    assert refs(history, f.escalated) == {"C2"}
    assert f.dismissed == []
    assert refs(history, f.open_cases) == {"C2"}   # open at the end of that day, answered on 25th
    assert f.overdue == []
    # C1 answered that day, C8 and C9 answered earlier and never recapped: carried over.
    assert refs(history, f.recapped) == {"C1", "C8", "C9"} and f.marked == 3
    assert f.received_by_channel({a.id: a.label for a in Account.select()}) == [
        ("Sandbox (latihan)", 1), ("Sandbox kedua", 1)]
    assert f.received_by_category() == [("akta_kelahiran", 1), ("ktp_el", 1)]
    assert {c.reference: c.recapped_on for c in Case.select()} == {
        history.case(n).reference: (date(2026, 3, 16) if n in ("C1", "C8", "C9") else None)
        for n in history.cases}
    events = list(Event.select().where(Event.action == "recapped"))
    assert len(events) == 3 and {e.detail["day"] for e in events} == {"2026-03-16"}
    assert {e.actor_name for e in events} == {"admin1"}

    again = daily_figures(rt, date(2026, 3, 16))
    assert again.marked == 0 and refs(history, again.recapped) == {"C1", "C8", "C9"}
    assert Event.select().where(Event.action == "recapped").count() == 3


def test_a_day_across_the_holidays_counts_the_division_path_and_the_dismissal(
        rt: Runtime, history: History, now: None) -> None:
    daily_figures(rt, date(2026, 3, 16))
    f = daily_figures(rt, date(2026, 3, 25))
    assert refs(history, f.received) == {"C5"}
    assert refs(history, f.answered) == {"C2"} and f.answered[0].on_time  # due 26 March
    assert f.answered_by_path() == {"direct": 0, "group_admin": 0, "division": 1}
    assert [(c.dismiss_reason) for c in f.dismissed] == ["greeting"]
    assert refs(history, f.open_cases) == {"C3", "C5"} and f.overdue == []
    assert refs(history, f.recapped) == {"C2"} and f.marked == 1


def test_a_message_at_23_30_wib_belongs_to_that_wib_day(rt: Runtime, history: History,
                                                         now: None) -> None:
    assert refs(history, daily_figures(rt, date(2026, 3, 31), mark=False).received) == {"C6"}
    assert refs(history, daily_figures(rt, date(2026, 4, 1), mark=False).received) == {"C7"}
    assert refs(history, daily_figures(rt, date(2026, 3, 21), mark=False).received) == {"C4"}
    assert refs(history, daily_figures(rt, date(2026, 3, 22), mark=False).received) == set()


def test_the_daily_files_hold_the_figures_and_are_listed(rt: Runtime, history: History,
                                                        now: None) -> None:
    paths = make_daily_recap(rt, date(2026, 3, 16), actor=history.users["admin"])
    assert [p.suffix for p in paths] == [".pdf", ".xlsx", ".html"]
    assert all(p.parent == rt.data_dir / "recaps" and p.stat().st_size > 0 for p in paths)
    text = pdf_text(paths[0])
    assert "Senin, 16 Maret 2026" in text
    for line in ("Pengaduan masuk 2", "Selesai dijawab 1", "Langsung oleh Admin 1",
                 "Diteruskan ke Group Admin 1", "Bukan pengaduan 0", "Masih terbuka pada akhir hari 1",
                 "Terlambat (melewati batas waktu) 0", "Selesai direkap 3"):
        assert line in text, line
    summary = sheet_rows(paths[1], "Ringkasan")
    assert find_row(summary, "Pengaduan masuk")[1] == 2
    assert find_row(summary, "Selesai direkap")[1] == 3
    listed = sheet_rows(paths[1], "Daftar pengaduan")
    numbers = [r[0] for r in listed if r and isinstance(r[0], str) and r[0].startswith("ADU-")]
    assert numbers == [history.case(n).reference for n in ("C8", "C9", "C1", "C2")]
    c2 = next(r for r in listed if r and r[0] == history.case("C2").reference)
    assert c2[1] == datetime(2026, 3, 16, 10, 0) and c2[2] == "Sandbox kedua"
    assert c2[3] == CATEGORY_LABELS["akta_kelahiran"]
    assert c2[6] == "Admin1 → Grup1 → Capil1" and c2[7] == "masuk, diteruskan"
    html = paths[2].read_text(encoding="utf-8")
    assert "<h1>Rekap Harian" in html and history.case("C1").reference in html
    made = {(r.kind, r.period, r.fmt, r.path, r.created_by_id) for r in Recap.select()}
    assert made == {("daily", "2026-03-16", fmt, f"recaps/rekap-harian-2026-03-16.{fmt}",
                     history.users["admin"].id) for fmt in ("pdf", "xlsx", "html")}
    make_daily_recap(rt, date(2026, 3, 16))
    assert Recap.select().count() == 3  # made again: replaced, not listed twice


# --- the monthly report -------------------------------------------------------------------------

def test_the_monthly_figures_of_a_month_with_nyepi_and_idul_fitri(rt: Runtime, history: History,
                                                                 now: None) -> None:
    # The deadlines skip the holidays: 3 working days after 16 March end on 26 March.
    assert [history.case(n).due_at for n in ("C1", "C2", "C3", "C5")] == [
        wib(3, 26, 16), wib(3, 26, 16), wib(3, 27, 16), wib(3, 30, 16)]
    f = monthly_figures(rt, 2026, 3)
    h, before = f.current, f.before
    assert (h.received, h.answered, h.on_time, h.escalated, h.dismissed, h.open_end,
            h.overdue_end) == (7, 5, 4, 2, 1, 2, 1)
    assert h.compliance == pytest.approx(0.8)
    assert (before.received, before.answered, before.on_time, before.escalated, before.dismissed,
            before.open_end, before.overdue_end) == (3, 1, 1, 0, 1, 1, 0)
    # Office hours skip 18-24 March: C2 took 17.0 h although 9 calendar days passed.
    assert sorted(h.answer_hours) == pytest.approx([0.5, 1.0, 17.0, 21.5, 26.5])
    assert sorted(h.first_response_hours) == pytest.approx([0.5, 1.0, 17.0, 26.5])
    assert sorted(before.first_response_hours) == pytest.approx([2.0, 21.5])
    assert f.sla_by("channel") == {"Sandbox (latihan)": (4, 3), "Sandbox kedua": (1, 1)}
    assert f.sla_by("division") == {"Bidang Pelayanan Pencatatan Sipil": (1, 1),
                                    "Tanpa bidang (dijawab Admin/Group Admin)": (4, 3)}
    assert f.received_by("category") == {"ktp_el": 2, "akta_kelahiran": 1, "kartu_keluarga": 1,
                                         "perubahan_data": 1, "pungli_calo_petugas": 1,
                                         "legalisir": 1, "Tanpa kategori": 1}
    capil = next(d for d in f.division_lines if d.code == "capil")
    assert (capil.assigned, capil.division_answered, capil.answered, capil.on_time,
            capil.waiting_end) == (1, 1, 1, 1, 0)
    assert capil.answer_hours == pytest.approx([13.0])
    assert all((d.assigned, d.division_answered, d.answered) == (0, 0, 0)
               for d in f.division_lines if d.code != "capil")
    trend = {d.day: (r, a) for d, r, a in f.trend() if r or a}
    assert trend == {2: (1, 1), 3: (0, 1), 16: (2, 1), 17: (1, 0), 21: (1, 0), 25: (1, 1),
                     27: (0, 1), 31: (1, 0)}
    problems = f.top_problems()
    assert [(code, n, before) for code, n, before, _ in problems] == [
        ("ktp_el", 2, 1), ("akta_kelahiran", 1, 0), ("kartu_keluarga", 1, 1), ("legalisir", 1, 0),
        ("perubahan_data", 1, 0)]
    assert problems[0][3] == ["KTP el belum jadi juga min", "KTP el saya sudah 20 hari belum jadi"]
    assert [refs(history, [c]) for c in f.open_cases()] == [{"C5"}, {"C6"}]  # overdue first


def test_thanks_and_greetings_left_open_are_never_among_the_most_frequent_problems(
        rt: Runtime, history: History) -> None:
    # Three open thank-yous and a greeting about KTP, never dismissed, with a category each:
    # counted, they would put ktp_el first with 5 and pindah_datang in the list.
    for n, (text, intent) in enumerate([("makasih min, ktp sudah jadi", "thanks"),
                                        ("terima kasih, ktp sudah saya ambil", "thanks"),
                                        ("matur nuwun, ktp wis dadi", "thanks"),
                                        ("halo min, soal surat pindah", "greeting")]):
        history.arrive(f"T{n}", "sandbox", wib(3, 10, 9 + n), text,
                       ["pindah_datang"] if intent == "greeting" else ["ktp_el"])
        workflow.set_categories(rt, history.case(f"T{n}"), history.users["admin"],
                                history.case(f"T{n}").effective_categories, intent=intent)
    with time_machine.travel(NOW, tick=False):
        f = monthly_figures(rt, 2026, 3)
    problems = f.top_problems()
    assert [(code, n) for code, n, _, _ in problems] == [
        ("ktp_el", 2), ("akta_kelahiran", 1), ("kartu_keluarga", 1), ("legalisir", 1),
        ("perubahan_data", 1)]
    assert not any("makasih" in e or "terima kasih" in e for _, _, _, ex in problems for e in ex)
    assert f.received_by("category")["ktp_el"] == 5  # still received, only not a problem


def test_the_monthly_files_hold_the_figures_and_the_data_adds_up(
        rt: Runtime, history: History, now: None) -> None:
    paths = make_monthly_report(rt, 2026, 3)
    assert [p.name for p in paths] == ["laporan-bulanan-2026-03.pdf", "laporan-bulanan-2026-03.xlsx",
                                      "laporan-bulanan-2026-03.csv", "laporan-bulanan-2026-03-excel.csv"]
    text = pdf_text(paths[0])
    assert "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Brebes".upper() in text
    assert "1 Maret 2026 – 31 Maret 2026" in text and "Perpres 76/2013" in text
    for line in ("Pengaduan masuk 7 3 +4 (naik 133,3%)", "Selesai dijawab 5 1 +4 (naik 400,0%)",
                 "Diteruskan ke Group Admin 2 0 +2", "Bukan pengaduan 1 1 tetap",
                 "Masih terbuka pada akhir periode 2 1 +1 (naik 100,0%)",
                 "Terlambat pada akhir periode 1 0 +1", "Kepatuhan SLA 80,0% 100,0% −20,0 poin",
                 "Median waktu selesai dijawab (jam kerja) 17,0 2,0 +15,0 (naik 750,0%)",
                 "Selesai dijawab (hari kerja) 2,0"):
        assert line in text, line
    assert text.count("TERLAMBAT") == 1

    summary = sheet_rows(paths[1], "Ringkasan")
    assert find_row(summary, "Pengaduan masuk")[1:] == (7, 3, "+4 (naik 133,3%)")
    assert find_row(summary, "Kepatuhan SLA")[1:3] == (0.8, 1.0)
    division = find_row(sheet_rows(paths[1], "Per bidang"), "Bidang Pelayanan Pencatatan Sipil")
    assert division[1:] == (1, 1, 13.0, 1, 1.0, 0)
    data = sheet_rows(paths[1], "Data pengaduan")
    header = next(i for i, r in enumerate(data) if r and r[0] == "Nomor")
    columns, rows = data[header], [r for r in data[header + 1:] if r and r[0]]
    c3_row = next(r for r in rows if r[0] == history.case("C3").reference)
    assert c3_row[columns.index("Selesai dijawab (WIB)")] == datetime(2026, 3, 27, 17, 0)
    assert sorted(r[0] for r in rows) == sorted(history.case(n).reference
                                                for n in ("C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9"))
    sums = {name: sum(r[columns.index(name)] for r in rows) for name in columns if "periode" in name}
    assert sums == {"Masuk periode ini": 7, "Dijawab periode ini": 5, "Diteruskan periode ini": 2,
                    "Bukan pengaduan periode ini": 1, "Terbuka akhir periode": 2,
                    "Terlambat akhir periode": 1}
    with open(paths[2], encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert len(csv_rows) == 8 and sum(int(r["Masuk periode ini"]) for r in csv_rows) == 7
    c3 = next(r for r in csv_rows if r["Nomor"] == history.case("C3").reference)
    assert (c3["Tepat waktu"], c3["Jalur jawaban"], c3["Jam kerja sampai selesai dijawab"]) == (
        "Tidak", "Oleh Group Admin", "26.5")
    assert c3["Selesai dijawab (WIB)"] == "2026-03-27 17:00"


def test_personal_data_is_masked_in_every_file(rt: Runtime, history: History, now: None) -> None:
    paths = make_daily_recap(rt, date(2026, 3, 17)) + make_monthly_report(rt, 2026, 3)
    texts = {p.suffix: "" for p in paths}
    for path in paths:
        if path.suffix == ".pdf":
            body = pdf_text(path)
        elif path.suffix == ".xlsx":
            wb = load_workbook(path, read_only=True)
            body = " ".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True)
                            for v in row if v is not None)
        else:
            body = path.read_text(encoding="utf-8-sig")
        texts[path.suffix] += body
        squeezed = re.sub(r"[\s.\-]", "", body)
        assert NIK not in squeezed and PHONE not in squeezed, path.name
    # The masked summary of C3 is there, so the check above looked at a real excerpt.
    masked = pii.mask(history.case("C3").summary)
    assert NIK not in masked and masked in texts[".xlsx"] and masked in texts[".csv"]


def test_a_month_in_progress_counts_up_to_now(rt: Runtime, history: History) -> None:
    with time_machine.travel(wib(3, 20, 12), tick=False):
        f = monthly_figures(rt, 2026, 3)
    assert (f.current.received, f.current.answered, f.current.open_end) == (4, 3, 2)  # C9 C1 C2 C3
    assert not f.period.complete


# --- when and how they are made -------------------------------------------------------------------

def test_the_daemon_makes_the_daily_recap_on_working_days_and_the_monthly_report_once(
        rt: Runtime, history: History) -> None:
    with time_machine.travel(wib(3, 16, 15, 59), tick=False):
        assert due_recaps(rt) == [("monthly", (2026, 2))]
        make_due_recaps(rt)
    with time_machine.travel(wib(3, 16, 16, 0), tick=False):
        assert due_recaps(rt) == [("daily", date(2026, 3, 16))]
        paths = make_due_recaps(rt)
        assert [p.name for p in paths] == [f"rekap-harian-2026-03-16.{x}" for x in ("pdf", "xlsx", "html")]
        assert due_recaps(rt) == []
    with time_machine.travel(wib(3, 21, 16, 30), tick=False):  # Saturday during the holidays
        assert due_recaps(rt) == []
    scheduler = schedule.Scheduler()
    schedule_recaps(rt, scheduler, lambda job: job)
    assert len(scheduler.jobs) == 1 and scheduler.jobs[0].interval == 60


def test_the_commands_print_the_paths_and_refuse_a_bad_date(
        rt: Runtime, history: History, now: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = str(tmp_path / "config.toml")
    assert main(["--config", config, "recap", "daily", "--date", "2026-03-16"]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(rt.data_dir / "recaps" / f"rekap-harian-2026-03-16.{x}") for x in ("pdf", "xlsx", "html")]
    assert main(["--config", config, "recap", "monthly", "--out", str(tmp_path / "keluar")]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(tmp_path / "keluar" / f"laporan-bulanan-2026-03{x}")
                   for x in (".pdf", ".xlsx", ".csv", "-excel.csv")]
    assert not Recap.select().where(Recap.kind == "monthly").exists()  # outside the data folder
    for argv in (["daily", "--date", "2026-02-30"], ["daily", "--date", "16-03-2026"],
                 ["daily", "--date", "2026-04-03"], ["monthly", "--month", "2026-13"],
                 ["monthly", "--month", "2026-05"]):
        assert main(["--config", config, "recap", *argv]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, argv
    with pytest.raises(RecapError):
        make_daily_recap(rt, date(2026, 4, 3))


def test_the_web_makes_lists_and_serves_the_recaps(rt: Runtime, history: History,
                                                    now: None) -> None:
    from inbox.web.app import create_app
    from tests.web_helpers import login, page_text, post_form
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    response = post_form(client, "/rekap/buat-harian", {"day": "2026-03-16"}, follow_redirects=True)
    assert response.status_code == 200 and "Rekap harian Senin, 16 Maret 2026 dibuat (3 berkas)" in page_text(response)
    response = post_form(client, "/rekap/buat-bulanan", {"month": "2026-03"}, follow_redirects=True)
    assert "Laporan bulanan Maret 2026 dibuat (4 berkas)" in page_text(response)
    response = post_form(client, "/rekap/buat-harian", {"day": "2026-04-05"}, follow_redirects=True)
    assert response.status_code == 200 and "belum terjadi" in page_text(response)
    assert Recap.select().count() == 7
    pdf = Recap.get((Recap.kind == "monthly") & (Recap.fmt == "pdf"))
    download = client.get(f"/rekap/{pdf.id}/unduh")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "Maret 2026" in page_text(client.get("/rekap"))
