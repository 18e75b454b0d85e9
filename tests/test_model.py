"""The trained half of the classifier: scoring by hand equals scikit-learn, training is
deterministic, the model file round-trips and is trained when missing, the hybrid's held-out
floor on the blind set, and the office's corrections becoming training data."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import main
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.understand import training
from inbox.understand.classify import CATEGORIES, INTENTS, Classifier, normalise
from inbox.understand.model import MODEL_FILE, TrainedModel, char_wb_ngrams, data_hash, model_text, word_ngrams
from inbox.understand.training import (SHIPPED_SET, held_back_split, load_or_train, office_examples,
                                       parse_weekly, read_examples, retrain, shipped_classifier,
                                       shipped_model, train)
from tests.workflow_helpers import make_users, open_case

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.classify_eval import evaluate, load  # noqa: E402

BLIND_SET = ROOT / "tests" / "data" / "blind_messages.jsonl"
TEXTS = [model_text(normalise(t)) for t, _, _ in read_examples(SHIPPED_SET)[:120]] + [
    "a", "ab", "abc de", "  spasi   ganda  ", "ktp", "", "nik nomorpanjang 0000"]


def test_the_hand_written_analyzers_give_scikit_learns_ngrams() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False).build_analyzer()
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=False).build_analyzer()
    for text in TEXTS:
        assert char_wb_ngrams(text) == char(text), text
        assert word_ngrams(text) == word(text), text


def test_the_hand_written_tfidf_vector_equals_scikit_learns() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    model = shipped_model()
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True,
                           vocabulary=model.char_vocab)
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=False, sublinear_tf=True,
                           vocabulary=model.word_vocab)
    n_char = len(model.char_vocab)
    char.fit(TEXTS), word.fit(TEXTS)
    char.idf_, word.idf_ = model.idf[:n_char], model.idf[n_char:]
    for text in TEXTS[:60]:
        want = np.concatenate([char.transform([text]).toarray()[0], word.transform([text]).toarray()[0]])
        got = np.zeros(model.n_text)
        columns, values = model._text_vector(text)
        got[columns] = values
        assert np.allclose(got, want), text


def test_training_is_deterministic_and_names_its_data() -> None:
    examples = read_examples(SHIPPED_SET)
    first = shipped_model()
    training._trained.clear()  # train again for real, not from the in-process store
    again = train(examples)
    assert again.weights is not first.weights
    assert first.meta["data_hash"] == data_hash(list(reversed(examples))) == again.meta["data_hash"]
    assert first.meta["examples"] == len(examples) and data_hash(examples[1:]) != first.meta["data_hash"]
    assert np.array_equal(first.weights, again.weights) and np.array_equal(first.bias, again.bias)
    assert first.char_vocab == again.char_vocab and first.word_vocab == again.word_vocab


def test_the_model_file_round_trips(tmp_path: Path) -> None:
    model = shipped_model()
    path = tmp_path / MODEL_FILE
    model.save(path)
    loaded = TrainedModel.load(path)
    assert loaded.meta == model.meta and loaded.categories == list(CATEGORIES)
    norm = normalise("ktp sy udh 2 bulan blm jadi, nik 3329 0157 0890 0001")
    for a, b in zip(model.probabilities(norm, ("ktp_el",), "complaint"),
                    loaded.probabilities(norm, ("ktp_el",), "complaint")):
        assert np.allclose(a, b, atol=1e-6)


def test_a_missing_or_broken_model_file_is_trained_and_saved_rather_than_failing(tmp_path: Path) -> None:
    path = tmp_path / MODEL_FILE
    assert not path.exists()
    model = load_or_train(tmp_path)
    assert path.exists() and model.meta["source"] == "shipped"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a classifier model"):
        TrainedModel.load(path)
    assert load_or_train(tmp_path).meta["data_hash"] == model.meta["data_hash"]
    assert TrainedModel.load(path).meta["data_hash"] == model.meta["data_hash"]


def test_the_hybrid_gives_probabilities_and_flags_the_uncertain() -> None:
    # Issue 30's labelling: a document that is merely slow is its own category; being sent back
    # and forth is the queue (antrean_pelayanan), so the text names both.
    result = shipped_classifier().classify("ktp saya sudah 3 bulan belum jadi, disuruh bolak "
                                           "balik terus")
    assert result.categories == ("ktp_el", "antrean_pelayanan") and result.intent == "complaint"
    assert set(result.confidence) == {"ktp_el", "antrean_pelayanan", "intent"}
    assert all(0.5 <= p <= 1 for p in result.confidence.values())
    assert shipped_classifier().classify("ktp saya sudah 3 bulan belum jadi").categories == (
        "ktp_el",)
    thanks = shipped_classifier().classify("terima kasih banyak min 🙏")
    assert thanks.intent == "thanks" and thanks.dismissable
    assert not shipped_classifier().classify("ktp saya hilang").dismissable
    # rules alone: no probabilities, nothing uncertain, and a rules-only thanks may be dismissed
    rules = Classifier(model=None).classify("terima kasih banyak min")
    assert rules.confidence == {} and rules.uncertain == () and rules.dismissable


def test_aduan_classify_explains_with_the_models_words_and_confidence(config_path: Path, capsys) -> None:
    # The rules find no perubahan_data word here ("salah" alone is not one); the model adds the
    # category and names the n-grams that decided it.
    text = "tanggal lahir di ktp ibu saya salah, nik 3329 0157 0890 0001"
    assert "perubahan_data" not in Classifier(model=None).classify(text).categories
    assert main.main(["--config", str(config_path), "classify", "--json", text]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["categories"] == ["ktp_el", "perubahan_data"]
    assert data["evidence"]["ktp_el"] == ["ktp"]
    assert data["evidence"]["perubahan_data"][0].startswith("model: ")
    assert 0.5 <= data["confidence"]["perubahan_data"] <= 1 and "intent" in data["confidence"]
    assert "3329 0157 0890 0001" not in json.dumps(data)
    assert (config_path.parent / "data" / MODEL_FILE).exists()  # trained at first use, saved
    assert main.main(["--config", str(config_path), "classify", text]) == 0
    out = capsys.readouterr().out
    assert "Perubahan data (model: " in out and "%" in out


def test_the_hybrid_keeps_its_held_out_floor_on_the_blind_set() -> None:
    """Trained on the shipped set only, scored on the blind set it never saw (the figures are
    in README.md and bench/RESULTS.md; the floors sit a little under them)."""
    blind = load(BLIND_SET)
    assert len(blind) >= 400
    shipped_texts = {t for t, _, _ in read_examples(SHIPPED_SET)}
    assert not shipped_texts & {r["text"] for r in blind}
    report = evaluate(blind, Classifier(model=shipped_model()))
    assert report["categories"]["macro"]["f1"] >= BLIND_CATEGORY_FLOOR
    assert report["intents"]["macro"]["f1"] >= BLIND_INTENT_FLOOR


# held-out on the blind set, measured 2026-12-02 (two members averaged): categories 0.908,
# intent 0.943
BLIND_CATEGORY_FLOOR = 0.90
BLIND_INTENT_FLOOR = 0.935


def test_the_hybrid_keeps_the_issues_floors_on_the_blind_part_cross_validated() -> None:
    """Issue 17's measure: 5-fold CV (seed 17, a thread kept in one fold) over the shipped and
    blind sets, scored on the blind part; each fold's model never saw its test fold. The
    floors are the issue's targets (README, Classification)."""
    from bench.classify_eval import SHIPPED_SET as SHIPPED, cross_validate, report_of
    shipped, blind = load(SHIPPED), load(BLIND_SET)
    groups = [f"s{i}" for i in range(len(shipped))] + [
        f"b:{r.get('thread') or i}" for i, r in enumerate(blind)]
    results = cross_validate(shipped + blind, groups, "hybrid")
    report = report_of(blind, results[len(shipped):])
    assert report["categories"]["macro"]["f1"] >= CV_CATEGORY_FLOOR
    assert report["intents"]["macro"]["f1"] >= CV_INTENT_FLOOR


# 5-fold CV, blind part, measured 2026-12-02 (two members averaged): categories 0.901, intent
# 0.948; the issue's targets are 0.90 and 0.93
CV_CATEGORY_FLOOR = 0.90
CV_INTENT_FLOOR = 0.93


def test_the_held_back_split_is_stratified_and_fixed() -> None:
    items = [(i, (f"t{i}", [], "question" if i % 4 else "thanks")) for i in range(40)]
    kept, held = held_back_split(items)
    assert held_back_split(list(reversed(items))) == (kept, held)
    assert len(held) == 8 and sum(ex[2] == "thanks" for _, ex in held) == 2
    assert not {i for i, _ in kept} & {i for i, _ in held}


def test_a_category_corrected_on_the_case_page_is_in_the_next_training(rt: Runtime, capsys) -> None:
    users = make_users()
    text = "min mau urus pengakuan anak, berkasnya apa"
    case = open_case(rt, 1, text=text)
    workflow.set_categories(rt, case, users["admin"], ["akta_lainnya", "kartu_keluarga"],
                            intent="question")
    assert office_examples() == [(case.id, (text, ["akta_lainnya", "kartu_keluarga"], "question"))]
    report = retrain(rt.data_dir, force=True)
    assert report.replaced and report.office == 1
    saved = TrainedModel.load(rt.data_dir / MODEL_FILE)
    assert saved.meta["office_cases"] == [case.id] and saved.meta["examples"] == 535
    assert saved.meta["data_hash"] != shipped_model().meta["data_hash"]


def test_a_model_file_of_an_older_format_is_retrained_with_the_office_corrections_it_had(
        rt: Runtime) -> None:
    """An upgrade that changes the model's format must not drop what the office taught it."""
    users = make_users()
    text = "min mau urus pengakuan anak, berkasnya apa"
    case = open_case(rt, 1, text=text)
    workflow.set_categories(rt, case, users["admin"], ["akta_lainnya"], intent="question")
    assert retrain(rt.data_dir, force=True).replaced
    path = rt.data_dir / MODEL_FILE
    _make_older(path)
    with pytest.raises(ValueError, match="model format"):
        TrainedModel.load(path)
    model = load_or_train(rt.data_dir)
    assert model.meta["source"] == "shipped+office" and model.meta["office_cases"] == [case.id]
    assert model.meta["examples"] == len(read_examples(SHIPPED_SET)) + 1
    assert TrainedModel.load(path).meta["office_cases"] == [case.id]   # saved in the new format
    # `aduan classify train` on an older file: it knows which corrections that file had seen
    _make_older(path)
    report = retrain(rt.data_dir)
    assert report.office == 1 and report.held_back == 0


def _make_older(path: Path) -> None:
    """Rewrite a model file as the previous format's version would have named it."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(str(arrays["header"]))
    header["format"] -= 1
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def test_aduan_classify_train_keeps_the_model_when_the_new_one_is_worse(rt: Runtime, config_path: Path,
                                                                        capsys) -> None:
    users = make_users()
    # Forty wrong corrections teach the model that KTP messages are greetings about legalisir...
    ktp = [text for text, cats, _ in read_examples(SHIPPED_SET) if "ktp_el" in cats][:40]
    for n, text in enumerate(ktp):
        case = open_case(rt, n, text=text)
        workflow.set_categories(rt, case, users["admin"], ["legalisir"], intent="greeting")
    code = main.main(["--config", str(config_path), "classify", "train"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "Contoh dari kantor: 40 (disisihkan untuk uji: 8)" in out
    assert "Bagian set bawaan yang disisihkan (106 pesan)" in out
    assert "rata-rata kategori (macro F1)" in out and "intent:thanks" in out
    # ...the held-back part of the shipped set shows it, and the gate keeps the current model
    assert "Model tidak diganti: lebih buruk pada shipped" in out
    assert not (rt.data_dir / MODEL_FILE).exists() or \
        TrainedModel.load(rt.data_dir / MODEL_FILE).meta["source"] == "shipped"
    assert main.main(["--config", str(config_path), "classify", "train", "--force"]) == 0
    assert "Model diganti: dipaksa (--force)." in capsys.readouterr().out
    assert TrainedModel.load(rt.data_dir / MODEL_FILE).meta["office_cases"] == list(range(1, 41))


def test_force_without_train_is_refused(config_path: Path, capsys) -> None:
    assert main.main(["--config", str(config_path), "classify", "halo", "--force"]) == 2
    assert "--force hanya dipakai" in capsys.readouterr().err


@pytest.mark.parametrize("text, parsed", [
    ("monday 02:00", ("monday", "02:00")), ("Senin 2:30", ("monday", "02:30")),
    ("minggu 23:59", ("sunday", "23:59")), ("monday", None), ("someday 02:00", None),
    ("monday 24:00", None), ("monday 02:7", None), ("", None)])
def test_the_weekly_retrain_time_is_read_in_english_or_indonesian(text: str, parsed: object) -> None:
    assert parse_weekly(text) == parsed


def test_the_daemon_retrains_weekly_only_when_configured(rt: Runtime) -> None:
    from inbox.run.daemon import Daemon
    daemon = Daemon(rt)
    daemon.schedule_jobs()
    assert rt.config.schedule["retrain"] == ""
    assert not [j for j in daemon.scheduler.jobs if j.start_day]
    rt.config.schedule["retrain"] = "senin 02:00"
    weekly = Daemon(rt)
    weekly.schedule_jobs()
    [job] = [j for j in weekly.scheduler.jobs if j.start_day]
    assert (job.start_day, str(job.at_time), job.unit) == ("monday", "02:00:00", "weeks")
    assert "retrain_now" in repr(job.job_func)


def test_the_daemon_reads_the_model_and_the_holidays_before_its_first_poll(rt: Runtime) -> None:
    """Read inside the first poll's transaction, they would hold the write lock meanwhile."""
    from inbox import sla
    from inbox.models import utcnow
    from inbox.run.daemon import Daemon
    sla._holidays.cache_clear()
    classifier = rt.ingest_options.classifier
    assert callable(classifier._model)               # not read yet: the loader it was handed
    Daemon(rt).warm_up()
    assert isinstance(classifier._model, TrainedModel)
    assert (rt.data_dir / MODEL_FILE).exists()
    hits = sla._holidays.cache_info().hits
    sla._holidays(utcnow().astimezone(sla.WIB).year, rt.calendar.categories)
    assert sla._holidays.cache_info().hits == hits + 1   # this year's holidays were loaded


def test_a_bad_retrain_time_is_named_by_check_config(tmp_path: Path, capsys) -> None:
    from tests.conftest import write_config
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[sla]", '[schedule]\nretrain = "tiap minggu"\n\n[sla]'), encoding="utf-8")
    assert main.main(["--config", str(path), "check-config"]) == 1
    assert "schedule.retrain: tulis hari dan jam" in capsys.readouterr().out


def test_the_admin_page_shows_the_models_date_and_figures(rt: Runtime) -> None:
    from inbox.web.app import create_app
    from tests.web_helpers import login, make_users as web_users, page_text
    users = web_users()
    client = create_app(rt, testing=True).test_client()
    login(client, users["superuser"].username)
    # nothing classified yet: no model read or saved (a Runtime alone never touches it)
    assert "Model belum tersimpan" in page_text(client.get("/kelola/model"))
    case = open_case(rt, 1, text="min mau urus pengakuan anak, berkasnya apa")
    first = page_text(client.get("/kelola/model"))  # the first classification saved it
    assert "<td>set bawaan</td>" in first and "<td>534</td>" in first
    workflow.set_categories(rt, case, users["admin"], ["akta_lainnya"], intent="question")
    assert retrain(rt.data_dir, force=True).replaced
    page = page_text(client.get("/kelola/model"))
    assert "set bawaan + koreksi kantor" in page and "535 (dari kantor: 1)" in page
    assert "WIB" in page and "Nilai pada bagian yang disisihkan" in page
    other = create_app(rt, testing=True).test_client()
    login(other, users["admin"].username)
    assert other.get("/kelola/model").status_code == 403


def test_classify_many_gives_each_text_what_classify_gives_it_alone() -> None:
    """The batch API ingest uses: same results, same order, whatever else is in the batch
    (a few hundred texts of both sets, odd ones included, in two different batchings)."""
    classifier = Classifier(model=shipped_model())
    texts = ([r["text"] for r in load(BLIND_SET)][:300] + [t for t, _, _ in read_examples(SHIPPED_SET)][:100]
             + ["", "   ", "🙏", "p", "NIK 3329 0157 0890 0001 ktp blm jadi", "x" * 3000])
    alone = [classifier.classify(t) for t in texts]
    assert classifier.classify_many(texts) == alone
    assert classifier.classify_many(list(reversed(texts))) == list(reversed(alone))
    assert sum(classifier.classify_many(texts[i:i + 7]) == alone[i:i + 7]
               for i in range(0, len(texts), 7)) == len(range(0, len(texts), 7))
    assert classifier.classify_many([]) == []
    assert Classifier(model=None).classify_many(texts[:50]) == [Classifier(model=None).classify(t)
                                                                  for t in texts[:50]]
