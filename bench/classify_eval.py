"""Precision, recall and F1 of the classifier on the labelled set, per category and per
intent, with macro averages; and its speed against a baseline in the same run (lower-casing
and one compiled regex over the same texts).

    .venv/bin/python bench/classify_eval.py [--errors] [FILE]

``tests/test_classify.py`` asserts a floor a little under the macro-F1 printed here.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from inbox.classify import CATEGORIES, INTENTS, Classifier  # noqa: E402

DEFAULT_SET = REPO / "tests" / "data" / "labelled_messages.jsonl"


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


def evaluate(rows: list[dict[str, Any]], classifier: Classifier) -> dict[str, Any]:
    """Per-label scores and macro averages (over labels present in the set) for both axes,
    and the rows the classifier got wrong."""
    counts = {"categories": Counter(), "intents": Counter()}
    errors = []
    for row in rows:
        result = classifier.classify(row["text"])
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
            errors.append({"line": row["line"], "text": row["text"], "want": sorted(want),
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


def speed(rows: list[dict[str, Any]], classifier: Classifier, rounds: int = 20) -> tuple[float, float]:
    """Messages per second: the classifier, and the baseline (lower() + one regex search)."""
    texts = [row["text"] for row in rows] * rounds
    baseline_pattern = re.compile(r"\b(?:ktp|kk|akte|akta)\w*")
    start = time.perf_counter()
    for text in texts:
        baseline_pattern.search(text.lower())
    baseline = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for text in texts:
        classifier.classify(text)
    return len(texts) / (time.perf_counter() - start), baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--errors", action="store_true", help="list the misclassified messages")
    args = parser.parse_args()
    rows = load(args.file)
    classifier = Classifier()
    report = evaluate(rows, classifier)
    print(f"labelled set: {args.file.relative_to(REPO) if args.file.is_relative_to(REPO) else args.file}"
          f" ({len(rows)} messages)")
    for axis in ("categories", "intents"):
        print(f"\n{axis:<28} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
        for label, s in report[axis]["labels"].items():
            print(f"{label:<28} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} {s['support']:>8}")
        m = report[axis]["macro"]
        print(f"{'macro average':<28} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}")
    exact = sum(1 for _ in rows) - len(report["errors"])
    print(f"\nmessages with categories and intent both right: {exact}/{len(rows)}")
    rate, baseline = speed(rows, classifier)
    print(f"speed: {rate:,.0f} messages/s; baseline (lower + one regex) {baseline:,.0f}/s; "
          f"ratio {baseline / rate:.1f}x slower than the baseline")
    if args.errors:
        for e in report["errors"]:
            print(f"\nline {e['line']}: {e['text']}\n  want {e['want']} {e['want_intent']}"
                  f"\n  got  {e['got']} {e['got_intent']}")


if __name__ == "__main__":
    main()
