"""The monthly report's sections for issue 30: the class clocks, *bukan wewenang* by agency,
the maladministration types against the previous month, and the cases linked to SP4N-LAPOR!.

Every figure is counted from the month's ``CaseRow``s (``recap.figures.load_cases`` reads the
classed cases whose clock ran in the month too), and each has a 1/0 column of the same name in
the XLSX case sheet (``DATA_COLUMNS``/``data_cells``), so a table can be checked by summing a
column. Each table's note says what it counts. The definitions, for a month ``p``:

- a class clock is **on time** when its follow-up was recorded in the month by its deadline,
  **late** when recorded in the month after it; **running** when no follow-up was recorded by
  the end of the month and the deadline is later, **overdue** when the deadline passed (a case
  counts in the class it has now);
- **bukan wewenang**: closed as another agency's matter in the month (``CaseRow.referred_in``);
- **maladministration**: the cases received in the month that are complaints (not dismissed,
  not another agency's), by the type a person confirmed; the suggestions nobody confirmed yet
  are a row of their own, never counted as a type;
- **LAPOR!**: the cases with a tracking ID received in the month or open at its end, by their
  status in LAPOR!'s words.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from inbox.labels import MALADMINISTRATION_LABELS, NO_MALADMINISTRATION, label
from recap.document import Pct, Section, Table, change
from recap.figures import CaseRow, Period
from recap.lapor import status_of
from recap.monthly import MonthlyFigures

ON_TIME, LATE, RUNNING, OVERDUE = "on_time", "late", "running", "overdue"
CLOCK_WORDS = {ON_TIME: "Tindak lanjut tepat waktu", LATE: "Tindak lanjut terlambat",
               RUNNING: "Masih berjalan (belum lewat batas)",
               OVERDUE: "Lewat batas, belum ditindaklanjuti"}
UNCONFIRMED = "Belum dikonfirmasi (ada usulan sistem)"
UNDECIDED = "Belum ditetapkan"
PRINT_LIMIT = 60


def clock_state(c: CaseRow, p: Period) -> str | None:
    """Where ``c``'s class clock stands in ``p`` (one of the four), or None when it does not
    count in ``p`` (no class, another agency's matter, dismissed, followed up in another month,
    or received after the period)."""
    if not c.complaint_class or c.referred_to or c.status == "not_complaint" \
            or c.resolution_due_at is None or c.opened_at >= p.as_of:
        return None
    if c.resolved_at is not None and c.resolved_at < p.as_of:
        if not p.has(c.resolved_at):
            return None
        return ON_TIME if c.resolved_at <= c.resolution_due_at else LATE
    return OVERDUE if c.resolution_due_at < p.as_of else RUNNING


def counted_for_maladministration(c: CaseRow, p: Period) -> bool:
    return c.received_in(p) and c.status != "not_complaint" and not c.referred_to \
        and c.intent in (None, "complaint", "question")


def maladministration_key(c: CaseRow) -> str:
    if c.maladministration:
        return c.maladministration
    return UNCONFIRMED if c.maladministration_suggested else UNDECIDED


def lapor_counted(c: CaseRow, p: Period) -> bool:
    return bool(c.lapor_tracking_id) and (c.received_in(p) or c.open_at_end(p)
                                          or c.referred_in(p) or c.answered_in(p))


def class_table(f: MonthlyFigures, names: dict[str, str]) -> Table:
    p = f.period
    tally: dict[str, Counter[str]] = {}
    for c in f.rows:
        state = clock_state(c, p)
        if state:
            tally.setdefault(c.complaint_class, Counter())[state] += 1
    order = list(names) + sorted(set(tally) - set(names))
    rows = []
    for code in order:
        n = tally.get(code, Counter())
        done = n[ON_TIME] + n[LATE]
        rows.append([names.get(code, code), n[ON_TIME], n[LATE], n[RUNNING], n[OVERDUE],
                     Pct(n[ON_TIME] / done if done else None)])
    return Table("Kepatuhan batas tindak lanjut per kelas pengaduan",
                 ["Kelas", CLOCK_WORDS[ON_TIME], CLOCK_WORDS[LATE], CLOCK_WORDS[RUNNING],
                  CLOCK_WORDS[OVERDUE], "Kepatuhan"], rows, sheet="Kelas pengaduan",
                 widths=[3.6, 1.6, 1.6, 1.8, 1.9, 1.4],
                 note="Menghitung pengaduan berkelas: tindak lanjut yang dicatat bulan ini (tepat "
                      "atau terlambat terhadap batas kelasnya) dan yang belum dicatat pada akhir "
                      "bulan (masih berjalan atau sudah lewat batas). Batas dihitung dalam hari "
                      "kerja sejak hari pengaduan masuk. Jawaban kepada warga tetap dihitung "
                      "dengan batas SOP pada bagian Kepatuhan SLA.")


def referral_table(f: MonthlyFigures) -> Table:
    now = Counter(c.referred_to for c in f.rows if c.referred_in(f.period))
    before = Counter(c.referred_to for c in f.before_rows if c.referred_in(f.previous))
    forwarded = Counter(c.referred_to for c in f.rows
                        if c.referred_in(f.period) and c.referral_forwarded)
    keys = sorted(now, key=lambda k: (-now[k], k)) + sorted(set(before) - set(now))
    rows = [[k, now.get(k, 0), forwarded.get(k, 0), before.get(k, 0),
             change(now.get(k, 0), before.get(k, 0))] for k in keys]
    return Table("Bukan wewenang menurut instansi", ["Instansi yang berwenang", "Bulan ini",
                                                     "Diteruskan oleh kantor", "Bulan lalu",
                                                     "Perubahan"], rows,
                 sheet="Bukan wewenang", widths=[4.2, 1.3, 1.8, 1.3, 2.2],
                 note="Menghitung pengaduan yang ditutup bulan ini karena menjadi wewenang instansi "
                      "lain, dengan jawaban yang mengarahkan warga ke instansi itu. Tidak termasuk "
                      "\"selesai dijawab\", \"bukan pengaduan\" maupun keterlambatan SLA.")


def maladministration_table(f: MonthlyFigures) -> Table:
    now = Counter(maladministration_key(c) for c in f.rows
                  if counted_for_maladministration(c, f.period))
    before = Counter(maladministration_key(c) for c in f.before_rows
                     if counted_for_maladministration(c, f.previous))
    types = [k for k in MALADMINISTRATION_LABELS if now.get(k) or before.get(k)]
    types.sort(key=lambda k: (-now.get(k, 0), MALADMINISTRATION_LABELS[k]))
    rows = [[MALADMINISTRATION_LABELS[k], now.get(k, 0), before.get(k, 0),
             change(now.get(k, 0), before.get(k, 0))] for k in types]
    for key, name in ((NO_MALADMINISTRATION, label("maladministration", NO_MALADMINISTRATION)),
                      (UNCONFIRMED, UNCONFIRMED), (UNDECIDED, UNDECIDED)):
        rows.append([name, now.get(key, 0), before.get(key, 0),
                     change(now.get(key, 0), before.get(key, 0))])
    return Table("Jenis maladministrasi (Ombudsman RI)", ["Jenis", "Bulan ini", "Bulan lalu",
                                                           "Perubahan"], rows,
                 sheet="Maladministrasi", widths=[4.6, 1.3, 1.3, 2.2],
                 note="Menghitung pengaduan dan pertanyaan yang masuk bulan ini (tanpa yang "
                      "bukan pengaduan atau bukan wewenang), satu jenis per pengaduan, menurut "
                      "jenis yang ditetapkan Group Admin atau bidang. Usulan sistem yang belum "
                      "dikonfirmasi dihitung terpisah. Jenis maladministrasi tidak pernah "
                      "disampaikan kepada warga.")


def lapor_tables(f: MonthlyFigures, tz: Any) -> list[Table]:
    p = f.period
    linked = [c for c in f.rows if lapor_counted(c, p)]
    by_status = Counter(status_of(c) for c in linked)
    order = ["diterima", "diverifikasi", "didisposisi", "ditindaklanjuti", "selesai",
             "bukan_wewenang", "diarsipkan"]
    summary = Table("Pengaduan yang terhubung dengan SP4N-LAPOR! menurut status",
                    ["Status di LAPOR!", "Jumlah"],
                    [[label("lapor_status", s), by_status.get(s, 0)] for s in order
                     if by_status.get(s)] + [["Jumlah", len(linked)]],
                    sheet="LAPOR status", widths=[4, 1.4],
                    note="Menghitung pengaduan yang punya ID LAPOR! dan masuk bulan ini, selesai "
                         "bulan ini, atau masih terbuka pada akhir bulan; status menurut istilah "
                         "LAPOR! pada akhir bulan.")
    listing = Table("Daftar pengaduan yang terhubung dengan SP4N-LAPOR!",
                    ["Nomor", "ID LAPOR!", "Masuk (WIB)", "Status di LAPOR!", "Klasifikasi"],
                    [[c.reference, c.lapor_tracking_id, c.opened_at.astimezone(tz),
                      label("lapor_status", status_of(c)),
                      label("report_type", c.report_type or "") if c.report_type else
                      {"complaint": "Pengaduan", "question": "Permintaan Informasi"}.get(
                          c.intent or "", "")] for c in linked],
                    sheet="LAPOR daftar", widths=[2.4, 1.6, 2.2, 2.2, 2.2], pdf_limit=PRINT_LIMIT,
                    note="Satu baris per pengaduan yang dihitung pada tabel di atas.")
    return [summary, listing]


def handling_section(rt: Any, f: MonthlyFigures, number: str, tz: Any) -> Section:
    """The section, numbered ``number`` (e.g. "11. ")."""
    from inbox.setup.handling_config import classes
    names = {c["code"]: c["name"] for c in classes(rt.config.resolution)}
    p = f.period
    states = Counter(clock_state(c, p) for c in f.rows)
    referred = sum(c.referred_in(p) for c in f.rows)
    paragraphs = [
        f"Pengaduan berkelas: {states[ON_TIME]} ditindaklanjuti tepat waktu, {states[LATE]} "
        f"terlambat, {states[RUNNING]} masih berjalan dan {states[OVERDUE]} lewat batas tanpa "
        f"tindak lanjut pada akhir bulan. Bukan wewenang: {referred} pengaduan diarahkan ke "
        f"instansi lain."]
    tables = [class_table(f, names), referral_table(f), maladministration_table(f),
              *lapor_tables(f, tz)]
    for table in tables:
        # A table with nothing to count stays in the XLSX only: a page of zeros says nothing.
        if not any(isinstance(v, int) and v for row in table.rows for v in row[1:]):
            table.in_pdf = False
    return Section(f"{number}Kelas pengaduan, bukan wewenang, maladministrasi dan SP4N-LAPOR!",
                   paragraphs=paragraphs, tables=tables)


#: The case sheet's columns for these sections (appended after the report's own).
DATA_COLUMNS = ["Kelas pengaduan", "Batas tindak lanjut (WIB)", "Tindak lanjut dicatat (WIB)",
                CLOCK_WORDS[ON_TIME] + " (bulan ini)", CLOCK_WORDS[LATE] + " (bulan ini)",
                CLOCK_WORDS[RUNNING] + " (akhir bulan)", CLOCK_WORDS[OVERDUE] + " (akhir bulan)",
                "Bukan wewenang: instansi", "Bukan wewenang (bulan ini)",
                "Jenis maladministrasi", "Dihitung di tabel maladministrasi",
                "ID LAPOR!", "Status LAPOR!", "Dihitung di tabel LAPOR!"]


def data_cells(c: CaseRow, p: Period, names: dict[str, str], tz: Any) -> list[Any]:
    """The row's cells under ``DATA_COLUMNS``."""
    state = clock_state(c, p)
    counted = counted_for_maladministration(c, p)
    return [names.get(c.complaint_class or "", c.complaint_class or ""),
            c.resolution_due_at.astimezone(tz) if c.resolution_due_at else None,
            c.resolved_at.astimezone(tz) if c.resolved_at else None,
            int(state == ON_TIME), int(state == LATE), int(state == RUNNING),
            int(state == OVERDUE), c.referred_to or "", int(c.referred_in(p)),
            (label("maladministration", c.maladministration) if c.maladministration else
             UNCONFIRMED if c.maladministration_suggested else "") if counted else "",
            int(counted), c.lapor_tracking_id or "",
            label("lapor_status", status_of(c)) if c.lapor_tracking_id else "",
            int(lapor_counted(c, p))]
