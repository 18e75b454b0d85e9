"""Suggested answers: how often the right answer is among ``aduan suggest``'s top three (and
first) for a new, differently-worded question, beside a plain TF-IDF over the past questions
and answers measured in the same run; and how long a suggestion takes at a year of answers.

    .venv/bin/python bench/suggest_eval.py                    # the held-back set
    .venv/bin/python bench/suggest_eval.py --dev              # the tuning set (weights)
    .venv/bin/python bench/suggest_eval.py --fresh            # the second held-back set
    .venv/bin/python bench/suggest_eval.py --speed 150000     # a year of answers, timed

The sets are tests/data/suggest_pairs.jsonl (held back), tests/data/suggest_dev.jsonl
(tuning) and tests/data/suggest_fresh.jsonl (held back, written after the method was frozen),
described in tests/data/SUGGEST_PAIRS.md. Each past question is ingested as a real
citizen message and answered through the workflow and the outbox, so the index is built the
way the product builds it; each new question is then asked.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, header, write_bench_config  # noqa: E402

PAIRS = REPO / "tests" / "data" / "suggest_pairs.jsonl"
DEV = REPO / "tests" / "data" / "suggest_dev.jsonl"
FRESH = REPO / "tests" / "data" / "suggest_fresh.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def build_corpus(rt: Any, pairs: list[dict[str, Any]]) -> dict[str, int]:
    """Each pair's past question as a citizen's DM, answered with its office answer through
    ``workflow.reply`` and the outbox; returns topic -> the answer's case id."""
    from connectors.base import InboundMessage
    from inbox.arrive.ingest import ingest
    from inbox.models import Account, Case, User, utcnow
    from inbox.sop import workflow
    from inbox.sop.outbox import deliver_one

    admin = User.get_or_none(User.username == "eval-admin") or User.create(
        username="eval-admin", password_hash="x", role="admin", full_name="Admin Evaluasi")
    account = Account.get(Account.name == "sandbox")
    start = utcnow() - timedelta(days=len(pairs) + 5)
    names = ["Siti Aminah", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Rina Wati",
             "Slamet Riyadi", "Nur Hidayah", "Eko Prasetyo"]
    ingest(account, [InboundMessage(
        external_id=f"eval-{p['topic']}", thread_id=f"eval-thread-{p['topic']}", kind="dm",
        public=False, author_id=f"eval-user-{i}", author_handle=f"warga{i}",
        author_name=names[i % len(names)], text=p["past_question"],
        created_at=start + timedelta(days=i)) for i, p in enumerate(pairs)], None,
        rt.ingest_options)
    cases: dict[str, int] = {}
    for p in pairs:
        case = Case.get(Case.thread_id == f"eval-thread-{p['topic']}")
        workflow.reply(rt, case, admin, workflow.render_template(rt, p["answer"], case))
        cases[p["topic"]] = case.id
    while deliver_one(rt, "eval"):
        pass
    return cases


def ours(rt: Any, questions: list[dict[str, Any]], cases: dict[str, int],
         sources: tuple[str, ...]) -> list[list[str]]:
    """The topics of our top three for each question (a knowledge entry counts as the topic of
    every pair that names it in ``kb``)."""
    from inbox.models import Outbox, Template
    from inbox.understand.suggest import suggester_for
    classifier = rt.ingest_options.classifier
    topic_of_case = {case_id: topic for topic, case_id in cases.items()}
    topic_of_outbox = {o.id: topic_of_case.get(o.case_id) for o in Outbox.select(Outbox.id, Outbox.case)}
    starter = {t.id: t.starter_key for t in Template.select()}
    suggester = suggester_for(rt.db, rt.config.suggest["history_days"])
    out = []
    for q in questions:
        found = suggester.suggest(q["new_question"], classifier.classify(q["new_question"]).categories,
                                  sources=sources)
        out.append([topic_of_outbox.get(s.source_id) if s.kind == "answer"
                    else f"kb:{starter.get(s.source_id)}" for s in found])
    return out


def baseline(pairs: list[dict[str, Any]], questions: list[dict[str, Any]]) -> list[list[str]]:
    """A plain TF-IDF (scikit-learn's defaults, words) over each past question with its answer;
    the three nearest pairs by cosine."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel
    vectoriser = TfidfVectorizer()
    matrix = vectoriser.fit_transform([f"{p['past_question']} {p['answer']}" for p in pairs])
    scores = linear_kernel(vectoriser.transform([q["new_question"] for q in questions]), matrix)
    return [[pairs[j]["topic"] for j in row.argsort()[::-1][:3]] for row in scores]


def score(ranked: list[list[str]], questions: list[dict[str, Any]],
          knowledge: dict[str, str] | None = None) -> tuple[float, float, list[str]]:
    """(share right in the top three, share right first, the topics missed)."""
    top3 = top1 = 0
    missed = []
    for found, q in zip(ranked, questions):
        right = {q["topic"]} | ({f"kb:{knowledge[q['topic']]}"} if knowledge and knowledge.get(q["topic"]) else set())
        if found[:1] and found[0] in right:
            top1 += 1
        if right & set(found[:3]):
            top3 += 1
        else:
            missed.append(q["topic"])
    n = len(questions) or 1
    return top3 / n, top1 / n, missed


def open_runtime(directory: Path) -> Any:
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime, setup
    config = load_config(write_bench_config(directory, f"sqlite:///{directory / 'eval.db'}"))
    rt = Runtime(config)
    setup(config)
    return rt


def evaluate(rt: Any, pairs: list[dict[str, Any]], questions: list[dict[str, Any]]
             ) -> dict[str, tuple[float, float, list[str]]]:
    """Our figures (past answers only; with the starter knowledge base) and the baseline's."""
    cases = build_corpus(rt, pairs)
    knowledge = {p["topic"]: p.get("kb") for p in pairs}
    return {
        "ours: past answers": score(ours(rt, questions, cases, ("answer",)), questions),
        "ours: past answers + starter knowledge base":
            score(ours(rt, questions, cases, ("answer", "knowledge")), questions, knowledge),
        "baseline: TF-IDF over past questions and answers":
            score(baseline(pairs, questions), questions),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="score the tuning set instead")
    parser.add_argument("--fresh", action="store_true",
                        help="score the second held-back set (new questions only)")
    parser.add_argument("--speed", type=int, default=0, metavar="ANSWERS",
                        help="time suggestions over this many past answers (a year: 150000)")
    args = parser.parse_args(argv)
    pairs = read_jsonl(PAIRS)
    questions = read_jsonl(DEV) if args.dev else read_jsonl(FRESH) if args.fresh else pairs
    header("suggested answers: " + ("tuning set" if args.dev else "second held-back set"
                                     if args.fresh else "held-back set"))
    with tempfile.TemporaryDirectory() as tmp:
        rt = open_runtime(Path(tmp))
        if args.speed:
            from bench.suggest_speed import run_speed
            return run_speed(rt, pairs, args.speed)
        started = time.perf_counter()
        results = evaluate(rt, pairs, questions)
        print(f"   {len(pairs)} past answers, {len(questions)} new questions "
              f"({time.perf_counter() - started:.1f} s)")
        for name, (top3, top1, missed) in results.items():
            print(f"   {name:55} top 3: {top3:6.1%}   first: {top1:6.1%}   "
                  f"missed: {', '.join(missed) or '-'}")
        rt.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
