"""A recap document as an A4 PDF (fpdf2, pure Python).

The text font is DejaVu Sans from matplotlib's own data folder: matplotlib is already a
dependency, the font covers every Indonesian character (and the bullet, dash and arrow used
here), and fpdf2 embeds only the glyphs used, so nothing extra has to be installed on an
office PC.
"""
from __future__ import annotations

import functools
import io
import re
import struct
from pathlib import Path
from typing import Any

import emoji
import matplotlib
from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace

from inbox.records.practice import PRACTICE_MARK
from inbox.text import clean_text
from recap import pdf_official
from recap.document import Chart, Cover, Document, Table, text
from recap.figures import clean

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
HEADER_FILL = (222, 232, 243)
STRIPE_FILL = (246, 248, 250)
INK = (30, 30, 30)
MUTED = (100, 100, 100)
#: A table of at most this many rows is never split across pages; about a row's height (mm).
WHOLE_ROWS = 25
ROW_MM = 6.2


_NAMED = re.compile("\x00([^\x01]*)\x01")
# joiners and variation selectors left over from an emoji sequence: nothing to draw
INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f"}


@functools.cache
def covered() -> frozenset[int]:
    """The characters DejaVu Sans can draw (the bold and oblique faces cover the same)."""
    return frozenset(TTFont(str(FONT_DIR / "DejaVuSans.ttf"), lazy=True).getBestCmap())


def printable(body: str) -> str:
    """``body`` with what the font cannot draw replaced, silently.

    Citizens write emoji, which DejaVu lacks: fpdf2 would drop them and print an English
    warning on stderr. An emoji becomes its Indonesian name (``🙏`` → ``(melipat tangan)``);
    any other character the font lacks becomes ``□``."""
    if body.isascii():
        return body
    named = emoji.demojize(body, language="id", delimiters=("\x00", "\x01"))
    named = _NAMED.sub(lambda m: "(" + m.group(1).replace("_", " ") + ")", named)
    drawable = covered()
    out = []
    for ch in named:
        if ord(ch) in drawable or ch in "\n\r\t":
            out.append(ch)
        elif ch not in INVISIBLE:
            out.append("□")
    return "".join(out)


class RecapPDF(FPDF):
    def __init__(self, footer_text: str, practice_mark: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = clean(footer_text)
        self.practice_mark = practice_mark  # a practice recap says so on every page
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_text_color(*INK)
        self.set_creator("aduan")

    def normalize_text(self, text: str) -> str:
        """Every text fpdf2 draws passes here: cleaned of control characters (tabs become
        spaces: the font has no glyph for them) and made drawable with the embedded font."""
        return super().normalize_text(printable(clean_text(text, tabs=False)))

    def header(self) -> None:
        if self.practice_mark:
            pdf_official.practice_mark(self, self.practice_mark)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text} · Halaman {self.page_no()} dari {{nb}}", align="C")
        self.set_text_color(*INK)

    # --- blocks ---------------------------------------------------------------------------

    def lines(self, width: float, height: float, body: str, align: str = "L") -> None:
        """Wrapped text, leaving the cursor at the left margin of the next line."""
        self.multi_cell(width, height, body, align=align, new_x="LMARGIN", new_y="NEXT")

    def room(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit (no heading alone at a page foot)."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def heading(self, title: str, size: float = 12) -> None:
        self.room(30)
        self.ln(2)
        self.set_font(FONT, "B", size)
        self.lines(0, size * 0.5, clean(title))
        self.ln(1.5)

    def paragraph(self, body: str, size: float = 9, style: str = "") -> None:
        self.set_font(FONT, style, size)
        self.lines(0, size * 0.48, clean(body))
        self.ln(1.5)

    def recap_table(self, table: Table, titled: bool = True) -> None:
        shown = table.rows if table.pdf_limit is None else table.rows[:table.pdf_limit]
        # A short table is kept whole (its last row alone on the next page reads as a table of
        # its own); a long one starts wherever two rows still fit.
        self.room(8 + ROW_MM * (len(shown) + 1) if len(shown) <= WHOLE_ROWS else 22)
        if titled:
            self.set_font(FONT, "B", 9.5)
            self.lines(0, 5, clean(table.title))
            self.ln(0.5)
        if not shown:
            self.paragraph("Tidak ada.", 8.5, "I")
            return
        small = len(table.columns) > 5
        self.set_font(FONT, "", 7 if small else 8.5)
        aligns = tuple("RIGHT" if i and table.numeric(i) else "LEFT"
                       for i in range(len(table.columns)))
        with self.grid(table, aligns, small) as grid:
            head = grid.row()
            for column in table.columns:
                head.cell(clean(column))
            for values in shown:
                row = grid.row()
                for value in values:
                    row.cell(text(value))
        self.ln(2)  # a footnote must not touch the table's bottom border
        hidden = len(table.rows) - len(shown)
        if hidden > 0:
            self.paragraph(f"… dan {hidden} baris lainnya (lihat berkas XLSX).", 8, "I")
        if table.note:
            self.paragraph(table.note, 7.5, "I")
        self.ln(0.5)

    def grid(self, table: Table, aligns: tuple[str, ...], small: bool) -> Any:
        return self.table(
            col_widths=tuple(table.widths) if table.widths else None, text_align=aligns,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADER_FILL),
            cell_fill_color=STRIPE_FILL, cell_fill_mode="ROWS", line_height=3.4 if small else 4.4,
            padding=(0.8, 1.2), repeat_headings=1, align="LEFT",
            width=self.epw if len(table.columns) > 2 else min(self.epw, 120))

    def chart_height(self, chart: Chart) -> float:
        width_px, height_px = struct.unpack(">II", chart.png[16:24])  # the PNG header
        return self.epw * height_px / width_px

    def chart(self, chart: Chart) -> None:
        height = self.chart_height(chart)
        self.room(height + 8)
        self.set_font(FONT, "B", 9.5)
        self.lines(0, 5, clean(chart.title))
        self.image(io.BytesIO(chart.png), w=self.epw, h=height)
        self.ln(3)

    def cover(self, cover: Cover, official: Any = None) -> None:
        self.add_page()
        if official is not None:
            # the kop surat names the office; the number sits under it, as on a letter
            pdf_official.letterhead(self, official.letterhead)
            pdf_official.number(self, official.number)
            self.set_y(max(self.get_y() + 20, 70))
        else:
            self.set_y(60)
            self.set_font(FONT, "B", 15)
            self.lines(0, 8, clean(cover.office.upper()), align="C")
            self.ln(14)
        self.set_font(FONT, "B", 19)
        self.lines(0, 10, clean(cover.title), align="C")
        self.ln(10)
        self.set_font(FONT, "", 13)
        self.lines(0, 7, clean(cover.period), align="C")
        if cover.legal_basis:
            self.set_y(200)
            self.set_font(FONT, "B", 8.5)
            self.lines(0, 5, "Dasar hukum", align="C")
            self.set_font(FONT, "", 8.5)
            self.lines(0, 4.5, clean(cover.legal_basis), align="C")
        self.set_y(250)
        self.set_font(FONT, "I", 8)
        self.lines(0, 4.5, clean(cover.made), align="C")


def same_title(table_title: str, section_title: str) -> bool:
    """A table named like its section ("1. Ringkasan" / "Ringkasan") needs no second title."""
    return table_title.strip().lower() == section_title.split(". ", 1)[-1].strip().lower()


def estimated_height(pdf: RecapPDF, section: Any) -> float:
    """About how many mm ``section`` takes in portrait (enough to tell whether it fits)."""
    height = 12 + 6 * len(section.paragraphs)
    height += sum(pdf.chart_height(c) + 8 for c in section.charts)
    for table in section.tables:
        if table.in_pdf:
            rows = len(table.rows) if table.pdf_limit is None else min(len(table.rows), table.pdf_limit)
            height += 8 + ROW_MM * (max(rows, 1) + 1) + (5 if table.note else 0)
    return height


def render(doc: Document) -> bytes:
    pdf = RecapPDF(doc.footer, PRACTICE_MARK if doc.practice else "")
    pdf.set_title(clean(doc.title))
    pdf.set_author(clean(doc.subtitle.splitlines()[0] if doc.subtitle else "aduan"))
    if doc.cover is not None:
        pdf.cover(doc.cover, doc.official)
    pdf.add_page()
    if doc.cover is None and doc.official is not None:  # a recap without a cover: kop on page 1
        pdf_official.letterhead(pdf, doc.official.letterhead)
        pdf_official.number(pdf, doc.official.number)
    pdf.set_font(FONT, "B", 14)
    pdf.lines(0, 7, clean(doc.title))
    for line in doc.subtitle.splitlines():
        pdf.paragraph(line, 9.5)
    pdf.ln(2)
    orientations = ["L" if any(t.wide and t.in_pdf for t in section.tables) else "P"
                    for section in doc.sections]
    for i, section in enumerate(doc.sections):
        orientation = orientations[i]
        current = getattr(pdf.cur_orientation, "value", pdf.cur_orientation)
        if orientation == "P" and current == "P" and i + 1 < len(doc.sections) \
                and orientations[i + 1] == "L" \
                and pdf.get_y() + estimated_height(pdf, section) > pdf.page_break_trigger:
            # It would sit alone on a portrait page before the landscape one: start that now.
            orientation = "L"
        if orientation != current:
            pdf.add_page(orientation=orientation)
        # Keep a heading with the start of what follows it (a chart is one block).
        pdf.room(pdf.chart_height(section.charts[0]) + 20 if section.charts else 40)
        pdf.heading(section.title)
        for body in section.paragraphs:
            pdf.paragraph(body)
        for chart in section.charts:
            pdf.chart(chart)
        for table in section.tables:
            if table.in_pdf:
                pdf.recap_table(table, titled=not same_title(table.title, section.title))
    if doc.official is not None:
        pdf_official.signatures(pdf, doc.official)
    return bytes(pdf.output())


def write_pdf(doc: Document, path: Path) -> None:
    Path(path).write_bytes(render(doc))
