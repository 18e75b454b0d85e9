"""Service categories and intent from informal Indonesian, the rules' half of the classifier:
normalisation, each category's words and its false friends, the intent rule, config's extra
words, ``aduan classify`` and the rules' floor on the shipped labelled set. The model and the
hybrid are in ``test_model.py``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import main
from inbox.understand.classify import (CATEGORIES, CATEGORY_LABELS, INTENT_LABELS, INTENTS, Classifier,
                                       check_extra_keywords, normalise, start_keys)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.classify_eval import evaluate, load  # noqa: E402

RULES = Classifier(model=None)
classify = RULES.classify


@pytest.mark.parametrize("raw, normalised", [
    ("KTP Saya LAMAAA bangettt", "ktp saya lama banget"),
    ("bisa2 berkas2nya", "bisa bisa berkas berkasnya"),
    ("makasih kk 🙏", "makasih kak 🙏"),
    ("kk admin, mau tanya", "kak admin, mau tanya"),
    ("KK, syaratnya apa", "kak, syaratnya apa"),
    ("kk saya hilang", "kk saya hilang"),               # Kartu Keluarga stays
    ("syarat pecah kk apa", "syarat pecah kk apa"),
    ("ｋｔｐ   el", "ktp el"),                           # NFKC and spaces
])
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


@pytest.mark.parametrize("text, category", [
    ("ktpnya kapan jadi", "ktp_el"),
    ("e-ktp saya rusak", "ktp_el"),
    ("blangko habis terus", "ktp_el"),
    ("anak sy udh 17 th mau perekaman", "ktp_el"),
    ("mau pecah kk setelah nikah", "kartu_keluarga"),
    ("kartu keluarga saya hilang", "kartu_keluarga"),
    ("kkny belum dicetak", "kartu_keluarga"),
    ("syarat bikin kia apa", "kia"),
    ("ktp anak bisa online?", "kia"),
    ("ktp digital gagal aktivasi", "ikd"),
    ("kode aktivasi ikd tidak masuk email", "ikd"),
    ("akte kelahiran anak saya", "akta_kelahiran"),
    ("aktenya si bayi kapan jadi", "akta_kelahiran"),
    ("akta kematian bapak saya", "akta_kematian"),
    ("ibu sudah meninggal, dihapus dari kk", "akta_kematian"),
    ("status masih belum kawin padahal sudah nikah", "akta_perkawinan_perceraian"),
    ("akta cerai dari pengadilan agama", "akta_perkawinan_perceraian"),
    ("akteku kapan jadi", "akta_lainnya"),
    ("surat pindah ke jakarta", "pindah_datang"),
    ("skpwni antar provinsi", "pindah_datang"),
    ("nama saya salah ketik di kk", "perubahan_data"),
    ("mau ganti status pekerjaan", "perubahan_data"),
    ("fotokopi akta perlu legalisir?", "legalisir"),
    ("nik saya tidak aktif di bpjs", "nik_bermasalah"),
    ("NIK 3329015708900003 saya tidak aktif", "nik_bermasalah"),
    ("data ganda kata petugas bank", "nik_bermasalah"),
    ("aplikasi blakasuta error terus", "layanan_online"),
    ("upload berkas gagal, servernya down", "layanan_online"),
    ("antrinya panjang, kuota habis jam 9", "antrean_pelayanan"),
    ("kok lama bgt, sudah bolak balik", "antrean_pelayanan"),
    ("ada calo di depan kantor", "pungli_calo_petugas"),
    ("petugas loketnya jutek", "pungli_calo_petugas"),
])
def test_each_category_has_its_words(text: str, category: str) -> None:
    assert category in classify(text).categories


@pytest.mark.parametrize("text, not_category", [
    ("makasih kk admin", "kartu_keluarga"),        # kk = kakak
    ("kk admin mau tanya", "kartu_keluarga"),
    ("ktp digital saya tidak bisa login", "ktp_el"),  # IKD, not the card
    ("ktp anak syaratnya apa", "ktp_el"),            # KIA
    ("akte kelahiran anak saya", "akta_lainnya"),    # a named akta is not "other"
    ("aktivasi ikd gimana", "akta_lainnya"),         # aktivasi is not akta
    ("pecah kk setelah menikah", "ktp_el"),
    ("jasa pembuatan ktp cepat", "ktp_el"),          # spam carries no category
])
def test_false_friends(text: str, not_category: str) -> None:
    assert not_category not in classify(text).categories


@pytest.mark.parametrize("text, intent", [
    ("halo", "greeting"),
    ("Assalamualaikum min", "greeting"),
    ("p", "greeting"),
    ("selamat pagi kak admin 🙏", "greeting"),
    ("terima kasih min, sudah jadi", "thanks"),
    ("matur nuwun, pelayanannya cepat", "thanks"),
    ("👍👍", "thanks"),
    ("makasih, tapi akte saya belum jadi juga", "complaint"),   # thanks with a complaint
    ("makasih min, syarat kia apa ya?", "question"),             # thanks with a question
    ("halo min, syarat pindah domisili apa aja?", "question"),   # greeting then a question
    ("jasa pembuatan KTP cepat tanpa antri, wa 081234567890", "spam"),
    ("slot gacor maxwin hari ini", "spam"),
    ("cek promo di https://toko.example.com", "spam"),
    ("ktp saya udh 3 bulan blm jadi", "complaint"),
    ("ktp saya hilang", "complaint"),                            # service + facet
    ("ktp inyong durung dadi", "complaint"),                     # Ngapak
    ("kepriwe carane gawe kk anyar", "question"),
    ("syarat akta kelahiran apa saja", "question"),
    ("cek di https://dindukcapil.brebeskab.go.id ko error", "complaint"),  # the office's own site
])
def test_intent(text: str, intent: str) -> None:
    assert classify(text).intent == intent


def test_labels_cover_every_category_and_intent_in_indonesian() -> None:
    assert len(CATEGORIES) == 15 and set(CATEGORY_LABELS) == set(CATEGORIES)
    assert set(INTENT_LABELS) == set(INTENTS) == {"complaint", "question", "thanks", "spam", "greeting"}


def test_config_adds_words_and_markers() -> None:
    text = "minta surat sakti dukcapil"
    assert "perubahan_data" not in classify(text).categories
    tuned = Classifier(extra_keywords={"perubahan_data": ["surat sakti"]},
                       extra_intent_markers={"complaint": ["minta surat"]}, model=None)
    result = tuned.classify(text)
    assert "perubahan_data" in result.categories and result.intent == "complaint"
    assert result.evidence["perubahan_data"] == ["surat sakti"]


def test_bad_extra_words_are_named() -> None:
    assert check_extra_keywords({"ktp": ["x"]}) == [
        "classify.extra_keywords.ktp: nama tidak dikenal; gunakan salah satu dari " + ", ".join(CATEGORIES)]
    assert check_extra_keywords({"ktp_el": "ktp"}) == [
        "classify.extra_keywords.ktp_el: harus berupa daftar kata dalam tanda kutip"]
    [finding] = check_extra_keywords({"ktp_el": ["("]})
    assert finding.startswith("classify.extra_keywords.ktp_el: '(' bukan ekspresi reguler yang sah")
    with pytest.raises(ValueError, match="nama tidak dikenal"):
        Classifier(extra_intent_markers={"angry": ["x"]})


def test_aduan_classify_prints_why_with_personal_data_masked(config_path: Path, capsys) -> None:
    assert main.main(["--config", str(config_path), "classify", "ktp", "sy", "blm", "jadi,",
                "NIK", "3329015708900003"]) == 0
    out = capsys.readouterr().out
    assert "Kategori    : KTP-el (ktp)" in out and "Jenis pesan : Keluhan (blm jadi)" in out
    assert "NIK 3329**********03" in out and "3329015708900003" not in out


def test_aduan_classify_jsonl_as_json(config_path: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"text": "kk admin, syarat pecah kk apa aja?"}) + "\n\n"
                    + json.dumps({"text": "hp saya 081327551122"}) + "\n", encoding="utf-8")
    assert main.main(["--config", str(config_path), "classify", "--jsonl", str(path), "--json"]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (first["categories"], first["intent"]) == (["kartu_keluarga"], "question")
    assert first["evidence"]["kartu_keluarga"] == ["pecah kk"]
    assert second["personal_data"] == [{"kind": "phone", "masked": "0813*****122"}]
    assert "081327551122" not in second["text"]


def test_aduan_classify_refuses_a_broken_jsonl_line(config_path: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n["no"]\n', encoding="utf-8")
    assert main.main(["--config", str(config_path), "classify", "--jsonl", str(path)]) != 0
    assert "baris 2: harus berupa objek JSON dengan kolom \"text\"" in capsys.readouterr().err


def test_the_rules_keep_their_floor_on_the_shipped_set() -> None:
    """The rules alone (the model trains on this set, so only the rules can be scored on it):
    the floor sits a little under what bench/classify_eval.py measured, so a change that makes
    the word lists worse fails here (the figures are in README.md)."""
    rows = load(ROOT / "inbox" / "understand" / "labelled_messages.jsonl")
    assert len(rows) >= 300
    assert {c for r in rows for c in r["categories"]} == set(CATEGORIES)
    assert {r["intent"] for r in rows} == set(INTENTS)
    report = evaluate(rows, RULES)
    assert report["categories"]["macro"]["f1"] >= CATEGORY_FLOOR
    assert report["intents"]["macro"]["f1"] >= INTENT_FLOOR


# measured 0.891 (categories) and 0.888 (intent) on 2026-11-29
CATEGORY_FLOOR = 0.87
INTENT_FLOOR = 0.87


# --- the gates: a word list is scanned only when a word of the text can begin one of its
# keywords. They must never change a result, only skip scans that would find nothing.

def _ungated(classifier: Classifier) -> Classifier:
    """The same classifier with every word list always scanned (as before the gates)."""
    classifier.gates = {name: None for name in classifier.gates}
    return classifier


def test_the_gates_never_change_the_rules_result_on_the_labelled_sets() -> None:
    rows = load(ROOT / "inbox" / "understand" / "labelled_messages.jsonl") + load(ROOT / "tests" / "data" / "blind_messages.jsonl")
    plain = _ungated(Classifier(model=None))
    assert sum(gate is not None for gate in RULES.gates.values()) == len(RULES.gates)  # all gated
    different = [r["text"] for r in rows if RULES.rules(r["text"]) != plain.rules(r["text"])]
    assert different == []


@pytest.mark.parametrize("keyword, keys", [
    ("ktp", {"ktp ", "ktpn", "ktpk", "ktpm"}),               # the word ends, or takes a clitic
    ("kartu keluarga", {"kart"}),
    ("k\\.t\\.p", {"k "}),                                     # "k" followed by a dot
    ("no\\.? ?kk", {"no ", "nokk"}),
    ("e[\\s-]?ktp", {"e ", "ektp"}),
    ("hal+o", {"hall", "halo"}),
    ("(?:mau|boleh) tanya", {"mau ", "bole"}),
    ("[0-9] ?x", {d + e for d in "0123456789" for e in (" ", "x ", "xku", "xmu", "xny")}),
    ("(?:e-?)?ktp digital", {"e ", "ektp", "ktp "}),
])
def test_start_keys_are_each_keywords_possible_first_letters(keyword: str, keys: set[str]) -> None:
    assert start_keys([keyword]) == keys


@pytest.mark.parametrize("keyword", ["-ktp", "\\w+ktp", "e?-?ktp", ".ktp", "\\d ?x", "(?i)ktp", "[^a]b"])
def test_a_keyword_that_may_begin_otherwise_leaves_its_list_always_scanned(keyword: str) -> None:
    assert start_keys([keyword]) is None
    assert start_keys(["ktp", keyword]) is None


# Config's own words (any regular expression) next to the built-in ones, and texts made of the
# pieces citizens and those words are made of.
ODD_WORDS = ["x?y+z", "[a-c]{2}d", "(?:foo|ba?r)baz", "q\\.w", "(?<=a)b", "k(?!t)", "zz\\b",
             "ab{2,}", "(?:u|)v", "m(?:n|o)*p", "ä+", "12?3"]
FRAGMENTS = ["ktp", "kk", "k.t.p", " ", "  ", "-", ".", ",", "?", "nya", "ku", "akta", "akte",
             "lahir", "min", "x", "y", "z", "a", "b", "c", "d", "foo", "bar", "baz", "q", "w",
             "u", "v", "m", "n", "o", "p", "ä", "1", "2", "3", "3329 01", "hai", "haloo", "2x",
             "ke", "kantor", "no", "blm", "jadi", "terima kasih", "\n", "٣", "e-", "(", ")"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
def test_the_gates_never_change_a_result_whatever_the_text_and_config_words(text: str) -> None:
    assert TUNED.rules(text) == TUNED_PLAIN.rules(text)
    assert RULES.rules(text) == PLAIN.rules(text)


TUNED = Classifier(extra_keywords={"ktp_el": ODD_WORDS[:6], "layanan_online": ODD_WORDS[6:]},
                   extra_intent_markers={"complaint": ODD_WORDS[::2], "greeting": ODD_WORDS[1::2]},
                   model=None)
TUNED_PLAIN = _ungated(Classifier(extra_keywords={"ktp_el": ODD_WORDS[:6], "layanan_online": ODD_WORDS[6:]},
                                  extra_intent_markers={"complaint": ODD_WORDS[::2],
                                                        "greeting": ODD_WORDS[1::2]}, model=None))
PLAIN = _ungated(Classifier(model=None))
