"""An unusable SQLite path is one sentence in check-config and in every command (issue 20,
item 11), never a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest

from main import main
from tests.conftest import write_config


@pytest.mark.parametrize("command", ["check-config", "init", "status", "run", "poll"])
@pytest.mark.parametrize("where", ["proc", "file"])
def test_an_unusable_database_folder_is_one_sentence(tmp_path: Path, capsys, command: str,
                                                     where: str) -> None:
    if where == "proc":
        url = "sqlite:////proc/nope/aduan.db"
        words = "folder /proc cannot be written"
    else:
        (tmp_path / "berkas").write_text("bukan folder")
        url = f"sqlite:///{tmp_path / 'berkas' / 'aduan.db'}"
        words = "is not a folder"
    config = write_config(tmp_path, url=url)
    code = main(["--config", str(config), command])
    out, err = capsys.readouterr()
    text = (out + err).strip()
    assert code == (1 if command == "check-config" else 2), text
    assert "database.url:" in text and words in text
    assert len(text.splitlines()) == 1 and "Traceback" not in text


def test_a_folder_that_does_not_exist_yet_is_fine(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, url=f"sqlite:///{tmp_path / 'baru' / 'data' / 'aduan.db'}")
    assert main(["--config", str(config), "check-config"]) == 0
    assert main(["--config", str(config), "init"]) == 0
    assert (tmp_path / "baru" / "data" / "aduan.db").exists()
