"""Fill a database with a realistic year of one busy office, fast, for the benchmarks.

    .venv/bin/python bench/generate.py --url sqlite:///bench/out/year.db --fresh
    .venv/bin/python bench/generate.py --config config.toml --days 30 --cases-per-day 200

The citizens, texts and threads come from the sandbox generator
(``SandboxConnector.message(n, epoch)``, each account with its own seed), re-timed to a
realistic arrival pattern (busier mornings and weekdays) and extended with follow-ups. Each
case then walks the SOP the way officers do: acknowledgement of a DM, the admin's answer or
escalation, the group admin's assignment to a bidang, the bidang's answer, forwarding, delivery,
sometimes a thank-you; spam, greetings and bare thanks are dismissed; a few cases get stuck and
go overdue; the cases opened in the last days are still in progress.

The rows are those the product writes (ingest, workflow, outbox): the classifier's categories
and intent with their ``CaseCategory`` rows, the personal-data flags and masked summary,
``ADU-YYYYMM-NNNN`` references continuing the monthly ``Counter`` (which is left where the
product goes on numbering), due dates from ``rt.calendar``, an Event for every state change and
an Outbox row and an outbound Message for every reply. What differs is only how they are
written: multi-row INSERTs through the driver in large transactions, with ids assigned here,
because the product's one-statement-per-step writes would take hours for a year.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import heapq
import math
import random
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import peewee as pw
from tqdm import tqdm

from bench.common import REPO
from connectors.base import InboundMessage
from connectors.sandbox import FOLLOW_UPS, MESSAGES, SandboxConnector
from inbox import pii
from inbox.arrive.ingest import NO_ACK_INTENTS, IngestOptions, acknowledgement_text
from inbox.db import database, is_postgres
from inbox.models import (Account, Case, CaseCategory, Contact, Counter, Division, Event,
                          JSONField, Message, Outbox, Usage, User, UTCDateTimeField,
                          drop_search_index)
from inbox.setup.config import Config, load_config
from inbox.setup.migrations import MIGRATIONS
from inbox.setup.runtime import Runtime, setup

# Arrival pattern: share of a day's messages per WIB hour (citizens write in the morning and
# after work, rarely at night) and per weekday (Monday busiest, Sunday quietest).
HOUR_WEIGHTS = [0.3, 0.2, 0.1, 0.1, 0.3, 1.0, 2.5, 4.5, 6.5, 7.5, 7.5, 7.0, 6.0, 6.5, 6.5, 6.0,
                5.5, 5.0, 5.0, 5.5, 5.5, 4.5, 3.0, 1.2]
WEEKDAY_FACTOR = [1.25, 1.15, 1.1, 1.05, 1.0, 0.8, 0.65]
KINDS = ["x", "facebook", "instagram"]
OFFICE_OPENS = 7.5 * 3600     # 07:30 WIB
OFFICE_CLOSES = 16 * 3600     # 16:00 WIB: the daily recap is made then too
ANSWERS = [
    "Terima kasih, {nama}. Pengaduan {nomor} sudah kami tindak lanjuti: silakan datang ke loket "
    "Dukcapil dengan membawa KK asli; KTP-el akan dicetak pada hari yang sama.",
    "Halo {nama}, untuk {nomor}: berkas Anda sudah kami periksa dan dokumen dapat diambil di "
    "kecamatan mulai besok pukul 08.00 WIB.",
    "Mohon maaf atas ketidaknyamanannya, {nama}. Data Anda ({nomor}) sudah kami perbaiki; "
    "silakan cek kembali melalui aplikasi IKD.",
    "Terima kasih atas informasinya, {nama}. Persyaratan lengkap ada di laman resmi kami; bila "
    "masih ada kendala, balas pesan ini dengan menyebut nomor {nomor}.",
]
DIVISION_ANSWERS = [
    "Blangko tersedia kembali; pencetakan untuk pemohon ini dijadwalkan besok.",
    "Data sudah dikoreksi di SIAK, mohon disampaikan ke pemohon untuk cek ulang.",
    "Akta sudah ditandatangani, dapat diambil di loket 3.",
    "Kendala server pusat sudah selesai; pemohon dapat mengunggah ulang berkas.",
]
NOTES = ["Pemohon sudah ditelepon, menunggu berkas.", "Sudah dicek di SIAK.",
         "Mohon prioritas, untuk pendaftaran sekolah."]


@dataclass
class Volume:
    """The knobs of the generated year (command-line options)."""

    days: int = 365
    end: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    cases_per_day: float = 600.0
    accounts: int = 3
    follow_ups: float = 3.0
    escalation_share: float = 0.3
    group_answer_share: float = 0.2
    stuck_share: float = 0.01
    thanks_share: float = 0.25
    override_share: float = 0.03
    note_share: float = 0.05
    seed: int = 1
    batch_cases: int = 4000


@dataclass(order=True)
class Thread:
    """A citizen's first message and what followed it, as the sandbox produced it."""

    opened: float
    order: int
    account: int = field(compare=False)
    root: InboundMessage = field(compare=False)
    sandbox_follow_ups: list[InboundMessage] = field(compare=False)


class AccountStream:
    """One generated account: sandbox messages re-timed to the arrival pattern."""

    def __init__(self, index: int, account: Account, volume: Volume, tz: Any) -> None:
        self.index = index
        self.account = account
        self.sandbox = SandboxConnector(account.name, {"seed": volume.seed * 1000 + index})
        rng = random.Random(f"arrivals:{volume.seed}:{index}")
        per_day = volume.cases_per_day / volume.accounts / 0.84  # ~16% are sandbox follow-ups
        start_day = (volume.end - timedelta(days=volume.days)).astimezone(tz).date()
        self.times: list[float] = []
        for offset in range(volume.days + 1):
            day = start_day + timedelta(days=offset)
            mean = per_day * WEEKDAY_FACTOR[day.weekday()] / (sum(WEEKDAY_FACTOR) / 7)
            count = max(0, round(rng.gauss(mean, math.sqrt(mean))))
            midnight = day_start(day, tz)
            hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
            self.times.extend(sorted(midnight + h * 3600 + rng.random() * 3600 for h in hours))
        lo = (volume.end - timedelta(days=volume.days)).timestamp()
        self.times = [t for t in self.times if lo <= t <= volume.end.timestamp()]
        self.epoch = datetime.fromtimestamp(self.times[0] if self.times else lo, timezone.utc)

    def kind(self, message: InboundMessage) -> str:
        """What the platform calls a public message: X has mentions, Meta has comments."""
        if not message.public:
            return "dm"
        return "mention" if self.account.kind == "x" else "comment"

    def threads(self) -> Iterator[Thread]:
        """Roots in time order, each with the sandbox follow-ups that answer it.

        A sandbox follow-up names a parent at most 15 messages earlier, so a look-ahead of 16
        messages finds them all and each message is built once."""
        window: deque[tuple[float, InboundMessage]] = deque()
        upcoming = iter(range(len(self.times)))

        def fill() -> None:
            while len(window) < 17:
                n = next(upcoming, None)
                if n is None:
                    return
                at = datetime.fromtimestamp(self.times[n], timezone.utc)
                message = self.sandbox.message(n, self.epoch)
                window.append((self.times[n], replace(message, created_at=at,
                                                      kind=self.kind(message))))

        fill()
        while window:
            at, message = window.popleft()
            fill()
            if message.in_reply_to is not None:
                continue  # already handed out with its parent
            follow = [m for _, m in window if m.in_reply_to == message.external_id]
            yield Thread(at, int(message.raw["n"]) * 16 + self.index, self.index, message, follow)


def day_start(day: date, tz: Any) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


class Generator:
    """Builds the rows of each case and writes them in large transactions."""

    def __init__(self, rt: Runtime, volume: Volume) -> None:
        self.rt = rt
        self.volume = volume
        self.tz = rt.calendar.tz
        self.options: IngestOptions = rt.ingest_options
        self.classifier = self.options.classifier
        self.rng = random.Random(f"lifecycle:{volume.seed}")
        self.now = volume.end.timestamp()
        self.pending: dict[str, list[tuple]] = {}
        self.counts: dict[str, int] = {}
        self.stats: dict[str, int] = {}
        self.contacts: dict[tuple[str, str], int] = {
            (k, p): i for k, p, i in Contact.select(Contact.kind, Contact.platform_user_id,
                                                    Contact.id).tuples()}
        self.next_id = {model: (model.select(pw.fn.MAX(model.id)).scalar() or 0) + 1
                        for model in (Case, Contact, Outbox)}
        self.counters = {c.key: c.value for c in Counter.select()}
        self.users = ensure_users()
        self.divisions = {d.code: d.id for d in Division.select().where(Division.active == True)}  # noqa: E712
        self.thanks_texts = [t for _, t in MESSAGES + FOLLOW_UPS
                             if self.classify(t)[1] == "thanks" and "{" not in t]
        self.platform_seq = 0
        self.category_codes = sorted({code for _, t in MESSAGES for code in self.classify(t)[0]})

    # --- small helpers ---------------------------------------------------------------------

    @lru_cache(maxsize=4096)
    def classify(self, text: str) -> tuple[tuple[str, ...], str | None]:
        result = self.classifier.classify(text)
        return tuple(result.categories), result.intent

    @lru_cache(maxsize=4096)
    def personal(self, text: str) -> bool:
        return pii.has_personal_data(text)

    @lru_cache(maxsize=2048)
    def due(self, local_day: date) -> float:
        at = datetime(local_day.year, local_day.month, local_day.day, 12, tzinfo=self.tz)
        return self.rt.calendar.due_at(at).timestamp()

    def due_at(self, t: float) -> float:
        return self.due(datetime.fromtimestamp(t, self.tz).date())

    @lru_cache(maxsize=2048)
    def working(self, day: date) -> bool:
        return self.rt.calendar.is_working_day(day)

    def office_time(self, t: float) -> float:
        """The first moment at or after ``t`` when an officer is at the desk (working days,
        07:30–16:00 WIB); work arriving outside hours waits for the next morning."""
        local = datetime.fromtimestamp(t, self.tz)
        day = local.date()
        second = local.hour * 3600 + local.minute * 60 + local.second
        if self.working(day) and second < OFFICE_CLOSES:
            return t if second >= OFFICE_OPENS else day_start(day, self.tz) + OFFICE_OPENS + \
                self.rng.random() * 1800
        day += timedelta(days=1)
        while not self.working(day):
            day += timedelta(days=1)
        return day_start(day, self.tz) + OFFICE_OPENS + self.rng.random() * 3600

    def after(self, t: float, median_hours: float, sigma: float = 1.0) -> float:
        """An officer's next step: a log-normal delay, then office hours."""
        return self.office_time(t + median_hours * 3600 * math.exp(self.rng.gauss(0, sigma)))

    def recap_day(self, t: float) -> date | None:
        """The day of the first daily recap (16:00 WIB, working days) at or after ``t``."""
        local = datetime.fromtimestamp(t, self.tz)
        day = local.date()
        if not (self.working(day) and local.hour * 3600 + local.minute * 60 < OFFICE_CLOSES):
            day += timedelta(days=1)
            while not self.working(day):
                day += timedelta(days=1)
        return day if day_start(day, self.tz) + OFFICE_CLOSES <= self.now else None

    def new_id(self, model: type[pw.Model]) -> int:
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def reference(self, t: float) -> str:
        month = datetime.fromtimestamp(t, self.tz).strftime("%Y%m")
        key = "ADU-" + month
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"{key}-{self.counters[key]:04d}"

    def add(self, table: str, row: tuple) -> None:
        self.pending.setdefault(table, []).append(row)

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def platform_id(self, kind: str) -> str:
        self.platform_seq += 1
        return f"gen-{kind}-out-{self.volume.seed}-{self.platform_seq}"

    # --- one case --------------------------------------------------------------------------

    def build(self, thread: Thread, account: Account) -> None:
        root = thread.root
        t0 = thread.opened
        ingest_lag = self.rng.uniform(5, 60)  # the poll that fetched it
        contact_id = self.contact(account.kind, root)
        categories, intent = self.classify(root.text)
        case_id = self.new_id(Case)
        reference = self.reference(t0)
        due = self.due_at(t0)
        case: dict[str, Any] = dict(
            id=case_id, reference=reference, account=account.id, contact=contact_id,
            thread_id=root.thread_id, public=root.public, status="new", queue="admin",
            division=None, assignee=None, categories=list(categories), categories_override=None,
            intent=intent, intent_override=None, personal_data=self.personal(root.text),
            summary=pii.mask(root.text)[:280], dismiss_reason=None, alert=None, opened_at=t0,
            due_at=due, last_inbound_at=t0, reply_window_closes_at=None, first_response_at=None,
            escalated_at=None, division_answered_at=None, answered_at=None, closed_at=None,
            recapped_on=None, reopen_count=0, updated_at=t0 + ingest_lag,
            referral_forwarded=False)
        inbound = [(t0, root)]
        self.event(case_id, "opened", t0 + ingest_lag, None, external_id=root.external_id,
                   categories=list(categories), intent=intent)

        # The path through the SOP and when each step happens; steps after "now" stay undone.
        rng = self.rng
        extra = self.poisson(self.volume.follow_ups) if intent not in ("spam", "thanks") else 0
        follow = list(thread.sandbox_follow_ups) + self.follow_ups(root, t0, extra)
        if intent in self.options.auto_dismiss:
            self.dismiss(case, t0 + ingest_lag, intent, automatic=True)
            follow = []
        elif intent in ("spam", "thanks") or (intent == "greeting" and not follow):
            close_at = self.after(t0, 2, 1.2)
            if close_at <= self.now:
                self.dismiss(case, close_at, intent or "greeting")
                follow = [m for m in follow if m.created_at.timestamp() < close_at]
        thread_messages = [root] + sorted(follow, key=lambda m: m.created_at)
        if self.wants_ack(case):
            text = acknowledgement_text(self.options, SimpleNamespace(
                name=root.author_name, handle=root.author_handle), reference, dt(due))
            self.reply(case, account, t0 + ingest_lag, None, text, "acknowledgement",
                       thread_messages)

        if case["status"] == "new" and intent not in ("spam", "thanks") \
                and not (intent == "greeting" and not follow):
            self.work(case, account, t0, thread_messages)
        closed_at = case["closed_at"]
        for message in follow:
            at = message.created_at.timestamp()
            if at > self.now or (closed_at is not None and at >= closed_at):
                continue
            inbound.append((at, message))
        if case["status"] == "answered" and self.thanks_texts and rng.random() < self.volume.thanks_share:
            at = closed_at + 3600 * math.exp(rng.gauss(0.5, 1.0))
            if at <= self.now:
                text = rng.choice(self.thanks_texts)
                thanks = replace(root, external_id=root.external_id + ".t", created_at=dt(at),
                                 text=text, in_reply_to=None,
                                 raw={**root.raw, "text": text, "follow_up": "thanks"})
                inbound.append((at, thanks))
                self.event(case_id, "citizen_thanked", at + ingest_lag, None,
                           external_id=thanks.external_id)
        inbound.sort(key=lambda pair: pair[0])
        last = inbound[-1][0]
        case["last_inbound_at"] = last
        if not root.public:
            case["reply_window_closes_at"] = last + self.options.reply_window_hours * 3600
        for at, message in inbound:
            has_pii = self.personal(message.text)
            case["personal_data"] = case["personal_data"] or has_pii
            self.message(account, message, case_id, contact_id, "in", at, at + ingest_lag, has_pii)
        if case["status"] in ("answered", "not_complaint"):
            case["recapped_on"] = self.recap_day(case["closed_at"])
        case["updated_at"] = max(case["updated_at"], last + ingest_lag)
        self.category_rows(case)
        self.add("case", tuple(case[name] for name in CASE_COLUMNS))
        self.count("cases")
        self.count("status:" + case["status"])
        if case["answered_at"] and case["answered_at"] > case["due_at"]:
            self.count("answered_late")
        if case["status"] not in ("answered", "not_complaint") and case["due_at"] \
                and case["due_at"] < self.now:
            self.count("overdue")

    def work(self, case: dict[str, Any], account: Account, t0: float,
             thread: list[InboundMessage]) -> None:
        """Admin → (group admin → bidang → admin) → delivery, stopping where "now" is."""
        rng, v = self.rng, self.volume
        root = thread[0]
        stuck_at = rng.randrange(4) if rng.random() < v.stuck_share else None
        admin = rng.choice(self.users["admin"])
        if rng.random() < v.note_share:
            self.event(case["id"], "note", self.after(t0, 1), admin, text=rng.choice(NOTES))
        if rng.random() < v.override_share:
            self.override(case, self.after(t0, 1), admin)
        acted = self.after(t0, 1.5, 1.1)
        if stuck_at == 0 or acted > self.now:
            return
        author, purpose_text, from_status = admin, rng.choice(ANSWERS), "new"
        if rng.random() < v.escalation_share:
            self.transition(case, "escalated", "group_admin", acted, admin, "escalated",
                            note="Mohon arahan, perlu dicek bidang teknis.")
            case["escalated_at"] = acted
            group = self.users["group_admin"][0]
            decided = self.after(acted, 3)
            if stuck_at == 1 or decided > self.now:
                return
            if rng.random() < v.group_answer_share:
                author, acted, from_status = group, decided, "escalated"
            else:
                code = division_for(case["categories"], self.divisions, rng)
                case["division"] = self.divisions[code]
                self.transition(case, "at_division", "division", decided, group, "assigned",
                                division=code)
                answered = self.after(decided, 18, 0.9)
                if stuck_at == 2 or answered > self.now:
                    return
                officer = self.users["division:" + code][0]
                self.transition(case, "division_answered", "admin", answered, officer,
                                "division_answered", text=rng.choice(DIVISION_ANSWERS))
                case["division_answered_at"] = answered
                acted = self.after(answered, 1.5)
                from_status = "division_answered"
                if stuck_at == 3 or acted > self.now:
                    return
        text = purpose_text.format(nama=root.author_name or root.author_handle,
                                   nomor=case["reference"])
        self.reply(case, account, acted, author, text, "answer", thread, from_status)

    def transition(self, case: dict[str, Any], status: str, queue: str, at: float,
                   actor: tuple[int, str], action: str, **detail: Any) -> None:
        case["status"], case["queue"], case["updated_at"] = status, queue, at
        self.event(case["id"], action, at, actor, **detail)

    def dismiss(self, case: dict[str, Any], at: float, reason: str, automatic: bool = False) -> None:
        actor = None if automatic else self.rng.choice(self.users["admin"])
        # No SLA for a non-complaint: both ingest and the workflow clear due_at.
        case.update(status="not_complaint", dismiss_reason=reason, closed_at=at, due_at=None,
                    alert=None, updated_at=at)
        if automatic:
            self.event(case["id"], "dismissed", at, None, reason=reason, automatic=True)
        else:
            self.event(case["id"], "dismissed", at, actor, reason=reason)

    def override(self, case: dict[str, Any], at: float, actor: tuple[int, str]) -> None:
        if not self.category_codes:
            return
        after = [self.rng.choice(self.category_codes)]
        self.event(case["id"], "categories_changed", at, actor, before=case["categories"],
                   after=after, intent_before=case["intent"], intent_after=case["intent"])
        case["categories_override"] = after

    def wants_ack(self, case: dict[str, Any]) -> bool:
        if case["status"] != "new" or case["intent"] in NO_ACK_INTENTS:
            return False
        return self.options.acknowledge_public if case["public"] else self.options.acknowledge_private

    def reply(self, case: dict[str, Any], account: Account, queued: float,
              author: tuple[int, str] | None, text: str, purpose: str,
              thread: list[InboundMessage], from_status: str = "new") -> None:
        """An Outbox row, its events and, once the outbox has sent it, the outbound message
        (as ``workflow._queue_answer`` and ``outbox.record_delivered`` write them)."""
        outbox_id = self.new_id(Outbox)
        sent = queued + self.rng.uniform(1, 8)  # the outbox runs every few seconds
        delivered = sent <= self.now
        platform_id = self.platform_id(account.kind) if delivered else None
        self.add("outbox", (outbox_id, case["id"], text, case["public"], purpose,
                            "sent" if delivered else "pending", 1 if delivered else 0,
                            dt(queued), None, None, platform_id, None,
                            author[0] if author else None, dt(queued),
                            dt(sent) if delivered else None))
        if purpose == "acknowledgement":
            self.event(case["id"], "acknowledgement_queued", queued, None, outbox_id=outbox_id)
        else:
            case.update(status="replying", queue="admin", updated_at=queued)
            self.event(case["id"], "reply_queued", queued, author, outbox_id=outbox_id,
                       purpose=purpose, from_status=from_status, text=text,
                       personal_data_confirmed=False)
        if not delivered:
            return
        self.event(case["id"], "delivered", sent, None, outbox_id=outbox_id, purpose=purpose,
                   platform_id=platform_id)
        answered = [m for m in thread if m.created_at.timestamp() <= sent][-1]  # the newest
        out = InboundMessage(external_id=platform_id, thread_id=case["thread_id"],
                             kind=answered.kind, public=case["public"], author_id="office",
                             author_handle="", author_name="", text=text, created_at=dt(sent),
                             in_reply_to=answered.external_id)
        self.message(account, out, case["id"], None, "out", sent, sent, self.personal(text),
                     author=author[0] if author else None)
        if case["first_response_at"] is None:
            case["first_response_at"] = sent
        if purpose == "answer":
            case.update(status="answered", queue="admin", answered_at=sent, closed_at=sent,
                        alert=None, updated_at=sent)

    def follow_ups(self, root: InboundMessage, t0: float, count: int) -> list[InboundMessage]:
        """More messages from the same citizen in the thread: a chat goes on in bursts."""
        out, at = [], t0
        for k in range(count):
            at += self.rng.expovariate(1 / 1500)
            intent, template = self.rng.choice(FOLLOW_UPS[:3] + FOLLOW_UPS[4:] + MESSAGES[:33])
            text = template.format(kec="Brebes", hari=self.rng.randint(2, 20),
                                   nik=f"3329{self.rng.randrange(10**12):012d}")
            out.append(replace(root, external_id=f"{root.external_id}.{k + 1}", created_at=dt(at),
                               text=text, in_reply_to=root.external_id,
                               raw={**root.raw, "text": text, "follow_up": k + 1}))
        return out

    def poisson(self, mean: float) -> int:
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def contact(self, kind: str, message: InboundMessage) -> int:
        key = (kind, message.author_id)
        if key not in self.contacts:
            self.contacts[key] = self.new_id(Contact)
            self.add("contact", (self.contacts[key], kind, message.author_id,
                                 message.author_handle, message.author_name,
                                 dt(message.created_at.timestamp())))
        return self.contacts[key]

    def message(self, account: Account, m: InboundMessage, case_id: int, contact_id: int | None,
                direction: str, created: float, received: float, has_pii: bool,
                author: int | None = None) -> None:
        self.add("message", (account.id, m.external_id, case_id, contact_id, direction, m.kind,
                             m.public, m.thread_id, m.text, dt(created), dt(received), m.permalink,
                             m.in_reply_to, has_pii, author,
                             (m.raw or None) if direction == "in" else None))
        self.count("messages")

    def event(self, case_id: int, action: str, at: float, actor: tuple[int, str] | None,
              **detail: Any) -> None:
        self.add("event", (case_id, actor[0] if actor else None,
                           actor[1] if actor else "system", action, dt(at), detail))
        self.count("events")

    def category_rows(self, case: dict[str, Any]) -> None:
        effective = case["categories_override"] if case["categories_override"] is not None \
            else case["categories"]
        for code in sorted(set(effective)):
            self.add("category", (case["id"], code))

    # --- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is pending in one transaction, parents before children."""
        tables = [("contact", Contact, CONTACT_FIELDS), ("case", Case, CASE_FIELDS),
                  ("category", CaseCategory, [CaseCategory.case, CaseCategory.code]),
                  ("outbox", Outbox, OUTBOX_FIELDS), ("message", Message, MESSAGE_FIELDS),
                  ("event", Event, EVENT_FIELDS)]
        with database.atomic():
            for name, model, fields in tables:
                rows = self.pending.pop(name, [])
                if name == "case":
                    rows = [tuple(dt(v) if isinstance(v, float) else v for v in row)
                            for row in rows]
                bulk_insert(model, fields, rows)

    def finish(self, accounts: list[Account]) -> None:
        """Counters, polling usage and sequences, so the product continues after the data."""
        with database.atomic():
            for key, value in self.counters.items():
                Counter.insert(key=key, value=value).on_conflict(
                    conflict_target=[Counter.key], update={Counter.value: value}).execute()
            start = (self.volume.end - timedelta(days=self.volume.days)).date()
            for account in accounts:
                per_day = (Message.select(Message.created_at.truncate("day").alias("d"),
                                          pw.fn.COUNT(Message.id))
                           .where((Message.account == account) & (Message.direction == "in"))
                           .group_by(pw.SQL("1")).tuples())
                polls = 86400 // max(account.poll_interval, 1)
                rows = [(account.id, as_date(day), polls, polls, n, n) for day, n in per_day]
                rows = [r for r in rows if r[1] >= start]
                for chunk in range(0, len(rows), 2000):
                    Usage.insert_many(rows[chunk:chunk + 2000], fields=[
                        Usage.account, Usage.day, Usage.polls, Usage.requests, Usage.resources,
                        Usage.messages]).on_conflict_ignore().execute()
            if is_postgres():
                for model in (Contact, Case, Outbox, Message, Event, CaseCategory, Usage):
                    table = model._meta.table_name
                    database.execute_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")
        database.execute_sql("ANALYZE")  # fresh statistics, as a long-running database has


def bulk_insert(model: type[pw.Model], fields: list[pw.Field], rows: list[tuple]) -> None:
    """INSERT ``rows`` through the driver's batch call, each value converted by its field's own
    ``db_value`` (the conversion peewee applies): peewee building one SQL text per chunk was
    three quarters of the generator's time."""
    if not rows:
        return
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    # Only the fields whose conversion changes the value (UTC datetimes, JSON); the rest are
    # built here already as the driver takes them (ids, strings, booleans).
    special = [(i, f.db_value) for i, f in enumerate(fields)
               if isinstance(f, (UTCDateTimeField, JSONField, pw.DateField))]
    data = []
    for row in rows:
        values = list(row)
        for i, convert in special:
            values[i] = convert(values[i])
        data.append(values)
    cursor = database.cursor()
    if is_postgres():
        from psycopg2.extras import execute_values
        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s', data,
                       page_size=2000)
    else:
        marks = ", ".join("?" * len(fields))
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', data)


def dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def division_for(categories: list[str], divisions: dict[str, int], rng: random.Random) -> str:
    """The bidang that answers a category (Dukcapil's split of the work)."""
    rules = [("akta", "capil"), ("kawin", "capil"), ("cerai", "capil"), ("mati", "capil"),
             ("lahir", "capil"), ("ikd", "pdip"), ("digital", "pdip"), ("online", "pdip"),
             ("nik", "piak"), ("data", "piak"), ("calo", "sekretariat"),
             ("pungli", "sekretariat"), ("petugas", "sekretariat"), ("ktp", "dafduk"),
             ("kk", "dafduk"), ("kia", "dafduk"), ("pindah", "dafduk")]
    for category in categories:
        for needle, code in rules:
            if needle in category and code in divisions:
                return code
    return rng.choice(sorted(divisions))


def ensure_users() -> dict[str, list[tuple[int, str]]]:
    """The officers who act in the generated year (created once; password ``bench-password``)."""
    from werkzeug.security import generate_password_hash
    password_hash = None
    wanted = [("bench_admin1", "admin", None), ("bench_admin2", "admin", None),
              ("bench_group", "group_admin", None)]
    wanted += [(f"bench_{d.code}", "division", d) for d in Division.select().where(
        Division.active == True).order_by(Division.code)]  # noqa: E712
    users: dict[str, list[tuple[int, str]]] = {}
    for username, role, division in wanted:
        user = User.get_or_none(User.username == username)
        if user is None:
            password_hash = password_hash or generate_password_hash("bench-password")
            user = User.create(username=username, password_hash=password_hash, role=role,
                               division=division, full_name=username.replace("_", " ").title())
        key = f"division:{division.code}" if division else role
        users.setdefault(key, []).append((user.id, user.username))
    return users


def generated_accounts(count: int) -> list[Account]:
    """The office's channels for the generated data: X, Facebook and Instagram in turn.

    They are not in config.toml (they have no credentials), so the product treats them like
    removed accounts: never polled, their cases fully readable."""
    accounts = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        name = f"bench_{kind}" + (f"_{i // len(KINDS) + 1}" if i >= len(KINDS) else "")
        label = {"x": "X @dukcapilbrebes", "facebook": "Facebook Dukcapil Brebes",
                 "instagram": "Instagram @dukcapil.brebes"}[kind] + " (data contoh)"
        Account.insert(name=name, kind=kind, label=label, enabled=False,
                       poll_interval=60).on_conflict_ignore().execute()
        accounts.append(Account.get(Account.name == name))
    return accounts


CASE_COLUMNS = ["id", "reference", "account", "contact", "thread_id", "public", "status", "queue",
                "division", "assignee", "categories", "categories_override", "intent",
                "intent_override", "personal_data", "summary", "dismiss_reason", "alert",
                "opened_at", "due_at", "last_inbound_at", "reply_window_closes_at",
                "first_response_at", "escalated_at", "division_answered_at", "answered_at",
                "closed_at", "recapped_on", "reopen_count", "updated_at", "referral_forwarded"]
CASE_FIELDS = [getattr(Case, name) for name in CASE_COLUMNS]
CONTACT_FIELDS = [Contact.id, Contact.kind, Contact.platform_user_id, Contact.handle, Contact.name,
                  Contact.created_at]
OUTBOX_FIELDS = [Outbox.id, Outbox.case, Outbox.text, Outbox.public, Outbox.purpose, Outbox.status,
                 Outbox.attempts, Outbox.next_attempt_at, Outbox.lease_owner, Outbox.lease_until,
                 Outbox.platform_id, Outbox.last_error, Outbox.created_by, Outbox.created_at,
                 Outbox.sent_at]
MESSAGE_FIELDS = [Message.account, Message.external_id, Message.case, Message.contact,
                  Message.direction, Message.kind, Message.public, Message.thread_id, Message.text,
                  Message.created_at, Message.received_at, Message.permalink, Message.in_reply_to,
                  Message.personal_data, Message.author, Message.raw]
EVENT_FIELDS = [Event.case, Event.actor, Event.actor_name, Event.action, Event.at, Event.detail]


def open_runtime(config_path: str | None, url: str | None) -> Runtime:
    """The runtime of ``--config`` (its database) or of the shipped config with ``--url``."""
    config: Config = load_config(Path(config_path) if config_path else REPO / "config.toml")
    if url:
        config.database = {**config.database, "url": url}
    return Runtime(config)


def generate(rt: Runtime, volume: Volume, fresh: bool = False, progress: bool = True
             ) -> dict[str, int]:
    """Generate the year into ``rt``'s database; returns counts of what was written."""
    if fresh:
        from bench.common import drop_all_tables
        drop_all_tables()
    setup(rt.config)
    if rt.ingest_options.classifier is None:
        raise SystemExit("the configured ingest has no classifier")
    accounts = generated_accounts(volume.accounts)
    if Case.select().where(Case.account.in_([a.id for a in accounts])).exists():
        raise SystemExit("this database already holds generated data; add --fresh to start over")
    gen = Generator(rt, volume)
    streams = [AccountStream(i, a, volume, gen.tz) for i, a in enumerate(accounts)]
    expected = int(sum(len(s.times) for s in streams) * 0.84)
    started = time.perf_counter()
    with search_index_set_aside(), \
            tqdm(total=expected, unit="case", disable=not progress, smoothing=0.05) as bar:
        built = 0
        for thread in heapq.merge(*(s.threads() for s in streams)):
            gen.build(thread, accounts[thread.account])
            built += 1
            if built % volume.batch_cases == 0:
                gen.flush()
                bar.update(volume.batch_cases)
        gen.flush()
        bar.update(built % volume.batch_cases)
    gen.finish(accounts)
    gen.stats["seconds"] = round(time.perf_counter() - started)
    return gen.stats


@contextmanager
def search_index_set_aside() -> Iterator[None]:
    """Load first, index after: kept by its triggers row by row, the search index of migration 3
    more than doubled the generation of a year (FTS5 writes a segment per executemany row); it is
    dropped here and built at the end by migration 3 itself, in one pass."""
    search_migration = next(apply for number, _, apply in MIGRATIONS if number == 3)
    present = drop_search_index(database.obj)
    yield
    if present:
        with database.atomic():
            search_migration(database.obj)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", help="config.toml whose database receives the data")
    where.add_argument("--url", help="database URL (sqlite:///path or postgresql://...)")
    parser.add_argument("--fresh", action="store_true", help="drop every table first")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end", help="last moment of the year, ISO (default: now)")
    parser.add_argument("--cases-per-day", type=float, default=600.0)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--follow-ups", type=float, default=3.0,
                        help="mean extra citizen messages per case")
    parser.add_argument("--escalation-share", type=float, default=0.3)
    parser.add_argument("--stuck-share", type=float, default=0.01,
                        help="cases left unanswered (they go overdue)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    volume = Volume(days=args.days, cases_per_day=args.cases_per_day, accounts=args.accounts,
                    follow_ups=args.follow_ups, escalation_share=args.escalation_share,
                    stuck_share=args.stuck_share, seed=args.seed)
    if args.end:
        end = datetime.fromisoformat(args.end)
        volume.end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    rt = open_runtime(args.config, args.url)
    try:
        stats = generate(rt, volume, fresh=args.fresh)
    finally:
        rt.close()
    print(f"{stats['cases']:,} cases, {stats['messages']:,} messages, {stats['events']:,} events "
          f"in {stats['seconds']} s")
    print("status: " + ", ".join(f"{k[7:]} {v:,}" for k, v in sorted(stats.items())
                                 if k.startswith("status:")))
    print(f"answered late: {stats.get('answered_late', 0):,}; open and overdue now: "
          f"{stats.get('overdue', 0):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
