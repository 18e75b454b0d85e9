"""Every word an officer reads is Indonesian and in WIB (issue 28, item 12), the first start
trains the classifier outside the daemon (item 3), and the README and config.toml say what the
code does (item 15)."""
from __future__ import annotations

import argparse
import logging
import re
import socket
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

from connectors.registry import BUILTIN_CONNECTORS
from inbox.cli.commands import build_parser
from inbox.models import BackupRun
from inbox.setup.runtime import Runtime
from main import main
from tests.conftest import PG_URL, write_config
from tests.web_helpers import login, make_case, page_text, post_form

ROOT = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))
#: Words that mark an English sentence (not a command, a key or a placeholder).
ENGLISH = {"the", "and", "of", "to", "show", "this", "message", "exit", "default", "write",
           "file", "usage", "options", "positional", "arguments", "when", "with", "or",
           "one", "every", "only", "from", "into", "users", "cases", "daemon", "alone",
           "together", "a", "an", "is", "are"}


def help_texts() -> dict[str, str]:
    """The help of ``aduan`` and of every sub-command, as ``--help`` prints it, without the
    sub-commands' own names (``case show``, ``recap daily``: commands, not sentences)."""
    found: dict[str, str] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    text = re.sub(rf"(?m)^(\s+){re.escape(sub_name)}\b", r"\1", text)
                    walk(sub, f"{name} {sub_name}")
        found[name] = text.replace(name, "aduan")  # the usage line names the command
    walk(build_parser(), "aduan")
    return found


def prose(help_text: str) -> set[str]:
    """The lower-case words of a help text, without options, metavars, keys and choices."""
    text = re.sub(r"\{[^}]*\}", " ", help_text)                  # {admin,division,...}
    text = re.sub(r"(?<!\w)--?[\w-]+", " ", text)                 # --config, -h
    text = re.sub(r"\b[A-Z][A-Z_-]+\b", " ", text)                # PERINTAH, BERKAS
    text = re.sub(r"\b[\w.-]+\.(toml|jsonl|gz|py)\b|\$\w+|\[[^]]*\]|`[^`]*`", " ", text)
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


def test_every_help_is_indonesian() -> None:
    texts = help_texts()
    assert len(texts) > 35, sorted(texts)
    for name, text in texts.items():
        assert text.startswith("pemakaian: "), name
        english = prose(text) & ENGLISH
        assert not english, (name, english, text)


def test_argparse_errors_read_indonesian(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, sentence in ((["recap", "monthly", "--bogus"], "argumen tidak dikenal: --bogus"),
                           (["user", "add", "x", "--role", "raja"], "pilihan 'raja' tidak dikenal"),
                           (["import"], "argumen ini wajib diisi: --jsonl")):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert sentence in err and "galat:" in err and "error" not in err and "usage" not in err


def test_status_names_the_last_backup_in_words_and_wib(rt: Runtime, config_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    made = rt.data_dir / "cadangan.tar.gz"
    made.parent.mkdir(parents=True, exist_ok=True)
    made.write_bytes(b"x")
    BackupRun.create(started_at=datetime(2026, 12, 4, 23, 31, 27, 123456, tzinfo=WIB),
                     finished_at=datetime(2026, 12, 4, 23, 32, tzinfo=WIB), status="ok",
                     path=str(made), size=1)
    assert main(["--config", str(config_path), "status"]) == 0
    out = capsys.readouterr().out
    assert "cadangan: terakhir 4 Desember 2026 23.31 WIB" in out
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", out)


@pytest.mark.skipif(bool(PG_URL), reason="--to a second SQLite file; PostgreSQL has its own test")
def test_backup_and_restore_name_the_tables_in_words(rt: Runtime, config_path: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_case(rt, 1)
    assert main(["--config", str(config_path), "backup", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"pengaduan 1, .*pesan 1", out) and "bidang 5" in out, out
    assert not re.search(r"\b(case|division|message|user|event) \d", out), out
    made = next((tmp_path / "b").glob("*.tar.gz"))
    target = f"sqlite:///{tmp_path / 'lain' / 'aduan.db'}"
    (tmp_path / "lain").mkdir()
    assert main(["--config", str(config_path), "restore", str(made), "--to", target]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\(dibuat \d{1,2} \w+ \d{4} \d{2}\.\d{2} WIB, ", out), out
    assert "pengaduan 1" in out and not re.search(r"\d{4}-\d{2}-\d{2}T", out)


def test_a_taken_port_is_said_in_indonesian(rt: Runtime) -> None:
    from inbox.cli.common import UserError
    from inbox.cli.serve import start_in_thread
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    rt.config.web["port"] = taken.getsockname()[1]
    try:
        with pytest.raises(UserError) as refused:
            start_in_thread(rt, None)
    finally:
        taken.close()
    assert "alamat ini sudah dipakai program lain" in str(refused.value)
    assert "Address already in use" not in str(refused.value)


def test_the_header_calls_a_superuser_pengelola(rt: Runtime, users: dict, client_for) -> None:
    page = page_text(client_for("superuser").get("/dasbor"))
    header = page[page.index("<header"):page.index("</header>")]
    assert ", pengelola)" in header and "superuser" not in header.lower()


def test_the_daemons_log_lines_are_indonesian_and_in_wib(rt: Runtime,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from inbox.run.daemon import Daemon
    from inbox.setup.logs import configure_logging
    configure_logging(logging.INFO, tz=rt.config.tz)
    try:
        with time_machine.travel(datetime(2026, 12, 4, 18, 8, tzinfo=timezone.utc), tick=False):
            assert Daemon(rt).poll_account("sandbox").ok
    finally:
        configure_logging(logging.WARNING)
    err = capsys.readouterr().err
    assert re.search(r"2026-12-05 01\.08\.\d\d WIB INFO inbox\.run\.daemon: saluran sandbox: "
                     r"\d+ pesan baru, \d+ pengaduan baru", err), err


def test_flash_messages_write_dates_one_way(rt: Runtime, users: dict, client_for) -> None:
    admin = client_for("admin")
    make_case(rt, 1, at=datetime(2026, 12, 1, 2, tzinfo=timezone.utc))
    with time_machine.travel(datetime(2026, 12, 1, 10, tzinfo=timezone.utc), tick=True):
        login(admin, "admin1")
        made = post_form(admin, "/rekap/buat-harian", {"day": "2026-12-01"}, follow_redirects=True)
        early = post_form(admin, "/rekap/buat-harian", {"day": "2027-01-05"}, follow_redirects=True)
    assert "Rekap harian Selasa, 1 Desember 2026 dibuat" in page_text(made)
    assert "Tanggal 5 Januari 2027 belum terjadi" in page_text(early)
    assert not re.search(r"\d{2}-\d{2}-\d{4}", page_text(made) + page_text(early))


def test_init_names_its_migrations_without_english_and_trains_the_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inbox.understand.model import MODEL_FILE
    config = write_config(tmp_path)
    if PG_URL:  # a fresh database, as a new office has
        from inbox.setup.config import load_config
        from inbox.setup.runtime import Runtime as Fresh
        from tests.conftest import reset_database
        Fresh(load_config(config))
        reset_database()
    assert main(["--config", str(config), "init"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"skema database diperbarui: \d+ migrasi \(001–\d{3}\)", out), out
    assert "initial schema" not in out and "webhook" not in out
    assert "model pengklasifikasi siap" in out
    assert (tmp_path / "data" / MODEL_FILE).is_file()
    assert main(["--config", str(config), "init"]) == 0  # again: nothing to train
    assert "model pengklasifikasi" not in capsys.readouterr().out


@pytest.mark.slow
def test_run_trains_a_missing_model_in_a_process_of_its_own(tmp_path: Path) -> None:
    import argparse as ap
    import sys
    from inbox.cli.commands import prepare_classifier
    from inbox.cli.common import Context
    from inbox.understand.model import MODEL_FILE
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime
    config = write_config(tmp_path)
    Runtime(load_config(config)).close()  # as `aduan run` makes the database before this step
    out = __import__("io").StringIO()
    ctx = Context(ap.Namespace(config=str(config)), out=out)
    before = set(sys.modules)
    prepare_classifier(ctx)
    assert "dilatih sekali sebelum pesan pertama dibaca" in out.getvalue()
    assert "model pengklasifikasi dilatih dalam" in out.getvalue()
    assert (tmp_path / "data" / MODEL_FILE).is_file()
    assert not {m for m in set(sys.modules) - before if m.startswith("sklearn")}
    out.truncate(0)
    prepare_classifier(ctx)  # ready: nothing said, nothing started
    assert out.getvalue() == ""


def test_readme_and_config_name_every_account_kind_and_the_reports_defaults() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration"):readme.index("### Decisions where")]
    kinds = sorted(BUILTIN_CONNECTORS)
    assert all(f"`{kind}`" in section for kind in kinds), (kinds, section)
    listed = re.search(r"# kind = ([a-z |]+)", config).group(1)
    assert sorted(k.strip() for k in listed.split("|")) == kinds
    assert "`[report]`" in section
    assert "the previous month" in readme and "--month also makes the previous month" in config
    assert re.search(r"The whole suite takes [^.]*\d+ minutes on a 2-core PC", readme)
