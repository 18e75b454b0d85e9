"""The understand wing's issue-30 readings: the maladministration type a complaint suggests,
the LAPOR! tracking ID a message quotes, and LAPOR!'s klasifikasi from the intent."""
from __future__ import annotations

import pytest

from inbox.understand.lapor import clean_tracking_id, find_tracking_id, report_type_of
from inbox.understand.maladministration import suggest


@pytest.mark.parametrize("text, categories, intent, expected", [
    ("ktp sy udh 3 bulan blm jadi", ["ktp_el"], "complaint", "penundaan_berlarut"),
    ("akte kok suwe temen, wis seminggu", ["akta_lainnya"], "complaint", "penundaan_berlarut"),
    ("antri dari subuh, kuota habis jam 9", ["antrean_pelayanan"], "complaint",
     "penundaan_berlarut"),
    ("ada calo di depan kantor nawarin nyelak antrian bayar 100rb", ["pungli_calo_petugas"],
     "complaint", "permintaan_imbalan"),
    ("petugasnya jutek bgt, berkas dilempar ke meja", ["pungli_calo_petugas"], "complaint",
     "tidak_patut"),
    ("tiap dateng petugasnya minta syarat beda2", ["pungli_calo_petugas"], "complaint",
     "penyimpangan_prosedur"),
    ("sistem offline, warga pada pulang ga dilayani", ["layanan_online"], "complaint",
     "tidak_memberikan_pelayanan"),
    ("kok yang kenal orang dalam didahulukan, ga adil", [], "complaint", "diskriminasi"),
    ("ada yang nyelak antrian lewat orang dalam", ["antrean_pelayanan"], "complaint",
     "penyimpangan_prosedur"),
    ("nama di kk salah cetak padahal berkas benar", ["kartu_keluarga"], "complaint",
     "tidak_kompeten"),
    # a question, a thank-you, or a complaint that names no conduct: none
    ("berapa hari ktp jadi?", ["ktp_el"], "question", None),
    ("terima kasih pelayanannya cepat", [], "thanks", None),
    ("ktp saya hilang, syaratnya apa", ["ktp_el"], "complaint", None),
])
def test_a_complaint_suggests_one_maladministration_type(text: str, categories: list[str],
                                                         intent: str, expected: str | None) -> None:
    found = suggest(text, categories, intent)
    assert (found.code if found else None) == expected
    if found:
        assert found.evidence


@pytest.mark.parametrize("text, expected", [
    ("sdh lapor di https://www.lapor.go.id/pengaduan/1916449 blm ditanggapi", "1916449"),
    ("lapor.go.id/laporan/detil/2234567", "2234567"),
    ("tracking id LAPOR! #1916449", "1916449"),
    ("sudah lapor ke SP4N LAPOR, nomor laporan: 7654321", "7654321"),
    ("ID laporan LAPOR 1234567 mohon dicek", "1234567"),
    # never a NIK, a phone number or a tracking number that is not LAPOR!'s
    ("nik 3329015708900003 sudah lapor tapi belum jadi", None),
    ("lapor min, hp saya 081327551122", None),
    ("tracking 1234567 paket JNE", None),
    ("saya mau lapor, KTP hilang", None),
])
def test_a_lapor_tracking_id_is_found_only_where_lapor_is_named(text: str,
                                                                expected: str | None) -> None:
    assert find_tracking_id(text) == expected


def test_what_an_officer_types_becomes_a_tracking_id_or_nothing() -> None:
    assert clean_tracking_id(" #1916449 ") == "1916449"
    assert clean_tracking_id("https://www.lapor.go.id/pengaduan/1916449") == "1916449"
    assert clean_tracking_id("3329015708900003") is None
    assert clean_tracking_id("1234") is None


def test_the_klasifikasi_follows_the_intent_unless_the_admin_set_one() -> None:
    assert report_type_of(None, "complaint") == "pengaduan"
    assert report_type_of(None, "question") == "permintaan_informasi"
    assert report_type_of(None, "thanks") is None
    assert report_type_of("aspirasi", "complaint") == "aspirasi"
