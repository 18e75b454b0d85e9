"""How long a suggestion takes at a year of answers (``bench/suggest_eval.py --speed N``).

Fills the database with ``N`` answered cases (a busy office's year is ~150,000 answers): the
questions are the shipped labelled messages and the evaluation set's questions with a
kecamatan, a number of days and a greeting varied; the answers are the evaluation set's and the
starter knowledge base's texts with the citizen's name and case number, a third of them with a
sentence of their own (so not every answer is a known text). Rows go in through multi-row
INSERTs (like bench/generate.py), then:

- the index's first build (once per process) and its memory;
- ``aduan suggest``'s ranking for 200 new questions: p50/p95/max per call;
- the baseline in the same run: a plain TF-IDF (scikit-learn) over every past question and
  answer, scored by one sparse product per question (its fitting time apart).
"""
from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from typing import Any

from bench.common import percentile

KECAMATAN = ["Salem", "Bantarkawung", "Bumiayu", "Paguyangan", "Sirampog", "Tonjong", "Jatibarang",
             "Wanasari", "Brebes", "Songgom", "Kersana", "Losari", "Tanjung", "Bulakamba",
             "Larangan", "Ketanggungan", "Banjarharjo"]
OPENERS = ["", "min ", "assalamualaikum min, ", "permisi kak, ", "punten, ", "halo admin "]
EXTRA = ["Jadwal pengambilan di Kecamatan {kec} hari {hari}.", "Mohon maaf atas keterlambatan "
         "{n} hari.", "Petugas kami di {kec} sudah kami kabari.", "Silakan hubungi loket {n}."]


def _rss_mb() -> float:
    try:
        import psutil
        return psutil.Process().memory_info().rss / 1e6
    except ImportError:
        return float("nan")


def fill(rt: Any, pairs: list[dict[str, Any]], count: int, seed: int = 31) -> list[str]:
    """``count`` answered cases over the last year; returns 200 new questions to ask."""
    from inbox.db import atomic_write
    from inbox.models import Account, Case, Contact, Message, Outbox, Template, utcnow
    from inbox.understand.training import SHIPPED_SET, read_examples
    rng = random.Random(seed)
    questions = [text for text, _, intent in read_examples(SHIPPED_SET)
                 if intent in ("complaint", "question")] + [p["past_question"] for p in pairs]
    answers = [p["answer"] for p in pairs] + [t.text for t in Template.select()]
    account = Account.get(Account.name == "sandbox")
    now = utcnow()
    next_case = (Case.select(Case.id).order_by(Case.id.desc()).scalar() or 0) + 1
    chunk = 400
    for lo in range(0, count, chunk):
        n = min(chunk, count - lo)
        contacts, cases, messages, outbox = [], [], [], []
        for i in range(lo, lo + n):
            cid = next_case + i
            at = now - timedelta(seconds=rng.uniform(3600, 365 * 86400))
            name = f"{rng.choice(['Siti', 'Budi', 'Dewi', 'Agus', 'Rina', 'Eko'])} {rng.choice(['Aminah', 'Santoso', 'Lestari', 'Wati'])}"
            question = (rng.choice(OPENERS) + rng.choice(questions)).replace("Brebes", rng.choice(KECAMATAN))
            reference = f"ADU-{at:%Y%m}-{9000000 + i}"
            answer = rng.choice(answers).replace("{nama}", name).replace("{nomor}", reference) \
                .replace("{kantor}", "Dukcapil Brebes").replace("{batas_waktu}", "Jumat")
            if rng.random() < 0.33:
                answer += " " + rng.choice(EXTRA).format(kec=rng.choice(KECAMATAN),
                                                         hari=rng.choice(["Senin", "Rabu"]),
                                                         n=rng.randint(1, 9))
            contacts.append({"id": cid, "kind": "sandbox", "platform_user_id": f"speed-{cid}",
                             "handle": f"w{cid}", "name": name, "created_at": at})
            cases.append({"id": cid, "reference": reference, "account": account.id, "contact": cid,
                          "thread_id": f"speed-{cid}", "public": False, "status": "answered",
                          "categories": json.dumps([]), "opened_at": at, "answered_at": at,
                          "closed_at": at, "summary": question[:100], "updated_at": at})
            messages.append({"account": account.id, "external_id": f"speed-{cid}", "case": cid,
                             "contact": cid, "direction": "in", "kind": "dm", "public": False,
                             "thread_id": f"speed-{cid}", "text": question, "created_at": at,
                             "received_at": at, "personal_data": False})
            sent = at + timedelta(hours=2)
            outbox.append({"case": cid, "text": answer, "public": False, "purpose": "answer",
                           "status": "sent", "created_at": sent - timedelta(minutes=5),
                           "next_attempt_at": sent, "sent_at": sent, "platform_id": f"p{cid}"})
        with atomic_write():
            for model, rows in ((Contact, contacts), (Case, cases), (Message, messages),
                                (Outbox, outbox)):
                for k in range(0, len(rows), 100):
                    model.insert_many(rows[k:k + 100]).execute()
    return [p["new_question"] for p in pairs] + [rng.choice(OPENERS) + rng.choice(questions)
                                                 for _ in range(200 - len(pairs))]


def run_speed(rt: Any, pairs: list[dict[str, Any]], count: int) -> int:
    from inbox.models import Outbox
    from inbox.understand.suggest import suggester_for
    started = time.perf_counter()
    asks = fill(rt, pairs, count)
    print(f"   filled {count:,} answered cases in {time.perf_counter() - started:.0f} s")
    classifier = rt.ingest_options.classifier
    categories = [classifier.classify(q).categories for q in asks]
    before = _rss_mb()
    suggester = suggester_for(rt.db, 365)
    started = time.perf_counter()
    suggester.refresh()
    build = time.perf_counter() - started
    print(f"   index built in {build:.1f} s: {len(suggester.docs_question):,} past questions, "
          f"{len(suggester.groups):,} distinct answers, +{_rss_mb() - before:.0f} MB resident")
    times = []
    for q, cats in zip(asks, categories):
        t0 = time.perf_counter()
        suggester.suggest(q, cats)
        times.append(time.perf_counter() - t0)
    ours = [t * 1000 for t in times]

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel
    rows = list(Outbox.select(Outbox.text, Outbox.case).where(Outbox.status == "sent").tuples())
    from inbox.models import Message
    texts = dict(Message.select(Message.case, Message.text).where(Message.direction == "in").tuples())
    started = time.perf_counter()
    vectoriser = TfidfVectorizer()
    matrix = vectoriser.fit_transform([f"{texts.get(c, '')} {a}" for a, c in rows])
    fit = time.perf_counter() - started
    base = []
    for q in asks:
        t0 = time.perf_counter()
        scores = linear_kernel(vectoriser.transform([q]), matrix)[0]
        scores.argpartition(-3)[-3:]
        base.append((time.perf_counter() - t0) * 1000)
    p50, p95 = percentile(ours, 50), percentile(ours, 95)
    b50, b95 = percentile(base, 50), percentile(base, 95)
    print(f"   ours: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(ours):.1f} ms per suggestion "
          f"(200 questions)")
    print(f"   baseline TF-IDF brute force: p50 {b50:.1f} ms, p95 {b95:.1f} ms (fit {fit:.1f} s); "
          f"ratio p95 {p95 / b95:.2f}x")
    print(f"   target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}")
    return 0
