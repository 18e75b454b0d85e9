"""Precision, recall and F1 of the classifier, per category and per intent, with macro
averages: the rules alone, the model alone (n-grams only), one member reading the n-grams and
the rules' hits, and the hybrid as shipped (those two members averaged), side by side in one
run; and the speed against a baseline in the same run.

    .venv/bin/python bench/classify_eval.py [--errors] [--quick]

Three measurements:
1. **Decision** — 5-fold cross-validation on the shipped set (``inbox/understand/labelled_messages.jsonl``,
   the training data) only: this is what chose how rules and model combine.
2. **Held-out** — trained on the shipped set, scored on the blind set
   (``tests/data/blind_messages.jsonl``), which no model ever trains on here.
   ``tests/test_model.py`` asserts floors a little under these figures.
3. **Cross-validated** — 5 folds (fixed seed; stratified by intent, a citizen's thread kept in
   one fold) over the whole labelled set (shipped + blind); figures on the whole set and on the
   blind part alone. Each blind message is scored by a model that never saw it.
``--quick`` runs only 2. The rules alone need no training; their figures are the same in all.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from inbox.understand.classify import (CATEGORIES, INTENTS, SIGNALS, Classification, Classifier,  # noqa: E402
                                       normalise)
from inbox.understand.model import SEED, fit  # noqa: E402

SHIPPED_SET = REPO / "inbox" / "understand" / "labelled_messages.jsonl"
BLIND_SET = REPO / "tests" / "data" / "blind_messages.jsonl"
DEFAULT_SET = SHIPPED_SET
KINDS = ("rules", "model", "single", "hybrid")
KIND_NAMES = {"rules": "rules", "model": "model", "single": "1 member", "hybrid": "hybrid"}


def load(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            row["line"] = number
            rows.append(row)
    return rows


def scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def report_of(rows: list[dict[str, Any]], results: list[Classification]) -> dict[str, Any]:
    """Per-label scores and macro averages (over labels present in ``rows``) for both axes,
    and the rows got wrong."""
    counts: dict[str, Counter] = {"categories": Counter(), "intents": Counter()}
    errors = []
    for row, result in zip(rows, results):
        got, want = set(result.categories), set(row["categories"])
        for code in CATEGORIES:
            key = ("tp" if code in got and code in want else "fp" if code in got
                   else "fn" if code in want else None)
            if key:
                counts["categories"][(code, key)] += 1
        for intent in INTENTS:
            key = ("tp" if result.intent == intent == row["intent"] else
                   "fp" if result.intent == intent else "fn" if row["intent"] == intent else None)
            if key:
                counts["intents"][(intent, key)] += 1
        if got != want or result.intent != row["intent"]:
            errors.append({"line": row.get("line"), "text": row["text"], "want": sorted(want),
                           "got": sorted(got), "want_intent": row["intent"],
                           "got_intent": result.intent})
    report: dict[str, Any] = {"errors": errors}
    for axis, labels in (("categories", CATEGORIES), ("intents", INTENTS)):
        c = counts[axis]
        per = {label: scores(c[(label, "tp")], c[(label, "fp")], c[(label, "fn")]) for label in labels}
        present = [s for s in per.values() if s["support"]]
        macro = {k: sum(s[k] for s in present) / len(present) for k in ("precision", "recall", "f1")}
        report[axis] = {"labels": per, "macro": macro}
    return report


def evaluate(rows: list[dict[str, Any]], classifier: Classifier) -> dict[str, Any]:
    """The report of ``classifier`` on ``rows``."""
    return report_of(rows, classifier.classify_many([row["text"] for row in rows]))


RULES = Classifier(model=None)


def train_on(rows: list[dict[str, Any]], kind: str) -> Classifier:
    """A classifier of ``kind`` trained on ``rows`` (the rules need none)."""
    if kind == "rules":
        return RULES
    examples = [(r["text"], r["categories"], r["intent"]) for r in rows]
    norms = [normalise(r["text"]) for r in rows]
    ruled = [RULES.rules(r["text"]) for r in rows]
    model = fit(examples, [(c.categories, c.intent, c.rule_signals) for c in ruled], norms,
                CATEGORIES, INTENTS, signals=SIGNALS,
                rule_weight=0.0 if kind == "model" else 1.0, text_member=kind == "hybrid")
    return Classifier(model=model)


def cross_validate(rows: list[dict[str, Any]], groups: list[str], kind: str,
                   folds: int = 5) -> list[Classification]:
    """Each row's result from the fold model that did not train on it."""
    from sklearn.model_selection import StratifiedGroupKFold
    out: list[Classification | None] = [None] * len(rows)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_idx, test_idx in splitter.split(rows, [r["intent"] for r in rows], groups):
        classifier = train_on([rows[i] for i in train_idx], kind)
        for i, result in zip(test_idx, classifier.classify_many([rows[i]["text"] for i in test_idx])):
            out[i] = result
    return out  # type: ignore[return-value]


def print_side_by_side(title: str, reports: dict[str, dict[str, Any]], n: int) -> None:
    print(f"\n== {title} ({n} messages): F1 per label, " + " / ".join(KIND_NAMES.values()))
    for axis in ("categories", "intents"):
        print(f"{axis:<28} " + " ".join(f"{KIND_NAMES[k]:>8}" for k in KINDS) + f" {'support':>8}")
        first = next(iter(reports.values()))
        for label, s in first[axis]["labels"].items():
            if not s["support"]:
                continue
            cells = " ".join(f"{reports[k][axis]['labels'][label]['f1']:>8.3f}" for k in KINDS)
            print(f"{label:<28} {cells} {s['support']:>8}")
        cells = " ".join(f"{reports[k][axis]['macro']['f1']:>8.3f}" for k in KINDS)
        print(f"{'macro F1':<28} {cells}")


def speed(texts: list[str], classify: Callable[[str], Any], rounds: int = 5,
          classify_many: Callable[[list[str]], Any] | None = None,
          batch: int = 500) -> tuple[float, float]:
    """Messages per second: ``classify`` one text at a time (or ``classify_many`` on lists of
    ``batch`` texts), and the baseline (lower() + one regex search) in the same run."""
    texts = texts * rounds
    baseline_pattern = re.compile(r"\b(?:ktp|kk|akte|akta)\w*")
    start = time.perf_counter()
    for text in texts:
        baseline_pattern.search(text.lower())
    baseline = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    if classify_many is None:
        for text in texts:
            classify(text)
    else:
        for i in range(0, len(texts), batch):
            classify_many(texts[i:i + batch])
    return len(texts) / (time.perf_counter() - start), baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="list the hybrid's held-out mistakes")
    parser.add_argument("--quick", action="store_true", help="only the held-out measurement")
    args = parser.parse_args()
    shipped, blind = load(SHIPPED_SET), load(BLIND_SET)
    held: dict[str, dict[str, Any]] = {}
    classifiers = {}
    for kind in KINDS:
        started = time.perf_counter()
        classifiers[kind] = train_on(shipped, kind)
        if kind != "rules":
            print(f"training ({kind}) on {len(shipped)} messages: {time.perf_counter() - started:.1f} s")
        held[kind] = evaluate(blind, classifiers[kind])
    if not args.quick:
        groups = [f"s{i}" for i in range(len(shipped))]
        decision = {k: report_of(shipped, cross_validate(shipped, groups, k)) for k in KINDS}
        print_side_by_side("1. decision: 5-fold CV on the shipped set (training data)", decision,
                           len(shipped))
    print_side_by_side("2. held-out: trained on the shipped set, scored on the blind set", held,
                       len(blind))
    if not args.quick:
        rows = shipped + blind
        groups = [f"s{i}" for i in range(len(shipped))] + [
            f"b:{r.get('thread') or i}" for i, r in enumerate(blind)]
        results = {k: cross_validate(rows, groups, k) for k in KINDS}
        whole = {k: report_of(rows, results[k]) for k in KINDS}
        part = {k: report_of(blind, results[k][len(shipped):]) for k in KINDS}
        print_side_by_side("3a. 5-fold CV on shipped + blind: the whole set", whole, len(rows))
        print_side_by_side("3b. the same folds: the blind part alone", part, len(blind))
    texts = [r["text"] for r in shipped + blind]
    try:
        load_average = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        load_average = "load average unknown"
    print(f"\nspeed, one process ({load_average}):")
    for kind, many in (("rules", False), ("hybrid", False), ("hybrid", True)):
        c = classifiers[kind]
        rate, baseline = speed(texts, c.classify, classify_many=c.classify_many if many else None)
        how = "classify_many, lists of 500" if many else "classify, one at a time"
        print(f"  {kind:<7} {how:<28} {rate:>8,.0f} messages/s; baseline (lower + one regex) "
              f"{baseline:,.0f}/s")
    if args.errors:
        for e in held["hybrid"]["errors"]:
            print(f"\nline {e['line']}: {e['text']}\n  want {e['want']} {e['want_intent']}"
                  f"\n  got  {e['got']} {e['got_intent']}")


if __name__ == "__main__":
    main()
