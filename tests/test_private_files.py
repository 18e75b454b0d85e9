"""The data folder is aduan's alone, and a recap row can only serve a recap (issue 26, item 15).

Before, the database, backups, KTP photos and logs were mode 644 in a 755 folder (the systemd
unit had no ``UMask=``), and ``/rekap/N/unduh`` served any file of the data folder a ``Recap``
row pointed at, ``secret_key`` and ``aduan.db`` included.
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

import main
from inbox.models import Recap
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.conftest import PG_URL, write_config
from tests.web_helpers import login, make_users

REPO = Path(__file__).resolve().parent.parent
posix = pytest.mark.skipif(os.name != "posix", reason="file modes")


# --- recap downloads ---------------------------------------------------------------------------

def test_a_recap_row_serves_only_a_file_of_the_recap_folder(rt: Runtime) -> None:
    make_users()
    data = rt.data_dir
    (data / "recaps").mkdir(parents=True, exist_ok=True)
    (data / "recaps" / "rekap-harian-2026-11-23.html").write_text("<p>rekap</p>", encoding="utf-8")
    photo = data / "attachments" / "2026" / "11" / "7.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8KTP")
    client = create_app(rt, testing=True).test_client()  # writes data/secret_key
    assert login(client, "admin1").status_code == 302
    good = Recap.create(kind="daily", period="2026-11-23", fmt="html",
                        path="recaps/rekap-harian-2026-11-23.html")
    assert client.get(f"/rekap/{good.id}/unduh").status_code == 200
    pointed = ["secret_key", "aduan.db", "attachments/2026/11/7.jpg", "recaps/../secret_key",
               "../config.toml", str(data / "secret_key"), str(rt.config.path)]
    for n, path in enumerate(pointed):
        row = Recap.create(kind="daily", period=f"2026-10-{n + 1:02d}", fmt="pdf", path=path)
        response = client.get(f"/rekap/{row.id}/unduh")
        assert response.status_code == 404, path
        assert b"KTP" not in response.data and b"SQLite" not in response.data


def test_a_recap_written_outside_the_recap_folder_is_not_listed(rt: Runtime, capsys) -> None:
    out = rt.data_dir / "lain"
    assert main.main(["--config", str(rt.config.path), "recap", "daily", "--date", "2026-11-23",
                      "--out", str(out)]) == 0
    assert len(list(out.iterdir())) == 3 and Recap.select().count() == 0


# --- file modes ----------------------------------------------------------------------------------

def aduan(config: Path, *argv: str, wait: bool = True) -> subprocess.Popen | None:
    """``aduan ARGV`` in a process started with the usual umask 022."""
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--config", str(config),
                                *argv], cwd=config.parent, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022))
    if not wait:
        return process
    assert process.wait(timeout=120) == 0, argv
    return None


def open_to_others(folder: Path) -> list[str]:
    return [f"{p.relative_to(folder)} {stat.filemode(p.stat().st_mode)}"
            for p in [folder, *folder.rglob("*")] if p.stat().st_mode & 0o077]


@posix
@pytest.mark.slow
@pytest.mark.skipif(bool(PG_URL), reason="the SQLite file's mode")
def test_everything_aduan_writes_is_for_its_own_user(tmp_path: Path) -> None:
    config = write_config(tmp_path, extra="\n[web]\nport = 0\n")
    aduan(config, "init")
    aduan(config, "recap", "daily")
    aduan(config, "backup")
    aduan(config, "export", "--out", str(tmp_path / "data" / "ekspor.jsonl"))
    running = aduan(config, "run", wait=False)
    started = [tmp_path / "data" / "logs" / "aduan.log", tmp_path / "data" / "secret_key"]
    try:
        deadline = time.monotonic() + 60
        while not all(p.exists() for p in started) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=60)
    data = tmp_path / "data"
    made = {p.relative_to(data).parts[0] for p in data.rglob("*")}
    assert {"aduan.db", "recaps", "backups", "logs", "secret_key", "ekspor.jsonl"} <= made, made
    assert open_to_others(data) == []


@posix
@pytest.mark.skipif(bool(PG_URL), reason="the SQLite file's mode")
def test_init_closes_a_data_folder_an_earlier_aduan_left_open(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    assert main.main(["--config", str(config), "init"]) == 0
    data = tmp_path / "data"
    data.chmod(0o755)
    (data / "aduan.db").chmod(0o644)
    (data / "backups").mkdir(mode=0o755)
    assert main.main(["--config", str(config), "init"]) == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "aduan.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "backups").stat().st_mode) == 0o700


def test_the_service_unit_sets_a_private_umask_and_closes_old_files(config_path: Path,
                                                                   capsys) -> None:
    assert main.main(["--config", str(config_path), "service", "install", "--print"]) == 0
    out = capsys.readouterr().out
    assert "\nUMask=0077\n" in out
    data = config_path.parent.resolve() / "data"
    assert f"sudo chmod -R go-rwx {data} {data / 'backups'}" in out
