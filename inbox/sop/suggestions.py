"""Suggested answers on a case (SOP step 2): what the case page offers beside the reply box, and
what became of them.

The ranking is ``inbox.understand.suggest``; here a case's question is read (the citizen's
messages since the last answer), an open mass incident's answer goes first, every text is
filled for this case (``workflow.render_template``), and the officer's choice is recorded when
the reply is queued: a ``suggestion_outcome`` event saying which suggestion was put in the box
and whether it went out as it was (``used``), changed (``edited``), or none was taken
(``ignored``). Nothing is ever sent without a person: a suggestion only fills the box.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from inbox.labels import CATEGORY_LABELS
from inbox.models import Case, Event, Incident, IncidentCase, Message, Outbox, User, utcnow
from inbox.sop import workflow
from inbox.understand.suggest import Suggestion, suggester_for

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

OUTCOMES = ("used", "edited", "ignored")
#: A sent text this close to the suggestion (difflib ratio) counts as used unchanged: a
#: trailing space or a fixed typo is not an edit worth counting.
SAME = 0.98


@dataclass(frozen=True)
class Shown:
    """A suggestion as the case page shows it: filled for this case."""

    suggestion: Suggestion
    text: str          # {nama}, {nomor} ... filled in

    @property
    def key(self) -> str:
        return self.suggestion.key


def case_question(case: Case) -> str:
    """The citizen's messages since the office last answered (all of them if never)."""
    last_answer = (Outbox.select(Outbox.created_at)
                   .where((Outbox.case == case) & (Outbox.purpose == "answer")
                          & (Outbox.status == "sent"))
                   .order_by(Outbox.created_at.desc()).limit(1).scalar())
    query = Message.select(Message.text).where((Message.case == case) & (Message.direction == "in"))
    if last_answer is not None:
        query = query.where(Message.created_at > last_answer)
    texts = [text for (text,) in query.order_by(Message.created_at, Message.id).tuples()]
    if not texts:   # the newest message came before the answer was queued: take the last one
        texts = [text for (text,) in Message.select(Message.text).where(
            (Message.case == case) & (Message.direction == "in"))
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(1).tuples()]
    return " ".join(texts)[:2000]


def for_case(rt: Runtime, case: Case, limit: int = 3) -> list[Shown]:
    """The best ``limit`` answers for ``case``, filled for it; an open incident's answer first."""
    found: list[Suggestion] = []
    incident = open_incident_of(case)
    if incident is not None and incident.answer_text.strip():
        found.append(Suggestion("incident", incident.id, f"gangguan massal: {incident.title}",
                                incident.answer_text, 1.0,
                                "pengaduan ini tertaut ke gangguan massal yang sedang berlangsung"))
    suggester = suggester_for(rt.db, rt.config.suggest["history_days"])
    found += suggester.suggest(case_question(case), case.effective_categories,
                               limit=limit - len(found), exclude_cases=[case.id],
                               labels=CATEGORY_LABELS)
    return [Shown(s, workflow.render_template(rt, s.text, case)) for s in found[:limit]]


def for_text(rt: Runtime, text: str, limit: int = 3) -> list[Suggestion]:
    """``aduan suggest``: the ranked suggestions for a text, classified as ingest would."""
    classifier = rt.ingest_options.classifier
    categories = classifier.classify(text).categories if classifier is not None else ()
    suggester = suggester_for(rt.db, rt.config.suggest["history_days"])
    return suggester.suggest(text, categories, limit=limit, labels=CATEGORY_LABELS)


def preparing(rt: Runtime) -> bool:
    """True while the past answers are still being read (the first minutes after a start)."""
    return suggester_for(rt.db, rt.config.suggest["history_days"]).preparing


def open_incident_of(case: Case) -> Incident | None:
    """The open incident ``case`` is linked to, if any."""
    return (Incident.select().join(IncidentCase)
            .where((IncidentCase.case == case) & (IncidentCase.state == "linked")
                   & (Incident.status == "open")).first())


def find(rt: Runtime, case: Case, key: str) -> Shown | None:
    """The suggestion ``key`` ("knowledge:12", "answer:345", "incident:3") for ``case`` now, or
    None when it is no longer among the case's suggestions."""
    return next((s for s in for_case(rt, case, limit=3) if s.key == key), None)


def record_outcome(case: Case, actor: User, shown: list[str], chosen: str | None,
                   suggested_text: str | None, sent_text: str, worded: bool = False) -> str:
    """Record what became of the suggestions shown for ``case`` when ``actor`` queued
    ``sent_text``; returns the outcome. ``worded``: the box held the local model's draft."""
    if not chosen or suggested_text is None:
        outcome = "ignored"
        similarity = None
    else:
        similarity = round(difflib.SequenceMatcher(None, suggested_text.strip(),
                                                   sent_text.strip()).ratio(), 3)
        outcome = "used" if similarity >= SAME else "edited"
    detail: dict[str, Any] = {"result": outcome, "shown": shown[:3]}
    if chosen:
        detail["source"] = chosen
        detail["similarity"] = similarity
    if worded:
        detail["worded"] = True
    Event.record("suggestion_outcome", case=case, actor=actor, **detail)
    return outcome


@dataclass
class Usage:
    """How often suggestions were used, for the dashboard."""

    replies: int = 0     # replies written while suggestions were shown
    used: int = 0
    edited: int = 0
    ignored: int = 0
    by_kind: dict[str, int] | None = None

    def share(self, outcome: str) -> str:
        return f"{100 * getattr(self, outcome) / self.replies:.0f}%" if self.replies else "–"


def usage(since: datetime, until: datetime | None = None) -> Usage:
    """Outcomes recorded from ``since`` (to ``until``)."""
    query = Event.select(Event.detail).where((Event.action == "suggestion_outcome")
                                             & (Event.at >= since))
    if until is not None:
        query = query.where(Event.at < until)
    found = Usage(by_kind={})
    for (detail,) in query.tuples():
        outcome = (detail or {}).get("result")
        if outcome not in OUTCOMES:
            continue
        found.replies += 1
        setattr(found, outcome, getattr(found, outcome) + 1)
        source = (detail or {}).get("source") or ""
        if outcome != "ignored" and ":" in source:
            kind = source.split(":", 1)[0]
            found.by_kind[kind] = found.by_kind.get(kind, 0) + 1
    return found


def last_days(days: int = 30, now: datetime | None = None) -> Usage:
    return usage((now or utcnow()) - timedelta(days=days))

