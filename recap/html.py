"""A recap document as one self-contained, printable HTML page (inline style, charts as data
URIs), for offices that open it in the browser and print from there.

Every text is masked (personal data) and then HTML-escaped: summaries are citizens' words and
must never be able to inject markup into an officer's browser.
"""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from inbox.records.practice import PRACTICE_MARK
from recap.document import Document, Table, text
from recap.figures import clean
from recap.pdf import same_title

STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1e1e1e; margin: 1.5em; }
h1 { font-size: 15pt; margin: 0 0 .3em; }
h2 { font-size: 12pt; margin: 1.4em 0 .4em; border-bottom: 1px solid #c8d4e2; }
h3 { font-size: 10pt; margin: 1em 0 .3em; }
p.sub { margin: .1em 0; color: #444; }
table { border-collapse: collapse; width: 100%; margin-bottom: .6em; }
th, td { border: 1px solid #c8d4e2; padding: 2px 5px; vertical-align: top; text-align: left; }
th { background: #dee8f3; }
td.num { text-align: right; white-space: nowrap; }
tr:nth-child(even) td { background: #f6f8fa; }
p.note { font-style: italic; font-size: 8.5pt; color: #555; }
img { max-width: 100%; }
div.kop { text-align: center; border-bottom: 3px double #1e1e1e; padding-bottom: .4em; margin-bottom: .6em; }
p.practice { color: #b3261e; font-weight: bold; text-align: center; }
table.signatures td { border: none; text-align: center; width: 50%; background: none; }
div.sign { height: 5em; }
@media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _e(value: str) -> str:
    return escape(clean(value)).replace("\n", "<br>")


def _table(table: Table, section_title: str) -> str:
    numeric = [bool(i) and table.numeric(i) for i in range(len(table.columns))]
    parts = [] if same_title(table.title, section_title) else [f"<h3>{_e(table.title)}</h3>"]
    if not table.rows:
        parts.append('<p class="note">Tidak ada.</p>')
        return "\n".join(parts)
    parts.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in table.columns)
                 + "</tr></thead><tbody>")
    for row in table.rows:
        cells = "".join(f'<td class="num">{_e(text(v))}</td>' if numeric[i] else f"<td>{_e(text(v))}</td>"
                        for i, v in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    return "\n".join(parts)


def _letterhead(doc: Document) -> list[str]:
    """The kop surat and the number (the office's own words: escaped, not masked)."""
    head = doc.official.letterhead
    lines = [f"<strong>{escape(head.government.upper())}</strong>"] if head.government else []
    lines.append(f"<strong>{escape(head.office.upper())}</strong>")
    lines += [escape(line) for line in head.address]
    return [f'<div class="kop">{"<br>".join(lines)}</div>',
            f'<p class="sub">{escape(doc.official.number)}</p>']


def _signatures(doc: Document) -> str:
    cells = []
    for i, signer in enumerate(doc.official.signers):
        place = escape(doc.official.place_date) if i == len(doc.official.signers) - 1 else "&nbsp;"
        cells.append(f"<td>{place}<br>{escape(signer.role)}<br>{escape(signer.title)}"
                     f'<div class="sign"></div><strong>{escape(signer.name_line)}</strong><br>'
                     f"{escape(signer.nip_line)}</td>")
    return f'<table class="signatures"><tr>{"".join(cells)}</tr></table>'


def render(doc: Document) -> str:
    body = [f'<p class="practice">{escape(PRACTICE_MARK)}</p>'] if doc.practice else []
    if doc.official is not None:
        body += _letterhead(doc)
    body.append(f"<h1>{_e(doc.title)}</h1>")
    body += [f'<p class="sub">{_e(line)}</p>' for line in doc.subtitle.splitlines()]
    for section in doc.sections:
        body.append(f"<h2>{_e(section.title)}</h2>")
        body += [f"<p>{_e(p)}</p>" for p in section.paragraphs]
        for chart in section.charts:
            data = base64.b64encode(chart.png).decode("ascii")
            body.append(f'<h3>{_e(chart.title)}</h3><img alt="{_e(chart.title)}" '
                        f'src="data:image/png;base64,{data}">')
        body += [_table(t, section.title) for t in section.tables if t.in_pdf]
    if doc.official is not None:
        body.append(_signatures(doc))
    body.append(f'<p class="note">{_e(doc.footer)}</p>')
    return (f'<!doctype html>\n<html lang="id"><head><meta charset="utf-8">'
            f"<title>{_e(doc.title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_html(doc: Document, path: Path) -> None:
    Path(path).write_text(render(doc), encoding="utf-8")
