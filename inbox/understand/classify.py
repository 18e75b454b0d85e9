"""What a citizen's message is about (service categories) and what it wants (intent).

A hybrid. The rules: regular expressions over normalised text, from the word lists in
``inbox/understand/keywords.toml`` (built from ``shared/reference/indonesian-domain.md`` §1) plus the words
config adds. No stemming and no stop-word removal: both destroy the words that matter here
("blangko", "akte", "tidak", "belum"). Their intent follows the reference's decision rule: spam
first, then thanks with no complaint or question, then a bare greeting, then complaint or
question. The model (``inbox/understand/model.py``): a linear model over character and word n-grams that
also reads the rules' hits as features, so it learns when to trust them and adds what the
lists miss; it decides, with a probability per category and per intent. Without a model the
rules decide alone. How the two combine was decided by measurement (README, Classification).
"""
from __future__ import annotations

import re
import re._constants as _sre    # Python's own regex parser (3.11+): each keyword's first letters
import re._parser as _sre_parser
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from inbox.labels import CATEGORY_LABELS, INTENT_LABELS

KEYWORDS_FILE = Path(__file__).with_name("keywords.toml")
_DATA = tomllib.loads(KEYWORDS_FILE.read_text(encoding="utf-8"))

CATEGORIES: tuple[str, ...] = tuple(CATEGORY_LABELS)
if tuple(_DATA["categories"]) != CATEGORIES:
    raise ImportError(f"{KEYWORDS_FILE.name} must list the categories of inbox.labels.CATEGORY_LABELS, "
                      "in the same order")
INTENTS: tuple[str, ...] = tuple(INTENT_LABELS)
MARKERS = ("thanks", "spam", "soft_spam", "greeting", "question", "complaint", "facet", "staff")
# What the rules saw besides their decision, read by the model as features: each marker's
# words, a question mark, a bare greeting, spam words or a foreign link (README, Classification).
SIGNALS = MARKERS + ("question_mark", "greeting_only", "spam_evidence")
AKTA_KINDS = ("akta_kelahiran", "akta_kematian", "akta_perkawinan_perceraian")

CLITIC = r"(?:nya|ku|mu|ny)?"
ANY_AKTA = re.compile(r"(?<!\w)akt[ae]\w*")
URL = re.compile(r"(?:https?://|www\.)([^\s/]+)|(?<!\w)(?:bit\.ly|t\.me|wa\.me|s\.id)/\S+")
THANKS_EMOJI = re.compile("[\U0001F44D\U0001F64F\u2764\U0001F970\U0001F60D\U0001F917]")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# "kk" that means kakak (older sibling, a polite "you"), not Kartu Keluarga (§1.4).
_KAKAK = [
    (re.compile(r"(?<!\w)kk(?=\s*(?:admin|min|mimin)\b)"), "kak"),
    (re.compile(r"\b(makasih|makasi|kasih|thanks|thx|halo|hallo|hai|hi|pagi|siang|sore|malam|permisi"
                r"|maaf|punten|ya|yah|dong|deh|nih|sih|ok|oke|sip|mksh|trims|dibantu|bantu|info"
                r"|infonya|tanya|nanya|ka|kak)( ?,? ?)kk\b"), r"\1\2kak"),
    (re.compile(r"^(\W*)kk(?=\s*[,.!?]|\s+(?:mau|minta|tolong|mohon|boleh|permisi|maaf|numpang"
                r"|tanya|nanya|gimana|bisa tanya|punten)\b)"), r"\1kak"),
]


_REPEATED = re.compile(r"([a-z])\1{2,}")
_REDUPLICATED = re.compile(r"\b([a-z]{2,})2(nya|ku|mu|ny)?\b")


def normalise(text: str) -> str:
    """Lower case, NFKC, repeated letters collapsed, ``bisa2`` expanded, kakak's ``kk`` rewritten."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _REPEATED.search(text):   # a sub with a template costs a Python call even with no match
        text = _REPEATED.sub(r"\1", text)
    if "2" in text:
        text = _REDUPLICATED.sub(r"\1 \1\2", text)
    # Runs of whitespace made one space, ends stripped: what ``\s+`` -> " " and strip() did
    # (str.split and the regex's \s know the same whitespace), in a fifth of the time.
    text = " ".join(text.split())
    if "kk" in text:   # each of the kakak patterns needs it
        for pattern, replacement in _KAKAK:
            text = pattern.sub(replacement, text)
    return text


def _compile(words: list[str], where: str) -> re.Pattern[str] | None:
    for word in words:
        try:
            re.compile(word)
        except re.error as exc:
            raise ValueError(f"{where}: {word!r} bukan ekspresi reguler yang sah ({exc})") from None
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{w})" for w in words) + r")" + CLITIC + r"(?!\w)")


# The gate in front of each word list: a list is only scanned when some word of the text begins
# as one of its keywords must (below). Most lists find nothing in most messages, and a scan
# costs about the same whether it finds something or not.
KEY_LENGTH = 4
_RUN = re.compile(r"\w+")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_NOT_WORD = [(_sre.IN, [(_sre.CATEGORY, _sre.CATEGORY_WORD)])]


END = " "   # after a key: the run of word characters ends there ("k" of "k.t.p")


class _Ungated(Exception):
    """A keyword whose match may begin other than with a key (a non-word character...)."""


def start_keys(words: Sequence[str]) -> frozenset[str] | None:
    """The gate of a word list: strings such that a text in which the list finds anything has
    one of them among its ``word_starts``. Each is a keyword's possible leading letters (one to
    ``KEY_LENGTH``), read from Python's own parse of the keyword as ``_compile`` uses it (a
    match starts where no word character precedes, may take a clitic, and ends a word); ``END``
    after one says the word ends there. ``None`` when a keyword may begin otherwise (a
    non-word character, a class such as ``\\w``...): then its list is always scanned."""
    keys: set[str] = set()
    for word in words:
        try:
            parsed = _sre_parser.parse(f"(?:{word}){CLITIC}(?!\\w)")
            finished, open_ = _leading(list(parsed), {""})
        except (_Ungated, re.error, TypeError, ValueError):
            return None
        keys |= finished | _finish(open_)
    return frozenset(keys)


def _finish(open_: set[str]) -> set[str]:
    """Keys read so far, kept as they are (the word may go on)."""
    if "" in open_:
        raise _Ungated
    return open_


def _ended(open_: set[str]) -> set[str]:
    """Keys read so far, at the end of their word."""
    if "" in open_:
        raise _Ungated
    return {key + END for key in open_}


def _leading(items: list[Any], open_: set[str]) -> tuple[set[str], set[str]]:
    """(finished, open) keys of the parsed ``items`` matched after each key of ``open_``: a
    finished one is complete, an open one continues into what follows ``items``. Stopping
    early is always safe: a shorter key lets more texts through the gate, never fewer."""
    finished: set[str] = set()
    for op, av in items:
        if not open_:
            break
        chars = (chr(av) if op is _sre.LITERAL else _class_chars(av) if op is _sre.IN else None)
        if chars is not None and all(ch in _KEY_CHARS for ch in chars):
            grown = {key + ch for key in open_ for ch in chars}
            finished |= {key for key in grown if len(key) == KEY_LENGTH}
            open_ = {key for key in grown if len(key) < KEY_LENGTH}
        elif chars is not None and not any(_RUN.match(ch) for ch in chars):
            return finished | _ended(open_), set()          # a space, a dot...: the word ends
        elif op is _sre.ASSERT_NOT and av[0] == 1 and list(av[1]) == _NOT_WORD:
            return finished | _ended(open_), set()          # (?!\\w): the word ends
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT):
            continue                                          # zero width: read on
        elif op is _sre.SUBPATTERN and not av[1] and not av[2]:   # a group without flags
            done, open_ = _leading(list(av[3]), open_)
            finished |= done
        elif op is _sre.BRANCH:
            branches = [_leading(list(branch), open_) for branch in av[1]]
            finished |= set().union(*(done for done, _ in branches))
            open_ = set().union(*(more for _, more in branches))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            # x{low,high}: through the body ``low`` times, then the keys after each further
            # pass (up to ``high``) all read on. A pass adds a character or ends the keys, so
            # KEY_LENGTH + 1 passes reach every key; what a longer run would leave is finished.
            low, high, body = av
            passes = KEY_LENGTH + 1
            for _ in range(min(low, passes)):
                done, open_ = _leading(list(body), open_)
                finished |= done
            current, after = open_, set(open_)
            for _ in range(min(high - low, passes)):
                if not current:
                    break
                done, current = _leading(list(body), current)
                finished |= done
                after |= current
            else:
                if current and high - low > passes:
                    finished |= _finish(current)
                    after -= current
            open_ = after
        else:
            return finished | _finish(open_), set()
    return finished, open_


def _class_chars(members: list[Any]) -> str | None:
    """The characters of a parsed class such as ``[ae]``, ``[0-9]`` or ``[\\s-]`` (``\\s``
    stands for a space), or ``None`` when they cannot be listed (``\\d`` also matches other
    scripts' digits, ``\\w`` any letter)."""
    chars = ""
    for op, av in members:
        if op is _sre.LITERAL:
            chars += chr(av)
        elif op is _sre.RANGE and av[1] - av[0] < len(_KEY_CHARS):
            chars += "".join(map(chr, range(av[0], av[1] + 1)))
        elif op is _sre.CATEGORY and av is _sre.CATEGORY_SPACE:
            chars += " "
        else:
            return None
    return chars or None


def word_starts(text: str, lengths: Iterable[int] = range(1, KEY_LENGTH + 1)) -> set[str]:
    """The first ``lengths`` characters of every run of word characters, and each run shorter
    than ``KEY_LENGTH`` with ``END`` after it."""
    runs = _RUN.findall(text)
    starts = {run + END for run in runs if len(run) < KEY_LENGTH}
    for n in lengths:
        starts.update([run[:n] for run in runs])
    return starts


ANY_AKTA_KEYS = start_keys([ANY_AKTA.pattern.removeprefix("(?<!\\w)")])   # {"akta", "akte"}


def _words(pattern: re.Pattern[str], text: str) -> list[str]:
    """Every match of ``pattern`` in ``text``: ``findall`` (no match objects, the rules' main
    cost) unless a config word has a capturing group, which would make findall return it."""
    if pattern.groups:
        return [m.group(0) for m in pattern.finditer(text)]
    return pattern.findall(text)


# Under these probabilities a category or an intent is shown as "perlu dicek" (to check).
LOW_CONFIDENCE = 0.7
# From this probability a thanks, greeting or spam may be proposed (or set) for dismissal. In
# 5-fold CV over both labelled sets (948 messages) no complaint or question reached it, and
# 38% of the thanks, greetings and spam did (README, Classification).
DISMISS_CONFIDENCE = 0.85


def uncertain_of(confidence: dict[str, Any] | None) -> list[str]:
    """The keys (category codes, ``"intent"``) of ``confidence`` under ``LOW_CONFIDENCE``: what
    is shown as "perlu dicek". ``confidence`` is a ``Classification.confidence`` as stored in
    a case's ``opened`` event (``Event.opened_confidence``); anything else there is ignored."""
    if not isinstance(confidence, dict):
        return []
    return [k for k, p in confidence.items()
            if isinstance(p, (int, float)) and not isinstance(p, bool) and p < LOW_CONFIDENCE]


@dataclass(frozen=True)
class Classification:
    """Categories in ``CATEGORIES`` order, one intent, the words that decided them, and the
    model's probabilities (``confidence``: per chosen category and ``"intent"``; empty when the
    rules decided alone)."""

    categories: tuple[str, ...]
    intent: str
    evidence: dict[str, list[str]] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    rule_categories: tuple[str, ...] = ()
    rule_signals: tuple[str, ...] = ()   # which of SIGNALS the rules saw (the model reads them)

    @property
    def uncertain(self) -> tuple[str, ...]:
        """Chosen categories (and ``"intent"``) whose probability is under ``LOW_CONFIDENCE``."""
        return tuple(uncertain_of(self.confidence))

    @property
    def dismissable(self) -> bool:
        """A thanks, greeting or spam the model is sure of (or the rules, with no model)."""
        return (self.intent in ("thanks", "greeting", "spam")
                and self.confidence.get("intent", 1.0) >= DISMISS_CONFIDENCE)

    def to_dict(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "intent": self.intent, "evidence": self.evidence,
                "confidence": self.confidence}


def check_extra_keywords(extra: dict[str, Any] | None, extra_markers: dict[str, Any] | None = None,
                         where: str = "classify.extra_keywords") -> list[str]:
    """One sentence per unusable entry of config's extra keywords (unknown category, not a list
    of strings, or a broken regular expression)."""
    findings = []
    for table, known, name in ((extra or {}, CATEGORIES, where),
                               (extra_markers or {}, MARKERS, "classify.extra_intent_markers")):
        for key, words in table.items():
            if key not in known:
                findings.append(f"{name}.{key}: nama tidak dikenal; gunakan salah satu dari {', '.join(known)}")
            elif not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                findings.append(f"{name}.{key}: harus berupa daftar kata dalam tanda kutip")
            else:
                try:
                    _compile(words, f"{name}.{key}")
                except ValueError as exc:
                    findings.append(str(exc))
    return findings


class Classifier:
    """Compiled word lists; ``extra_keywords`` ({category: [regex]}) and ``extra_intent_markers``
    ({marker: [regex]}) add to the built-in ones."""

    def __init__(self, extra_keywords: dict[str, list[str]] | None = None,
                 extra_intent_markers: dict[str, list[str]] | None = None,
                 model: Any = None) -> None:
        """``model``: a ``TrainedModel``, ``None`` for the rules alone, or a function without
        arguments that gives one, called on first use. Whoever builds the classifier hands it
        its model: ``inbox.understand.training`` has the builders (the office's model, the
        shipped one)."""
        findings = check_extra_keywords(extra_keywords, extra_intent_markers)
        if findings:
            raise ValueError(findings[0])
        extra_keywords, extra_intent_markers = extra_keywords or {}, extra_intent_markers or {}
        self.categories: dict[str, re.Pattern[str]] = {}
        self.gates: dict[str, frozenset[str] | None] = {}   # category or marker: start_keys
        for code in CATEGORIES:
            words = _DATA["categories"][code]["keywords"] + list(extra_keywords.get(code, []))
            pattern = _compile(words, f"categories.{code}")
            if pattern is not None:
                self.categories[code] = pattern
                self.gates[code] = start_keys(words)
        self.markers: dict[str, re.Pattern[str] | None] = {}
        for name in MARKERS:
            words = _DATA["intents"][name] + list(extra_intent_markers.get(name, []))
            self.markers[name] = _compile(words, f"intents.{name}")
            self.gates[name] = start_keys(words)
        # the prefix lengths the gates need of a text (the keys that do not end a word)
        self.key_lengths = tuple(sorted({KEY_LENGTH} | {
            len(key) for gate in self.gates.values() if gate for key in gate if not key.endswith(END)}))
        # Resolved on first use: a command that builds a Runtime but never classifies
        # (`aduan status`, the web) must not read, let alone train, a model.
        self._model: Any = model

    @property
    def model(self) -> Any:
        """The ``TrainedModel`` (loaded or trained on first use), or ``None`` for rules alone."""
        if callable(self._model):
            self._model = self._model()
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    def word_starts(self, text: str) -> set[str]:
        """What the gates look for in normalised ``text`` (``word_starts`` at the lengths the
        gates' keys have)."""
        return word_starts(text, self.key_lengths)

    def _find(self, name: str, text: str, starts: set[str] | None = None) -> list[str]:
        """The words of marker ``name`` in normalised ``text`` (``starts``: its ``word_starts``)."""
        pattern = self.markers[name]
        if pattern is None:
            return []
        gate = self.gates[name]
        if gate is not None and gate.isdisjoint(self.word_starts(text) if starts is None else starts):
            return []
        return _words(pattern, text)

    def categorise(self, text: str, starts: set[str] | None = None) -> dict[str, list[str]]:
        """{category: matched words} on already normalised text (``starts``: its
        ``word_starts``, when already computed)."""
        starts = self.word_starts(text) if starts is None else starts
        found = {}
        gates = self.gates
        for code, pattern in self.categories.items():
            gate = gates[code]
            if gate is not None and gate.isdisjoint(starts):
                continue
            words = _words(pattern, text)
            if words:
                found[code] = words
        if not ANY_AKTA_KEYS.isdisjoint(starts) and not any(kind in found for kind in AKTA_KINDS):
            akta = ANY_AKTA.findall(text)
            if akta:
                found["akta_lainnya"] = akta
        return found

    def marker_words(self, text: str, starts: set[str] | None = None) -> dict[str, list[str]]:
        """{marker: its words in normalised ``text``} for every marker, plus ``"spam_evidence"``
        (spam words and links off the office's own sites) and ``"greeting_only"``."""
        starts = self.word_starts(text) if starts is None else starts
        words = {name: self._find(name, text, starts) for name in MARKERS}
        # a link needs "://" or "www." or, for the short links, a "/"
        urls = [m.group(0) for m in URL.finditer(text)
                if not (m.group(1) or "").lower().endswith(".go.id")] if "/" in text or "www." in text else []
        words["spam_evidence"] = words["spam"] + urls
        words["greeting_only"] = ["greeting only"] if self._greeting_only(text, words["greeting"]) else []
        return words

    def _greeting_only(self, text: str, greetings: list[str]) -> bool:
        pattern = self.markers["greeting"]
        return bool(greetings) and pattern is not None and not WORD.search(pattern.sub(" ", text))

    def intent(self, text: str, raw: str, categories: dict[str, list[str]],
               words: dict[str, list[str]] | None = None) -> tuple[str, list[str]]:
        """The intent of normalised ``text`` and the words that decided it (``words``: its
        ``marker_words``, when already found)."""
        words = words if words is not None else self.marker_words(text)
        spam = list(words["spam_evidence"])
        if spam:
            return "spam", spam
        complaint = words["complaint"]
        soft_spam = words["soft_spam"]
        if soft_spam and not complaint:
            return "spam", list(soft_spam)
        question = words["question"] + (["?"] if "?" in text else [])
        thanks = list(words["thanks"])
        if not thanks and not WORD.search(text):
            thanks = THANKS_EMOJI.findall(raw)  # a bare 👍 or 🙏; beside words it is only politeness
        if thanks and not complaint and not question:
            return "thanks", thanks
        if words["greeting_only"]:
            return "greeting", list(words["greeting"])
        if complaint:
            return "complaint", list(complaint)
        facet = words["facet"]
        if categories and facet and not question:
            return "complaint", list(facet)
        if not question and not categories and not WORD.search(text):
            return "greeting", []  # only emoji or punctuation: nothing to answer but a hello
        return "question", question

    def rules(self, text: str) -> Classification:
        """The rules alone (no model)."""
        return self._rules(normalise(text), text)

    def _rules(self, norm: str, text: str) -> Classification:
        starts = self.word_starts(norm)
        found = self.categorise(norm, starts)
        words = self.marker_words(norm, starts)
        intent, why = self.intent(norm, text or "", found, words)
        words["question_mark"] = ["?"] if "?" in norm else []
        signals = tuple(name for name in SIGNALS if words[name])
        if intent == "spam":
            found = {}
        elif intent == "complaint" and "pungli_calo_petugas" not in found:
            staff = self._find("staff", norm, starts)
            if staff:
                found["pungli_calo_petugas"] = staff
        categories = tuple(code for code in CATEGORIES if code in found)
        evidence = {code: found[code] for code in categories}
        evidence["intent"] = why
        return Classification(categories, intent, evidence, rule_categories=categories,
                              rule_signals=signals)

    def classify(self, text: str) -> Classification:
        """Categories and intent: the model's decision over the rules' hits, or the rules'
        alone without a model. Evidence holds the rules' words; ``explain`` adds the model's."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """``classify`` of each text, in order, with the model scoring the whole list as one
        matrix (several times faster a message than one at a time). The result for a text is
        the same whichever list it comes in (tested)."""
        norms = [normalise(text) for text in texts]
        ruled = [self._rules(norm, text or "") for norm, text in zip(norms, texts)]
        model = self.model
        if model is None or not ruled:
            return ruled
        cats, intents = model.probabilities_many(
            norms, [(r.categories, r.intent, r.rule_signals) for r in ruled])
        best = intents.argmax(axis=1)
        best_p = intents.max(axis=1).tolist()
        picked = cats >= model.thresholds
        if "spam" in model.intents:
            picked[best == model.intents.index("spam")] = False   # a spam has no category
        rows, columns = picked.nonzero()   # row by row, each row's columns in model order
        chosen: list[list[tuple[str, float]]] = [[] for _ in ruled]
        codes = model.categories
        for i, k, p in zip(rows.tolist(), columns.tolist(), cats[rows, columns].tolist()):
            chosen[i].append((codes[k], p))
        in_order = list(codes) == list(CATEGORIES)
        out = []
        for r, b, pb, picks in zip(ruled, best.tolist(), best_p, chosen):
            intent = model.intents[b]
            confidence = {code: round(p, 3) for code, p in picks}
            categories = tuple(code for code, _ in picks)
            if not in_order:
                categories = tuple(code for code in CATEGORIES if code in confidence)
            confidence["intent"] = round(pb, 3)
            evidence = {code: r.evidence.get(code, []) for code in categories}
            evidence["intent"] = r.evidence["intent"] if intent == r.intent else []
            out.append(Classification(categories, intent, evidence, confidence, r.categories,
                                      r.rule_signals))
        return out
