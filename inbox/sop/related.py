"""A citizen's other cases: the same contact's, the ones an officer linked, and the ones on other
channels that are probably the same person — proposed, never merged by themselves.

"Probably the same person" is: the same NIK, phone number or e-mail address written in a
message (or being the WhatsApp number or e-mail address the citizen writes from), or the same
name with an overlapping complaint (a shared category or alike text) within ``RECENT_DAYS``.
Numbers are found through ``CaseMark`` rows: a keyed hash (HMAC-SHA256 with a key kept in the
data folder, ``marks_key``) of each number a case's messages hold, so the database never holds
a second copy of a NIK and a copied database alone cannot be searched for one. The daemon
hashes new messages every minute (``index_marks``); the case page catches up first and hashes
its own case, so a case is never missed because the daemon has not come by yet.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee as pw

from inbox import pii
from inbox.db import atomic_write
from inbox.models import (Account, Case, CaseLink, CaseMark, Contact, Counter, Event, Message,
                          User, utcnow)
from inbox.setup.keys import data_key
from inbox.understand import textsim

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

RECENT_DAYS = 60
MARK_KINDS = ("nik", "phone", "email")
KEY_FILE = "marks_key"
CURSOR = "case_marks"       # Counter: the last message id hashed
KEY_CHECK = "case_marks_key"  # Counter: which key the marks were made with
NAME_SIMILAR = 0.2
REASONS = {"nik": "NIK yang sama", "phone": "nomor HP yang sama", "email": "alamat e-mail yang sama"}


@dataclass(frozen=True)
class Candidate:
    """A case that is probably the same citizen's, and why."""

    case: Case
    reason: str


def marks_key(data_dir: Path) -> bytes:
    """The key of the marks, made once (mode 600) in the data folder."""
    return data_key(data_dir, KEY_FILE).encode("ascii")


def normal(kind: str, value: str) -> str:
    """One form per number: a phone as its national digits (``8123...``), an e-mail in lower case."""
    if kind == "email":
        return value.strip().lower()
    digits = pii.digits(value)
    if kind == "phone":
        digits = digits[2:] if digits.startswith("62") else digits.lstrip("0")
    return digits


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{normal(kind, value)}".encode(), hashlib.sha256).hexdigest()[:32]


def found_in(text: str) -> set[tuple[str, str]]:
    """(kind, value) of every NIK, phone number and e-mail address in ``text``."""
    return {(f.kind, f.value) for f in pii.find_personal_data(text) if f.kind in MARK_KINDS}


def of_contact(contact: Contact) -> set[tuple[str, str]]:
    """The number or address a citizen writes from, where the channel is one."""
    if contact.kind == "whatsapp" and pii.digits(contact.platform_user_id):
        return {("phone", contact.platform_user_id)}
    if contact.kind == "email" and "@" in contact.platform_user_id:
        return {("email", contact.platform_user_id)}
    return set()


def _key_checked(data_dir: Path) -> bytes:
    """The key; when it is not the one the marks were made with (a new data folder), the marks
    are made again from the start."""
    key = marks_key(data_dir)
    check = int(hashlib.sha256(key).hexdigest()[:7], 16)
    stored = Counter.get_or_none(Counter.key == KEY_CHECK)
    if stored is None or stored.value != check:
        with atomic_write():
            CaseMark.delete().execute()
            Counter.insert(key=CURSOR, value=0).on_conflict(
                conflict_target=[Counter.key], update={Counter.value: 0}).execute()
            Counter.insert(key=KEY_CHECK, value=check).on_conflict(
                conflict_target=[Counter.key], update={Counter.value: check}).execute()
    return key


def _store(key: bytes, marks: dict[int, set[tuple[str, str]]]) -> None:
    rows = [{"case": case_id, "kind": kind, "digest": digest(key, kind, value)}
            for case_id, found in marks.items() for kind, value in found]
    for lo in range(0, len(rows), 300):
        CaseMark.insert_many(rows[lo:lo + 300]).on_conflict_ignore().execute()


def index_marks(rt: Runtime, batch: int = 2000) -> int:
    """Hash the numbers of the citizens' messages not hashed yet (a batch); returns how many
    messages were read."""
    key = _key_checked(rt.data_dir)
    cursor = Counter.get_or_none(Counter.key == CURSOR)
    last = cursor.value if cursor else 0
    rows = list(Message.select(Message.id, Message.case, Message.text, Message.contact)
                .where((Message.id > last) & (Message.direction == "in")
                       & Message.case.is_null(False))
                .order_by(Message.id).limit(batch))
    if not rows:
        return 0
    contacts = {c.id: c for c in Contact.select().where(
        Contact.id.in_({m.contact_id for m in rows if m.contact_id}))}
    marks: dict[int, set[tuple[str, str]]] = {}
    for m in rows:
        found = marks.setdefault(m.case_id, set())
        found |= found_in(m.text)
        if m.contact_id in contacts:
            found |= of_contact(contacts[m.contact_id])
    with atomic_write():
        _store(key, marks)
        Counter.insert(key=CURSOR, value=rows[-1].id).on_conflict(
            conflict_target=[Counter.key], update={Counter.value: rows[-1].id}).execute()
    return len(rows)


def mark_case(rt: Runtime, case: Case) -> set[str]:
    """Hash ``case``'s own numbers now; returns their digests."""
    key = _key_checked(rt.data_dir)
    found = set(of_contact(case.contact))
    for (text,) in Message.select(Message.text).where(
            (Message.case == case) & (Message.direction == "in")).tuples():
        found |= found_in(text)
    digests = {digest(key, kind, value): (kind, value) for kind, value in found}
    # Every case page asks: write only what is missing, so a page view usually takes no write
    # lock (the daemon's ingest waits for SQLite's one writer).
    stored = {d for (d,) in CaseMark.select(CaseMark.digest).where(CaseMark.case == case).tuples()}
    missing = {pair for d, pair in digests.items() if d not in stored}
    if missing:
        with atomic_write():
            _store(key, {case.id: missing})
    return set(digests)


# --- what the case page shows ------------------------------------------------------------------

def linked(case: Case) -> list[Case]:
    """The cases an officer linked to ``case``."""
    ids = [other for (other,) in CaseLink.select(CaseLink.other).where(CaseLink.case == case).tuples()]
    ids += [one for (one,) in CaseLink.select(CaseLink.case).where(CaseLink.other == case).tuples()]
    return list(Case.select(Case, Account).join(Account).where(Case.id.in_(ids))
                .order_by(Case.id.desc())) if ids else []


def candidates(rt: Runtime, case: Case, visible: pw.ModelSelect, limit: int = 10) -> list[Candidate]:
    """Cases of other contacts that are probably the same citizen's, newest first, among
    ``visible`` (the cases the user may see); linked ones are left out."""
    since = utcnow() - timedelta(days=RECENT_DAYS)
    known = {c.id for c in linked(case)} | {case.id}
    found: dict[int, Candidate] = {}
    index_marks(rt, batch=500)   # the messages since the daemon's last minute (usually none)
    digests = mark_case(rt, case)
    if digests:
        # Only the newest ``limit`` can be shown: a number many citizens quote (an office's
        # own, a sample NIK) marks thousands of cases, and reading them all took a second.
        marked = CaseMark.select(CaseMark.case).where(CaseMark.digest.in_(digests))
        others = list(_shown(visible).where(
            Case.id.in_(marked) & (Case.contact != case.contact_id) & Case.id.not_in(known))
            .order_by(Case.id.desc()).limit(limit))
        by_case: dict[int, set[str]] = {}
        if others:
            for case_id, kind in CaseMark.select(CaseMark.case, CaseMark.kind).where(
                    CaseMark.digest.in_(digests) & CaseMark.case.in_([o.id for o in others])
            ).tuples():
                by_case.setdefault(case_id, set()).add(kind)
        for other in others:
            kinds = sorted(by_case.get(other.id, ()), key=MARK_KINDS.index)
            found[other.id] = Candidate(other, ", ".join(REASONS[k] for k in kinds))
    name = " ".join((case.contact.name or "").lower().split())
    if len(name) >= 6 and " " in name:
        others = (_shown(visible).join_from(Case, Contact).where(
            (pw.fn.LOWER(Contact.name) == name) & (Case.contact != case.contact_id)
            & (Case.opened_at >= since) & Case.id.not_in(known | set(found)))
            .order_by(Case.id.desc()).limit(20))
        others = list(others)
        unshared = [o.id for o in others
                    if not set(case.effective_categories) & set(o.effective_categories)]
        texts = _texts_of(unshared + [case.id] if unshared else [])   # one query, not one per case
        mine: Grams | None = None
        for other in others:   # newest first: one with ``limit`` newer ones found cannot be shown
            if sum(1 for newer in found if newer > other.id) >= limit:
                break
            if other.id in texts:   # no category in common: the texts must be alike
                if mine is None:
                    mine = _grams(texts[case.id])
                if _alike(mine, _grams(texts[other.id])) < NAME_SIMILAR:
                    continue
            found[other.id] = Candidate(other, "nama sama dan pengaduan mirip")
    return sorted(found.values(), key=lambda c: -c.case.id)[:limit]


def _shown(visible: pw.ModelSelect) -> pw.ModelSelect:
    """``visible`` selecting what the page shows of a proposed case (its reference, channel,
    date and summary; ``case_others.html``) and what the comparison reads (its categories),
    with its account: no query per case. A case row is wide (forty columns, its account's
    twenty more): building every column of thirty rows was a fifth of a case page."""
    return (visible.select(Case.id, Case.reference, Case.account, Case.contact, Case.status,
                           Case.opened_at, Case.summary, Case.categories, Case.categories_override,
                           Account.id, Account.kind, Account.name, Account.label)
            .join_from(Case, Account))


def _texts_of(case_ids: list[int], first: int = 3) -> dict[int, str]:
    """{case id: its first ``first`` citizen's messages, joined}."""
    found: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        for case_id, text in (Message.select(Message.case, Message.text)
                              .where(Message.case.in_(case_ids) & (Message.direction == "in"))
                              .order_by(Message.case, Message.id).tuples()):
            if len(found[case_id]) < first:
                found[case_id].append(text)
    return {case_id: " ".join(texts) for case_id, texts in found.items()}


@dataclass(frozen=True)
class Grams:
    """A text's character n-grams as the pair comparison needs them: each n-gram's sublinear
    term frequency (``1 + log count``) and the sum of their squares."""

    tf: dict[str, float]
    square: float


def _grams(text: str) -> Grams:
    counts = collections.Counter(textsim.char_grams(textsim.canonical_text(text)))
    tf = {gram: 1.0 + math.log(n) for gram, n in counts.items()}
    return Grams(tf, sum(w * w for w in tf.values()))


#: The smoothed IDF of an n-gram in one of the pair's two texts (one in both weighs 1.0):
#: ``textsim.Idf`` counted over the two texts.
_ONE_OF_TWO = math.log(3 / 2) + 1.0


def _alike(a: Grams, b: Grams) -> float:
    """The cosine of two texts' TF-IDF character n-gram vectors, the IDF counted over the pair
    (``textsim.vector`` and ``textsim.cosine`` with ``textsim.Idf.count([a, b])``), computed
    from the n-grams they share: a case page compares its text with up to 20 others."""
    shared = a.tf.keys() & b.tf.keys()
    if not a.tf or not b.tf:
        return 0.0
    k2 = _ONE_OF_TWO * _ONE_OF_TWO
    dot = sum(a.tf[g] * b.tf[g] for g in shared)
    # a shared n-gram weighs 1.0, the others _ONE_OF_TWO: take the difference off the sum
    norm_a = a.square * k2 - sum(a.tf[g] ** 2 for g in shared) * (k2 - 1.0)
    norm_b = b.square * k2 - sum(b.tf[g] ** 2 for g in shared) * (k2 - 1.0)
    return dot / math.sqrt(norm_a * norm_b) if norm_a > 0 and norm_b > 0 else 0.0


def link(case: Case, other: Case, actor: User, reason: str = "") -> bool:
    """Record that ``case`` and ``other`` are the same citizen's; False when already linked."""
    if case.id == other.id:
        return False
    low, high = sorted((case.id, other.id))
    with atomic_write():
        if CaseLink.select().where((CaseLink.case == low) & (CaseLink.other == high)).exists():
            return False
        # A second officer's click at the same instant: the unique index keeps one row.
        CaseLink.insert(case=low, other=high, reason=reason[:200], linked_by=actor.id,
                        linked_at=utcnow()).on_conflict_ignore().execute()
        for one, two in ((case, other), (other, case)):
            Event.record("case_linked", case=one, actor=actor, other=two.reference)
    return True


def unlink(case: Case, other: Case, actor: User) -> None:
    low, high = sorted((case.id, other.id))
    with atomic_write():
        if CaseLink.delete().where((CaseLink.case == low) & (CaseLink.other == high)).execute():
            for one, two in ((case, other), (other, case)):
                Event.record("case_unlinked", case=one, actor=actor, other=two.reference)


def schedule_marks(rt: Runtime, scheduler: Any, guard: Any) -> None:
    """The daemon hashes new messages' numbers every minute, a batch at a time."""
    def marks_step() -> int:
        return index_marks(rt)
    scheduler.every(60).seconds.do(guard(marks_step))
