"""The monthly report's figures laid out for the team's meeting: cover, headline figures against
the previous month, SLA, response times, charts, divisions, top problems, open cases, data."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from inbox.dates import format_date_id, format_month_id
from inbox.labels import label as label_of
from inbox.models import User, utcnow
from inbox.setup.handling_config import classes
from inbox.understand.classify import CATEGORY_LABELS
from recap import charts, handling
from recap import figures as fg
from recap import official
from recap.conclusions import conclusions_section
from recap.daily_doc import as_of_text, category_text, made_line
from recap.document import Chart, Cover, Document, Pct, Section, Table, change
from recap.incidents import incidents_section
from recap.monthly import MonthlyFigures, is_problem, percentile
from recap.satisfaction import satisfaction_section

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

PRINT_LIMIT = 100


def _month(p: fg.Period) -> str:
    return format_month_id(p.first_day.year, p.first_day.month)


def _hours(values: list[float], pct: float, per_day: float = 0) -> float | None:
    value = percentile(values, pct)
    if value is None:
        return None
    return round(value / per_day if per_day else value, 1)


def headline_table(f: MonthlyFigures, days: int) -> Table:
    now, then = f.current, f.before
    rows: list[list[Any]] = []
    for label, a, b in [
        ("Pengaduan masuk", now.received, then.received),
        ("Selesai dijawab", now.answered, then.answered),
        (f"Dijawab tepat waktu (paling lama {days} hari kerja)", now.on_time, then.on_time),
        ("Diteruskan ke Group Admin", now.escalated, then.escalated),
        ("Bukan pengaduan", now.dismissed, then.dismissed),
        ("Bukan wewenang (diarahkan ke instansi lain)", now.referred, then.referred),
        ("Masih terbuka pada akhir periode", now.open_end, then.open_end),
        ("Terlambat pada akhir periode", now.overdue_end, then.overdue_end),
    ]:
        rows.append([label, a, b, change(a, b)])
    rows.append(["Kepatuhan SLA", Pct(now.compliance), Pct(then.compliance),
                 change(now.compliance, then.compliance, percent_points=True)])
    for label, a, b in [
        ("Median tanggapan pertama (jam kerja)", _hours(now.first_response_hours, 50),
         _hours(then.first_response_hours, 50)),
        ("Median waktu selesai dijawab (jam kerja)", _hours(now.answer_hours, 50),
         _hours(then.answer_hours, 50)),
    ]:
        rows.append([label, a, b, change(a, b)])
    return Table("Angka utama", ["Indikator", _month(f.period), _month(f.previous), "Perubahan"],
                 rows, sheet="Ringkasan", widths=[4.2, 1.6, 1.6, 2.4], note=HEADLINE_NOTE)


HEADLINE_NOTE = (
    "Pengaduan masuk: setiap pengaduan yang dibuka pada bulan itu (termasuk ucapan terima kasih, "
    "sapaan dan spam). Selesai dijawab: jawaban yang terkirim ke warga pada bulan itu, juga untuk "
    "pengaduan yang masuk bulan sebelumnya. Bukan pengaduan: yang ditandai bukan pengaduan pada "
    "bulan itu. Masih terbuka dan terlambat: keadaan pada akhir bulan. Setiap angka dapat "
    "diperiksa dengan menjumlahkan kolomnya di lembar Data pengaduan (XLSX).")


def sla_table(f: MonthlyFigures, key: str, title: str, first: str, sheet: str) -> Table:
    now, then = f.sla_by(key), f.sla_by(key, previous=True)
    labels = sorted(now, key=lambda k: (-now[k][0], k)) + sorted(set(then) - set(now))
    rows = []
    for label in labels:
        answered, on_time = now.get(label, (0, 0))
        before = then.get(label)
        rows.append([label, answered, on_time, Pct(fg.share(on_time, answered)),
                     Pct(fg.share(before[1], before[0]) if before else None)])
    per = "saluran asalnya" if key == "channel" else \
        "bidang yang menjawab (tanpa bidang: dijawab Admin atau Group Admin)"
    return Table(title, [first, "Selesai dijawab", "Tepat waktu", "Kepatuhan",
                         "Kepatuhan bulan lalu"], rows, sheet=sheet, widths=[4, 1.5, 1.5, 1.4, 1.6],
                 note=f"Pengaduan yang selesai dijawab (jawaban terkirim ke warga) bulan ini menurut "
                      f"{per}; jumlahnya sama dengan Selesai dijawab di Angka utama. Tepat waktu: "
                      f"terkirim paling lambat pada batas waktunya.")


def time_table(f: MonthlyFigures) -> Table:
    per_day = f.clock.day_seconds / 3600
    rows = []
    for label, now, then in [("Tanggapan pertama", f.current.first_response_hours,
                              f.before.first_response_hours),
                             ("Selesai dijawab", f.current.answer_hours, f.before.answer_hours)]:
        for unit, div in (("jam kerja", 0.0), ("hari kerja", per_day)):
            rows.append([f"{label} ({unit})", _hours(now, 50, div), _hours(now, 90, div),
                         _hours(then, 50, div), _hours(then, 90, div)])
    return Table("Waktu tanggapan", ["Ukuran", "Median", "Persentil 90", "Median bulan lalu",
                                     "Persentil 90 bulan lalu"], rows, sheet="Waktu tanggapan",
                 widths=[3.4, 1.4, 1.5, 1.7, 2],
                 note=(f"Jam kerja: {fg.OFFICE_OPENS.strftime('%H.%M')}–"
                       f"{f.clock.calendar.end_of_day.strftime('%H.%M')} WIB pada hari kerja "
                       f"(Senin–Jumat di luar libur nasional dan cuti bersama); 1 hari kerja = "
                       f"{str(round(per_day, 1)).replace('.', ',')} jam kerja. Tanggapan pertama "
                       f"dihitung untuk pengaduan yang masuk bulan ini (termasuk tanda terima), "
                       f"waktu selesai dijawab untuk pengaduan yang dijawab bulan ini."))


def counts_table(title: str, first: str, now: Any, then: Any, sheet: str,
                 label: Any = lambda k: k, note: str = "") -> Table:
    keys = sorted(now, key=lambda k: (-now[k], k)) + sorted(set(then) - set(now))
    return Table(title, [first, "Masuk", "Bulan lalu", "Perubahan"],
                 [[label(k), now.get(k, 0), then.get(k, 0), change(now.get(k, 0), then.get(k, 0))]
                  for k in keys], sheet=sheet, widths=[4, 1.3, 1.3, 2.2], note=note)


CATEGORY_NOTE = (
    "Masuk: pengaduan yang masuk bulan ini menurut kategori layanannya; satu pengaduan bisa "
    "masuk lebih dari satu kategori, dan yang tanpa kategori dihitung sebagai Tanpa kategori. "
    "Keluhan & pertanyaan: dari yang masuk itu, hanya keluhan dan pertanyaan (tanpa ucapan "
    "terima kasih, sapaan, spam dan yang ditandai bukan pengaduan): angka yang sama dipakai di "
    "bagian Masalah yang paling sering.")


def category_table(f: MonthlyFigures, label: Any) -> Table:
    """Received per category, with the complaints and questions among them beside it, so this
    table and "Masalah yang paling sering" give the same number for the same population."""
    now, then = f.received_by("category"), f.received_by("category", previous=True)
    problems = Counter(code for c in f.received() if is_problem(c)
                       for code in (c.categories or [fg.NO_CATEGORY]))
    keys = sorted(now, key=lambda k: (-now[k], k)) + sorted(set(then) - set(now))
    return Table("Pengaduan masuk per kategori",
                 ["Kategori", "Masuk", "Keluhan & pertanyaan", "Bulan lalu", "Perubahan"],
                 [[label(k), now.get(k, 0), problems.get(k, 0), then.get(k, 0),
                   change(now.get(k, 0), then.get(k, 0))] for k in keys],
                 sheet="Per kategori", widths=[4, 1.2, 1.7, 1.3, 2.2], note=CATEGORY_NOTE)


def division_table(f: MonthlyFigures) -> Table:
    rows = [[d.name, d.assigned, d.division_answered, _hours(d.answer_hours, 50), d.answered,
             Pct(fg.share(d.on_time, d.answered)), d.waiting_end] for d in f.division_lines]
    return Table("Penanganan per bidang", ["Bidang", "Diserahkan", "Dijawab bidang",
                                          "Median jawab bidang (jam kerja)",
                                          "Selesai dijawab ke warga", "Kepatuhan",
                                          "Belum dijawab bidang"], rows,
                 sheet="Per bidang", widths=[4, 1.4, 1.4, 1.8, 1.6, 1.4, 1.6],
                 note="Diserahkan: pengaduan yang diserahkan Group Admin ke bidang bulan ini. "
                      "Dijawab bidang: jawaban bidang bulan ini. Median jawab bidang: dari "
                      "diserahkan ke bidang sampai bidang menjawab. Selesai dijawab ke warga dan "
                      "Kepatuhan: pengaduan bidang itu yang jawabannya terkirim ke warga bulan ini "
                      "(sama dengan Kepatuhan per bidang). Belum dijawab bidang: pada akhir "
                      "periode.")


def open_table(f: MonthlyFigures, tz: Any) -> Table:
    p = f.period
    rows = [[c.reference, c.opened_at.astimezone(tz), f.channels.get(c.account_id, "?"),
             category_text(c.categories), label_of("status", c.status),
             c.due_at.astimezone(tz) if c.due_at else None,
             "TERLAMBAT" if c.overdue_at_end(p) else "belum"] for c in f.open_cases()]
    return Table("Pengaduan terbuka dan terlambat pada akhir periode",
                 ["Nomor", "Masuk (WIB)", "Saluran", "Kategori", "Status", "Batas waktu (WIB)",
                  "Terlambat"], rows, sheet="Terbuka dan terlambat",
                 widths=[2.3, 2.1, 2.1, 2.8, 2, 2.1, 1.5], pdf_limit=PRINT_LIMIT, wide=True,
                 note="Setiap pengaduan yang belum selesai pada akhir periode, yang terlambat "
                      "lebih dulu: jumlah barisnya sama dengan Masih terbuka pada akhir periode di "
                      "Angka utama, dan jumlah yang terlambat dengan Terlambat pada akhir periode.")


DATA_COLUMNS = [
    "Nomor", "Masuk (WIB)", "Saluran", "Publik/pribadi", "Kategori", "Jenis pesan", "Status",
    "Bidang", "Alasan bukan pengaduan", "Batas waktu (WIB)", "Tanggapan pertama (WIB)",
    "Diteruskan (WIB)", "Dijawab bidang (WIB)", "Selesai dijawab (WIB)", "Jalur jawaban",
    "Tepat waktu", "Jam kerja sampai tanggapan pertama", "Jam kerja sampai selesai dijawab",
    "Masuk periode ini", "Dijawab periode ini", "Diteruskan periode ini",
    "Bukan pengaduan periode ini", "Terbuka akhir periode", "Terlambat akhir periode",
    "Ringkasan (data pribadi disamarkan)",
    # 1/0 per category and whether the case counts among the problems: a category column sums
    # to its "Masuk" (rows with Masuk periode ini = 1) and, with the problem column, to its
    # "Keluhan & pertanyaan" (issue 28 item 7)
    "Keluhan atau pertanyaan",
]
#: The name of a category's own 1/0 column in the case data.
CATEGORY_COLUMN = "Kategori: {}"


def data_table(f: MonthlyFigures, tz: Any, class_names: dict[str, str] | None = None) -> Table:
    """Every case that counts in the month, one row each, with a 1/0 column per headline
    figure, so each figure of the report can be checked by summing a column."""
    p, clock = f.period, f.clock
    class_names = class_names or {}

    def local(moment: Any) -> Any:
        return moment.astimezone(tz) if moment is not None else None

    codes = category_codes(f)
    rows = []
    for c in f.rows:
        categories = set(c.categories or [fg.NO_CATEGORY])
        rows.append([
            c.reference, local(c.opened_at), f.channels.get(c.account_id, "?"),
            "Publik" if c.public else "Pribadi", category_text(c.categories),
            label_of("intent", c.intent or ""), label_of("status", c.status),
            f.divisions[c.division_id][1] if c.division_id in f.divisions else "",
            label_of("dismiss_reason", c.dismiss_reason or ""), local(c.due_at),
            local(c.first_response_at), local(c.escalated_at), local(c.division_answered_at),
            local(c.answered_at), fg.PATH_LABELS[c.path] if c.answered_at else "",
            ("Ya" if c.on_time else "Tidak") if c.answered_at else "",
            round(clock.hours(c.opened_at, c.first_response_at), 2) if c.first_response_at else None,
            round(clock.hours(c.opened_at, c.answered_at), 2) if c.answered_at else None,
            int(c.received_in(p)), int(c.answered_in(p)), int(c.escalated_in(p)),
            int(c.dismissed_in(p)), int(c.open_at_end(p)), int(c.overdue_at_end(p)), c.summary,
            int(is_problem(c)), *[int(code in categories) for code in codes],
            *handling.data_cells(c, p, class_names, tz),
        ])
    return Table("Data pengaduan", DATA_COLUMNS + [CATEGORY_COLUMN.format(CATEGORY_LABELS.get(
        code, code)) for code in codes] + handling.DATA_COLUMNS, rows, sheet="Data pengaduan",
        in_pdf=False,
        note="Satu baris per pengaduan yang dihitung dalam laporan ini; setiap kolom 1/0 "
             "dijumlahkan menghasilkan angka laporan yang sama namanya.")


def category_codes(f: MonthlyFigures) -> list[str]:
    """Every category code, in the classifier's order, and "Tanpa kategori" when a case of the
    month has none (one 1/0 column each in the case data)."""
    codes = list(CATEGORY_LABELS)
    codes += sorted({code for c in f.rows for code in c.categories} - set(codes))
    if any(not c.categories for c in f.rows):
        codes.append(fg.NO_CATEGORY)
    return codes


def _no_pdf(table: Table) -> Table:
    """The table kept for the XLSX only (a PDF page of zeros says nothing)."""
    table.in_pdf = False
    return table


def monthly_document(rt: Runtime, f: MonthlyFigures, actor: User | None,
                     made_by: str | None = None) -> Document:
    p, tz, days = f.period, rt.config.tz, rt.calendar.working_days
    office = rt.config.office
    month = _month(p)
    now = f.current
    sla_line = (f"Dari {now.answered} pengaduan yang selesai dijawab pada {month}, {now.on_time} "
                f"({Pct(now.compliance)}) dijawab paling lama {days} hari kerja sesuai SOP.")
    trend = f.trend()
    non_working = {d for d in p.days() if not f.clock.is_working_day(d)}
    trend_table = Table("Tren harian", ["Tanggal", "Hari kerja", "Masuk", "Selesai dijawab"],
                        [[format_date_id(d), "Ya" if d not in non_working else "Tidak", r, a]
                         for d, r, a in trend], sheet="Tren harian", in_pdf=False,
                        note="Pengaduan yang masuk dan yang selesai dijawab per hari (WIB); "
                             "jumlahnya sama dengan Angka utama.")
    by_channel, by_category = f.received_by("channel"), f.received_by("category")
    label = lambda code: CATEGORY_LABELS.get(code, code)  # noqa: E731
    problems = Table("Masalah yang paling sering",
                     ["Kategori", "Jumlah", "Bulan lalu", "Contoh (disamarkan)"],
                     [[label(code), n, before, "\n".join(f"• {e}" for e in excerpts)]
                      for code, n, before, excerpts in f.top_problems()],
                     sheet="Masalah utama", widths=[2.2, 1, 1.1, 7.5],
                     note="Keluhan dan pertanyaan yang masuk bulan ini per kategori, lima "
                          "terbanyak (kolom Keluhan & pertanyaan di bagian Pengaduan per "
                          "kategori): ucapan terima kasih, sapaan, spam dan yang ditandai bukan "
                          "pengaduan tidak dihitung. Bulan lalu dihitung dengan cara yang sama.")
    # the chart shows every category its table lists, in the table's order
    top_categories = sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    received = sum(r for _, r, _ in trend)
    answered = sum(a for _, _, a in trend)
    sections = [
        Section("1. Angka utama", paragraphs=[
            f"Periode {format_date_id(p.first_day)} – {format_date_id(p.last_day)}"
            + ("" if p.complete else f" ({as_of_text(rt, p)})")
            + f", dibandingkan dengan {_month(f.previous)}."], tables=[headline_table(f, days)]),
        Section(f"2. Kepatuhan SLA ({days} hari kerja)", paragraphs=[sla_line], tables=[
            sla_table(f, "channel", "Kepatuhan per saluran", "Saluran", "SLA per saluran"),
            sla_table(f, "division", "Kepatuhan per bidang", "Bidang", "SLA per bidang")]),
        Section("3. Waktu tanggapan", tables=[time_table(f)]),
        Section("4. Tren harian", charts=[Chart("Pengaduan masuk dan selesai dijawab per hari",
                                                charts.trend_chart(p.days(), [r for _, r, _ in trend],
                                                                   [a for _, _, a in trend],
                                                                   non_working))],
                tables=[trend_table]),
        Section("5. Pengaduan per saluran", charts=[Chart("Pengaduan masuk per saluran",
                charts.bar_chart(list(dict(by_channel.most_common())),
                                 [n for _, n in by_channel.most_common()]))],
                tables=[counts_table("Pengaduan masuk per saluran", "Saluran", by_channel,
                                     f.received_by("channel", previous=True), "Per saluran",
                                     note="Pengaduan yang masuk bulan ini menurut salurannya; "
                                          "jumlahnya sama dengan Pengaduan masuk di Angka utama.")]),
        Section("6. Pengaduan per kategori", charts=[Chart("Pengaduan masuk per kategori",
                charts.bar_chart([label(c) for c, _ in top_categories],
                                 [n for _, n in top_categories], color=charts.GREEN),
                bars=[(label(c), n) for c, n in top_categories])],
                tables=[category_table(f, label)]),
        Section("7. Penanganan per bidang", tables=[division_table(f)]),
        Section("8. Masalah yang paling sering", tables=[problems]),
        Section("9. Pengaduan terbuka dan terlambat", tables=[open_table(f, tz)]),
    ]
    empty = not received and not answered and not f.open_cases()
    if empty:
        # A month with nothing in it says so once, instead of pages of zeros and empty charts;
        # the XLSX still has its sheets (with their zeros) for whoever sums the year.
        sections = [sections[0], Section("Tidak ada pengaduan", paragraphs=[
            f"Tidak ada pengaduan yang masuk, dijawab, atau masih terbuka pada {month}."],
            tables=[_no_pdf(t) for sec in sections[1:] for t in sec.tables if t.sheet])]
    else:
        for section in sections[3:6]:
            if not received and section.charts:
                section.charts = []
                section.paragraphs = [f"Tidak ada pengaduan yang masuk pada {month}."]
                section.tables = [_no_pdf(t) for t in section.tables]
    sections.append(satisfaction_section(f, "10. " if len(sections) > 2 else "", tz))
    if empty:
        # Nothing to follow up either: the class clocks' and incidents' sheets stay in the XLSX,
        # the PDF has said it all in one sentence.
        sections[1].tables += [_no_pdf(t) for later in (
            handling.handling_section(rt, f, "", tz), incidents_section(p, "", tz))
            for t in later.tables if t.sheet]
    else:
        sections.append(handling.handling_section(rt, f, next_number(sections), tz))
        sections.append(incidents_section(p, next_number(sections), tz))
        # Last, whatever sections come before it: what the team discusses and decides.
        sections.append(conclusions_section(f, days, next_number(sections)))
    period_text = f"{format_date_id(p.first_day)} – {format_date_id(p.last_day)}"
    practice = f.scope.practice
    return Document(
        kind="monthly", period_key=p.key, stem=f"laporan-bulanan-{p.key}",
        title=f"Laporan Bulanan Penanganan Pengaduan Media Sosial — {month}",
        subtitle=office["name"],
        footer=f"{office['short_name'] or office['name']} · Laporan bulanan {month}",
        sections=sections, data=data_table(f, tz, {c["code"]: c["name"] for c in
                                                   classes(rt.config.resolution)}),
        cover=Cover(office=office["name"], title="Laporan Bulanan Penanganan Pengaduan "
                    "dan Keluhan Masyarakat melalui Media Sosial", period=f"{month}\n{period_text}",
                    legal_basis=office.get("legal_basis") or "", made=made_line(rt, actor, made_by)),
        practice=practice, made_by="" if actor is not None else made_by or official.BY_SCHEDULE,
        official=official.official(rt, utcnow().astimezone(tz).date(), p.first_day.year,
                                   p.first_day.month))


def next_number(sections: list[Section]) -> str:
    """``"11. "`` after ten numbered sections; ``""`` when they are not numbered."""
    numbers = [int(s.title.split(".", 1)[0]) for s in sections
               if s.title.split(".", 1)[0].isdigit()]
    return f"{max(numbers) + 1}. " if len(numbers) > 1 else ""
