"""The daily recap's figures laid out as a document: what the admin prints or sends at 16:00."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import peewee as pw

from inbox.dates import format_date_id, format_datetime_id
from inbox.labels import label as label_of
from inbox.models import Event, User
from inbox.setup.handling_config import classes
from inbox.understand.classify import CATEGORY_LABELS
from recap import figures as fg
from recap import official
from recap.daily import DailyFigures
from recap.document import Document, Section, Table
from recap.figures import CaseRow

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

#: Rows of a case list printed in the PDF/HTML; the XLSX always has every row.
PRINT_LIMIT = 150
NOT_HANDLERS = ("recapped", "export_unmasked", "export_unmasked_refused")


#: Between a case's categories in a cell: a category name may hold a comma ("Petugas, pungli &
#: calo"), never a semicolon, so a spreadsheet can split the cell on it (issue 28 item 7).
CATEGORY_SEPARATOR = "; "


def category_text(codes: list[str]) -> str:
    return CATEGORY_SEPARATOR.join(CATEGORY_LABELS.get(c, c) for c in codes) or fg.NO_CATEGORY


def handlers(case_ids: Iterable[int]) -> dict[int, str]:
    """Case id -> the officers who acted on it, in order (``Admin Satu → Grup Satu``)."""
    ids = list(case_ids)
    names: dict[int, list[str]] = {}
    for chunk in range(0, len(ids), fg.CHUNK):
        query = (Event.select(Event.case, Event.actor_name, User.full_name)
                 .join(User, pw.JOIN.LEFT_OUTER, on=(Event.actor == User.id))
                 .where(Event.case.in_(ids[chunk:chunk + fg.CHUNK]) & Event.actor.is_null(False)
                        & Event.action.not_in(NOT_HANDLERS))
                 .order_by(Event.at, Event.id).tuples())
        for case_id, username, full_name in query:
            people = names.setdefault(case_id, [])
            name = full_name or username
            if name not in people:
                people.append(name)
    return {i: " → ".join(people) for i, people in names.items()}


#: who a recap names as its maker when no officer asked for it (the schedule or ``aduan recap``
#: without ``--as``): "Dibuat otomatis oleh aduan pada …" (issue 28)
BY_COMMAND = official.MAKER


def made_line(rt: Runtime, actor: User | None, made_by: str | None = None) -> str:
    """``Dibuat oleh Admin Satu … pada …``, or ``Dibuat otomatis oleh aduan pada …`` (the
    schedule's and a command's alike; ``Recap.made_by`` keeps which)."""
    return official.made_line(rt, actor)


def as_of_text(rt: Runtime, p: fg.Period) -> str:
    if p.complete:
        return "pada akhir hari" if p.kind == "daily" else "pada akhir bulan"
    return "sampai " + format_datetime_id(p.as_of, rt.config.tz, "d MMMM y 'pukul' HH.mm")


def daily_document(rt: Runtime, f: DailyFigures, actor: User | None,
                   made_by: str | None = None) -> Document:
    p, tz = f.period, rt.config.tz
    channels = fg.channel_labels()
    days = rt.calendar.working_days
    by_path = f.answered_by_path()
    carried = sum(1 for c in f.recapped if not c.answered_in(p))
    day_label = format_date_id(p.first_day, "EEEE, d MMMM y")
    summary = Table("Ringkasan", ["Uraian", "Jumlah"], [
        ["Pengaduan masuk", len(f.received)],
        ["Selesai dijawab", len(f.answered)],
        *[[f"   {label}", by_path[path]] for path, label in fg.PATH_LABELS.items()],
        [f"   Tepat waktu (paling lama {days} hari kerja)", sum(c.on_time for c in f.answered)],
        ["Diteruskan ke Group Admin", len(f.escalated)],
        ["Bukan pengaduan", len(f.dismissed)],
        ["Bukan wewenang (diarahkan ke instansi lain)", len(f.referred)],
        [f"Masih terbuka {as_of_text(rt, p)}", len(f.open_cases)],
        ["Terlambat (melewati batas waktu)", len(f.overdue)],
        ["Tindak lanjut kelas pengaduan lewat batas", len(f.resolution_overdue)],
        ["Selesai direkap", len(f.recapped)],
    ], sheet="Ringkasan", widths=[4, 1],
        note=(f"Selesai direkap termasuk {carried} pengaduan yang dijawab sebelum hari ini "
              f"(setelah rekap sebelumnya dibuat)." if carried else ""))
    channel_table = Table("Pengaduan masuk per saluran", ["Saluran", "Jumlah"],
                          [list(r) for r in f.received_by_channel(channels)], sheet="Per saluran",
                          widths=[4, 1])
    category_table = Table(
        "Pengaduan masuk per kategori", ["Kategori", "Jumlah"],
        [[CATEGORY_LABELS.get(code, code), n] for code, n in f.received_by_category()],
        sheet="Per kategori", widths=[4, 1],
        note="Satu pengaduan bisa masuk lebih dari satu kategori.")
    reasons = Table("Bukan pengaduan menurut alasan", ["Alasan", "Jumlah"],
                    [[label_of("dismiss_reason", r or "-"), n] for r, n in f.dismissed_by_reason()],
                    sheet="Bukan pengaduan", widths=[4, 1])
    listed = f.day_cases()
    who = handlers(c.id for c in listed)
    case_list = Table(
        "Daftar pengaduan hari ini",
        ["Nomor", "Masuk (WIB)", "Saluran", "Kategori", "Ringkasan", "Status", "Ditangani oleh",
         "Hari ini"],
        [[c.reference, c.opened_at.astimezone(tz), channels.get(c.account_id, "?"),
          category_text(c.categories), c.summary, label_of("status", c.status),
          who.get(c.id, ""), activity(c, p)] for c in listed],
        sheet="Daftar pengaduan", widths=[2.6, 2.5, 2.4, 2.8, 7, 2.2, 3.2, 2.4], pdf_limit=PRINT_LIMIT, wide=True)
    overdue = Table(
        "Pengaduan terlambat (belum dijawab, melewati batas waktu)",
        ["Nomor", "Masuk (WIB)", "Saluran", "Kategori", "Status", "Batas waktu (WIB)"],
        [[c.reference, c.opened_at.astimezone(tz), channels.get(c.account_id, "?"),
          category_text(c.categories), label_of("status", c.status),
          c.due_at.astimezone(tz) if c.due_at else None] for c in f.overdue],
        sheet="Terlambat", widths=[2.3, 2.2, 2.2, 3, 2.2, 2.2], pdf_limit=PRINT_LIMIT, wide=True)
    class_names = {k["code"]: k["name"] for k in classes(rt.config.resolution)}
    late_follow_up = Table(
        "Tindak lanjut kelas pengaduan lewat batas (belum dicatat)",
        ["Nomor", "Masuk (WIB)", "Kelas", "Status", "Batas tindak lanjut (WIB)"],
        [[c.reference, c.opened_at.astimezone(tz), class_names.get(c.complaint_class or "", ""),
          label_of("status", c.status),
          c.resolution_due_at.astimezone(tz)] for c in f.resolution_overdue],
        sheet="Tindak lanjut terlambat", widths=[2.3, 2.2, 3, 2.2, 2.2], pdf_limit=PRINT_LIMIT)
    overdue_tables = [overdue, late_follow_up] if f.resolution_overdue else [overdue]
    sections = [
        Section("Ringkasan", tables=[summary]),
        Section("Pengaduan masuk", tables=[channel_table, category_table]),
        Section("Bukan pengaduan", tables=[reasons]),
        Section("Daftar pengaduan", tables=[case_list]),
        Section("Pengaduan terlambat", tables=overdue_tables),
    ]
    office = rt.config.office
    return Document(
        kind="daily", period_key=p.key, stem=f"rekap-harian-{p.key}",
        title=f"Rekap Harian Penanganan Pengaduan Media Sosial",
        subtitle=f"{office['name']}\n{day_label}\n{made_line(rt, actor, made_by)}",
        footer=f"{office['short_name'] or office['name']} · Rekap harian "
               f"{format_date_id(p.first_day)}",
        sections=sections, practice=f.scope.practice,
        made_by="" if actor is not None else made_by or official.BY_SCHEDULE,
        official=official.official(rt, p.first_day, p.first_day.year, p.first_day.month))


def activity(c: CaseRow, p: fg.Period) -> str:
    """What happened to the case that day, in words."""
    words = []
    if c.received_in(p):
        words.append("masuk")
    if c.escalated_in(p):
        words.append("diteruskan")
    if c.answered_in(p):
        words.append("dijawab")
    if c.dismissed_in(p):
        words.append("bukan pengaduan")
    if c.referred_in(p):
        words.append("bukan wewenang")
    if c.recapped_on == p.first_day:
        words.append("direkap")
    return ", ".join(words)

