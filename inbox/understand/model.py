"""The trained half of the classifier: two linear models over TF-IDF character and word
n-grams, one of them also reading the rules' own hits, whose probabilities are averaged; stored
as plain arrays in the data folder.

Training uses scikit-learn (``TfidfVectorizer`` char_wb 2-5 and word 1-2, ``LogisticRegression``
one-vs-rest for the multi-label categories and for the intent; fixed seed, so the
same data gives the same model). The member that reads the rules' hits follows them where the
word lists are good; the one that does not generalises where they are weak (perubahan_data,
antrean_pelayanan); their average beat both on every measurement (README, Classification).

Scoring does not use scikit-learn: the vocabularies, idf weights and coefficients are saved as
numpy arrays and a message is scored with a few dictionary look-ups and one small matrix
product. That keeps ``aduan run`` free of scikit-learn's memory and of its
per-call overhead (about 1 ms per message, far from the 5,000 messages/s ingest needs), and
loading the model is one ``np.load`` of a file we wrote, nothing pickled, nothing downloaded.
``tests/test_model.py`` checks that the hand-written scoring gives scikit-learn's numbers.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

MODEL_FORMAT = 3      # 2: the rules' signals are features; 3: two members averaged
SEED = 17
MODEL_FILE = "classifier-model.npz"
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
RULE_WEIGHT = 1.0      # the rules' hits are features next to the n-grams (decided in README)
C_CATEGORIES = 10.0
C_INTENT = 10.0
SIGNALS_FOR_CATEGORIES = False   # measured worse for the categories (README, Classification)
# The two members' average picks a category from this probability (measured: README).
ENSEMBLE_THRESHOLD = 0.4

_LONG_NUMBER = re.compile(r"(?:\+?\d[ .,\-]?){8,}\d")
_DIGIT = re.compile(r"\d")
_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")
WORD_CACHE = 20_000   # words whose char n-gram columns a model keeps (compact arrays, ~6 MB)


def model_text(norm: str) -> str:
    """The normalised text as the model reads it: a NIK, No. KK or phone number (however it is
    spaced) becomes one token, other digits become 0, so the model learns "there is a number"
    and never a citizen's number."""
    if not _DIGIT.search(norm):
        return norm   # most messages: both substitutions need a digit
    return _DIGIT.sub("0", _LONG_NUMBER.sub(" nomorpanjang ", norm))


def char_wb_ngrams(text: str, lo: int = CHAR_NGRAMS[0], hi: int = CHAR_NGRAMS[1]) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer (each word padded with spaces; a word no longer
    than n gives itself once and no longer n-grams)."""
    out: list[str] = []
    extend = out.extend
    for w in _SPACES.sub(" ", text).split():
        w = " " + w + " "
        size = len(w)
        for n in range(lo, hi + 1):
            if size <= n:
                out.append(w)
                break
            extend([w[i:i + n] for i in range(size - n + 1)])
    return out


def word_ngrams(text: str, lo: int = WORD_NGRAMS[0], hi: int = WORD_NGRAMS[1]) -> list[str]:
    """scikit-learn's ``word`` analyzer with its default token pattern."""
    tokens = _WORD_TOKEN.findall(text)
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), hi + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def rule_features(categories: Iterable[str], intent: str, category_codes: Sequence[str],
                  intents: Sequence[str], signals: Iterable[str] = (),
                  signal_names: Sequence[str] = ()) -> np.ndarray:
    """One column per category the rules found, one for the rules' intent, and one per
    signal (a marker's words, a question mark...) the rules saw."""
    row = np.zeros(len(category_codes) + len(intents) + len(signal_names), dtype=np.float64)
    found = set(categories)
    for i, code in enumerate(category_codes):
        if code in found:
            row[i] = 1.0
    row[len(category_codes) + intents.index(intent)] = 1.0
    seen = set(signals)
    for i, name in enumerate(signal_names):
        if name in seen:
            row[len(category_codes) + len(intents) + i] = 1.0
    return row


@dataclass
class TrainedModel:
    """Arrays of a trained model and what it was trained on (``meta``)."""

    categories: list[str]
    intents: list[str]
    char_vocab: dict[str, int]
    word_vocab: dict[str, int]
    idf: np.ndarray            # char columns, then word columns
    weights: np.ndarray        # (n-gram columns + rule columns + signals) x members x (categories + intents)
    bias: np.ndarray
    thresholds: np.ndarray     # per category: probability from which the model adds it
    meta: dict[str, Any] = field(default_factory=dict)
    signals: list[str] = field(default_factory=list)   # the rules' signals read as features
    members: int = 1   # blocks of (categories + intents) columns in weights, averaged
    _word_cache: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False,
                                               compare=False)
    _word_offset: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)
    _w32: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def _scoring_weights(self) -> np.ndarray:
        """The weights as float32, made once (the saved file holds float32 weights)."""
        if self._w32 is None or self._w32.shape != self.weights.shape:
            self._w32 = self.weights.astype(np.float32)
        return self._w32

    @property
    def n_text(self) -> int:
        return len(self.char_vocab) + len(self.word_vocab)

    def _text_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and TF-IDF values of ``text`` (two l2-normalised blocks)."""
        _, columns, values = self._text_matrix([text])
        return columns, values

    def _text_matrix(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of the TF-IDF matrix of ``texts``, sorted by row then column,
        each row's char and word blocks l2-normalised. Each row's numbers are computed from
        that row alone, in the same order (its entries are sorted before anything is summed),
        so a text's vector is the same in any batch.

        A word's character n-gram columns depend on the word alone, so they are kept per word
        as an array: citizens' words repeat, and this was most of the scoring's time."""
        cache, char_vocab = self._word_cache, self.char_vocab
        if len(cache) > WORD_CACHE:
            cache.clear()
        word_get = self._word_columns.get
        width = self.n_text
        pieces: list[np.ndarray] = []     # char n-gram columns, word by word
        lengths: list[int] = []           # how many of them each text has
        word_keys: list[int] = []         # row * width + column of the word n-grams
        for row, text in enumerate(texts):
            count = 0
            for w in text.split():
                ids = cache.get(w)
                if ids is None:
                    ids = cache[w] = np.array([j for g in char_wb_ngrams(w)
                                               if (j := char_vocab.get(g)) is not None], dtype=np.intp)
                pieces.append(ids)
                count += len(ids)
            lengths.append(count)
            base = row * width
            word_keys.extend(base + j for j in map(word_get, word_ngrams(text)) if j is not None)
        rows = np.repeat(np.arange(len(texts), dtype=np.intp), lengths)
        char_keys = rows * width + (np.concatenate(pieces) if pieces else np.zeros(0, np.intp))
        keys = np.concatenate([char_keys, np.array(word_keys, dtype=np.intp)])
        keys, counts = np.unique(keys, return_counts=True)
        rows, cols = np.divmod(keys, width)
        values = np.log(counts.astype(np.float64)) + 1.0
        values *= self.idf[cols]
        block = rows * 2 + (cols >= len(self.char_vocab))
        norms = np.sqrt(np.bincount(block, weights=values * values, minlength=2 * len(texts)))
        values /= norms[block]
        return rows, cols, values

    @property
    def _word_columns(self) -> dict[str, int]:
        """The word n-grams' columns (after the character n-grams'), made once."""
        if self._word_offset is None:
            offset = len(self.char_vocab)
            self._word_offset = {g: j + offset for g, j in self.word_vocab.items()}
        return self._word_offset

    def probabilities(self, norm: str, rule_categories: Iterable[str], rule_intent: str,
                      rule_signals: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(probability per category, probability per intent) for normalised text."""
        cats, intents = self.probabilities_many(
            [norm], [(tuple(rule_categories), rule_intent, tuple(rule_signals))])
        return cats[0], intents[0]

    def probabilities_many(self, norms: Sequence[str],
                           rule_outputs: Sequence[tuple[Sequence[str], str, Sequence[str]]],
                           chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities per category (n x categories) and per intent (n x intents) of many
        normalised texts at once: one sparse matrix and one product per ``chunk`` texts. Row i
        is what ``probabilities`` gives text i alone, to the last bit: each row is summed on
        its own, in the same order, whatever else is in the batch."""
        n_cat = len(self.categories)
        cat_out = np.zeros((len(norms), n_cat))
        intent_out = np.zeros((len(norms), len(self.intents)))
        rule_index = {code: self.n_text + i for i, code in enumerate(self.categories)}
        intent_index = {name: self.n_text + n_cat + i for i, name in enumerate(self.intents)}
        signal_index = {name: self.n_text + n_cat + len(self.intents) + i
                        for i, name in enumerate(self.signals)}
        for lo in range(0, len(norms), chunk):
            part = norms[lo:lo + chunk]
            rows, cols, values = self._text_matrix([model_text(n) for n in part])
            # The rules' columns (value 1) go first in each row: every row then has at least
            # one entry (its rules' intent), which reduceat needs.
            rule_rows, rule_cols = [], []
            for i, (found, intent, signals) in enumerate(rule_outputs[lo:lo + chunk]):
                for code in found:
                    rule_rows.append(i)
                    rule_cols.append(rule_index[code])
                rule_rows.append(i)
                rule_cols.append(intent_index[intent])
                for name in signals:
                    if name in signal_index:
                        rule_rows.append(i)
                        rule_cols.append(signal_index[name])
            all_rows = np.concatenate([np.asarray(rule_rows, dtype=np.intp), rows])
            order = np.argsort(all_rows, kind="stable")
            all_cols = np.concatenate([np.asarray(rule_cols, dtype=np.intp), cols])[order]
            all_values = np.concatenate([np.ones(len(rule_rows)), values])[order]
            starts = np.searchsorted(all_rows[order], np.arange(len(part)))
            # float32 halves the memory the gathered rows take (the file keeps float32 anyway)
            gathered = self._scoring_weights[all_cols]
            gathered *= all_values.astype(np.float32)[:, None]
            z = np.add.reduceat(gathered, starts, axis=0).astype(np.float64)
            z += self.bias
            p = 1.0 / (1.0 + np.exp(-z))
            width = n_cat + len(self.intents)
            for m in range(self.members):   # the members' probabilities, averaged
                block = p[:, m * width:(m + 1) * width]
                cat_out[lo:lo + len(part)] += block[:, :n_cat]
                # one-vs-rest intents, normalised as scikit-learn does
                intent_out[lo:lo + len(part)] += block[:, n_cat:] / block[:, n_cat:].sum(axis=1, keepdims=True)
        if self.members > 1:
            cat_out /= self.members
            intent_out /= self.members
        return cat_out, intent_out

    def top_terms(self, norm: str, output: int, limit: int = 3) -> list[str]:
        """The n-grams that pushed ``output`` (a category or intent column) up most: the
        model's explanation."""
        columns, values = self._text_vector(model_text(norm))
        if not len(columns):
            return []
        names = self._column_names()
        width = len(self.categories) + len(self.intents)
        contrib = values * sum(self.weights[columns, m * width + output] for m in range(self.members))
        order = np.argsort(-contrib)
        terms: list[str] = []
        for k in order:
            if contrib[k] <= 0 or len(terms) == limit:
                break
            term = names[columns[k]].strip()
            if term and not any(term in t or t in term for t in terms):
                terms.append(term)
        return terms

    def _column_names(self) -> list[str]:
        if not hasattr(self, "_names"):
            names = [""] * self.n_text
            for term, j in self.char_vocab.items():
                names[j] = term
            for term, j in self.word_vocab.items():
                names[len(self.char_vocab) + j] = term
            self._names = names
        return self._names

    # --- file ---------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the model atomically (a half-written file is never loaded). Uncompressed: a
        few MB, written and read in milliseconds (compressing took ~0.1 s per save)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        char_terms = sorted(self.char_vocab, key=self.char_vocab.get)
        word_terms = sorted(self.word_vocab, key=self.word_vocab.get)
        header = {"format": MODEL_FORMAT, "categories": self.categories, "intents": self.intents,
                  "signals": self.signals, "members": self.members, "meta": self.meta}
        with open(tmp, "wb") as fh:
            np.savez(fh, header=np.array(json.dumps(header, ensure_ascii=False)),
                                char_terms=np.array(char_terms, dtype=str),
                                word_terms=np.array(word_terms, dtype=str),
                                idf=self.idf, weights=self.weights.astype(np.float32),
                                bias=self.bias, thresholds=self.thresholds)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        """Read a model file; raises ``ValueError`` when it is not one this version can use."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != MODEL_FORMAT:
                    raise ValueError(f"{path}: model format {header.get('format')}, expected {MODEL_FORMAT}")
                return cls(categories=header["categories"], intents=header["intents"],
                           char_vocab={t: i for i, t in enumerate(data["char_terms"].tolist())},
                           word_vocab={t: i for i, t in enumerate(data["word_terms"].tolist())},
                           idf=data["idf"], weights=data["weights"].astype(np.float64),
                           bias=data["bias"], thresholds=data["thresholds"], meta=header["meta"],
                           signals=header["signals"], members=header["members"])
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a classifier model ({exc})") from None


def read_meta(path: Path) -> dict[str, Any] | None:
    """What a model file says it was trained on (its ``meta``), whatever its format: an older
    file cannot be scored but still names the office's cases it learnt from. ``None`` when the
    file is missing or not a model file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["header"])).get("meta")
    except (OSError, KeyError, ValueError, AttributeError):
        return None
    return meta if isinstance(meta, dict) else None


def data_hash(examples: Sequence[tuple[str, Sequence[str], str]]) -> str:
    """A short hash of the training examples (order-independent)."""
    lines = sorted(json.dumps([t, sorted(c), i], ensure_ascii=False) for t, c, i in examples)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def fit(examples: Sequence[tuple[str, Sequence[str], str]],
        rule_outputs: Sequence[tuple[Sequence[str], str, Sequence[str]]],
        norms: Sequence[str], categories: Sequence[str], intents: Sequence[str],
        meta: dict[str, Any] | None = None, rule_weight: float = RULE_WEIGHT,
        signals: Sequence[str] = (), text_member: bool = True) -> TrainedModel:
    """Train on ``examples`` (text, categories, intent) whose normalised texts are ``norms`` and
    whose rule results are ``rule_outputs`` (categories, intent, signals seen; ``signals``
    names the signal columns). Two members, averaged: one reading the n-grams and the rules'
    columns, one (``text_member``) the n-grams alone; ``rule_weight=0`` is the second alone.
    Imports scikit-learn (only training needs it)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [model_text(n) for n in norms]
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, lowercase=False,
                           sublinear_tf=True, min_df=2, dtype=np.float64)
    word = TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, lowercase=False,
                           sublinear_tf=True, min_df=1, dtype=np.float64)
    # Trained on rule columns scaled by rule_weight, scored on 0/1 columns: the weights are
    # scaled back below. rule_weight=0 is "the model alone".
    rules = np.vstack([rule_features(c, i, categories, intents, seen, signals)
                       for c, i, seen in rule_outputs]) * rule_weight
    x = sparse.hstack([char.fit_transform(texts), word.fit_transform(texts),
                       sparse.csr_matrix(rules)]).tocsr()
    n_text = len(char.vocabulary_) + len(word.vocabulary_)
    # The signals help the intents only (measured: README); the categories never read them.
    x_categories = x if SIGNALS_FOR_CATEGORIES else x[:, :n_text + len(categories) + len(intents)]
    # One binary logistic regression per category and per intent (liblinear: a fraction of a
    # second each, where lbfgs' multinomial fit took several seconds on this data).
    targets = [[code in c for _, c, _ in examples] for code in categories]
    targets += [[want == i for _, _, i in examples] for want in intents]
    labels = [np.array(t, dtype=int) for t in targets]
    blocks = [_fit_member(x_categories, x, labels, len(categories))]
    blocks[0][0][n_text:] *= rule_weight
    if rule_weight and text_member:   # the second member reads the n-grams alone
        blocks.append(_fit_member(x_categories[:, :n_text], x[:, :n_text], labels, len(categories),
                                  width=x.shape[1]))
    weights = np.hstack([w for w, _ in blocks])
    bias = np.concatenate([b for _, b in blocks])
    meta = dict(meta or {})
    meta.setdefault("trained_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    meta["data_hash"] = data_hash(examples)
    meta["examples"] = len(examples)
    return TrainedModel(categories=list(categories), intents=list(intents),
                        char_vocab={t: int(i) for t, i in char.vocabulary_.items()},
                        word_vocab={t: int(i) for t, i in word.vocabulary_.items()},
                        idf=np.concatenate([char.idf_, word.idf_]), weights=weights, bias=bias,
                        thresholds=np.full(len(categories),
                                           ENSEMBLE_THRESHOLD if len(blocks) > 1 else 0.5),
                        meta=meta, signals=list(signals), members=len(blocks))


def _fit_member(x_categories: Any, x_intents: Any, labels: list[np.ndarray], n_categories: int,
                width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(weights, bias) of one member: a logistic regression per label, the categories on
    ``x_categories`` and the intents on ``x_intents``; ``width`` rows of weights (the features
    a member does not read get 0)."""
    from sklearn.linear_model import LogisticRegression
    weights = np.zeros((width or x_intents.shape[1], len(labels)))
    bias = np.zeros(len(labels))
    for k, y in enumerate(labels):
        if y.min() == y.max():  # no example (or only examples) of this label: rules decide
            bias[k] = -20.0 if y.max() == 0 else 20.0
            continue
        features = x_categories if k < n_categories else x_intents
        lr = LogisticRegression(C=C_CATEGORIES if k < n_categories else C_INTENT,
                                class_weight="balanced", solver="liblinear",
                                random_state=SEED).fit(features, y)
        weights[:features.shape[1], k], bias[k] = lr.coef_[0], lr.intercept_[0]
    return weights, bias
