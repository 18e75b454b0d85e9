"""One control character never stops a recap, and no terminal sequence reaches a console or a
log (issue 26, item 1).

Before, ``KTP saya\\vbelum jadi`` made openpyxl refuse the daily recap (exit 1, a 500 on the
web, the daemon retrying every minute) and ``ESC[2J`` reached ``aduan case list`` and the log.
Every text on its way to a document or a terminal now passes ``inbox.text``.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from inbox.arrive.ingest import ingest
from inbox.models import Account, Message, Recap
from inbox.setup.logs import configure_logging
from inbox.setup.runtime import Runtime
from inbox.text import clean_text, one_line, storable, terminal_text
from inbox.web.app import create_app
from main import main
from recap.make import make_daily_recap, make_monthly_report
from tests.factories import T0, InboundMessage, msg
from tests.test_console_logging import _restore_root_logger  # noqa: F401 (autouse fixture)
from tests.web_helpers import login, make_users, post_form

C0 = "".join(chr(c) for c in range(0x20))
C1 = "".join(chr(c) for c in range(0x7F, 0xA0))  # DEL and the C1 controls
ANSI = ["\x1b[2J", "\x1b[31;1m", "\x1b[0m", "\x1b]0;judul palsu\x07", "\x1b]8;;http://x.example\x1b\\",
        "\x9b2J", "\x9d0;judul\x9c", "\x1bc", "\x1b(B", "\x1b[?25l", "\x1bP1$r\x1b\\"]


def _no_controls(text: str, allowed: str = "\n\r\t") -> bool:
    return not any((ord(ch) < 0x20 and ch not in allowed) or 0x7F <= ord(ch) < 0xA0
                   or 0xD800 <= ord(ch) <= 0xDFFF or ch in "\ufffe\uffff" for ch in text)


# --- the cleaning step -----------------------------------------------------------------------

hostile_text = st.lists(st.one_of(st.sampled_from(list(C0 + C1) + ANSI + ["\ud83d", "\ufffe"]),
                                  st.text(max_size=8)), max_size=20).map("".join)


@settings(max_examples=150, deadline=None)
@given(hostile_text)
def test_a_cleaned_text_holds_no_control_character_and_no_escape(text: str) -> None:
    assert _no_controls(clean_text(text))
    assert _no_controls(clean_text(text, tabs=False), "\n\r")
    assert _no_controls(terminal_text(text), "\n\t")
    assert _no_controls(one_line(text), "")
    assert "\x1b" not in clean_text(text) and "\x9b" not in clean_text(text)
    assert clean_text(clean_text(text)) == clean_text(text)


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"),
                             blacklist_characters="\ufffe\uffff") | st.sampled_from("\n\r\t")))
def test_a_text_without_controls_passes_unchanged(text: str) -> None:
    assert clean_text(text) == text


@pytest.mark.parametrize("text, cleaned", [
    ("KTP saya\vbelum jadi", "KTP saya\nbelum jadi"),
    ("akta \x1b[2Jhilang", "akta hilang"),
    ("\x1b[31mmerah\x1b[0m", "merah"),
    ("x\x1b]0;judul palsu\x07y", "xy"),
    ("\x9b2Jteks", "teks"),
    ("\x1b]tidak ditutup, kata-kata tetap", "tidak ditutup, kata-kata tetap"),
    ("a\x00b\x07c\x08d\x7fe", "abcde"),
    ("baris\r\nbaru\rlagi", "baris\r\nbaru\rlagi"),
    ("halo \ud83d", "halo \ufffd"),
    ("emoji 🙏 dan aksara ꦲꦏ꧀ꦱꦫ", "emoji 🙏 dan aksara ꦲꦏ꧀ꦱꦫ"),
])
def test_sequences_go_whole_and_separators_keep_words_apart(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


def test_one_line_and_the_terminal_have_no_carriage_return() -> None:
    assert one_line("a\r\nb\vc\td") == "a b c d"
    assert terminal_text("Baru\rSelesai") == "Baru\nSelesai"
    assert terminal_text("a\r\nb") == "a\nb"


def test_a_nul_or_a_lone_surrogate_is_stored_without_failing_the_batch(rt: Runtime) -> None:
    assert storable("a\x00b\ud800") == "ab\ufffd"
    account = Account.get(Account.name == "sandbox")
    report = ingest(account, [msg("nul", text="NIK\x00 saya \ud83d", author="u\x00x"),
                              msg("ok", text="KTP saya belum jadi")], None, rt.ingest_options)
    assert report.stored == 2
    assert Message.get(Message.external_id == "nul").text == "NIK saya \ufffd"


# --- the recaps of a hostile day -------------------------------------------------------------

def _hostile_day(rt: Runtime) -> None:
    account = Account.get(Account.name == "sandbox")
    texts = ["KTP saya\u000bbelum jadi",
             "akta " + " ".join(C0) + " hilang",
             "KK " + " ".join(C1) + " rusak",
             "layar " + "".join(ANSI) + " bersih",
             "=HYPERLINK(\"x\")\x00\x1b[2J NIK 3329015708900003"]
    messages = [msg(f"ctl-{i}", text=text, author=f"w{i}", at=T0 + timedelta(minutes=i))
                for i, text in enumerate(texts)]
    named = msg("ctl-name", author="nama", at=T0, text="nama aneh").to_dict()
    named.update(author_name="Budi\x1b[2J\x07\x00", author_handle="@bu\x0bdi")
    messages.append(InboundMessage.from_dict(named))
    ingest(account, messages, None, rt.ingest_options)


def _cells(path: Path) -> Iterator[str]:
    workbook = load_workbook(path)
    for ws in workbook.worksheets:
        for row in ws.iter_rows(values_only=True):
            yield from (v for v in row if isinstance(v, str))


def test_a_daily_and_a_monthly_recap_of_every_control_character_open(rt: Runtime) -> None:
    _hostile_day(rt)
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        paths = make_daily_recap(rt, T0.date()) + make_monthly_report(rt, 2026, 11)
    by_suffix: dict[str, list[Path]] = {}
    for path in paths:
        by_suffix.setdefault(path.suffix, []).append(path)
    assert set(by_suffix) == {".pdf", ".xlsx", ".html", ".csv"}
    for path in by_suffix[".xlsx"]:
        cells = list(_cells(path))
        assert any("KTP saya\nbelum jadi" in c for c in cells), path.name
        assert all(_no_controls(c) for c in cells), path.name
        assert not any("3329015708900003" in c for c in cells)
    for path in by_suffix[".pdf"]:
        words = "".join(page.extract_text() for page in PdfReader(path).pages)
        assert "KTP saya" in words and "\x1b" not in words and "[2J" not in words, path.name
    for path in by_suffix[".html"] + by_suffix[".csv"]:
        body = path.read_text(encoding="utf-8-sig")
        assert "KTP saya" in body and _no_controls(body) and "[2J" not in body, path.name
    rows = list(csv.reader(io.StringIO(next(p for p in by_suffix[".csv"]
                                            if not p.name.endswith("-excel.csv")).read_text("utf-8-sig"))))
    assert any(v.startswith("'=HYPERLINK") for row in rows for v in row)


def test_the_web_makes_the_recaps_of_that_day(rt: Runtime) -> None:
    make_users()
    _hostile_day(rt)
    client = create_app(rt, testing=True).test_client()
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        assert login(client, "admin1").status_code == 302
        assert post_form(client, "/rekap/buat-harian", {"day": "2026-11-23"}).status_code == 302
        assert post_form(client, "/rekap/buat-bulanan", {"month": "2026-11"}).status_code == 302
    assert Recap.select().where(Recap.kind == "daily").count() == 3
    assert Recap.select().where(Recap.kind == "monthly").count() == 4


# --- the console and the log -----------------------------------------------------------------

def test_the_console_commands_print_no_terminal_sequence(rt: Runtime, tmp_path: Path,
                                                         capsys) -> None:
    _hostile_day(rt)
    config = str(tmp_path / "config.toml")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert main(["--config", config, "case", "list"]) == 0
        listing = capsys.readouterr().out
        screen = Message.get(Message.external_id == "ctl-3").case.reference
        assert main(["--config", config, "case", "show", screen]) == 0
        shown = capsys.readouterr().out
        assert main(["--config", config, "recap", "daily", "--date", "2026-11-23"]) == 0
        printed = capsys.readouterr()
    for out in (listing, shown, printed.out, printed.err):
        assert _no_controls(out, "\n") and "[2J" not in out, out
    assert "layar" in shown and "bersih" in shown
    assert len(listing.splitlines()) == 6  # one line per case: no line break from a name


def test_the_log_lines_carry_no_terminal_sequence(tmp_path: Path, capsys) -> None:
    # _restore_root_logger (autouse, imported) puts the root logger's handlers back afterwards.
    configure_logging(log_dir=tmp_path / "logs")
    logging.getLogger("aduan.test").warning("pesan %s", "aneh\x1b[2J\x1b]0;judul\x07\r\x00 NIK "
                                            "3329015708900003")
    try:
        raise ValueError("gagal \x1b[31m merah")
    except ValueError:
        logging.getLogger("aduan.test").exception("dengan jejak")
    for handler in logging.getLogger().handlers:
        handler.flush()
    for text in (capsys.readouterr().err, (tmp_path / "logs" / "aduan.log").read_text("utf-8")):
        assert "pesan aneh" in text and "gagal  merah" in text
        assert _no_controls(text, "\n") and "3329015708900003" not in text
