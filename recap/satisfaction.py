"""The monthly report's satisfaction section: the index of the month's survey responses
(inbox.arrive.selfservice), overall, by channel and by bidang, and the responses themselves (XLSX).

IKM-style, in the spirit of PermenPANRB 14/2017 with one element (the answer): the index is the
mean rating on the 1-4 scale times 25, so 25-100, and its quality band is the regulation's
(A 88,31-100 sangat baik, B 76,61-88,30 baik, C 65,00-76,60 kurang baik, D 25,00-64,99 tidak
baik; checked on 2026-12-02 against the regulation's conversion table as public SKM reports
print it: nilai persepsi 1-4, nilai interval konversi 25,00-64,99 D, 65,00-76,60 C,
76,61-88,30 B, 88,31-100,00 A). A response counts in the month it was given (WIB); a case's channel is its account and
its bidang the one it was handed to (none: answered by the Admin or the Group Admin).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox import pii
from inbox.arrive.selfservice import SCALE
from inbox.models import Case, SurveyResponse
from recap.document import Section, Table
from recap.figures import Period
from recap.monthly import NO_DIVISION, MonthlyFigures

FORMULA = ("Indeks = rata-rata nilai jawaban (skala 1–4: 1 tidak puas, 2 kurang puas, 3 puas, "
           "4 sangat puas) × 25, sehingga 25–100; mutu menurut PermenPANRB 14/2017: A (88,31–100) "
           "sangat baik, B (76,61–88,30) baik, C (65,00–76,60) kurang baik, D (25,00–64,99) tidak "
           "baik. Dihitung dari jawaban survei yang diterima pada bulan ini.")
BANDS = ((88.31, "A (sangat baik)"), (76.61, "B (baik)"), (65.0, "C (kurang baik)"),
         (25.0, "D (tidak baik)"))


@dataclass
class Response:
    reference: str
    answered_at: datetime
    rating: int
    comment: str
    channel: str
    division: str


def responses(p: Period, f: MonthlyFigures) -> list[Response]:
    """The month's survey responses, oldest first (a practice case's left out of an official
    report)."""
    query = f.scope.narrow(
        SurveyResponse.select(SurveyResponse, Case.reference, Case.account, Case.division)
        .join(Case).where((SurveyResponse.answered_at >= p.start)
                          & (SurveyResponse.answered_at < p.as_of))
        .order_by(SurveyResponse.answered_at, SurveyResponse.id))  # no practice case's answer
    return [Response(r.case.reference, r.answered_at, r.rating, r.comment,
                     f.channels.get(r.case.account_id, "?"),
                     f.divisions[r.case.division_id][1] if r.case.division_id in f.divisions
                     else NO_DIVISION) for r in query]


def index_of(ratings: list[int]) -> float | None:
    """Mean rating × 25 (25-100), None without respondents."""
    return round(sum(ratings) / len(ratings) * 25, 2) if ratings else None


def band(index: float | None) -> str:
    if index is None:
        return ""
    return next((name for floor, name in BANDS if index >= floor), BANDS[-1][1])


def _line(name: str, ratings: list[int]) -> list[Any]:
    index = index_of(ratings)
    return [name, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None,
            index, band(index)]


def index_table(found: list[Response]) -> Table:
    rows = [_line("Semua saluran dan bidang", [r.rating for r in found])]
    for title, key in (("Saluran", "channel"), ("Bidang", "division")):
        groups: dict[str, list[int]] = {}
        for r in found:
            groups.setdefault(getattr(r, key), []).append(r.rating)
        rows += [_line(f"{title}: {name}", ratings)
                 for name, ratings in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return Table("Indeks kepuasan masyarakat", ["Kelompok", "Responden", "Rata-rata (1–4)",
                                                 "Indeks (0–100)", "Mutu"], rows,
                 sheet="Kepuasan", widths=[5, 1.4, 1.5, 1.5, 1.8], note=FORMULA)


def responses_table(found: list[Response], tz: Any) -> Table:
    """Every response of the month (XLSX only): no phone, no NIK, the comment masked."""
    rows = [[r.reference, r.answered_at.astimezone(tz), r.channel, r.division, r.rating,
             SCALE[r.rating], pii.mask(r.comment)] for r in found]
    return Table("Jawaban survei kepuasan", ["Nomor", "Dijawab warga (WIB)", "Saluran", "Bidang",
                                             "Nilai", "Arti", "Komentar (data pribadi disamarkan)"],
                 rows, sheet="Jawaban survei", in_pdf=False,
                 note="Setiap jawaban survei yang diterima bulan ini: jumlahnya sama dengan "
                      "Responden di Indeks kepuasan masyarakat.")


def satisfaction_section(f: MonthlyFigures, number: str, tz: Any) -> Section:
    """The section, numbered ``number`` ("10. ", or "" in a month reduced to one page)."""
    found = responses(f.period, f)
    overall = index_of([r.rating for r in found])
    paragraphs = [f"Indeks kepuasan bulan ini {str(overall).replace('.', ',')} (mutu "
                  f"{band(overall)}) dari {len(found)} responden." if found else
                  "Belum ada warga yang menjawab survei kepuasan pada bulan ini."]
    return Section(f"{number}Kepuasan masyarakat (survei setelah dijawab)",
                   paragraphs=paragraphs, tables=[index_table(found), responses_table(found, tz)])
