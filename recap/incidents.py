"""The monthly report's section on mass incidents (*gangguan massal*, ``inbox.sop.incidents``):
every confirmed incident that was going on in the month, with its cases and how long it lasted.

An incident counts in a month when it started before the month's end and was not closed before
its start; its duration runs from its first case's message to its closing (or to the end of the
period so far, when still open). Proposals never confirmed and rejected ones are not incidents.
"""
from __future__ import annotations

from typing import Any

import peewee as pw

from inbox.models import Incident, IncidentCase, Outbox
from recap.document import Section, Table
from recap.figures import Period

COLUMNS = ["Gangguan", "Mulai (WIB)", "Selesai (WIB)", "Lama (jam)", "Pengaduan",
           "Jawaban terkirim", "Kabar susulan terkirim"]


def month_incidents(p: Period) -> list[Incident]:
    return list(Incident.select().where(
        Incident.status.in_(("open", "closed")) & (Incident.started_at < p.as_of)
        & (Incident.closed_at.is_null() | (Incident.closed_at >= p.start)))
        .order_by(Incident.started_at, Incident.id))


def _sent(incident: Incident, column: pw.Field) -> int:
    return (IncidentCase.select().join(Outbox, on=(column == Outbox.id))
            .where((IncidentCase.incident == incident) & (Outbox.status == "sent")).count())


def incidents_table(p: Period, tz: Any) -> Table:
    rows = []
    for incident in month_incidents(p):
        ended = incident.closed_at or p.as_of
        cases = IncidentCase.select().where((IncidentCase.incident == incident)
                                            & (IncidentCase.state == "linked")).count()
        rows.append([incident.title, incident.started_at.astimezone(tz),
                     incident.closed_at.astimezone(tz) if incident.closed_at else "masih berlangsung",
                     round((ended - incident.started_at).total_seconds() / 3600, 1), cases,
                     _sent(incident, IncidentCase.answer_outbox),
                     _sent(incident, IncidentCase.followup_outbox)])
    return Table("Gangguan massal", COLUMNS, rows, sheet="Gangguan massal",
                 widths=[4, 2, 2, 1.2, 1.3, 1.5, 1.6],
                 note="Satu jawaban dikirim ke semua pengaduan yang tertaut, masing-masing lewat "
                      "salurannya sendiri.")


def incidents_section(p: Period, number: str, tz: Any) -> Section:
    """The section, numbered ``number`` ("11. ", or "" in a month reduced to one page)."""
    table = incidents_table(p, tz)
    cases = sum(row[4] for row in table.rows)
    text = (f"{len(table.rows)} gangguan massal dengan {cases} pengaduan tertaut pada bulan ini."
            if table.rows else "Tidak ada gangguan massal pada bulan ini.")
    return Section(f"{number}Gangguan massal", paragraphs=[text], tables=[table])
