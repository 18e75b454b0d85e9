"""The signed report's parts drawn on a PDF page (issue 28, item 5): the letterhead (*kop surat*)
with its double rule, the report number, the practice mark, and the signature block.

Kept apart from ``recap.pdf``, which lays out the figures; these functions draw on its
``RecapPDF`` and leave the cursor below what they drew.
"""
from __future__ import annotations

from typing import Any

from recap.official import Letterhead, Official

FONT = "DejaVu"
LOGO_MM = 22
PRACTICE_INK = (179, 38, 30)


def letterhead(pdf: Any, head: Letterhead) -> None:
    """The kop surat at the top of the current page: logo at the left, the government line,
    the office's name and its address centred, and the double rule under them."""
    top = pdf.t_margin - 3
    left = pdf.l_margin
    text_left = left + (LOGO_MM + 3 if head.logo else 0)
    width = pdf.w - pdf.r_margin - text_left - (LOGO_MM + 3 if head.logo else 0)
    if head.logo:
        pdf.image(str(head.logo), x=left, y=top, w=LOGO_MM)
    pdf.set_xy(text_left, top)
    # The office's own words from config.toml, not a citizen's: printed as written (its e-mail
    # address is not personal data to mask).
    if head.government:
        _fitted(pdf, head.government.upper(), width, 12.5)
        pdf.multi_cell(width, 6, head.government.upper(), align="C", new_x="LEFT", new_y="NEXT")
    _fitted(pdf, head.office.upper(), width, 13.5)
    pdf.multi_cell(width, 6.5, head.office.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "", 8.5)
    for line in head.address:
        pdf.multi_cell(width, 4.2, line, align="C", new_x="LEFT", new_y="NEXT")
    bottom = max(pdf.get_y() + 1.5, top + (LOGO_MM + 2 if head.logo else 0))
    pdf.set_line_width(0.8)
    pdf.line(left, bottom, pdf.w - pdf.r_margin, bottom)
    pdf.set_line_width(0.2)
    pdf.line(left, bottom + 1.1, pdf.w - pdf.r_margin, bottom + 1.1)
    pdf.set_xy(left, bottom + 4)


def _fitted(pdf: Any, line: str, width: float, size: float, smallest: float = 9.5) -> None:
    """Bold at ``size``, or smaller down to ``smallest`` so that ``line`` fits on one line."""
    while size > smallest:
        pdf.set_font(FONT, "B", size)
        if pdf.get_string_width(line) <= width - 2:
            return
        size -= 0.5
    pdf.set_font(FONT, "B", smallest)


def number(pdf: Any, line: str) -> None:
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(0, 5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def practice_mark(pdf: Any, text: str) -> None:
    """A red line at the top of every page of a practice recap (called from ``header``)."""
    pdf.set_font(FONT, "B", 8)
    pdf.set_text_color(*PRACTICE_INK)
    y = pdf.get_y()
    pdf.set_xy(pdf.l_margin, 5)
    pdf.cell(0, 4, text, align="C")
    pdf.set_text_color(30, 30, 30)
    pdf.set_xy(pdf.l_margin, y)


def signatures(pdf: Any, doc: Official) -> None:
    """The pengesahan: "Mengetahui, Kepala …" beside "Dibuat oleh, Admin …", each with room to
    sign, the name (dots when unset, to be written by hand) and the NIP."""
    pdf.room(66)
    pdf.ln(6)
    column = pdf.epw / len(doc.signers)
    top = pdf.get_y()

    def block(rows: list[tuple[int, list[str]]], y: float, style: str = "") -> float:
        """Each column's lines from ``y``, centred; the lowest bottom."""
        bottom = y
        for i, lines in rows:
            pdf.set_xy(pdf.l_margin + i * column, y)
            pdf.set_font(FONT, style, 9.5)
            for line in lines:
                pdf.set_x(pdf.l_margin + i * column)
                pdf.multi_cell(column - 4, 5, line, align="C", new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, pdf.get_y())
        return bottom

    last = len(doc.signers) - 1
    heads = block([(i, [doc.place_date if i == last else " ", s.role, s.title])
                   for i, s in enumerate(doc.signers)], top)
    names = heads + 20  # room to sign and stamp, the same in both columns
    below = block([(i, [s.name_line]) for i, s in enumerate(doc.signers)], names, "B")
    end = block([(i, [s.nip_line]) for i, s in enumerate(doc.signers)], below)
    pdf.set_xy(pdf.l_margin, end + 2)
