"""*Mulai memakai aduan* (issue 28, item 2): the steps from the sandbox to the office's real use,
in the README's order, each ticked when it is done — what the superuser's checklist page shows.

1. the office's channels are added and healthy (no practice channel counts);
2. the practice data is removed (``aduan go-live``);
3. every role has its people: an admin, a group admin, and an official for every bidang;
4. the recap times are set (``[schedule]``: shown, to be checked);
5. a backup younger than a day exists;
6. aduan runs as a service (its daemon's heartbeat says a service manager started it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from inbox.dates import format_datetime_id
from inbox.labels import label
from inbox.models import PRACTICE_KINDS, Account, BackupRun, Division, Event, User, utcnow
from inbox.records.practice import practice_data
from inbox.run.health import live_daemons

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

BACKUP_WITHIN = timedelta(days=1)
#: Roles the SOP needs a person in (the supervisor is optional).
NEEDED_ROLES = ("admin", "group_admin")


@dataclass
class Step:
    key: str
    title: str
    done: bool
    lines: list[str] = field(default_factory=list)  # what is there, or what is missing
    how: str = ""                                   # what to do, in one sentence


def channels_step(rt: Runtime) -> Step:
    names = list(rt.config.accounts)
    real = [a for a in Account.select().where(Account.name.in_(names or [""])).order_by(Account.name)
            if a.kind not in PRACTICE_KINDS and a.enabled]
    lines, healthy = [], True
    for acc in real:
        if acc.disabled_reason or acc.last_error:
            healthy = False
            lines.append(f"{acc.label or acc.name}: GANGGUAN — {acc.disabled_reason or acc.last_error}")
        elif acc.last_success_at is None:
            healthy = False
            lines.append(f"{acc.label or acc.name}: belum pernah berhasil diperiksa")
        else:
            lines.append(f"{acc.label or acc.name}: sehat, terakhir berhasil "
                         f"{format_datetime_id(acc.last_success_at, rt.config.tz, 'd MMMM y HH.mm')}")
    if not real:
        lines.append("Belum ada saluran resmi kantor (hanya sandbox latihan).")
    return Step("channels", "Saluran resmi kantor ditambahkan dan sehat", bool(real) and healthy,
                lines, "Tambahkan [accounts.NAMA] di config.toml untuk setiap saluran (README, "
                       "bagian Channels; docs/x.md, docs/meta.md, docs/whatsapp.md), jalankan "
                       "aduan check-config lalu aduan poll --account NAMA.")


def practice_step() -> Step:
    left = practice_data()
    live = Event.went_live()
    lines = []
    if live is not None:
        lines.append("Kantor sudah mulai memakai aduan; saluran latihan dihentikan.")
    if left.any:
        lines.append(f"Masih ada {left.sentence()}.")
    return Step("practice", "Data latihan dihapus dan sandbox dihentikan",
                live is not None and not left.any, lines,
                "Tekan Mulai memakai aduan di bawah, atau jalankan aduan go-live.")


def users_step() -> Step:
    active = User.select().where(User.active == True)  # noqa: E712
    lines, done = [], True
    for role in NEEDED_ROLES:
        count = active.where(User.role == role).count()
        lines.append(f"{label('role', role)}: {count} orang")
        done &= count > 0
    for division in Division.select().where(Division.active == True).order_by(Division.name):  # noqa: E712
        count = active.where((User.role == "division") & (User.division == division.id)).count()
        lines.append(f"{label('role', 'division')} {division.name}: {count} orang")
        done &= count > 0
    return Step("users", "Pengguna untuk setiap peran dan setiap bidang", done, lines,
                "Tambahkan pengguna di halaman Pengguna (atau aduan user add).")


def recap_times_step(rt: Runtime) -> Step:
    sched = rt.config.schedule
    return Step("recaps", "Jam rekap diatur", True, [
        f"Rekap harian pukul {sched['daily_recap_time'].replace(':', '.')} WIB pada hari kerja.",
        f"Laporan bulanan bulan sebelumnya pada tanggal {sched['monthly_report_day']} pukul "
        f"{sched['monthly_report_time'].replace(':', '.')} WIB."],
        "Ubah di bagian [schedule] config.toml bila kantor memakai jam lain, lalu jalankan ulang "
        "aduan run.")


def backup_step(rt: Runtime, now: datetime) -> Step:
    good = BackupRun.last_good()
    fresh = good is not None and now - good.started_at < BACKUP_WITHIN
    lines = [f"Cadangan terakhir: {format_datetime_id(good.started_at, rt.config.tz, 'd MMMM y HH.mm')}"
             if good else "Belum ada cadangan."]
    return Step("backup", "Cadangan database kurang dari sehari", fresh, lines,
                "Jalankan aduan backup (sebaiknya ke disk kedua atau folder jaringan: "
                "[backup] folder); aduan run membuatnya setiap hari.")


def service_step(now: datetime) -> Step:
    beating = live_daemons(now)
    service = next((d for d in beating if d.service), None)
    if service is not None:
        lines = [f"aduan berjalan sebagai layanan ({service.service})."]
    elif beating:
        lines = ["aduan berjalan, tetapi dari jendela terminal: berhenti bila pengguna keluar."]
    else:
        lines = ["aduan tidak sedang berjalan."]
    return Step("service", "aduan berjalan sebagai layanan", service is not None, lines,
                "Jalankan aduan service install (README, bagian Running as a service).")


def checklist(rt: Runtime, now: datetime | None = None) -> list[Step]:
    now = now or utcnow()
    return [channels_step(rt), practice_step(), users_step(), recap_times_step(rt),
            backup_step(rt, now), service_step(now)]
