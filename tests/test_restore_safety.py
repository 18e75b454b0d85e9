"""A refused restore writes nothing; a restore never runs under a daemon; the recap files travel
with the database (issue 26, items 2, 3 and 9).

Before, an archive with one unsafe member was refused only after the live database had been
replaced, ``--force`` restored under a running ``aduan run`` (messages delivered again, case
numbers issued twice), and a restored office's *Rekap* page listed files that answered 404.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

import main
from inbox.db import database
from inbox.models import Case, Heartbeat, Recap, utcnow
from inbox.records.archive import table_names
from inbox.records.schedule import finished_backups
from inbox.run.daemon import Daemon
from inbox.run.health import beat
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from recap.make import make_daily_recap
from tests.conftest import PG_URL, write_config
from tests.factories import T0
from tests.web_helpers import login, make_case, make_users

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="a second SQLite file as the --to target")


def run(config: Path, *argv: str) -> int:
    return main.main(["--config", str(config), *argv])


@pytest.fixture
def office(rt: Runtime) -> Path:
    """Cases, a stored photo and the daily recap's files, as an office has them."""
    make_users()
    with time_machine.travel(T0, tick=False):
        for n in range(3):
            make_case(rt, n, text=f"KTP saya belum jadi nomor {n}")
    photo = rt.data_dir / "attachments" / "2026" / "11" / "7.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        make_daily_recap(rt, T0.date())
    return rt.config.path


@pytest.fixture
def archive(office: Path, capsys) -> Path:
    assert run(office, "backup") == 0
    capsys.readouterr()
    [found] = finished_backups(load_config(office).data_dir / "backups", load_config(office))
    return found.path


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes; backups aside, and SQLite's
    ``-shm`` (an index of the WAL that every reader touches, not data)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "backups" not in p.parts and not p.name.endswith("-shm")}


def live_state(config: Path) -> object:
    """The live database byte for byte (SQLite: its files; PostgreSQL: every row) and the data
    folder's files."""
    data_dir = load_config(config).data_dir
    if PG_URL:
        rows = [list(database.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1'))
                for t in table_names() if database.table_exists(t)]
        return json.dumps(rows, default=str), tree(data_dir)
    return tree(data_dir)  # aduan.db and its -wal are files of the data folder


# --- crafting archives -----------------------------------------------------------------------

def rewrite(archive: Path, target: Path, edit: Callable[[dict], None] | None = None,
            extra: list[tuple[tarfile.TarInfo, bytes | None]] = (),
            drop: Callable[[str], bool] = lambda name: False, first_extra: bool = False) -> Path:
    """A copy of ``archive`` with its manifest edited, members dropped and members added (before
    the database with ``first_extra``, so nothing the old code checked late gets a chance)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src]
        manifest = json.loads(members[0][1])
        if edit is not None:
            edit(manifest)
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        rest = [(m, d) for m, d in members[1:] if not drop(m.name)]
        ordered = [*extra, *rest] if first_extra else [*rest, *extra]
        dst.addfile(info, io.BytesIO(body))
        for member, data in ordered:
            if data is not None:
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def member(name: str, data: bytes | None = b"x", kind: bytes = tarfile.REGTYPE,
           link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if data is not None else 0
    return info, data


def counted(extra: int) -> Callable[[dict], None]:
    def edit(manifest: dict) -> None:
        manifest["attachments"]["files"] += extra
    return edit


CRAFTED: dict[str, tuple[dict, str]] = {
    "traversal": ({"extra": [member("attachments/../../pwned.txt")], "edit": counted(1)},
                  "jalur yang tidak aman"),
    "absolute": ({"extra": [member("/tmp/aduan-pwned.txt")]}, "tidak dikenal"),
    "backslash": ({"extra": [member("attachments/..\\..\\pwned.txt")], "edit": counted(1)},
                  "jalur yang tidak aman"),
    "drive letter": ({"extra": [member("attachments/C:/pwned.txt")], "edit": counted(1)},
                     "jalur yang tidak aman"),
    "symlink": ({"extra": [member("attachments/2026/11/link.jpg", None, tarfile.SYMTYPE,
                                  "/etc/passwd")], "edit": counted(1)}, "tautan simbolik"),
    "hardlink": ({"extra": [member("attachments/2026/11/hard.jpg", None, tarfile.LNKTYPE,
                                   "database.sqlite")], "edit": counted(1)}, "tautan keras"),
    "folder entry": ({"extra": [member("attachments/2026", None, tarfile.DIRTYPE)]}, "folder"),
    "device": ({"extra": [member("attachments/2026/11/tty", None, tarfile.CHRTYPE)]},
               "berkas khusus"),
    "unknown member": ({"extra": [member("jalankan.sh", b"rm -rf /")]}, "tidak dikenal"),
    "attachment twice": ({"extra": [member("attachments/2026/11/7.jpg", b"lain")]}, "dua kali"),
    "one attachment too many": ({"extra": [member("attachments/2026/11/8.jpg")]},
                                "jumlah lampiran"),
    "tables missing": ({"edit": lambda m: m.pop("tables")}, "'tables'"),
    "database as text": ({"edit": lambda m: m.update(database="database.sqlite")},
                         "database yang dikenal"),
    "attachments as list": ({"edit": lambda m: m.update(attachments=[1, 2])},
                            "'attachments' tidak terbaca"),
    "tables of text": ({"edit": lambda m: m.update(tables={"case": "banyak"})}, "'tables'"),
    "office missing": ({"edit": lambda m: m.pop("office")}, "'office'"),
}


def test_every_refused_archive_leaves_the_live_database_byte_identical(office: Path, archive: Path,
                                                                      tmp_path: Path, capsys) -> None:
    """One office for every crafted archive (each refused with ``--force``), its odd member
    both after the database and before it."""
    for name, (spec, reason) in CRAFTED.items():
        for first in (False, True):
            crafted = rewrite(archive, tmp_path / "crafted.tar.gz", spec.get("edit"),
                              spec.get("extra", []), first_extra=first)
            before = live_state(office)
            assert run(office, "restore", str(crafted), "--force") == 1, name
            err = capsys.readouterr().err
            assert err.startswith("aduan: pemulihan ditolak: ") and reason in err, (name, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, name
            assert live_state(office) == before, name
    assert not (tmp_path.parent / "pwned.txt").exists() and not Path("/tmp/aduan-pwned.txt").exists()


@sqlite_only
def test_a_refused_restore_into_a_new_file_leaves_no_file_or_folder(office: Path, archive: Path,
                                                                    tmp_path: Path, capsys) -> None:
    crafted = rewrite(archive, tmp_path / "bad.tar.gz", extra=[member("jalankan.sh")])
    target = tmp_path / "kantor-baru" / "data" / "aduan.db"
    assert run(office, "restore", str(crafted), "--to", f"sqlite:///{target}") == 1
    assert not (tmp_path / "kantor-baru").exists()


# --- a running daemon ------------------------------------------------------------------------

def test_restore_refuses_while_a_daemon_beats_even_with_force(office: Path, archive: Path,
                                                              capsys) -> None:
    beat("pc-dukcapil:4242:abc123", 10, now=utcnow() - timedelta(seconds=5))
    before = live_state(office)
    assert run(office, "restore", str(archive), "--force") == 1
    err = capsys.readouterr().err
    assert "aduan sedang berjalan" in err and "pc-dukcapil" in err and "systemctl stop aduan" in err
    assert len(err.strip().splitlines()) == 1
    assert live_state(office) == before

    beat("pc-dukcapil:4242:abc123", 10, now=utcnow() - timedelta(seconds=31))  # three beats missed
    assert run(office, "restore", str(archive), "--force") == 0


def test_the_loud_option_restores_under_a_beating_daemon(office: Path, archive: Path) -> None:
    beat("pc-dukcapil:4242:abc123", 10)
    assert run(office, "restore", str(archive), "--force", "--ignore-running-daemon") == 0


def test_a_daemon_that_stops_cleanly_takes_its_heartbeat_with_it(rt: Runtime) -> None:
    daemon = Daemon(rt, worker_id="pc:1:stop")
    daemon.stopping.set()  # the loop ends at once; the first beat is written at start
    assert daemon.run(install_signals=False) == 0
    assert not Heartbeat.select().where(Heartbeat.worker_id == "pc:1:stop").exists()


# --- the recap files travel with the database ------------------------------------------------

def _download_all(rt: Runtime) -> dict[str, bytes]:
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    files = {}
    for recap in list(Recap.select()):
        response = client.get(f"/rekap/{recap.id}/unduh")
        assert response.status_code == 200, recap.path
        files[recap.path] = response.data
    return files


def test_a_restored_office_serves_its_recap_files(office: Path, archive: Path, rt: Runtime,
                                                  capsys) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert "recaps/rekap-harian-2026-11-23.pdf" in names and manifest["recaps"]["files"] == 3
    before = _download_all(rt)
    data_dir = load_config(office).data_dir
    for folder in ("recaps", "attachments"):  # a new PC: nothing but the backup
        for path in sorted((data_dir / folder).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    assert run(office, "restore", str(archive), "--force") == 0
    assert "rekap: 3 berkas" in capsys.readouterr().out
    assert _download_all(rt) == before
    assert (data_dir / "attachments" / "2026" / "11" / "7.jpg").is_file()


def test_a_backup_from_before_recaps_were_carried_restores_and_says_what_is_missing(
        office: Path, archive: Path, tmp_path: Path, capsys) -> None:
    old = rewrite(archive, tmp_path / "lama.tar.gz", edit=lambda m: m.pop("recaps"),
                  drop=lambda name: name.startswith("recaps/"))
    for path in (load_config(office).data_dir / "recaps").iterdir():
        path.unlink()
    assert run(office, "restore", str(old), "--force") == 0
    assert "3 rekap yang tercatat tidak punya berkas" in capsys.readouterr().out


@sqlite_only
def test_a_restore_to_another_database_puts_its_files_beside_it(office: Path, archive: Path,
                                                                tmp_path: Path) -> None:
    live = load_config(office).data_dir
    before = tree(live)
    target = tmp_path / "salinan" / "data" / "aduan.db"
    assert run(office, "restore", str(archive), "--to", f"sqlite:///{target}") == 0
    assert tree(live) == before
    copy = target.parent
    assert (copy / "attachments" / "2026" / "11" / "7.jpg").is_file()
    assert (copy / "recaps" / "rekap-harian-2026-11-23.xlsx").is_file()
    # A config for the copy (data_dir = the database's folder) serves its recap files.
    config = write_config(tmp_path / "salinan", url=f"sqlite:///{target}")
    copy_rt = Runtime(load_config(config), create=False)
    try:
        assert len(_download_all(copy_rt)) == 3
    finally:
        copy_rt.close()


@sqlite_only
def test_a_restore_never_writes_into_the_files_of_the_database_in_use(office: Path, archive: Path,
                                                                      capsys) -> None:
    live = load_config(office).data_dir
    other = live / "uji.db"
    assert run(office, "restore", str(archive), "--to", f"sqlite:///{other}") == 1
    assert "pilih folder lain dengan --data-dir" in capsys.readouterr().err
    assert not other.exists()


def test_a_restore_to_another_postgresql_needs_a_data_folder(office: Path, archive: Path,
                                                            capsys) -> None:
    assert run(office, "restore", str(archive), "--to",
               "postgresql://postgres@127.0.0.1:5432/kantor_lain") == 1
    assert "perlu --data-dir FOLDER" in capsys.readouterr().err
    assert Case.select().count() == 3
