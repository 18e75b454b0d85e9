"""A citizen's other cases: the same phone number, NIK or e-mail address on another channel, or
the same name with an overlapping complaint, is proposed (never merged by itself); an officer
links them; the export names the links; only hashes of the numbers are kept, and an erasure
removes them."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connectors.base import InboundMessage
from inbox.arrive.ingest import ingest
from inbox.cli.export import export_case
from inbox.models import Account, Case, CaseLink, CaseMark, Event
from inbox.records.retention import erase_contact
from inbox.sop import related
from inbox.sop.workflow import visible_cases
from tests.conftest import make_runtime, write_config
from tests.factories import T0
from tests.web_helpers import login, make_user, make_users, page_text, post_form

ACCOUNTS = """
[accounts.wa_dukcapil]
kind = "whatsapp"
phone_number_id = "106540352242922"
access_token = "wa-token-test"
app_secret = "wa-secret-test"
verify_token = "wa-verify-test"

[accounts.ig_dukcapil]
kind = "instagram"
ig_user_id = "17841400000000000"
page_id = "900000000000003"
page_access_token = "ig-page-token-test"

[accounts.sandbox]
kind = "sandbox"
"""
NIK = "3329015708900001"


@pytest.fixture
def rt(tmp_path: Path):
    runtime = make_runtime(write_config(tmp_path, accounts=ACCOUNTS))
    yield runtime
    runtime.close()


def case_on(rt, account: str, author: str, name: str, text: str, at=T0, public: bool = False) -> Case:
    thread = f"t-{account}-{author}"
    ingest(Account.get(Account.name == account), [InboundMessage(
        external_id=f"{account}-{author}-{at.timestamp()}", thread_id=thread,
        kind="comment" if public else "dm", public=public, author_id=author,
        author_handle=author.replace("6281", "w"), author_name=name, text=text, created_at=at)],
        None, rt.ingest_options)
    return Case.select().where(Case.thread_id == thread).order_by(Case.id.desc()).get()


def test_the_whatsapp_number_written_on_instagram_proposes_the_whatsapp_case(rt) -> None:
    admin = make_users()["admin"]
    wa = case_on(rt, "wa_dukcapil", "6281327551122", "Budi", "KTP saya belum jadi sudah 2 bulan")
    ig = case_on(rt, "ig_dukcapil", "ig-77", "budi.s", "min sy sudah WA di 0813-2755-1122 "
                 "kemarin soal ktp belum dicetak", at=T0 + timedelta(days=1))
    stranger = case_on(rt, "sandbox", "u9", "Orang Lain", "ktp saya juga belum jadi 0857-1111-2222")
    found = related.candidates(rt, ig, visible_cases(admin))
    assert [(c.case.id, c.reason) for c in found] == [(wa.id, "nomor HP yang sama")]
    assert related.candidates(rt, wa, visible_cases(admin))[0].case.id == ig.id
    assert not CaseLink.select().exists()   # proposed, never merged by itself
    assert stranger.id not in {c.case.id for c in found}
    # Only keyed hashes are stored, never the number.
    assert all(len(m.digest) == 32 and "1122" not in m.digest for m in CaseMark.select())
    assert related.link(ig, wa, admin, "nomor HP yang sama")
    assert not related.link(wa, ig, admin)   # once
    assert [c.id for c in related.linked(wa)] == [ig.id]
    assert export_case(wa)["linked_cases"] == [ig.reference]
    assert related.candidates(rt, ig, visible_cases(admin)) == []   # linked: no longer proposed
    assert Event.select().where(Event.action == "case_linked").count() == 2
    related.unlink(wa, ig, admin)
    assert export_case(ig)["linked_cases"] == []


def test_the_same_nik_and_the_same_name_with_a_like_complaint_are_proposed(rt) -> None:
    admin = make_users()["admin"]
    first = case_on(rt, "sandbox", "u1", "Siti Aminah", f"nik saya {NIK} tidak terdaftar di bpjs")
    same_nik = case_on(rt, "ig_dukcapil", "ig-1", "sitia", f"NIK {NIK[:4]} {NIK[4:8]} {NIK[8:12]} "
                       f"{NIK[12:]} masih belum aktif", at=T0 + timedelta(hours=3))
    same_name = case_on(rt, "wa_dukcapil", "6281200000001", "Siti Aminah",
                        "nik ku ga terdaftar pas daftar bpjs, gimana min", at=T0 + timedelta(days=2))
    other_topic = case_on(rt, "wa_dukcapil", "6281200000002", "Siti Aminah",
                          "jam buka kantor hari sabtu?", at=T0 + timedelta(days=2))
    found = {c.case.id: c.reason for c in related.candidates(rt, first, visible_cases(admin))}
    assert found == {same_nik.id: "NIK yang sama", same_name.id: "nama sama dan pengaduan mirip"}
    assert other_topic.id not in found


def test_only_the_newest_are_proposed_and_unlike_newer_ones_do_not_hide_older_alike_ones(
        rt, monkeypatch) -> None:
    """The page shows the ``limit`` newest candidates: the texts of older same-name cases are
    not compared once that many newer ones were found, and newer same-name cases whose texts
    are not alike do not use up the places of older ones that are."""
    admin = make_users()["admin"]
    first = case_on(rt, "sandbox", "u1", "Siti Aminah", "nik saya tidak terdaftar di bpjs")
    alike = [case_on(rt, "wa_dukcapil", f"628120000{n:04d}", "Siti Aminah",
                     "nik ku ga terdaftar pas daftar bpjs, gimana min", at=T0 + timedelta(hours=n + 1))
             for n in range(5)]
    unlike = [case_on(rt, "ig_dukcapil", f"ig-{n}", "Siti Aminah", "jam buka kantor hari sabtu?",
                      at=T0 + timedelta(days=1, hours=n)) for n in range(4)]
    assert all(c.id > a.id for c in unlike for a in alike)   # the unlike ones are the newest
    # No category in common with the first case: each text must be compared with its text.
    Case.update(categories_override=["kartu_keluarga"]).where(Case.id == first.id).execute()
    Case.update(categories_override=["akta_kelahiran"]).where(Case.id != first.id).execute()
    compared: list[str] = []
    grams = related._grams

    def counted(text: str) -> related.Grams:
        compared.append(text)
        return grams(text)
    monkeypatch.setattr(related, "_grams", counted)
    three = related.candidates(rt, Case.get_by_id(first.id), visible_cases(admin), limit=3)
    compared_for_three = len(compared)
    everything = related.candidates(rt, Case.get_by_id(first.id), visible_cases(admin))
    expected = [c.id for c in reversed(alike)]
    assert [c.case.id for c in three] == expected[:3]
    assert [c.case.id for c in everything] == expected
    assert {c.reason for c in everything} == {"nama sama dan pengaduan mirip"}
    # The case's own text, the 4 unlike ones and the 3 newest alike ones; not the 2 oldest.
    assert compared_for_three == 1 + len(unlike) + 3
    assert len(compared) - compared_for_three == 1 + len(unlike) + len(alike)


def test_the_marks_are_made_by_the_daemon_step_and_erased_with_the_citizen(rt, tmp_path) -> None:
    admin = make_users()["admin"]
    superuser = make_user("kepala", "admin", is_superuser=True)
    wa = case_on(rt, "wa_dukcapil", "6281327551122", "Budi", "KTP saya belum jadi")
    ig = case_on(rt, "ig_dukcapil", "ig-77", "budi.s", "saya yang WA dari 081327551122")
    assert related.index_marks(rt) == 2
    assert CaseMark.select().where(CaseMark.case == wa).count() == 1
    assert CaseMark.select().where(CaseMark.case == ig).count() == 1
    assert related.index_marks(rt) == 0   # nothing new
    erase_contact(rt.data_dir, "ig-77", superuser, "Surat 470/1/2026")
    assert not CaseMark.select().where(CaseMark.case == ig).exists()
    assert related.candidates(rt, wa, visible_cases(admin)) == []


def test_the_case_page_lists_and_links_the_probable_same_citizen(rt) -> None:
    from inbox.web.app import create_app
    users = make_users()
    wa = case_on(rt, "wa_dukcapil", "6281327551122", "Budi", "KTP saya belum jadi sudah 2 bulan")
    ig = case_on(rt, "ig_dukcapil", "ig-77", "budi.s", "sudah WA ke 0813-2755-1122 soal ktp")
    app = create_app(rt, testing=True)
    admin, supervisor = app.test_client(), app.test_client()
    assert login(admin, users["admin"].username).status_code == 302
    assert login(supervisor, users["supervisor"].username).status_code == 302
    page = page_text(admin.get(f"/pengaduan/{ig.id}"))
    assert "Mungkin warga yang sama" in page and wa.reference in page and "nomor HP yang sama" in page
    assert "0813-2755-1122" not in page.split("Mungkin warga yang sama")[1]
    assert "Tautkan: warga yang sama" not in page_text(supervisor.get(f"/pengaduan/{ig.id}"))
    assert post_form(supervisor, f"/pengaduan/{ig.id}/tautkan/{wa.id}").status_code == 403
    assert post_form(admin, f"/pengaduan/{ig.id}/tautkan/{wa.id}",
                     {"reason": "nomor HP yang sama"}).status_code == 302
    page = page_text(admin.get(f"/pengaduan/{wa.id}"))
    assert "Ditautkan petugas" in page and ig.reference in page


def test_the_pair_similarity_is_the_tf_idf_cosine_over_the_two_texts() -> None:
    """``related._alike`` works from the shared n-grams only; it equals the plain computation."""
    from inbox.sop.related import _alike, _grams
    from inbox.understand import textsim

    def plain(a: str, b: str) -> float:
        ga, gb = (textsim.char_grams(textsim.canonical_text(t)) for t in (a, b))
        idf = textsim.Idf.count([ga, gb])
        return textsim.cosine(textsim.vector(ga, idf), textsim.vector(gb, idf))

    texts = ["KTP saya belum jadi sudah 3 minggu", "ktp sy blm jadi udh 3 mgg", "akta kelahiran anak",
             "Mohon info syarat pindah domisili", "terima kasih", "", "ktp"]
    for a in texts:
        for b in texts:
            assert _alike(_grams(a), _grams(b)) == pytest.approx(plain(a, b), abs=1e-12)
