"""aduan service install --print (systemd unit, Windows task) and the rotating, masked log file."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import main
from inbox.setup.logs import configure_logging

NIK = "3329014503900003"


def printed(config_path: Path, capsys, *extra: str) -> str:
    assert main.main(["--config", str(config_path), "service", "install", "--print", *extra]) == 0
    return capsys.readouterr().out


def test_the_systemd_unit_runs_aduan_with_this_venv_as_a_dedicated_user(config_path: Path,
                                                                       capsys) -> None:
    out = printed(config_path, capsys, "--user", "aduanbrebes")
    unit = out.split("# simpan sebagai", 1)[0]
    assert f"ExecStart={sys.executable} -m main --config {config_path.resolve()} run" in unit
    assert "User=aduanbrebes" in unit and "Restart=on-failure" in unit
    assert "WantedBy=multi-user.target" in unit and "KillSignal=SIGTERM" in unit
    data = config_path.parent.resolve() / "data"
    assert f"ReadWritePaths={data} {data / 'backups'}" in unit
    assert "sudo systemctl enable --now aduan.service" in out
    assert "sudo useradd --system --no-create-home --shell /usr/sbin/nologin aduanbrebes" in out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_unit_passes_systemd_analyze_verify(config_path: Path, tmp_path: Path,
                                                        capsys) -> None:
    unit = printed(config_path, capsys).split("# simpan sebagai", 1)[0]
    path = tmp_path / "aduan.service"
    path.write_text(unit, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "aduan.service" not in done.stderr, done.stderr  # no warning about our unit either


def test_the_windows_task_starts_at_boot_as_system_and_restarts(config_path: Path, capsys) -> None:
    script = printed(config_path, capsys, "--platform", "windows")
    assert f"-Execute '{sys.executable}'" in script
    assert f"-Argument '-m main --config \"{config_path.resolve()}\" run'" in script
    assert "New-ScheduledTaskTrigger -AtStartup" in script
    assert "-UserId 'SYSTEM' -LogonType ServiceAccount" in script
    assert "-RestartCount 999" in script and "Register-ScheduledTask -TaskName 'aduan'" in script


def test_the_log_file_rotates_and_masks_personal_data(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(log_dir=tmp_path / "logs")
        handler = next(h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler))
        assert handler.maxBytes == 5 * 1024 * 1024 and handler.backupCount == 10
        logging.getLogger("inbox.test").info("citizen wrote NIK %s", NIK)
        handler.flush()
        text = (tmp_path / "logs" / "aduan.log").read_text(encoding="utf-8")
        assert "citizen wrote NIK 3329" in text and NIK not in text
    finally:
        for h in root.handlers:
            h.close()
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
