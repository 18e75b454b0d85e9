"""``database.url`` names a lasting file, and only ``aduan init`` or the first ``aduan run``
makes one (issue 26, item 7).

Before, ``sqlite:///`` ran an in-memory database (``init`` migrated it and printed a superuser
password that was gone at exit), ``sqlite://data/aduan.db`` silently made ``ata/aduan.db``, and
even the read-only ``aduan status`` made the folders of a mistyped path.
"""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from main import main
from tests.conftest import PG_URL, write_config

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite paths")
pytestmark = sqlite_only

REPO = Path(__file__).resolve().parent.parent


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("url, words", [
    ("sqlite:///", "database di memori"),
    ("sqlite:///:memory:", "database di memori"),
    ("sqlite://", "database di memori"),
    ("sqlite://data/aduan.db", "perlu tiga garis miring"),
    ("sqlite:data/aduan.db", "perlu tiga garis miring"),
])
@pytest.mark.parametrize("command", ["check-config", "init", "status", "run"])
def test_a_url_that_keeps_nothing_is_one_sentence(tmp_path: Path, capsys, url: str, words: str,
                                                  command: str) -> None:
    config = write_config(tmp_path, url=url)
    code = main(["--config", str(config), command])
    out, err = capsys.readouterr()
    text = (out + err).strip()
    assert code == (1 if command == "check-config" else 2), text
    assert text.count("database.url:") == 1 and words in text and "Traceback" not in text
    assert len(text.splitlines()) == 1 and "kata sandi" not in text
    assert files_under(tmp_path) == ["config.toml"]


def test_the_two_slash_typo_is_explained_with_the_right_form(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, url="sqlite://data/aduan.db")
    assert main(["--config", str(config), "check-config"]) == 1
    assert "sqlite:///data/aduan.db" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["poll"], ["export"],
                                     ["case", "list"], ["backup"], ["worker"], ["serve"],
                                     ["import", "--jsonl", "pesan.jsonl"]])
def test_no_command_but_init_and_run_makes_a_database_or_a_folder(tmp_path: Path, capsys,
                                                                 command: list[str]) -> None:
    config = write_config(tmp_path, url=f"sqlite:///{tmp_path / 'tidak' / 'ada' / 'aduan.db'}")
    (tmp_path / "pesan.jsonl").write_text("", encoding="utf-8")
    code = main(["--config", str(config), *command])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "belum ada" in err and "aduan init" in err, err
    assert len(err.splitlines()) == 1
    assert files_under(tmp_path) == ["config.toml", "pesan.jsonl"]


def test_init_makes_the_database_private_and_says_where(tmp_path: Path, capsys) -> None:
    target = tmp_path / "kantor" / "data" / "aduan.db"
    config = write_config(tmp_path, url=f"sqlite:///{target}")
    assert main(["--config", str(config), "init"]) == 0
    assert f"database baru dibuat: {target}" in capsys.readouterr().out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert main(["--config", str(config), "init"]) == 0
    assert "database baru dibuat" not in capsys.readouterr().out


@pytest.mark.slow
def test_the_first_run_makes_the_database_and_says_so_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "data" / "aduan.db"
    config = write_config(tmp_path, url=f"sqlite:///{target}",
                          extra="\n[web]\nport = 0\n")
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(config),
                                "run"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        first = process.stdout.readline()
        deadline = time.monotonic() + 60
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert first.strip() == f"database baru dibuat: {target}"
    assert target.exists() and os.stat(target).st_mode & 0o077 == 0
