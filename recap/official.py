"""What makes a recap a document the office signs (issue 28, item 5): the letterhead (*kop
surat*), the report number, the line saying who made it, and the signature block (*pengesahan*).

All of it comes from ``[report]`` in config.toml; what is not set is left blank to be written
by hand (a name line of dots, ``NIP`` with nothing after it), never invented.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from inbox.dates import format_date_id, format_datetime_id
from inbox.models import User, utcnow

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

#: Who made a recap when no officer did (``Recap.made_by``).
BY_SCHEDULE, BY_COMMAND = "schedule", "command"
#: How the report names itself as the maker when no officer asked for it.
MAKER = "aduan"
BLANK_NAME = "(" + "." * 40 + ")"


@dataclass
class Letterhead:
    """The kop surat: government line, office name, address lines and a logo file."""

    government: str
    office: str
    address: list[str] = field(default_factory=list)
    logo: Path | None = None


@dataclass
class Signer:
    role: str      # "Mengetahui," | "Dibuat oleh,"
    title: str     # Kepala Dinas …, Admin …
    name: str      # empty: a line to sign and write the name by hand
    nip: str

    @property
    def name_line(self) -> str:
        return self.name or BLANK_NAME

    @property
    def nip_line(self) -> str:
        return f"NIP {self.nip}" if self.nip else "NIP"


@dataclass
class Official:
    """The parts of a signed report around its figures."""

    letterhead: Letterhead
    number: str           # "Nomor: 470/…/2026" or "Nomor: ……" to fill by hand
    place_date: str       # "Brebes, 1 Desember 2026"
    signers: list[Signer]


def letterhead(rt: Runtime) -> Letterhead:
    report, office = rt.config.report, rt.config.office
    logo = None
    if report.get("logo"):
        path = Path(report["logo"])
        logo = path if path.is_absolute() else rt.config.base_dir / path
    return Letterhead(government=(report.get("government") or "").strip(),
                      office=office["name"], address=list(report.get("address") or []),
                      logo=logo if logo is not None and logo.is_file() else None)


def number_line(rt: Runtime, year: int, month: int) -> str:
    pattern = rt.config.report.get("number") or ""
    if not pattern:
        return "Nomor: " + "." * 36
    return "Nomor: " + pattern.format(tahun=year, bulan=f"{month:02d}")


def official(rt: Runtime, signed_on: date, year: int, month: int) -> Official:
    """The letterhead, number and signature block of a report of ``year``-``month``."""
    report, office = rt.config.report, rt.config.office
    place = (report.get("place") or "").strip()
    when = format_date_id(signed_on)
    head_title = report.get("head_title") or f"Kepala {office['name']}"
    return Official(
        letterhead=letterhead(rt), number=number_line(rt, year, month),
        place_date=f"{place}, {when}" if place else when,
        signers=[Signer("Mengetahui,", head_title, report.get("head_name") or "",
                        report.get("head_nip") or ""),
                 Signer("Dibuat oleh,", report.get("maker_title") or "", report.get("maker_name") or "",
                        report.get("maker_nip") or "")])


def made_line(rt: Runtime, actor: User | None) -> str:
    """``Dibuat otomatis oleh aduan pada Senin, 1 Desember 2026 pukul 07.00 WIB`` — or by the
    officer who asked for it; the words an official reads, whoever pressed which button."""
    when = format_datetime_id(utcnow(), rt.config.tz)
    if actor is not None:
        return f"Dibuat oleh {actor.display_name} dengan aplikasi aduan pada {when}"
    return f"Dibuat otomatis oleh {MAKER} pada {when}"
