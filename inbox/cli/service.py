"""``aduan service install|status|uninstall``: aduan starts at boot, without anyone logged in.

On Linux a systemd unit runs ``aduan run`` with this virtual environment's interpreter as a
dedicated system user, restarts it when it fails and stops it with SIGTERM (the daemon then
finishes its step). On Windows a scheduled task started at boot by the SYSTEM account, with
restarts on failure, made through PowerShell's ScheduledTasks module (part of Windows; nothing
to compile or install). ``--print`` shows the unit or the script and the exact commands
without changing anything; installing needs root (``sudo``) or an Administrator PowerShell.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from inbox.cli.common import UserError

UNIT_PATH = Path("/etc/systemd/system/aduan.service")
TASK_NAME = "aduan"


def systemd_unit(config_path: Path, data_dir: Path, backup_dir: Path, user: str,
                 python: str = sys.executable, office: str = "") -> str:
    workdir = config_path.parent
    writable = " ".join(sorted({str(data_dir), str(backup_dir)}))
    return f"""# aduan as a service; written by `aduan service install`.
[Unit]
Description=aduan - kotak masuk pengaduan media sosial {office}
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={user}
WorkingDirectory={workdir}
Environment=ADUAN_CONFIG={config_path}
Environment=PYTHONUNBUFFERED=1
ExecStart={python} -m main --config {config_path} run
# SIGTERM lets the daemon finish its step; a hung stop is killed after 90 seconds.
KillSignal=SIGTERM
TimeoutStopSec=90
Restart=on-failure
RestartSec=10
# Files aduan makes (database, backups, photos of KTPs, logs, recaps) for its own user only.
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ReadWritePaths={writable}

[Install]
WantedBy=multi-user.target
""".replace("  \n", "\n").replace(" \n", "\n")


def linux_commands(user: str, data_dir: Path, backup_dir: Path) -> list[list[str]]:
    return [
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
        ["mkdir", "-p", str(data_dir), str(backup_dir)],
        ["chown", "-R", f"{user}:{user}", str(data_dir), str(backup_dir)],
        # What an earlier aduan made readable by everyone (mode 644 in a 755 folder) is not.
        ["chmod", "-R", "go-rwx", str(data_dir), str(backup_dir)],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "aduan.service"],
    ]


def windows_script(config_path: Path, python: str = sys.executable) -> str:
    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"
    arguments = f'-m main --config "{config_path}" run'
    return f"""# aduan as a scheduled task started at boot by SYSTEM; written by `aduan service install`.
# Run in an Administrator PowerShell:  powershell -ExecutionPolicy Bypass -File aduan-service.ps1
$action = New-ScheduledTaskAction -Execute {quoted(python)} -Argument {quoted(arguments)} -WorkingDirectory {quoted(str(config_path.parent))}
$trigger = New-ScheduledTaskTrigger -AtStartup
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero) -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
Register-ScheduledTask -TaskName {quoted(TASK_NAME)} -Action $action -Trigger $trigger -Settings $settings -Principal $principal -Force
Start-ScheduledTask -TaskName {quoted(TASK_NAME)}
"""


def _paths(ctx: Any) -> tuple[Path, Path, Path]:
    from inbox.records.backup import backup_folder
    config = ctx.config
    return config.path, config.data_dir, backup_folder(config)


def _run(ctx: Any, argv: list[str], check: bool = True) -> int:
    ctx.print("$ " + " ".join(argv))
    done = subprocess.run(argv)
    if check and done.returncode != 0:
        raise UserError(f"perintah gagal (kode {done.returncode}): {' '.join(argv)}", exit_code=1)
    return done.returncode


def cmd_install(args: argparse.Namespace, ctx: Any) -> int:
    """Install aduan as a service that starts at boot (or print how)."""
    config_path, data_dir, backup_dir = _paths(ctx)
    windows = (args.platform or platform.system().lower()) == "windows"
    if windows:
        script = windows_script(config_path)
        if args.print:
            ctx.print(script)
            return 0
        target = data_dir / "aduan-service.ps1"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script, encoding="utf-8-sig")
        ctx.print(f"skrip ditulis: {target}")
        return _run(ctx, ["powershell", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", str(target)])
    unit = systemd_unit(config_path, data_dir, backup_dir, args.user, office=ctx.config.office["name"])
    commands = linux_commands(args.user, data_dir, backup_dir)
    if args.print:
        ctx.print(unit)
        ctx.print(f"# simpan sebagai {UNIT_PATH}, lalu jalankan sebagai root:")
        for argv in commands:
            ctx.print("sudo " + " ".join(argv))
        return 0
    if shutil.which("systemctl") is None:
        raise UserError("systemctl tidak ada: komputer ini tidak memakai systemd; lihat README "
                        "bagian 'Menjalankan sebagai layanan'")
    if os.geteuid() != 0:
        raise UserError(f"memasang layanan perlu root: sudo {sys.executable} -m main --config "
                        f"{config_path} service install (atau --print untuk melihat isinya dulu)")
    _run(ctx, commands[0], check=False)  # the user may exist already
    UNIT_PATH.write_text(unit, encoding="utf-8")
    ctx.print(f"unit ditulis: {UNIT_PATH}")
    for argv in commands[1:]:
        _run(ctx, argv)
    ctx.print("aduan berjalan sebagai layanan dan akan mulai sendiri setiap komputer dinyalakan; "
              "lihat keadaannya dengan: aduan service status")
    return 0


def cmd_status(args: argparse.Namespace, ctx: Any) -> int:
    """Show whether the service is installed and running."""
    if platform.system() == "Windows":
        return _run(ctx, ["schtasks", "/Query", "/TN", TASK_NAME, "/V", "/FO", "LIST"], check=False)
    return _run(ctx, ["systemctl", "status", "--no-pager", "aduan.service"], check=False)


def cmd_uninstall(args: argparse.Namespace, ctx: Any) -> int:
    """Stop the service and remove it (the data folder and backups stay)."""
    if platform.system() == "Windows":
        _run(ctx, ["schtasks", "/End", "/TN", TASK_NAME], check=False)
        return _run(ctx, ["schtasks", "/Delete", "/TN", TASK_NAME, "/F"])
    _run(ctx, ["systemctl", "disable", "--now", "aduan.service"], check=False)
    UNIT_PATH.unlink(missing_ok=True)
    return _run(ctx, ["systemctl", "daemon-reload"])


def register(sub: Any, add: Any) -> None:
    service = sub.add_parser("service", help="jalankan aduan sebagai layanan saat komputer menyala")
    actions = service.add_subparsers(dest="service_command", metavar="TINDAKAN", title="tindakan")
    for name, func, text in (("install", cmd_install, "pasang layanan (atau tampilkan dengan --print)"),
                             ("status", cmd_status, "apakah layanan berjalan"),
                             ("uninstall", cmd_uninstall, "hentikan dan lepas layanan")):
        p = actions.add_parser(name, help=text)
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        if name == "install":
            p.add_argument("--user", default="aduan", metavar="NAMA",
                           help="pengguna sistem yang menjalankan aduan (Linux)")
            p.add_argument("--print", action="store_true",
                           help="tampilkan yang akan dipasang tanpa mengubah apa pun")
            p.add_argument("--platform", choices=["linux", "windows"], help=argparse.SUPPRESS)
