"""Suggested answers: the best few answers for a citizen's message, from the office's knowledge
base (``Template``) and from its own past answers to similar messages, ranked on this machine.

What is compared (``inbox.understand.textsim``): the new message with each past question (the
citizen's messages the answer replied to), with each answer's own text, and with a knowledge
entry's title, keywords and text; plus the classifier's categories and how recent an answer
is. A past answer is the final text that went to the citizen, generalised
(``inbox.understand.past_answers``): the citizen's name becomes ``{nama}``, the case number
``{nomor}``, and any NIK, KK, phone number or e-mail becomes a ``[[...]]`` gap the officer must
fill (a reply holding one is refused). Identical answers are one suggestion, counted; an answer
identical to a knowledge entry is that entry, whose example questions it then adds.

Cost: the index is built once per process, on the first suggestion, and grows by the answers
sent since (one indexed query per call). Candidates come from an inverted index over the past
questions' words; only the best ``CANDIDATES`` of them are compared character by character, so
a year of answers costs about as much per call as a month (bench/suggest_eval.py).
"""
from __future__ import annotations

import logging
import math
import random
import re
import threading
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np

from inbox.models import Case, Outbox, Template, utcnow
from inbox.understand import past_answers, textsim
from inbox.understand.past_answers import background_texts
from inbox.understand.textsim import Chars, Idf, Vector, covered as _covered, dot as _dot

log = logging.getLogger(__name__)

#: How a score is made (decided on tests/data/suggest_dev.jsonl only; bench/RESULTS.md).
WEIGHTS = {"question": 0.55, "answer": 0.30, "category": 0.08, "keyword": 0.10,
           "recent": 0.03, "used": 0.02}
WORD_SHARE = 0.5          # words' share of a similarity (the rest: character n-grams)
ANSWER_COVERAGE = True    # an answer's similarity: the share of the question it covers, not a cosine
QUESTION_COVERAGE = False  # the question side as coverage: measured no better (RESULTS.md)
CANDIDATES = 60           # distinct past answers compared character by character per call
FIRST_PASS = 2000         # best past questions by words among which those are picked
CACHED = 5000             # character vectors kept per kind (past questions, answers): ~12 MB each
CHAR_SAMPLE = 3000        # documents whose character n-grams set the idf
RECENT_DAYS = 120.0       # an answer's recency weight halves in about this many days x 0.7
REBUILD_AFTER = timedelta(hours=6)
_PLACEHOLDER = re.compile(r"\{(?:nama|nomor|batas_waktu|kantor)\}|\[\[[^\]]*\]\]")


@dataclass(frozen=True)
class Suggestion:
    """One suggested answer. ``text`` keeps its placeholders ({nama}, {nomor}...); ``label``
    names its source as an officer reads it; ``reason`` says in a few words why it came."""

    kind: str          # knowledge | answer | incident
    source_id: int     # Template id, Outbox id, Incident id
    label: str
    text: str
    score: float
    reason: str
    reference: str = ""        # the case number of a past answer
    needs_review: bool = False
    uses: int = 1

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.source_id}"


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _bare(text: str) -> str:
    """Text without its placeholders, for comparing."""
    return _PLACEHOLDER.sub(" ", text)


@dataclass
class _Group:
    """One answer text and the past cases it went to."""

    text: str
    uses: int = 0
    last_sent: datetime | None = None
    outbox_id: int = 0
    reference: str = ""
    template_id: int | None = None


@dataclass
class _Entry:
    template: Template
    ask_char: Chars
    ask_word: Vector
    phrases: list[str]
    answer_char: Chars
    answer_word: Vector


class Suggester:
    """The index of one database's past answers and knowledge entries, and the ranking."""

    def __init__(self, history_days: int = 365, now: datetime | None = None) -> None:
        self.history_days = history_days
        self.lock = threading.Lock()
        self._built_at: datetime | None = None
        self._now = now
        self._reset()

    def _reset(self) -> None:
        self.docs_question: list[str] = []      # masked excerpt of each past question
        self.docs_categories: list[tuple[str, ...]] = []
        self.docs_group = array("i")
        self.docs_case = array("i")
        self._categories: dict[tuple[str, ...], tuple[str, ...]] = {}   # one tuple per set
        self.groups: list[_Group] = []
        self.group_of_text: dict[str, int] = {}
        self.postings: dict[str, tuple[array, array]] = {}
        self.word_idf = Idf(0, {})
        self.space = textsim.CharSpace([])
        self.entries: list[_Entry] = []
        self.last_outbox = 0
        self.kb_version: tuple[Any, ...] = ()
        self._doc_cache: dict[int, Chars] = {}
        self._group_cache: dict[int, tuple[Chars, Vector]] = {}

    # --- building ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to date with the database (cheap when nothing changed)."""
        now = self._now or utcnow()
        newest = Outbox.select(Outbox.id).where(Outbox.status == "sent") \
            .order_by(Outbox.id.desc()).limit(1).scalar() or 0
        stale = self._built_at is None or now - self._built_at > REBUILD_AFTER \
            or newest < self.last_outbox
        if stale:
            self._reset()
            since = now - timedelta(days=self.history_days)
            self._idf_from(next(past_answers.batches(past_answers.sent_since(since)
                                                     .order_by(Outbox.id.desc())
                                                     .limit(past_answers.BATCH)), []))
            for batch in past_answers.batches(past_answers.sent_since(since).order_by(Outbox.id)):
                self._add(batch)
            self._built_at = now
        elif newest > self.last_outbox:
            since = now - timedelta(days=self.history_days)
            for batch in past_answers.batches(past_answers.sent_since(since)
                                              .where(Outbox.id > self.last_outbox)
                                              .order_by(Outbox.id)):
                self._add(batch)
        self.last_outbox = max(self.last_outbox, newest)
        version = tuple(Template.select(Template.id, Template.updated_at, Template.active,
                                        Template.valid_until).order_by(Template.id).tuples())
        if stale or version != self.kb_version:
            self.kb_version = version
            self._load_entries(now)

    def _idf_from(self, rows: list[tuple[Any, ...]]) -> None:
        """Document frequencies over the office's newest questions and answers (a batch of
        them) and, as background, the citizens' messages shipped with the classifier: on a
        young office's few answers alone, "min", "bisa" and "ktp" would look as telling as
        "chip" or "palsu"."""
        texts = [row[4] for row in rows] + list({row[3] for row in rows})
        texts += [f"{t.name} {t.keywords} {_bare(t.text)}" for t in Template.select()]
        texts += background_texts()
        canon = [textsim.canonical_text(t) for t in texts]
        self.word_idf = Idf.count(textsim.words(c) for c in canon)
        sample = canon if len(canon) <= CHAR_SAMPLE else random.Random(17).sample(canon, CHAR_SAMPLE)
        self.space = textsim.CharSpace(sample, cache=4 * CACHED)

    def _add(self, rows: list[tuple[Any, ...]]) -> None:
        for outbox_id, case_id, reference, answer, question, categories, sent_at in rows:
            key = _key(answer)
            g = self.group_of_text.get(key)
            if g is None:
                g = self.group_of_text[key] = len(self.groups)
                self.groups.append(_Group(text=answer))
            group = self.groups[g]
            doc = len(self.docs_question)
            group.uses += 1
            if group.last_sent is None or sent_at >= group.last_sent:
                group.last_sent, group.outbox_id, group.reference = sent_at, outbox_id, reference
            self.docs_question.append(question)
            self.docs_categories.append(self._categories.setdefault(categories, categories))
            self.docs_group.append(g)
            self.docs_case.append(case_id)
            for word, weight in textsim.vector(textsim.words(textsim.canonical_text(question)),
                                               self.word_idf).items():
                ids, weights = self.postings.setdefault(word, (array("i"), array("f")))
                ids.append(doc)
                weights.append(weight)

    def _load_entries(self, now: datetime) -> None:
        today = now.date()
        self.entries = []
        for template in Template.select().where(Template.active == True):  # noqa: E712
            if template.valid_until is not None and template.valid_until < today:
                continue
            phrases = [textsim.canonical_text(p) for p in re.split(r"[\n,;]", template.keywords or "")]
            phrases = [p for p in phrases if p]
            ask = textsim.canonical_text(" ".join([template.name, *phrases]))
            answer = textsim.canonical_text(_bare(template.text))
            self.entries.append(_Entry(template, self.space.vector(ask), self._words(ask), phrases,
                                       self.space.vector(answer), self._words(answer)))
        by_text = {_key(e.template.text): e.template.id for e in self.entries}
        for group in self.groups:
            group.template_id = by_text.get(_key(group.text))

    def _words(self, canonical: str) -> Vector:
        return textsim.vector(textsim.words(canonical), self.word_idf)

    # --- ranking -------------------------------------------------------------------------------

    def suggest(self, text: str, categories: Sequence[str] = (), limit: int = 3,
                sources: Sequence[str] = ("knowledge", "answer"),
                exclude_cases: Sequence[int] = (), now: datetime | None = None,
                labels: dict[str, str] | None = None) -> list[Suggestion]:
        """The ``limit`` best answers for ``text`` (with the classifier's ``categories``), best
        first; ``exclude_cases``: past answers of these cases are left out (the case itself)."""
        # While the first build runs in the background (``warm_up``), answer at once with
        # nothing rather than keep the officer's page waiting; ``preparing`` says so.
        if not self.lock.acquire(blocking=self._built_at is not None):
            return []
        try:
            self.refresh()
            return self._rank(text, tuple(categories), limit, tuple(sources), set(exclude_cases),
                              now or self._now or utcnow(), labels or {})
        finally:
            self.lock.release()

    @property
    def preparing(self) -> bool:
        """True while the first build is running (in another thread)."""
        return self._built_at is None and self.lock.locked()

    def warm_up(self, db: Any) -> threading.Thread:
        """Build the index in a background thread (the web starts it, so that the first case
        page does not wait for a year of answers to be read)."""
        def build() -> None:
            with self.lock:
                try:
                    db.connect(reuse_if_open=True)
                    self.refresh()
                except Exception:   # the next suggestion simply builds it again
                    log.exception("suggested answers: index not built")
                finally:
                    if not db.is_closed():
                        db.close()
        thread = threading.Thread(target=build, name="suggest-warm-up", daemon=True)
        thread.start()
        return thread

    def _rank(self, text: str, categories: tuple[str, ...], limit: int, sources: tuple[str, ...],
              exclude: set[int], now: datetime, labels: dict[str, str]) -> list[Suggestion]:
        canon = textsim.canonical_text(text)
        q_word, q_chars = self._words(canon), self.space.vector(canon)
        if not q_word and not len(q_chars[0]):
            return []
        q_char = self.space.dense(q_chars)
        found: dict[str, Suggestion] = {}
        example: dict[int, tuple[float, int]] = {}   # template id -> (similarity, document)
        if "answer" in sources or "knowledge" in sources:
            for g, (score, doc, sims) in self._groups(q_word, q_char, categories, exclude, now).items():
                group = self.groups[g]
                if group.template_id is not None:   # an entry's own text: its example question
                    if sims > example.get(group.template_id, (0.0, -1))[0]:
                        example[group.template_id] = (sims, doc)
                    continue
                if "answer" in sources:
                    found[f"answer:{g}"] = self._answer_suggestion(group, doc, score, sims,
                                                                   q_word, categories, labels)
        if "knowledge" in sources:
            for entry in self.entries:
                suggestion = self._entry_suggestion(entry, canon, q_word, q_char, categories,
                                                    example.get(entry.template.id), labels)
                found[suggestion.key] = suggestion
        ranked = sorted(found.values(), key=lambda s: (-s.score, s.kind, s.source_id))
        return [s for s in ranked if s.score > 0][:limit]

    def _groups(self, q_word: Vector, q_char: np.ndarray, categories: tuple[str, ...],
                exclude: set[int], now: datetime) -> dict[int, tuple[float, int, float]]:
        """{group: (score, best document, that document's similarity)} for the candidates: the
        ``CANDIDATES`` answers whose past questions share the most words with the new one."""
        n = len(self.docs_question)
        if not n:
            return {}
        scores = np.zeros(n, dtype=np.float32)
        covered = np.zeros(n, dtype=np.float32)
        for word, weight in q_word.items():
            posting = self.postings.get(word)
            if posting is not None:
                ids = np.frombuffer(posting[0], dtype=np.int32)
                scores[ids] += weight * np.frombuffer(posting[1], dtype=np.float32)
                covered[ids] += weight * weight
                del ids
        cases = np.frombuffer(self.docs_case, dtype=np.int32)
        if exclude:
            scores[np.isin(cases, list(exclude))] = -1.0
        take = min(FIRST_PASS, n)
        first = np.argpartition(-scores, take - 1)[:take] if take < n else np.arange(n)
        first = first[np.argsort(-scores[first], kind="stable")]
        groups = np.frombuffer(self.docs_group, dtype=np.int32)
        picked: dict[int, int] = {}   # group -> its best document by words
        for doc, g in zip(first.tolist(), groups[first].tolist()):
            if scores[doc] >= 0 and g not in picked:
                picked[g] = doc
                if len(picked) == CANDIDATES:
                    break
        out: dict[int, tuple[float, int, float]] = {}
        w = WEIGHTS
        for g, doc in picked.items():
            chars = self._doc_chars(doc)
            if QUESTION_COVERAGE:
                sim = WORD_SHARE * float(covered[doc]) + (1 - WORD_SHARE) * _covered(q_char, chars)
            else:
                sim = WORD_SHARE * float(scores[doc]) + (1 - WORD_SHARE) * _dot(q_char, chars)
            group = self.groups[g]
            score = (w["question"] * sim + w["answer"] * self._answer_sim(g, q_word, q_char)
                     + w["category"] * _overlap(categories, self.docs_categories[doc])
                     + w["recent"] * _recency(group.last_sent, now)
                     + w["used"] * _used(group.uses))
            out[g] = (score, doc, sim)
        return out

    def _doc_chars(self, doc: int) -> Chars:
        found = self._doc_cache.get(doc)
        if found is None:
            if len(self._doc_cache) >= CACHED:
                self._doc_cache.clear()
            found = self._doc_cache[doc] = self.space.vector(
                textsim.canonical_text(self.docs_question[doc]))
        return found

    def _answer_sim(self, g: int, q_word: Vector, q_char: np.ndarray) -> float:
        found = self._group_cache.get(g)
        if found is None:
            if len(self._group_cache) >= CACHED:
                self._group_cache.clear()
            canon = textsim.canonical_text(_bare(self.groups[g].text))
            found = self._group_cache[g] = (self.space.vector(canon), self._words(canon))
        return _similarity(q_word, q_char, found[1], found[0], ANSWER_COVERAGE)

    def _reference(self, doc: int) -> str:
        """The case number of a past question (read when shown, not kept for every one)."""
        return Case.select(Case.reference).where(Case.id == self.docs_case[doc]).scalar() or ""

    def _answer_suggestion(self, group: _Group, doc: int, score: float, sim: float,
                           q_word: Vector, categories: tuple[str, ...],
                           labels: dict[str, str]) -> Suggestion:
        asked = self.docs_question[doc]
        excerpt = asked if len(asked) <= 80 else asked[:77].rstrip() + "…"
        reason = [f"pertanyaan mirip ({sim:.0%}) di {self._reference(doc)}: “{excerpt}”"]
        shared = [c for c in categories if c in self.docs_categories[doc]]
        if shared:
            reason.append("kategori sama: " + ", ".join(labels.get(c, c) for c in shared))
        if group.uses > 1:
            reason.append(f"dipakai {group.uses} kali")
        return Suggestion("answer", group.outbox_id, f"jawaban untuk {group.reference}", group.text,
                          round(score, 4), "; ".join(reason), reference=group.reference,
                          uses=group.uses)

    def _entry_suggestion(self, entry: _Entry, canon: str, q_word: Vector, q_char: np.ndarray,
                          categories: tuple[str, ...], example: tuple[float, int] | None,
                          labels: dict[str, str]) -> Suggestion:
        w = WEIGHTS
        ask = _similarity(q_word, q_char, entry.ask_word, entry.ask_char)
        seen = example[0] if example else 0.0
        answer = _similarity(q_word, q_char, entry.answer_word, entry.answer_char, ANSWER_COVERAGE)
        hits = [p for p in entry.phrases if re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", canon)]
        template = entry.template
        score = (w["question"] * max(ask, seen) + w["answer"] * answer
                 + w["category"] * _overlap(categories, template.categories or ())
                 + w["keyword"] * (1.0 if hits else 0.0))
        reason = []
        if hits:
            reason.append("kata kunci: " + ", ".join(hits[:3]))
        if seen > ask and example is not None:
            reason.append(f"dipakai untuk pertanyaan mirip di {self._reference(example[1])}")
        shared = [c for c in categories if c in (template.categories or ())]
        if shared:
            reason.append("kategori sama: " + ", ".join(labels.get(c, c) for c in shared))
        if not reason:
            words = textsim.shared_words(q_word, {**entry.ask_word, **entry.answer_word})
            reason.append("kata yang sama: " + ", ".join(words) if words else "isi mirip")
        return Suggestion("knowledge", template.id, f"basis pengetahuan: {template.name}",
                          template.text, round(score, 4), "; ".join(reason),
                          needs_review=bool(template.needs_review))


def _similarity(q_word: Vector, q_char: np.ndarray, d_word: Vector, d_char: Chars,
                coverage: bool = False) -> float:
    """Words and character n-grams together: the cosine, or (``coverage``) the share of the
    question's weight found in the document, which does not punish a long answer."""
    if coverage:
        return (WORD_SHARE * textsim.coverage(q_word, d_word)
                + (1 - WORD_SHARE) * _covered(q_char, d_char))
    return WORD_SHARE * textsim.cosine(q_word, d_word) + (1 - WORD_SHARE) * _dot(q_char, d_char)


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard overlap of two category lists (0 when either is empty)."""
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb)


def _recency(when: datetime | None, now: datetime) -> float:
    if when is None:
        return 0.0
    return math.exp(-max((now - when).total_seconds(), 0.0) / 86400.0 / RECENT_DAYS)


def _used(count: int) -> float:
    return min(1.0, math.log1p(count) / math.log(21.0))


# --- one index per database, kept in the process -------------------------------------------------

_suggesters: dict[tuple[Any, ...], Suggester] = {}
_guard = threading.Lock()


def suggester_for(db: Any, history_days: int = 365) -> Suggester:
    """The process's index of ``db`` (an open peewee database), made on first use."""
    key = (id(db), getattr(db, "database", None), history_days)
    with _guard:
        found = _suggesters.get(key)
        if found is None:
            if len(_suggesters) > 8:
                _suggesters.clear()
            found = _suggesters[key] = Suggester(history_days)
        return found
