"""The monthly report's last section, *Kesimpulan dan tindak lanjut* (issue 28, item 6): a few
sentences written from the month's figures — what rose or fell against the previous month,
which bidang missed the deadline and how often, the three most frequent problems with their
counts — and a blank table for the team's decisions, so the report can be discussed and signed
as it stands.

Every number here is one the report's tables already show, counted the same way.
"""
from __future__ import annotations

from inbox.dates import format_month_id
from inbox.understand.classify import CATEGORY_LABELS
from recap.document import Pct, Section, Table, change, text
from recap.monthly import MonthlyFigures

FOLLOW_UP_ROWS = 5
#: A blank cell tall enough to write in by hand.
WRITE_HERE = "\n\n"


def _rose_fell(now: int, before: int, what: str, month_before: str) -> str:
    """``Pengaduan masuk 120, naik 20 (20,0%) dibanding Oktober 2026 (100).``"""
    if now == before:
        return f"{what} {text(now)}, sama dengan {month_before}."
    word = "naik" if now > before else "turun"
    ratio = f" ({abs(now - before) / before * 100:.1f}%)".replace(".", ",") if before else ""
    return (f"{what} {text(now)}, {word} {text(abs(now - before))}{ratio} dibanding "
            f"{month_before} ({text(before)}).")


def sentences(f: MonthlyFigures, days: int, month_before: str) -> list[str]:
    """The conclusions, one sentence per figure."""
    now, then = f.current, f.before
    out = [_rose_fell(now.received, then.received, "Pengaduan masuk", month_before)]
    moved = change(now.compliance, then.compliance, percent_points=True)
    against = f"{moved} dibanding {month_before}" if then.compliance is not None else \
        f"{month_before} tidak ada jawaban terkirim"
    out.append(
        f"Selesai dijawab {text(now.answered)}; {text(now.on_time)} di antaranya paling lama "
        f"{days} hari kerja (kepatuhan {Pct(now.compliance)}; {against}).")
    out.append(f"Pada akhir bulan {text(now.open_end)} pengaduan masih terbuka, "
               f"{text(now.overdue_end)} di antaranya melewati batas waktu.")
    out.append(missed_deadline(f))
    top = f.top_problems()[:3]
    if top:
        listed = "; ".join(f"{CATEGORY_LABELS.get(code, code)} {text(n)} (bulan lalu {text(before)})"
                           for code, n, before, _ in top)
        out.append(f"Masalah yang paling sering (keluhan dan pertanyaan): {listed}.")
    else:
        out.append("Tidak ada keluhan atau pertanyaan yang masuk bulan ini.")
    return out


def missed_deadline(f: MonthlyFigures) -> str:
    """Which bidang (or the Admin/Group Admin) answered late, how often, and how many of its
    cases were still overdue at the end of the month."""
    p = f.period
    late = {label: answered - on_time for label, (answered, on_time) in f.sla_by("division").items()}
    answered = {label: a for label, (a, _) in f.sla_by("division").items()}
    overdue: dict[str, int] = {}
    for c in f.open_cases():
        if c.overdue_at_end(p) and c.division_id in f.divisions:
            name = f.divisions[c.division_id][1]
            overdue[name] = overdue.get(name, 0) + 1
    names = sorted(set(k for k, v in late.items() if v) | set(overdue),
                   key=lambda k: (-late.get(k, 0), -overdue.get(k, 0), k))
    if not names:
        return "Semua jawaban bulan ini terkirim dalam batas waktu, dan tidak ada pengaduan " \
               "bidang yang terlambat pada akhir bulan."
    parts = []
    for name in names:
        bits = []
        if late.get(name):
            bits.append(f"{text(late[name])} dari {text(answered[name])} jawaban terlambat")
        if overdue.get(name):
            bits.append(f"{text(overdue[name])} pengaduan masih terlambat pada akhir bulan")
        parts.append(f"{name}: {', '.join(bits)}")
    return "Melewati batas waktu: " + "; ".join(parts) + "."


def follow_up_table() -> Table:
    """The team's decisions, written by hand in the meeting (or typed in the XLSX)."""
    return Table("Tindak lanjut yang diputuskan tim",
                 ["No.", "Keputusan / tindak lanjut", "Penanggung jawab", "Batas waktu"],
                 [[n, WRITE_HERE, "", ""] for n in range(1, FOLLOW_UP_ROWS + 1)],
                 sheet="Tindak lanjut", widths=[0.7, 6.5, 2.6, 1.8],
                 note="Diisi dalam rapat bulanan tim penanganan pengaduan.")


def conclusions_section(f: MonthlyFigures, days: int, number: str) -> Section:
    """The section, numbered ``number`` ("11. ")."""
    before = format_month_id(f.previous.first_day.year, f.previous.first_day.month)
    return Section(f"{number}Kesimpulan dan tindak lanjut", paragraphs=sentences(f, days, before),
                   tables=[follow_up_table()])
