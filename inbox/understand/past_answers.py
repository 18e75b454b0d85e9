"""The office's past answers as suggestions read them: each answer sent to a citizen (an
``Outbox`` row sent with purpose ``answer``) with the citizen's messages it answered, made fit
for another citizen (``general_answer``), read in batches so a year is never in memory at once.
"""
from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from inbox import pii
from inbox.models import Case, Contact, Message, Outbox

BATCH = 5000              # answers per batch; the newest batch also sets the word idf
QUESTION_CHARS = 240      # of a past question kept (masked) for comparing and showing
MIN_ANSWER_CHARS = 15
GAP = {"nik": "[[NIK]]", "kk": "[[nomor KK]]", "number16": "[[nomor]]", "phone": "[[nomor HP]]",
       "email": "[[alamat e-mail]]"}


class PastAnswer(NamedTuple):
    outbox_id: int
    case_id: int
    reference: str
    answer: str                   # generalised: {nama}, {nomor}, [[...]] gaps
    question: str                 # the citizen's messages it answered, masked, shortened
    categories: tuple[str, ...]
    sent_at: datetime


def general_answer(text: str, names: Sequence[str], reference: str) -> str:
    """A sent answer made fit for another citizen: the name (whole, or a word of it written as
    a name is) -> {nama}, case number -> {nomor}, personal data -> a ``[[...]]`` gap."""
    found = pii.find_personal_data(text)
    for finding in reversed(found):
        text = text[:finding.start] + GAP.get(finding.kind, "[[nomor]]") + text[finding.end:]
    if reference:
        text = text.replace(reference, "{nomor}")
    for name in sorted({n.strip().lstrip("@") for n in names if n and len(n.strip()) >= 3},
                       key=len, reverse=True):
        text = re.sub(rf"(?<!\w)@?{re.escape(name)}(?!\w)", "{nama}", text, flags=re.IGNORECASE)
    # A first name alone ("Terima kasih, Siti"): each word of the name, written as a name is.
    for word in {w for n in names for w in re.split(r"[\s@._\-]+", n or "")
                 if len(w) >= 3 and w.isalpha()}:
        for form in {word.capitalize(), word.upper()}:
            text = re.sub(rf"(?<![\w{{]){re.escape(form)}(?![\w}}])", "{nama}", text)
    return text.strip()


def sent_since(since: datetime) -> Any:
    """The answers sent since ``since`` (an unexecuted query; order and narrow it)."""
    return (Outbox.select(Outbox.id, Outbox.case, Outbox.text, Outbox.sent_at, Outbox.created_at)
            .where((Outbox.status == "sent") & (Outbox.purpose == "answer")
                   & Outbox.case.is_null(False) & (Outbox.sent_at >= since)))


def batches(query: Any, size: int = BATCH) -> Iterator[list[PastAnswer]]:
    """The answers of ``query`` made fit for another citizen, with what they answered, a batch
    at a time (a year is never held in memory at once)."""
    cursor = query.tuples().iterator()
    while True:
        part = list(itertools.islice(cursor, size))
        if not part:
            return
        rows: list[PastAnswer] = []
        for lo in range(0, len(part), 500):
            rows += _answered(part[lo:lo + 500])
        yield rows


def _answered(part: list[tuple[Any, ...]]) -> list[PastAnswer]:
    case_ids = {case_id for _, case_id, _, _, _ in part}
    cases = {c.id: c for c in Case.select(Case.id, Case.reference, Case.categories,
                                          Case.categories_override, Contact.name,
                                          Contact.handle)
             .join(Contact).where(Case.id.in_(case_ids))}
    asked: dict[int, list[tuple[datetime, str]]] = {}
    for case_id, text, at in (Message.select(Message.case, Message.text, Message.created_at)
                              .where(Message.case.in_(case_ids) & (Message.direction == "in"))
                              .order_by(Message.created_at, Message.id).tuples()):
        asked.setdefault(case_id, []).append((at, text))
    rows: list[PastAnswer] = []
    answered: dict[int, datetime] = {}
    for outbox_id, case_id, text, sent_at, created_at in sorted(part):
        case = cases.get(case_id)
        if case is None:
            continue
        before = answered.get(case_id)
        question = " ".join(t for at, t in asked.get(case_id, [])
                            if at <= created_at and (before is None or at > before))
        answered[case_id] = created_at
        answer = general_answer(text, [case.contact.name, case.contact.handle],
                                case.reference)
        if not question.strip() or len(answer) < MIN_ANSWER_CHARS:
            continue
        rows.append(PastAnswer(outbox_id, case_id, case.reference, answer,
                           pii.mask(question)[:QUESTION_CHARS],
                           tuple(case.effective_categories), sent_at))
    return rows



@functools.lru_cache(maxsize=1)
def background_texts() -> tuple[str, ...]:
    """The shipped labelled citizen messages (``labelled_messages.jsonl``), for word statistics."""
    from inbox.understand.training import SHIPPED_SET, read_examples
    return tuple(text for text, _, _ in read_examples(SHIPPED_SET))
