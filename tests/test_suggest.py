"""Suggested answers: accuracy on the held-back set, how a past answer is made fit for another
citizen, the case page's three suggestions and what became of them, ``aduan suggest``, and the
knowledge base entries that are switched off or expired."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from bench.suggest_eval import PAIRS, evaluate, read_jsonl
from inbox.models import Case, Event, Template, User, utcnow
from inbox.setup.runtime import Runtime
from inbox.sop import suggestions, workflow
from inbox.sop.outbox import deliver_one
from inbox.understand.past_answers import general_answer
from inbox.understand.suggest import suggester_for
from main import main
from tests.web_helpers import make_case, make_users, page_text, post_form

NIK = "3329015708900001"


def test_the_right_answer_is_among_the_top_three_for_nine_in_ten_held_back_questions(
        rt: Runtime) -> None:
    """tests/data/suggest_pairs.jsonl (SUGGEST_PAIRS.md): each past question answered through
    the outbox, then a new, differently-worded question about the same thing. Issue 31: the
    right answer in the top three for >= 90% and first for >= 60%, past answers alone; a plain
    TF-IDF over the past questions and answers is the baseline to beat."""
    pairs = read_jsonl(PAIRS)
    assert len(pairs) >= 60
    results = evaluate(rt, pairs, pairs)
    top3, top1, missed = results["ours: past answers"]
    base3, base1, _ = results["baseline: TF-IDF over past questions and answers"]
    assert top3 >= 0.90 and top1 >= 0.60, (top3, top1, missed)
    assert top3 > base3 and top1 > base1


def test_a_past_answer_is_made_fit_for_another_citizen() -> None:
    sent = (f"Halo Siti Aminah, NIK {NIK} sudah aktif kembali; bila ada kendala hubungi kami di "
            f"0812-3456-7890 atau siti@example.com dengan menyebut ADU-202611-0042. Terima kasih, Siti.")
    general = general_answer(sent, ["Siti Aminah", "@siti_aminah"], "ADU-202611-0042")
    assert general == ("Halo {nama}, NIK [[NIK]] sudah aktif kembali; bila ada kendala hubungi "
                       "kami di [[nomor HP]] atau [[alamat e-mail]] dengan menyebut {nomor}. "
                       "Terima kasih, {nama}.")
    assert workflow.GAP.search(general)   # a reply still holding a gap is refused


def answered(rt: Runtime, admin: User, n: int, question: str, answer: str) -> Case:
    case = make_case(rt, n, text=question, public=False)
    workflow.reply(rt, case, admin, workflow.render_template(rt, answer, case))
    while deliver_one(rt, "test"):
        pass
    return case


def test_the_case_page_offers_three_suggestions_with_their_source_and_records_what_became_of_them(
        rt: Runtime, client_for: Callable, users: dict[str, User]) -> None:
    admin = users["admin"]
    past = answered(rt, admin, 1, "ktp saya hilang di pasar min, gimana cara bikin lagi?",
                    "Mohon maaf {nama}, untuk KTP-el yang hilang bawa surat kehilangan dari "
                    "kepolisian dan fotokopi KK ke kantor kami; dicetak ulang tanpa biaya.")
    fresh = make_case(rt, 2, text="e-ktp sy kecopetan, ngurus gantinya gimana min?", public=False)
    client = client_for("admin")
    page = page_text(client.get(f"/pengaduan/{fresh.id}"))
    assert "Saran jawaban" in page and page.count('data-suggestion="') == 3
    assert f"jawaban untuk {past.reference}" in page and "basis pengetahuan:" in page
    assert "Mengapa: pertanyaan mirip" in page and "perlu diperiksa" in page
    shown = suggestions.for_case(rt, fresh)
    first = shown[0]
    assert first.suggestion.kind == "answer" and "Warga warga2" in first.text  # filled for this citizen
    # Without JavaScript: the link puts the suggestion in the box.
    filled = page_text(client.get(f"/pengaduan/{fresh.id}?saran={first.key}"))
    assert f">{first.text}</textarea>" in filled.replace("&#39;", "'")
    fields = {"suggestions_shown": ",".join(s.key for s in shown), "suggestion": first.key,
              "suggestion_text": first.text}
    assert post_form(client, f"/pengaduan/{fresh.id}/aksi/reply",
                     {"text": first.text + " Semoga membantu.", **fields}).status_code == 302
    event = Event.get((Event.case == fresh) & (Event.action == "suggestion_outcome"))
    assert event.detail["result"] == "edited" and event.detail["source"] == first.key
    third = make_case(rt, 3, text="ktp ku ilang pas mudik, urus gimana?", public=False)
    shown = suggestions.for_case(rt, third)
    post_form(client, f"/pengaduan/{third.id}/aksi/reply",
              {"text": shown[0].text, "suggestions_shown": ",".join(s.key for s in shown),
               "suggestion": shown[0].key, "suggestion_text": shown[0].text})
    fourth = make_case(rt, 4, text="ktp hilang, syaratnya apa?", public=False)
    post_form(client, f"/pengaduan/{fourth.id}/aksi/reply",
              {"text": "Silakan datang ke kantor kami.", "suggestions_shown": "knowledge:1"})
    results = [e.detail["result"] for e in Event.select().where(Event.action == "suggestion_outcome")
               .order_by(Event.id)]
    assert results == ["edited", "used", "ignored"]
    board = page_text(client.get("/dasbor"))
    assert "Saran jawaban (30 hari)" in board
    assert "saran dipakai apa adanya</th><td>1 (33%)" in board


def test_aduan_suggest_prints_the_ranked_suggestions_as_json(
        rt: Runtime, config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    admin = make_users()["admin"]
    past = answered(rt, admin, 1, "dukcapil buka jam berapa min?",
                    "Pelayanan buka Senin–Jumat pukul 07.30–15.00 WIB, {nama}.")
    capsys.readouterr()
    assert main(["--config", str(config_path), "suggest", "kantor capil jam pira bukane?",
                 "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 3
    assert [s["score"] for s in found] == sorted((s["score"] for s in found), reverse=True)
    assert {s["kind"] for s in found} <= {"knowledge", "answer"}
    ours = [s for s in found if s["kind"] == "answer"]
    assert ours and ours[0]["reference"] == past.reference and "{nama}" in ours[0]["text"]
    assert all(s["text"] and s["source_id"] for s in found)
    assert main(["--config", str(config_path), "suggest", "kantor capil jam pira bukane?"]) == 0
    assert "skor" in capsys.readouterr().out


def test_an_entry_switched_off_or_past_its_date_is_not_suggested(rt: Runtime) -> None:
    entry = Template.get(Template.starter_key == "jam-layanan")
    ask = "jam berapa pelayanan dukcapil buka?"
    suggester = suggester_for(rt.db)

    def keys() -> list[str]:
        return [s.key for s in suggester.suggest(ask, ["antrean_pelayanan"])]
    assert f"knowledge:{entry.id}" in keys()
    Template.update(valid_until=date.today() - timedelta(days=1), updated_at=utcnow()).where(
        Template.id == entry.id).execute()
    assert f"knowledge:{entry.id}" not in keys()
    Template.update(valid_until=None, active=False, updated_at=utcnow()).where(
        Template.id == entry.id).execute()
    assert f"knowledge:{entry.id}" not in keys()


def test_an_answer_sent_from_an_entry_is_that_entry_and_teaches_it_the_question(rt: Runtime) -> None:
    admin = make_users()["admin"]
    entry = Template.create(name="Lupa PIN IKD", text="Untuk PIN IKD yang terlupa, pilih Lupa PIN "
                            "di aplikasi IKD lalu ikuti verifikasi wajah, {nama}.")
    answered(rt, admin, 1, "akun ktp digital ku kekunci gara2 salah sandi", entry.text)
    found = suggester_for(rt.db).suggest("akun ktp digital saya kekunci karena salah sandi", ["ikd"])
    assert found[0].key == f"knowledge:{entry.id}"
    assert "dipakai untuk pertanyaan mirip" in found[0].reason
    assert not any(s.kind == "answer" and s.text == entry.text for s in found)


def test_the_index_takes_in_new_answers_as_they_are_sent(rt: Runtime) -> None:
    admin = make_users()["admin"]
    suggester = suggester_for(rt.db)
    ask = "surat pindah buat ke kalimantan syaratnya apa"
    before = suggester.suggest(ask, ["pindah_datang"], sources=("answer",))
    case = answered(rt, admin, 1, "mau pindah ke balikpapan, surat pindahnya gimana?",
                    "Untuk pindah keluar daerah ajukan SKPWNI dengan KK dan KTP-el, {nama}.")
    after = suggester.suggest(ask, ["pindah_datang"], sources=("answer",))
    assert before == [] and after[0].reference == case.reference
    # A case's own earlier answer is never suggested back to it.
    assert suggester.suggest(ask, ["pindah_datang"], sources=("answer",), exclude_cases=[case.id]) == []


def test_while_the_first_build_runs_a_page_gets_no_suggestions_at_once(rt: Runtime) -> None:
    """The web starts reading the past answers in the background; a case page asking
    meanwhile is answered at once (with a note) instead of waiting for a year of answers."""
    from inbox.understand.suggest import Suggester
    admin = make_users()["admin"]
    answered(rt, admin, 1, "jam berapa dukcapil buka?", "Buka pukul 07.30 WIB, {nama}.")
    suggester = Suggester()
    suggester.lock.acquire()   # as the warm-up thread holds it while it builds
    try:
        assert suggester.preparing and suggester.suggest("kantor buka jam berapa") == []
    finally:
        suggester.lock.release()
    suggester.warm_up(rt.db).join(timeout=60)
    assert not suggester.preparing
    assert any(s.kind == "answer" for s in suggester.suggest("kantor buka jam berapa"))
