"""What a newcomer tripped over in the recaps (issue 19): the first start's empty report, empty
periods, chart axes, the PDF layout, who made a recap, and the CSV for Excel."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import time_machine
from pypdf import PdfReader

from inbox.models import Recap
from inbox.setup.runtime import Runtime
from recap import charts
from recap.make import make_monthly_report
from recap.schedule import due_recaps
from tests.web_helpers import make_case

WIB = timezone(timedelta(hours=7))


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


def pdf_text(path: object) -> tuple[int, str]:
    reader = PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_first_start_makes_no_report_of_the_month_before_the_first_case(rt: Runtime) -> None:
    # 1 December 2026, 07.30 WIB: the monthly report of November is due by the calendar
    with time_machine.travel(wib(12, 1, 7, 30), tick=False):
        assert due_recaps(rt) == []  # no case at all yet
    make_case(rt, 1, at=wib(12, 1, 6, 28))
    with time_machine.travel(wib(12, 1, 7, 30), tick=False):
        assert due_recaps(rt) == []  # the office started in December: nothing of November
    with time_machine.travel(wib(12, 1, 16, 0), tick=False):
        assert due_recaps(rt) == [("daily", date(2026, 12, 1))]
    with time_machine.travel(wib(12, 31, 23, 0) + timedelta(days=1, hours=9), tick=False):
        assert ("monthly", (2026, 12)) in due_recaps(rt)  # December had cases: its report is due


def test_an_empty_month_says_so_in_one_sentence_instead_of_pages_of_zeros(rt: Runtime) -> None:
    make_case(rt, 1, at=wib(12, 1, 9))
    with time_machine.travel(wib(12, 2, 8), tick=False):
        paths = make_monthly_report(rt, 2026, 11)
    pdf = next(p for p in paths if p.suffix == ".pdf")
    pages, text = pdf_text(pdf)
    assert "Tidak ada pengaduan yang masuk, dijawab, atau masih terbuka pada November 2026." in text
    assert pages <= 2, pages  # the cover and one page, not five
    assert "(tidak ada)" not in text and "Tren harian" not in text
    assert Recap.select().where(Recap.period == "2026-11").count() == 4


def test_the_trend_chart_counts_in_whole_numbers_from_zero() -> None:
    days = [date(2026, 11, d) for d in range(1, 31)]
    for received, answered in (([0] * 30, [0] * 30), ([0, 1] + [0] * 28, [0, 0, 1] + [0] * 27)):
        ax = charts.trend_figure(days, received, answered, set()).axes[0]
        low, high = ax.get_ylim()
        assert low == 0 and high >= 1
        ticks = [t for t in ax.get_yticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_the_excel_csv_opens_in_indonesian_excel_semicolons_decimal_commas_and_a_bom(
        rt: Runtime) -> None:
    import csv
    from inbox.models import User
    from inbox.sop import workflow
    from inbox.sop.outbox import deliver_one
    from tests.web_helpers import make_users
    make_users()
    case = make_case(rt, 1, text="Antrean KTP-el di Losari, kenapa lama sekali?", at=wib(11, 2, 9))
    with time_machine.travel(wib(11, 2, 10, 30), tick=False):
        workflow.reply(rt, case, User.get(User.username == "admin1"), "Besok kami buka loket tambahan.")
        assert deliver_one(rt, "test")
    with time_machine.travel(wib(12, 2, 8), tick=False):
        paths = make_monthly_report(rt, 2026, 11)
    plain = next(p for p in paths if p.name == "laporan-bulanan-2026-11.csv")
    excel = next(p for p in paths if p.name == "laporan-bulanan-2026-11-excel.csv")
    raw = excel.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not raw[3:].startswith(b"sep=")
    with open(excel, encoding="utf-8-sig", newline="") as fh:
        excel_rows = list(csv.reader(fh, delimiter=";"))
    with open(plain, encoding="utf-8-sig", newline="") as fh:
        plain_rows = list(csv.reader(fh))
    assert len(excel_rows) == len(plain_rows) == 2 and len(excel_rows[0]) == len(plain_rows[0]) > 5
    assert excel_rows[0] == plain_rows[0]
    # the same cells; a number with a fraction has a decimal comma (Excel reads 1.5 as a date)
    fractions = [(a, b) for a, b in zip(plain_rows[1], excel_rows[1]) if a != b]
    assert fractions and all(b == a.replace(".", ",") and "," in b for a, b in fractions)
    assert Recap.get((Recap.period == "2026-11") & (Recap.fmt == "csv_excel")).path.endswith(
        "laporan-bulanan-2026-11-excel.csv")


def test_a_recap_asked_for_on_the_command_line_names_who_asked(
        rt: Runtime, config_path: object, capsys: object) -> None:
    from main import main
    from recap.daily_doc import BY_COMMAND
    from tests.web_helpers import make_users
    make_users()
    make_case(rt, 1, at=wib(12, 1, 9))
    with time_machine.travel(wib(12, 1, 17), tick=False):
        assert main(["--config", str(config_path), "recap", "daily", "--date", "2026-12-01"]) == 0
        html = (rt.data_dir / "recaps" / "rekap-harian-2026-12-01.html").read_text(encoding="utf-8")
        assert f"oleh {BY_COMMAND}" in html and "sistem (otomatis)" not in html
        assert main(["--config", str(config_path), "recap", "daily", "--date", "2026-12-01",
                     "--as", "admin1"]) == 0
        html = (rt.data_dir / "recaps" / "rekap-harian-2026-12-01.html").read_text(encoding="utf-8")
        assert "oleh Admin Satu" in html
        assert Recap.get(Recap.fmt == "html").created_by.username == "admin1"


def test_an_html_recap_opens_in_the_browser_and_a_spreadsheet_downloads(rt: Runtime) -> None:
    from inbox.web.app import create_app
    from recap.make import make_daily_recap
    from tests.web_helpers import login, make_users, page_text
    make_users()
    make_case(rt, 1, at=wib(12, 1, 9))
    with time_machine.travel(wib(12, 1, 17), tick=False):
        make_daily_recap(rt, date(2026, 12, 1))
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    html = Recap.get(Recap.fmt == "html")
    response = client.get(f"/rekap/{html.id}/unduh")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    xlsx = Recap.get(Recap.fmt == "xlsx")
    assert client.get(f"/rekap/{xlsx.id}/unduh").headers["Content-Disposition"].startswith("attachment")
    assert "Buka Halaman web (HTML)" in page_text(client.get("/rekap"))


def test_the_favicon_is_served_without_a_login(rt: Runtime) -> None:
    from inbox.web.app import create_app
    client = create_app(rt, testing=True).test_client()
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_a_footnote_keeps_its_distance_from_the_table_above() -> None:
    import io
    from recap.document import Document, Section, Table
    from recap.pdf import render
    doc = Document(kind="daily", period_key="x", stem="x", title="Uji", subtitle="", footer="kaki",
                   sections=[Section("Bagian", tables=[Table(
                       "Tabel", ["Uraian", "Jumlah"], [["baris satu", 1], ["baris akhir", 2]],
                       note="Catatan kaki di bawah tabel.")])])
    heights: dict[str, float] = {}
    PdfReader(io.BytesIO(render(doc))).pages[0].extract_text(
        visitor_text=lambda text, cm, tm, font, size: heights.setdefault(text.strip(), tm[5]))
    pitch = heights["baris satu"] - heights["baris akhir"]
    # the note sits more than one row below the last row: there is air above it
    assert heights["baris akhir"] - heights["Catatan kaki di bawah tabel."] > pitch * 1.05


def test_a_small_table_never_sits_alone_on_a_page_before_the_case_list(rt: Runtime) -> None:
    from inbox.models import Case, User
    from inbox.sop import workflow
    from inbox.understand.classify import CATEGORIES
    from recap.make import make_daily_recap
    from tests.web_helpers import make_users
    make_users()
    admin = User.get(User.username == "admin1")
    at = wib(12, 1, 9)
    for i, code in enumerate(CATEGORIES):  # a full page 1: every category had a case
        make_case(rt, i, at=at)
        workflow.set_categories(rt, Case.select().order_by(Case.id.desc()).get(), admin, [code])
    for i, reason in enumerate(["spam", "thanks", "greeting", "duplicate"]):
        make_case(rt, 100 + i, at=at)
        workflow.dismiss(rt, Case.select().order_by(Case.id.desc()).get(), admin, reason)
    with time_machine.travel(wib(12, 1, 17), tick=False):
        pdf = make_daily_recap(rt, date(2026, 12, 1))[0]
    pages = [p.extract_text() for p in PdfReader(str(pdf)).pages]
    alone = [i for i, text in enumerate(pages) if "Bukan pengaduan menurut alasan" in text]
    # Since the letterhead, the signature block (issue 28) and the two rows of issue 30, page 1
    # cannot hold the category table too: the small table then shares a page with it (kept
    # whole) or with the case list, never a page of its own.
    page = pages[alone[0]] if alone else ""
    assert "Daftar pengaduan hari ini" in page or "Pengaduan masuk per kategori" in page, page[:200]
    assert "Pengaduan masuk per kategori" not in pages[0] or "Petugas, pungli & calo" in pages[0]
    assert len(pages) <= 4


def test_emoji_become_their_indonesian_names_in_the_pdf_without_a_warning(
        rt: Runtime, capfd: object) -> None:
    import warnings
    from recap.make import make_daily_recap
    from recap.pdf import printable
    assert printable("Terima kasih 🙏 👍🏽") == "Terima kasih (melipat tangan) (jempol ke atas warna kulit sedang)"
    assert printable("中") == "□" and printable("KTP-el · → é") == "KTP-el · → é"
    make_case(rt, 1, text="Alhamdulillah KTP-el sudah jadi 🙏😀 makasih min ❤️", at=wib(12, 1, 9))
    with warnings.catch_warnings(record=True) as caught, \
            time_machine.travel(wib(12, 1, 17), tick=False):
        warnings.simplefilter("always")
        pdf = make_daily_recap(rt, date(2026, 12, 1))[0]
    assert not [w for w in caught if "glyph" in str(w.message).lower()]
    err = capfd.readouterr().err  # type: ignore[attr-defined]
    assert "glyph" not in err.lower() and "missing" not in err.lower()
    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "(melipat tangan)" in text and "(wajah gembira)" in text
