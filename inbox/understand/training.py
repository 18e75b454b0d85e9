"""Training the classifier's model: from the shipped labelled set, plus the office's own
corrections (every change of categories or intent on the case page), with a gate that keeps
the current model unless the new one is not worse.

The model file lives in the data folder (``classifier-model.npz``). When it is missing at start
it is trained from the shipped set (a couple of seconds) and saved, rather than failing.
"""
from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence, TextIO

from inbox.understand.classify import CATEGORIES, INTENTS, SIGNALS, Classifier, normalise
from inbox.understand.model import MODEL_FILE, SEED, TrainedModel, data_hash, fit, read_meta

log = logging.getLogger(__name__)

SHIPPED_SET = Path(__file__).with_name("labelled_messages.jsonl")
HELD_BACK = 0.2        # share of the office's new examples kept out of training to compare
TOLERANCE = 0.005      # "not worse": no macro-F1 lower than the current model's by more

Example = tuple[str, list[str], str]


def read_examples(path: Path) -> list[Example]:
    """(text, categories, intent) of every line of a labelled JSONL file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append((row["text"], list(row["categories"]), row["intent"]))
    return rows


def office_examples() -> list[tuple[int, Example]]:
    """(case id, example) for every case whose categories or intent a person changed: the first
    citizen message of the case labelled with the case's corrected categories and intent."""
    from inbox.models import Case, Event, Message
    changed = {e.case_id for e in Event.select(Event.case).where(Event.action == "categories_changed")}
    out = []
    for chunk in _chunks(sorted(changed), 500):
        cases = {c.id: c for c in Case.select().where(Case.id.in_(chunk))}
        first: dict[int, str] = {}
        for m in (Message.select(Message.case, Message.text)
                  .where(Message.case.in_(chunk) & (Message.direction == "in"))
                  .order_by(Message.created_at, Message.id)):
            first.setdefault(m.case_id, m.text)
        for case_id in chunk:
            case, text = cases.get(case_id), first.get(case_id)
            if case is not None and text and case.effective_intent:
                out.append((case_id, (text, sorted(case.effective_categories), case.effective_intent)))
    return out


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


_trained: dict[str, TrainedModel] = {}   # data hash -> arrays, the last few trainings
KEEP_TRAINED = 4


def train(examples: Sequence[Example], meta: dict[str, Any] | None = None) -> TrainedModel:
    """A model trained on ``examples``, reading the built-in rules' hits as features.

    Training is deterministic, so the arrays of the last few data sets are kept in the process
    and reused (a retrain compares two recipes, and a weekly retrain often sees the same
    data); the metadata is always the caller's."""
    key = data_hash(examples)
    done = _trained.get(key)
    if done is None:
        rules = Classifier(model=None)
        norms = [normalise(text) for text, _, _ in examples]
        ruled = [rules._rules(n, text) for n, (text, _, _) in zip(norms, examples)]
        done = fit(examples, [(r.categories, r.intent, r.rule_signals) for r in ruled], norms,
                   CATEGORIES, INTENTS, signals=SIGNALS)
        while len(_trained) >= KEEP_TRAINED:
            _trained.pop(next(iter(_trained)))
        _trained[key] = done
    return replace(done, meta={**done.meta, "trained_at": done.meta["trained_at"], **(meta or {})})


_shipped: TrainedModel | None = None


def shipped_model() -> TrainedModel:
    """The model trained from the shipped set, once per process."""
    global _shipped
    if _shipped is None:
        _shipped = train(read_examples(SHIPPED_SET), meta={"source": "shipped"})
    return _shipped


def load_or_train(data_dir: Path) -> TrainedModel:
    """The model in ``data_dir``; trained from the shipped set and saved there when the file is
    missing or unusable (logged), so a fresh install or a damaged file never stops the inbox."""
    path = Path(data_dir) / MODEL_FILE
    model = None
    if path.exists():
        try:
            return TrainedModel.load(path)
        except ValueError as exc:
            log.warning("model pengklasifikasi tidak bisa dipakai, dilatih ulang: %s", exc)
        model = _with_office_cases(read_meta(path))
    model = model or shipped_model()
    try:
        model.save(path)
    except OSError as exc:  # a read-only data folder: keep the model in memory
        log.warning("model pengklasifikasi tidak bisa disimpan di %s: %s", path, exc)
    return model


def model_usable(data_dir: Path) -> bool:
    """Whether the data folder holds a model file this version can use (a read, no training)."""
    path = Path(data_dir) / MODEL_FILE
    if not path.exists():
        return False
    try:
        TrainedModel.load(path)
    except ValueError:
        return False
    return True


def ensure_model(data_dir: Path) -> float | None:
    """Train and save the model when the data folder has none it can use (``aduan init``, and
    ``aduan run`` before its first poll, in a process of its own: issue 28 item 3); return the
    seconds it took, None when the model was ready."""
    if model_usable(data_dir):
        return None
    started = time.monotonic()
    load_or_train(data_dir)
    return time.monotonic() - started


def office_classifier(config: Any) -> Classifier:
    """The office's classifier: config's extra words and the model in the data folder (trained
    from the shipped set and saved there when it is missing), read on first use, so a command
    that never classifies (``aduan status``, the web) never reads one."""
    return Classifier(extra_keywords=config.classify["extra_keywords"] or None,
                      extra_intent_markers=config.classify["extra_intent_markers"] or None,
                      model=functools.partial(load_or_train, Path(config.data_dir)))


def shipped_classifier(extra_keywords: dict[str, list[str]] | None = None,
                       extra_intent_markers: dict[str, list[str]] | None = None) -> Classifier:
    """The built-in word lists (plus ``extra_*``) with the model trained from the shipped set,
    once per process, on first use."""
    return Classifier(extra_keywords, extra_intent_markers, model=shipped_model)


def _with_office_cases(old: dict[str, Any] | None) -> TrainedModel | None:
    """After an upgrade changed the model's format: the old file's recipe again, the shipped
    set plus the office's corrections it had learnt (read from the database), so the office's
    learning survives the upgrade; ``None`` when it had none or they cannot be read."""
    cases = set((old or {}).get("office_cases") or [])
    if not cases:
        return None
    try:
        office = [item for item in office_examples() if item[0] in cases]
    except Exception as exc:  # noqa: BLE001 - no database here: the shipped set alone, said so
        log.warning("the office's corrections could not be read (%s); the model is trained from "
                    "the shipped set alone until `aduan classify train`", exc)
        return None
    log.info("model format upgraded: retrained with %d of the office's corrections", len(office))
    return train(read_examples(SHIPPED_SET) + [ex for _, ex in office], meta={
        "source": "shipped+office", "office_cases": sorted(case_id for case_id, _ in office)})


# --- evaluation and the retraining gate --------------------------------------------------------

def scores(model: TrainedModel | None, examples: Sequence[Example]) -> dict[str, Any]:
    """F1 per category (present in ``examples``) and per intent, with both macro averages."""
    classifier = Classifier(model=model)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    results = classifier.classify_many([text for text, _, _ in examples])
    for (_, want_cats, want_intent), got in zip(examples, results):
        for code in CATEGORIES:
            if code in got.categories or code in want_cats:
                tally[code][0 if code in got.categories and code in want_cats
                            else 1 if code in got.categories else 2] += 1
        for intent in INTENTS:
            if intent in (got.intent, want_intent):
                tally["intent:" + intent][0 if got.intent == want_intent == intent
                                          else 1 if got.intent == intent else 2] += 1
    f1 = {}
    for label, (tp, fp, fn) in tally.items():
        if tp + fn:
            f1[label] = 2 * tp / (2 * tp + fp + fn)
    cats = [v for k, v in f1.items() if not k.startswith("intent:")]
    ints = [v for k, v in f1.items() if k.startswith("intent:")]
    return {"f1": f1, "categories": sum(cats) / len(cats) if cats else 0.0,
            "intent": sum(ints) / len(ints) if ints else 0.0, "examples": len(examples)}


def held_back_split(items: Sequence[tuple[int, Example]], share: float = HELD_BACK,
                    seed: int = SEED) -> tuple[list[tuple[int, Example]], list[tuple[int, Example]]]:
    """(training, held back): ``share`` of each intent held back, the same for the same items."""
    by_intent: dict[str, list[tuple[int, Example]]] = defaultdict(list)
    for item in sorted(items, key=lambda it: it[0]):
        by_intent[item[1][2]].append(item)
    rng = random.Random(seed)
    kept, held = [], []
    for intent in sorted(by_intent):
        group = by_intent[intent]
        rng.shuffle(group)
        n = int(round(len(group) * share))
        held.extend(group[:n])
        kept.extend(group[n:])
    return kept, held


@dataclass
class RetrainReport:
    replaced: bool
    reason: str
    candidate: dict[str, dict[str, Any]] = field(default_factory=dict)
    current: dict[str, dict[str, Any]] = field(default_factory=dict)
    office: int = 0
    held_back: int = 0


def retrain(data_dir: Path, force: bool = False) -> RetrainReport:
    """Train on the shipped set plus the office's examples and replace the model in
    ``data_dir`` only when the new one is not worse (or ``force``).

    The comparison is between recipes on the same held-back part, which neither trained on:
    a share of the shipped set and of the corrections the current model has not seen (each
    stratified by intent, fixed seed). "Current" is retrained without that part from what the
    current model was trained on; "new" adds the office's other examples. Scoring the saved
    current model instead would favour it: it has seen the shipped set."""
    from datetime import datetime, timezone
    path = Path(data_dir) / MODEL_FILE
    shipped = read_examples(SHIPPED_SET)
    office = office_examples()
    current = read_meta(path) or {}   # an older format's file still names what it saw
    seen = set(current.get("office_cases") or [])
    old = [item for item in office if item[0] in seen]
    shipped_kept, shipped_held = held_back_split(list(enumerate(shipped)))
    new_kept, new_held = held_back_split([item for item in office if item[0] not in seen])
    base = [ex for _, ex in shipped_kept] + [ex for _, ex in old]
    sets = {"shipped": [ex for _, ex in shipped_held]}
    if new_held:
        sets["held_back"] = [ex for _, ex in new_held]
    report = RetrainReport(False, "", office=len(office), held_back=len(new_held))
    baseline = train(base)
    candidate = train(base + [ex for _, ex in new_kept])
    for name, examples in sets.items():
        report.candidate[name] = scores(candidate, examples)
        report.current[name] = scores(baseline, examples)
    worse = [f"{name} {axis}" for name in sets for axis in ("categories", "intent")
             if report.candidate[name][axis] < report.current[name][axis] - TOLERANCE]
    if worse and not force:
        report.reason = "lebih buruk pada " + ", ".join(worse)
        return report
    final = train(shipped + [ex for _, ex in office], meta={
        "source": "shipped+office", "office_cases": sorted(case_id for case_id, _ in office),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scores": {name: {"categories": round(s["categories"], 3), "intent": round(s["intent"], 3),
                          "examples": s["examples"]} for name, s in report.candidate.items()}})
    final.save(path)
    report.replaced = True
    report.reason = "dipaksa (--force)" if worse else "tidak lebih buruk"
    return report


def print_report(report: RetrainReport, out: TextIO) -> None:
    """The per-category figures of the new model against the current one, in Indonesian."""
    out.write(f"Contoh dari kantor: {report.office} (disisihkan untuk uji: {report.held_back})\n")
    for name, title in (("held_back", "Koreksi kantor yang disisihkan"),
                        ("shipped", "Bagian set bawaan yang disisihkan")):
        if name not in report.candidate:
            continue
        cand, cur = report.candidate[name], report.current[name]
        out.write(f"\n{title} ({cand['examples']} pesan){'':<6} sekarang    baru\n")
        for label in sorted(set(cand["f1"]) | set(cur["f1"])):
            out.write(f"  {label:<32} {cur['f1'].get(label, 0):>7.3f} {cand['f1'].get(label, 0):>7.3f}\n")
        out.write(f"  {'rata-rata kategori (macro F1)':<32} {cur['categories']:>7.3f} {cand['categories']:>7.3f}\n"
                  f"  {'rata-rata jenis pesan (macro F1)':<32} {cur['intent']:>7.3f} {cand['intent']:>7.3f}\n")
    verdict = "Model diganti" if report.replaced else "Model tidak diganti"
    out.write(f"\n{verdict}: {report.reason}.\n")


# --- the daemon's weekly retrain --------------------------------------------------------------

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekly(text: str) -> tuple[str, str] | None:
    """("monday", "02:00") from "monday 02:00" (or "senin 02:00"), else None."""
    indonesian = dict(zip(("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"), DAYS))
    parts = text.strip().lower().split()
    if len(parts) != 2:
        return None
    day = indonesian.get(parts[0], parts[0])
    hh, _, mm = parts[1].partition(":")
    if day not in DAYS or not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60
                               and len(mm) == 2):
        return None
    return day, f"{int(hh):02d}:{mm}"


def schedule_retrain(rt: Any, scheduler: Any, guard: Any) -> None:
    """Add the weekly retrain to the daemon when ``schedule.retrain`` is set; a replaced model is
    used by ingest from the next poll."""
    when = parse_weekly(rt.config.schedule.get("retrain") or "")
    if when is None:
        return

    def retrain_now() -> bool:
        report = retrain(rt.data_dir)
        log.info("pelatihan ulang mingguan: model %s (%s)", "diganti" if report.replaced else "tetap",
                 report.reason)
        if report.replaced and rt.ingest_options.classifier is not None:
            rt.ingest_options.classifier.model = TrainedModel.load(Path(rt.data_dir) / MODEL_FILE)
        return report.replaced

    retrain_now.__name__ = "retrain_now"
    getattr(scheduler.every(), when[0]).at(when[1], str(rt.config.tz)).do(guard(retrain_now))
