"""The backup archive's compression (inbox.records.archive): members written by several threads
and read back by several, one valid .tar.gz for any other reader, and older archives (one
gzip member, as ``tarfile`` writes) still read."""
from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from inbox.records import archive
from inbox.records.archive import BackupError, GzipBlocks, GzipMembers, sha256_file, verify_archive


def small_backup_parts(tmp_path: Path) -> tuple[dict, Path, Path]:
    db = tmp_path / "database.sqlite"
    conn = sqlite3.connect(db)
    conn.execute('CREATE TABLE "case" (id INTEGER PRIMARY KEY, summary TEXT)')
    conn.executemany('INSERT INTO "case" (summary) VALUES (?)',
                     [(os.urandom(200).hex() + " akta kelahiran",) for _ in range(2000)])
    conn.commit()
    conn.close()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(os.urandom(3000))
    manifest = {"format": archive.FORMAT, "version": archive.VERSION, "office": "Dukcapil",
                "created_local": "2026-12-05T13:00:00+07:00",
                "database": {"kind": "sqlite", "file": "database.sqlite",
                             "sha256": sha256_file(db), "size": db.stat().st_size},
                "tables": {"case": 2000}, "attachments": {"files": 1, "bytes": 3000}}
    return manifest, db, photo


def write(tar: tarfile.TarFile, manifest: dict, db: Path, photo: Path) -> None:
    body = json.dumps(manifest).encode()
    info = tarfile.TarInfo("manifest.json")
    info.size = len(body)
    tar.addfile(info, io.BytesIO(body))
    tar.add(db, arcname="database.sqlite")
    tar.add(photo, arcname="attachments/2026/12/photo.jpg")


def members_archive(path: Path, manifest: dict, db: Path, photo: Path) -> int:
    with open(path, "wb") as raw:
        gz = GzipMembers(raw, workers=2)
        with tarfile.open(fileobj=gz, mode="w") as tar:
            write(tar, manifest, db, photo)
        gz.close()
    return gz.members


def test_members_are_one_gzip_file_read_back_in_parallel(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "BLOCK", 32 << 10)  # many members from a small file
    manifest, db, photo = small_backup_parts(tmp_path)
    path = tmp_path / "new.tar.gz"
    assert members_archive(path, manifest, db, photo) > 10
    with tarfile.open(path, "r:gz") as tar:  # any gzip reader: the standard library's here
        assert tar.getnames() == ["manifest.json", "database.sqlite",
                                  "attachments/2026/12/photo.jpg"]
        assert tar.extractfile("database.sqlite").read() == db.read_bytes()
    with open(path, "rb") as raw:
        blocks = GzipBlocks(raw, workers=2)
        assert blocks.read() == gzip.decompress(path.read_bytes())
        blocks.close()
    assert verify_archive(path)["tables"] == {"case": 2000}
    assert verify_archive(path, database=db)["tables"] == {"case": 2000}


def test_an_archive_of_one_gzip_member_from_an_older_aduan_still_reads(tmp_path: Path) -> None:
    manifest, db, photo = small_backup_parts(tmp_path)
    path = tmp_path / "old.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        write(tar, manifest, db, photo)
    assert verify_archive(path)["tables"] == {"case": 2000}
    stage = tmp_path / "stage"
    stage.mkdir()
    unpacked = archive.unpack(path, stage, stage=stage)
    assert unpacked.files == {"attachments": 1, "recaps": 0}
    assert (stage / "attachments/2026/12/photo.jpg").read_bytes() == photo.read_bytes()
    assert unpacked.database.read_bytes() == db.read_bytes()


def test_a_damaged_or_cut_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "BLOCK", 32 << 10)
    manifest, db, photo = small_backup_parts(tmp_path)
    path = tmp_path / "new.tar.gz"
    members_archive(path, manifest, db, photo)
    data = path.read_bytes()
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    for name, body in (("damaged", bytes(damaged)), ("cut", data[:len(data) * 2 // 3])):
        bad = tmp_path / f"{name}.tar.gz"
        bad.write_bytes(body)
        with pytest.raises(BackupError, match="rusak|terpotong|tidak sama"):
            verify_archive(bad)
        with pytest.raises(BackupError, match="rusak|terpotong|tidak sama"):
            verify_archive(bad, database=db)


def test_the_check_of_a_fresh_backup_refuses_a_copy_that_does_not_match(tmp_path: Path) -> None:
    manifest, db, photo = small_backup_parts(tmp_path)
    path = tmp_path / "new.tar.gz"
    members_archive(path, manifest, db, photo)
    conn = sqlite3.connect(db)
    conn.execute('DELETE FROM "case" WHERE id = 1')
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="jumlah baris"):
        verify_archive(path, database=db)


@pytest.mark.parametrize("writer, reader", [("isal", "zlib"), ("zlib", "isal")])
def test_isa_l_and_zlib_write_and_read_the_same_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        writer: str, reader: str) -> None:
    """A backup written where ISA-L is installed restores where only zlib is, and back."""
    import zlib
    isal_zlib = pytest.importorskip("isal.isal_zlib")  # installed wherever it has a wheel
    libraries = {"isal": isal_zlib, "zlib": zlib}
    monkeypatch.setattr(archive, "BLOCK", 32 << 10)
    manifest, db, photo = small_backup_parts(tmp_path)
    path = tmp_path / "new.tar.gz"
    monkeypatch.setattr(archive, "deflate", libraries[writer])
    assert members_archive(path, manifest, db, photo) > 10
    monkeypatch.setattr(archive, "deflate", libraries[reader])
    with open(path, "rb") as raw:
        blocks = GzipBlocks(raw, workers=2)
        assert blocks.read() == gzip.decompress(path.read_bytes())
        blocks.close()
    assert verify_archive(path, database=db)["tables"] == {"case": 2000}
