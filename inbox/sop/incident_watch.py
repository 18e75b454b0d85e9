"""Watching for mass incidents (the daemon's step, every minute): cases that arrive while an
incident is proposed or open and match it are linked to it; the open cases of the last
``incidents.window_hours`` that no incident holds are grouped (``inbox.understand.outage``),
and a group from at least ``incidents.min_cases`` different citizens becomes a proposal on the
dashboard. What an officer then does with it is ``inbox.sop.incidents``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from inbox.db import atomic_write
from inbox.models import OPEN_STATUSES, Case, Event, Incident, IncidentCase, Message, User, utcnow
from inbox.understand.outage import Grouper, Item

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

log = logging.getLogger(__name__)

NOT_FOR = ("thanks", "greeting", "spam")   # intents never grouped into an incident
TITLES = {"sistem": "Gangguan sistem (SIAK / server pusat)", "blangko": "Blangko KTP-el habis",
          "listrik": "Listrik padam", "antrean_online": "Antrean online bermasalah",
          "tutup": "Pelayanan terhenti"}

def grouper(rt: Runtime) -> Grouper:
    return Grouper(rt.config.incidents["extra_outage_words"])


def step(rt: Runtime, now: datetime | None = None) -> bool:
    """Link new matching cases to proposed and open incidents, then propose new ones. True when
    something was linked or proposed."""
    if not rt.config.incidents["enabled"]:
        return False
    now = now or utcnow()
    linked = link_new_cases(rt, now)
    return bool(linked or propose(rt, now))


def _recent_items(rt: Runtime, since: datetime) -> list[Item]:
    """Open cases opened since ``since`` that no incident holds, as the grouping reads them."""
    held = IncidentCase.select(IncidentCase.case)
    cases = list(Case.select(Case.id, Case.contact, Case.categories, Case.categories_override,
                             Case.intent, Case.intent_override, Case.opened_at)
                 .where(Case.status.in_(OPEN_STATUSES) & (Case.opened_at >= since)
                        & Case.id.not_in(held))
                 .order_by(Case.opened_at, Case.id))
    cases = [c for c in cases if c.effective_intent not in NOT_FOR]
    texts = case_texts([c.id for c in cases])
    return [Item(c.id, c.contact_id, texts.get(c.id, ""), tuple(c.effective_categories),
                 c.opened_at) for c in cases if texts.get(c.id)]


def case_texts(case_ids: list[int]) -> dict[int, str]:
    """Each case's citizen messages (the first three), as one text."""
    found: dict[int, list[str]] = {}
    for lo in range(0, len(case_ids), 500):
        for case_id, text in (Message.select(Message.case, Message.text)
                              .where(Message.case.in_(case_ids[lo:lo + 500])
                                     & (Message.direction == "in"))
                              .order_by(Message.created_at, Message.id).tuples()):
            texts = found.setdefault(case_id, [])
            if len(texts) < 3:
                texts.append(text)
    return {case_id: " ".join(texts) for case_id, texts in found.items()}


def _members(incident: Incident, limit: int = 40) -> list[Item]:
    rows = list(IncidentCase.select(IncidentCase.case).where(
        (IncidentCase.incident == incident) & (IncidentCase.state == "linked"))
        .order_by(IncidentCase.id.desc()).limit(limit).tuples())
    ids = [case_id for (case_id,) in rows]
    texts = case_texts(ids)
    return [Item(i, 0, texts[i], (), incident.started_at) for i in ids if i in texts]


def link_new_cases(rt: Runtime, now: datetime) -> int:
    """Link recent unheld cases that match a proposed or open incident; returns how many."""
    incidents = list(Incident.select().where(Incident.status.in_(("proposed", "open")))
                     .order_by(Incident.id))
    if not incidents:
        return 0
    since = min(i.started_at for i in incidents) - timedelta(hours=1)
    items = _recent_items(rt, since)
    taken: set[int] = set()
    group = grouper(rt)
    for incident in incidents:
        members = _members(incident)
        outages = (incident.signature or {}).get("outages", [])
        fresh = [i for i in items if i.case_id not in taken
                 and i.at >= incident.started_at - timedelta(hours=1)]
        for item in group.matching(fresh, members, outages):
            if _link(incident, item.case_id, "automatic" if incident.status == "open" else "proposed"):
                taken.add(item.case_id)
    return len(taken)


def _link(incident: Incident, case_id: int, how: str, actor: User | None = None) -> bool:
    """Add ``case_id`` to ``incident`` unless some incident already holds it."""
    with atomic_write():
        if IncidentCase.select().where(IncidentCase.case == case_id).exists():
            return False
        IncidentCase.insert(incident=incident.id, case=case_id, how=how, linked_at=utcnow(),
                            linked_by=actor.id if actor else None).on_conflict_ignore().execute()
        if not IncidentCase.select().where((IncidentCase.case == case_id)
                                           & (IncidentCase.incident == incident.id)).exists():
            return False   # another worker linked it elsewhere at the same instant
        if incident.status == "open":
            Event.record("incident_linked", case=case_id, actor=actor, incident_id=incident.id,
                         title=incident.title)
    return True


def propose(rt: Runtime, now: datetime) -> list[Incident]:
    """New proposals from the recent cases no incident holds."""
    options = rt.config.incidents
    items = _recent_items(rt, now - timedelta(hours=options["window_hours"]))
    made = []
    for group in grouper(rt).groups(items, options["min_cases"]):
        title = TITLES.get(group.outages[0], "") if group.outages else ""
        with atomic_write():
            incident = Incident.create(
                title=title or "Banyak warga menanyakan hal yang sama", status="proposed",
                signature={"outages": group.outages, "categories": group.categories,
                           "words": group.words},
                started_at=group.first_at, proposed_at=now)
            IncidentCase.insert_many([{"incident": incident.id, "case": case_id, "how": "proposed",
                                       "linked_at": now} for case_id in group.case_ids]
                                     ).on_conflict_ignore().execute()
            Event.record("incident_proposed", incident_id=incident.id, cases=len(group.case_ids),
                         outages=group.outages)
        made.append(incident)
        log.info("incident %s proposed with %d cases", incident.id, len(group.case_ids))
    return made


def schedule_incidents(rt: Runtime, scheduler: Any, guard: Any) -> None:
    """The daemon links and proposes every minute (it takes a fraction of a second)."""
    def incidents_step() -> bool:
        return step(rt)
    scheduler.every(60).seconds.do(guard(incidents_step))
