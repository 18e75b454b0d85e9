"""Many citizens writing about the same thing at once: which recent messages belong together,
for proposing a mass incident (*gangguan massal*, ``inbox.sop.incidents``).

Two messages belong together when they name the same kind of outage (``OUTAGES``: the
national system or the network down, blank cards run out, the power gone, the service shut)
and read alike at all, or, without outage words, when they read very much alike and have the
same categories. Groups are grown from such pairs; a message that only resembles one member
of another group never joins it through that member (no chaining), because a pair counts only
when both name the same outage or both are near-copies. This module only decides; the SOP
wing stores proposals and links.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inbox.understand import textsim
from inbox.understand.past_answers import background_texts
from inbox.understand.textsim import Idf, Vector

#: Outage kinds and the words (``textsim.canonical_text`` without concepts) that name them. A message
#: names a kind when one of its patterns matches; "error" or "online" alone never does (an IKD
#: activation error is one citizen's trouble, not an outage).
OUTAGES: dict[str, tuple[str, ...]] = {
    "sistem": (r"server", r"siak", r"offline", r"down", r"gangguan", r"maintenance",
               r"sistem (?:\w+ )?(?:gagal|mati|lemot|lambat|rusak|eror|error|bermasalah|trouble)",
               r"(?:gagal|mati|lemot|lambat|rusak|bermasalah|trouble) (?:\w+ )?sistem",
               r"(?:jaringan|koneksi) (?:\w+ ){0,2}(?:putus|mati|gagal|lemot|down|hilang|tidak ada)",
               r"data (?:\w+ )?pusat", r"pusat (?:\w+ )?(?:gagal|mati|down|offline|gangguan)"),
    "blangko": (r"blangko (?:\w+ ){0,2}(?:habis|kosong|tidak ada|belum datang|belum ada|langka)",
                r"(?:habis|kosong|kehabisan) (?:\w+ )?blangko"),
    "listrik": (r"listrik (?:\w+ )?(?:padam|mati)", r"mati lampu", r"pemadaman"),
    "antrean_online": (r"antre online (?:\w+ )?(?:gagal|tidak bisa|kacau|penuh)",
                       r"(?:gagal|tidak bisa) (?:\w+ ){0,2}antre online"),
    "tutup": (r"(?:layanan|pelayanan|loket|kantor) (?:\w+ ){0,2}(?:tutup|ditutup|berhenti|terhenti|dihentikan|libur mendadak)",
              r"tidak ada (?:pelayanan|layanan)"),
}
#: Pairs that name the same outage need at least this similarity (they share the outage, and a
#: little of the wording); pairs without outage words need NEAR and the same categories.
TOGETHER = 0.08
NEAR = 0.55


@dataclass(frozen=True)
class Item:
    """One recent case, as the grouping sees it."""

    case_id: int
    contact_id: int
    text: str
    categories: tuple[str, ...]
    at: datetime


@dataclass
class Group:
    """Cases that belong together, with what they share."""

    case_ids: list[int]
    outages: list[str]
    categories: list[str]
    first_at: datetime
    contacts: int
    words: list[str] = field(default_factory=list)


class Grouper:
    """Outage patterns (built in, plus ``extra_words`` of config naming ``sistem`` outages)."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        patterns = {kind: list(words) for kind, words in OUTAGES.items()}
        patterns["sistem"] += [re.escape(textsim.canonical_text(w, concepts=False))
                               for w in extra_words if w.strip()]
        self.patterns = {kind: re.compile(r"(?<![a-z0-9])(?:" + "|".join(words) + r")(?![a-z0-9])")
                         for kind, words in patterns.items()}

    def outages(self, canonical: str) -> frozenset[str]:
        return frozenset(kind for kind, pattern in self.patterns.items() if pattern.search(canonical))

    def groups(self, items: Sequence[Item], min_contacts: int) -> list[Group]:
        """The groups of ``items`` written by at least ``min_contacts`` different citizens,
        largest first."""
        if len(items) < min_contacts:
            return []
        canon = [textsim.canonical_text(i.text) for i in items]
        vectors = _Vectors(canon)
        kinds = [self.outages(textsim.canonical_text(i.text, concepts=False)) for i in items]
        parent = list(range(len(items)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                if items[a].contact_id == items[b].contact_id:
                    continue
                shared = kinds[a] & kinds[b]
                if shared and vectors.similarity(a, b) >= TOGETHER:
                    parent[root(b)] = root(a)
                elif not kinds[a] and not kinds[b] and items[a].categories \
                        and items[a].categories == items[b].categories \
                        and vectors.similarity(a, b) >= NEAR:
                    parent[root(b)] = root(a)
        members: dict[int, list[int]] = {}
        for i in range(len(items)):
            members.setdefault(root(i), []).append(i)
        found = []
        for group in members.values():
            contacts = len({items[i].contact_id for i in group})
            if contacts < min_contacts:
                continue
            outages = sorted(set().union(*(kinds[i] for i in group)))
            cats = _common([items[i].categories for i in group])
            found.append(Group([items[i].case_id for i in group], outages, cats,
                               min(items[i].at for i in group), contacts,
                               vectors.top_words([i for i in group])))
        return sorted(found, key=lambda g: (-g.contacts, g.first_at))

    def matching(self, items: Sequence[Item], members: Sequence[Item],
                 outages: Sequence[str]) -> list[Item]:
        """The new cases among ``items`` that belong to an incident whose cases are ``members``
        and whose outage kinds are ``outages``."""
        if not members or not items:
            return []
        canon = [textsim.canonical_text(m.text) for m in members] + \
            [textsim.canonical_text(i.text) for i in items]
        vectors = _Vectors(canon)
        found = []
        for k, item in enumerate(items, start=len(members)):
            best = max(vectors.similarity(k, j) for j in range(len(members)))
            kinds = self.outages(textsim.canonical_text(item.text, concepts=False))
            if (kinds & set(outages) and best >= TOGETHER) or (not outages and best >= NEAR):
                found.append(item)
        return found


def _common(lists: list[tuple[str, ...]]) -> list[str]:
    """Categories at least half of the cases have."""
    counts: dict[str, int] = {}
    for cats in lists:
        for c in set(cats):
            counts[c] = counts.get(c, 0) + 1
    return sorted(c for c, n in counts.items() if 2 * n >= len(lists))


@functools.lru_cache(maxsize=1)
def _background() -> tuple[int, Counter[str], Counter[str]]:
    """Document frequencies of words and character n-grams over the shipped messages."""
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    texts = [textsim.canonical_text(t) for t in background_texts()]
    for c in texts:
        words.update(set(textsim.words(c)))
        chars.update(set(textsim.char_grams(c)))
    return len(texts), words, chars


class _Vectors:
    """Word and character vectors of a few texts, idf from them plus the shipped messages."""

    def __init__(self, canonical: list[str]) -> None:
        n, words, chars = _background()
        word_df, char_df = Counter(words), Counter(chars)
        for c in canonical:
            word_df.update(set(textsim.words(c)))
            char_df.update(set(textsim.char_grams(c)))
        self.word_idf = Idf(n + len(canonical), word_df)
        self.char_idf = Idf(n + len(canonical), char_df)
        self.words = [textsim.vector(textsim.words(c), self.word_idf) for c in canonical]
        self.chars = [textsim.vector(textsim.char_grams(c), self.char_idf) for c in canonical]

    def similarity(self, a: int, b: int) -> float:
        return 0.5 * textsim.cosine(self.words[a], self.words[b]) \
            + 0.5 * textsim.cosine(self.chars[a], self.chars[b])

    def top_words(self, members: list[int], limit: int = 5) -> list[str]:
        total: Vector = {}
        for i in members:
            for word, weight in self.words[i].items():
                total[word] = total.get(word, 0.0) + weight
        return [w for w, _ in sorted(total.items(), key=lambda kv: -kv[1])[:limit]]
