"""The maladministration type a complaint suggests (Ombudsman RI's list, one or none per case):
the second axis beside the service categories, read from what the classifier already knows.

Only a suggestion: ingest keeps it on the case (``Case.maladministration_suggested``) and the group
admin or the bidang confirms or changes it (``inbox.sop.handling.set_maladministration``); the
citizen never sees it. The rule, in order:

1. only a complaint has one (a question, a thank-you, a greeting or spam has none);
2. the first word list of ``keywords.toml`` ``[maladministration]`` that finds something, in the
   order of ``ORDER`` (the more specific conduct first: a demanded fee outranks the wait it
   caused, rude staff outrank a slow queue);
3. otherwise a queue complaint (``antrean_pelayanan``) is *penundaan berlarut*;
4. otherwise none.

The words were written from the reference (``indonesian-domain.md`` §4.2: queues -> penundaan
berlarut, calo or pungli -> permintaan imbalan) and the labelling rules; they are not trained.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from inbox.labels import MALADMINISTRATION_LABELS
from inbox.understand.classify import _DATA, _compile, _words, normalise

#: The lists tried in order; the first that finds words decides.
ORDER: tuple[str, ...] = ("permintaan_imbalan", "tidak_patut", "diskriminasi",
                          "penyimpangan_prosedur", "tidak_memberikan_pelayanan", "tidak_kompeten",
                          "penundaan_berlarut")
#: Categories that suggest a type by themselves when no word did.
BY_CATEGORY: dict[str, str] = {"antrean_pelayanan": "penundaan_berlarut"}

_LISTS: dict[str, re.Pattern[str]] = {}
for _code in ORDER:
    if _code not in MALADMINISTRATION_LABELS:
        raise ImportError(f"keywords.toml [maladministration].{_code} is no Ombudsman type")
    _pattern = _compile(list(_DATA.get("maladministration", {}).get(_code, [])),
                        f"maladministration.{_code}")
    if _pattern is not None:
        _LISTS[_code] = _pattern


@dataclass(frozen=True)
class Suggestion:
    """A suggested type and the words (or the category) it was read from."""

    code: str
    evidence: list[str] = field(default_factory=list)


def suggest(text: str, categories: list[str] | tuple[str, ...], intent: str | None) -> Suggestion | None:
    """The type ``text`` suggests, given the classifier's ``categories`` and ``intent``; None
    when it suggests none (see the module's rule)."""
    if intent != "complaint":
        return None
    norm = normalise(text)
    for code in ORDER:
        pattern = _LISTS.get(code)
        found = _words(pattern, norm) if pattern is not None else []
        if found:
            return Suggestion(code, found)
    for category, code in BY_CATEGORY.items():
        if category in categories:
            return Suggestion(code, [category])
    return None
