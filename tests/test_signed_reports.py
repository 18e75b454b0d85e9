"""Reports the office signs (issue 28, items 5-7): the letterhead, the report number and the
signature block on the monthly report and the daily recap (the PDF turned into images), the
maker in an official's words, *Kesimpulan dan tindak lanjut*, and figures that reconcile: every
table of the PDF rebuilt by summing the XLSX case data's columns.

The month is test_recap's March 2026 (every path: direct, group admin, bidang answered late,
dismissed, open, overdue, a category with a comma in its name), plus a thank-you left open."""
from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import time_machine
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from recap.document import text
from recap.make import make_daily_recap, make_monthly_report
from recap.monthly import NO_DIVISION, monthly_figures
from recap.monthly_doc import CATEGORY_COLUMN, monthly_document
from tests.conftest import SANDBOX, make_runtime, write_config
from tests.test_recap import KEDUA, NOW, History, wib

REPORT = """
[report]
government = "Pemerintah Kabupaten Brebes"
address = ["Jl. Jenderal Sudirman No. 164 Brebes 52212", "Telp. (0283) 671234"]
logo = "logo.png"
place = "Brebes"
number = "470/{bulan}/{tahun}"
head_name = "Dr. Contoh Kepala, M.Si."
head_nip = "197001011995031001"
"""
LOGO_RED = (200, 20, 20)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    Image.new("RGB", (120, 120), LOGO_RED).save(tmp_path / "logo.png")
    runtime = make_runtime(write_config(tmp_path, accounts=SANDBOX + KEDUA, extra=REPORT))
    yield runtime
    runtime.close()


@pytest.fixture
def history(rt: Runtime) -> History:
    built = History(rt).build()
    built.arrive("T1", "sandbox", wib(3, 18, 9), "terima kasih min KTP sudah jadi", ["ktp_el"])
    workflow.set_categories(rt, built.case("T1"), built.users["admin"], ["ktp_el"], intent="thanks")
    # dafduk answers a KIA question two weeks after it came: the admin forwards it late
    built.arrive("L1", "sandbox", wib(3, 2, 10), "syarat KIA untuk anak 3 tahun apa saja?", ["kia"])
    built.act(wib(3, 2, 11), "escalate", "L1", "admin", "mohon bidang dafduk")
    built.act(wib(3, 2, 13), "assign_division", "L1", "group_admin", "dafduk")
    built.act(wib(3, 16, 9), "division_answer", "L1", "division", "Bawa akta kelahiran dan KK.")
    built.act(wib(3, 16, 10), "forward", "L1", "admin")
    return built


@pytest.fixture
def report(rt: Runtime, history: History) -> list[Path]:
    with time_machine.travel(NOW, tick=False):
        return make_monthly_report(rt, 2026, 3)


def page_image(pdf: Path, index: int) -> Image.Image:
    return pypdfium2.PdfDocument(str(pdf))[index].render(scale=1).to_pil().convert("RGB")


def dark_rules(image: Image.Image, top: float, bottom: float) -> list[int]:
    """Rows between ``top`` and ``bottom`` (fractions of the height) dark across 80% of the width."""
    width, height = image.size
    pixels = image.load()
    rows = []
    for y in range(int(height * top), int(height * bottom)):
        dark = sum(1 for x in range(width) if sum(pixels[x, y]) < 200)
        if dark > width * 0.8:
            rows.append(y)
    return rows


def pdf_text(pdf: Path) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(str(pdf)).pages]


def test_the_monthly_report_carries_the_letterhead_number_and_signatures(report: list[Path]) -> None:
    pdf = report[0]
    cover = page_image(pdf, 0)
    width, height = cover.size
    corner = [cover.getpixel((x, y)) for x in range(0, width // 5) for y in range(0, height // 8)]
    assert sum(1 for p in corner if p == LOGO_RED) > 500  # the logo, top left
    assert len(dark_rules(cover, 0.02, 0.25)) >= 2  # the kop surat's double rule
    pages = pdf_text(pdf)
    assert "PEMERINTAH KABUPATEN BREBES" in pages[0]
    assert "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN BREBES" in pages[0]
    assert "Jl. Jenderal Sudirman No. 164 Brebes 52212" in pages[0]
    assert "Nomor: 470/03/2026" in pages[0]
    assert "Dibuat otomatis oleh aduan pada Kamis, 2 April 2026 pukul 08.00 WIB" in pages[0]
    assert "perintah aduan recap" not in " ".join(pages) and "baris perintah" not in " ".join(pages)
    last = pages[-1]
    for words in ("Mengetahui,", "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Brebes",
                  "Dr. Contoh Kepala, M.Si.", "NIP 197001011995031001", "Dibuat oleh,",
                  "Admin Pengelola Pengaduan Media Sosial", "Brebes, 2 April 2026",
                  "(........................................)"):
        assert words in last, words
    # the maker's name and NIP are not set: a dotted line and a bare "NIP" to fill in by hand
    assert re.search(r"\(\.{40}\) NIP( |$)", last), last
    end = page_image(pdf, len(pages) - 1)
    assert end.getbbox() is not None


def test_the_daily_recap_pdf_carries_the_letterhead_and_the_signatures(
        rt: Runtime, history: History) -> None:
    with time_machine.travel(NOW, tick=False):
        paths = make_daily_recap(rt, date(2026, 3, 16), actor=history.users["admin"])
    pages = pdf_text(paths[0])
    assert "PEMERINTAH KABUPATEN BREBES" in pages[0] and "Nomor: 470/03/2026" in pages[0]
    assert "Dibuat oleh Admin1 dengan aplikasi aduan pada Kamis, 2 April 2026" in pages[0]
    assert "Mengetahui," in pages[-1] and "Dr. Contoh Kepala, M.Si." in pages[-1]
    assert len(dark_rules(page_image(paths[0], 0), 0.02, 0.25)) >= 2
    html = paths[2].read_text(encoding="utf-8")
    assert "PEMERINTAH KABUPATEN BREBES" in html and "Mengetahui," in html


def test_the_report_ends_with_conclusions_from_its_figures_and_room_for_decisions(
        report: list[Path]) -> None:
    pages = pdf_text(report[0])
    text_all = " ".join(pages)
    start = text_all.index("Kesimpulan dan tindak lanjut")
    conclusions = text_all[start:]
    assert "Pengaduan masuk 9, naik 6 (200,0%) dibanding Februari 2026 (3)." in conclusions
    assert "Selesai dijawab 6; 4 di antaranya paling lama 3 hari kerja (kepatuhan 66,7%; " \
           "−33,3 poin dibanding Februari 2026)." in conclusions
    # who answered late, and how often: dafduk's KIA answer (L1), the group admin's C3
    assert ("Melewati batas waktu: Bidang Pelayanan Pendaftaran Penduduk: 1 dari 1 jawaban "
            f"terlambat; {NO_DIVISION}: 1 dari 4 jawaban terlambat.") in conclusions
    assert ("Masalah yang paling sering (keluhan dan pertanyaan): KTP-el 2 (bulan lalu 1); "
            "Akta kelahiran 1 (bulan lalu 0); Kartu Keluarga (KK) 1 (bulan lalu 1).") in conclusions
    assert "Tindak lanjut yang diputuskan tim" in conclusions
    assert "Penanggung jawab" in conclusions and "Batas waktu" in conclusions
    assert conclusions.index("Kesimpulan") < conclusions.index("Mengetahui,")


def data_rows(xlsx: Path) -> list[dict[str, Any]]:
    sheet = load_workbook(xlsx, read_only=True)["Data pengaduan"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Nomor")
    names = rows[header]
    return [dict(zip(names, r)) for r in rows[header + 1:] if r and r[0]]


def sheet_table(xlsx: Path, sheet: str) -> list[list[Any]]:
    """The table of a sheet: from its header row (bold, after the title lines) to its note."""
    rows = [list(r) for r in load_workbook(xlsx, read_only=True)[sheet].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if not any(v is not None for v in r)) + 1
    body = []
    for r in rows[start + 1:]:
        if not any(v is not None for v in r):
            break
        body.append(r)
    return body


def in_pdf(pdf_all: str, cells: list[Any]) -> bool:
    """The row's cells, as printed, appear in order in the PDF's text."""
    at = 0
    for cell in cells:
        found = pdf_all.find(" ".join(text(cell).split()), at)
        if found < 0:
            return False
        at = found
    return True


def test_every_table_of_the_pdf_is_the_sum_of_the_xlsx_case_data(report: list[Path]) -> None:
    pdf, xlsx = report[0], report[1]
    rows = data_rows(xlsx)
    pdf_all = " ".join(pdf_text(pdf))
    received = [r for r in rows if r["Masuk periode ini"] == 1]
    answered = [r for r in rows if r["Dijawab periode ini"] == 1]

    summary = {r[0]: r[1] for r in sheet_table(xlsx, "Ringkasan")}
    assert summary["Pengaduan masuk"] == len(received) == 9
    assert summary["Selesai dijawab"] == len(answered)
    assert summary["Dijawab tepat waktu (paling lama 3 hari kerja)"] == sum(
        r["Tepat waktu"] == "Ya" for r in answered)
    for label, column in (("Diteruskan ke Group Admin", "Diteruskan periode ini"),
                          ("Bukan pengaduan", "Bukan pengaduan periode ini"),
                          ("Masih terbuka pada akhir periode", "Terbuka akhir periode"),
                          ("Terlambat pada akhir periode", "Terlambat akhir periode")):
        assert summary[label] == sum(r[column] for r in rows), label

    channels = Counter(r["Saluran"] for r in received)
    table = sheet_table(xlsx, "Per saluran")
    assert {r[0]: r[1] for r in table} == dict(channels)
    assert all(in_pdf(pdf_all, r[:3]) for r in table)

    codes = [name for name in rows[0] if name.startswith(CATEGORY_COLUMN.format(""))]
    by_category = {name[len(CATEGORY_COLUMN.format("")):]: (
        sum(r[name] for r in received),
        sum(r[name] for r in received if r["Keluhan atau pertanyaan"] == 1)) for name in codes}
    table = sheet_table(xlsx, "Per kategori")
    assert {r[0]: (r[1], r[2]) for r in table} == {k: v for k, v in by_category.items() if v[0]}
    assert all(in_pdf(pdf_all, r[:4]) for r in table)
    ktp = next(r for r in table if r[0] == "KTP-el")
    assert ktp[1] == ktp[2] + 1  # the thank-you is received, not a problem

    problems = sheet_table(xlsx, "Masalah utama")
    assert problems and all(r[1] == by_category[r[0]][1] for r in problems)
    assert all(in_pdf(pdf_all, r[:3]) for r in problems)

    for sheet, key in (("SLA per saluran", "Saluran"), ("SLA per bidang", "Bidang")):
        table = sheet_table(xlsx, sheet)
        expected = Counter((r[key] or NO_DIVISION) for r in answered)
        on_time = Counter((r[key] or NO_DIVISION) for r in answered if r["Tepat waktu"] == "Ya")
        assert {r[0]: (r[1], r[2]) for r in table if r[1]} == {
            k: (n, on_time[k]) for k, n in expected.items()}, sheet
        assert all(in_pdf(pdf_all, r[:3]) for r in table if r[1])

    per_bidang = {r[0]: r[4] for r in sheet_table(xlsx, "Per bidang")}
    assert {k: v for k, v in per_bidang.items() if v} == Counter(r["Bidang"] for r in answered
                                                                 if r["Bidang"])

    open_rows = sheet_table(xlsx, "Terbuka dan terlambat")
    assert len(open_rows) == summary["Masih terbuka pada akhir periode"]
    assert sum(r[6] == "TERLAMBAT" for r in open_rows) == summary["Terlambat pada akhir periode"]
    assert all(in_pdf(pdf_all, r[:1]) for r in open_rows)

    trend = sheet_table(xlsx, "Tren harian")
    assert sum(r[2] for r in trend) == len(received) and sum(r[3] for r in trend) == len(answered)


def test_a_category_with_a_comma_stays_one_category_in_the_data(report: list[Path]) -> None:
    rows = data_rows(report[1])
    calo = next(r for r in rows if r["Kategori: Petugas, pungli & calo"] == 1)
    assert calo["Kategori"].split("; ") == ["Petugas, pungli & calo"]
    both = next(r for r in rows if r["Kategori"].count("; ") == 1)
    assert set(both["Kategori"].split("; ")) == {"Kartu Keluarga (KK)", "Perubahan data"}
    assert both["Kategori: Kartu Keluarga (KK)"] == both["Kategori: Perubahan data"] == 1


def test_the_category_chart_shows_every_category_its_table_lists_and_every_table_says_what_it_counts(
        rt: Runtime, history: History) -> None:
    with time_machine.travel(NOW, tick=False):
        doc = monthly_document(rt, monthly_figures(rt, 2026, 3), None)
    section = next(s for s in doc.sections if "per kategori" in s.title)
    table = section.tables[0]
    assert section.charts[0].bars == [(r[0], r[1]) for r in table.rows]
    assert "Tanpa kategori" in [label for label, _ in section.charts[0].bars]
    silent = [t.title for t in doc.tables() if not t.note]
    assert silent == [], silent
    assert doc.data is not None and doc.data.note
