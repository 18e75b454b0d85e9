"""The inbox's tables (DESIGN.md, "Data model"). All times are stored as UTC.

Queries that several places need live here as small methods returning unexecuted queries.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import peewee as pw

from inbox.db import database
from inbox.sla import NO_CLOCK_INTENTS
from inbox.text import storable

# Case statuses (DESIGN.md state machine) with the labels officers read.
STATUS_LABELS: dict[str, str] = {
    "new": "Baru",
    "escalated": "Diteruskan ke Group Admin",
    "at_division": "Di Bidang Teknis",
    "division_answered": "Dijawab Bidang",
    "replying": "Sedang dikirim",
    "answered": "Selesai dijawab",
    "not_complaint": "Bukan pengaduan",
}
OPEN_STATUSES = ("new", "escalated", "at_division", "division_answered", "replying")
CLOSED_STATUSES = ("answered", "not_complaint")

ROLES: dict[str, str] = {
    "admin": "Admin",
    "group_admin": "Group Admin",
    "division": "Pejabat Bidang Teknis",
    "supervisor": "Pengawas (hanya baca)",
}

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "uncertain")

#: Channel kinds that carry practice messages only (issue 28): their cases are never counted in
#: an official recap, an export or the satisfaction index (``inbox.records.practice``).
PRACTICE_KINDS = ("sandbox",)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTimeField(pw.DateTimeField):
    """A datetime stored as naive UTC and always returned timezone-aware (UTC).

    SQLite has no time zone type and PostgreSQL's ``timestamp`` drops it; storing naive UTC
    everywhere keeps comparisons and date truncation identical on both."""

    def db_value(self, value: datetime | None) -> Any:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC field")
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> datetime | None:
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class JSONField(pw.TextField):
    """JSON kept as text: portable between SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        # A lone surrogate from a platform's JSON cannot be encoded as UTF-8; escaped, it is
        # plain ASCII and reads back the same. (json.dumps escapes NUL itself.)
        return text if storable(text) == text else json.dumps(value, sort_keys=True)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Division(BaseModel):
    """A *bidang* (technical division) of the office, synchronised from config."""

    code = pw.CharField(max_length=40, unique=True)
    name = pw.CharField(max_length=200)
    active = pw.BooleanField(default=True)


class User(BaseModel):
    username = pw.CharField(max_length=80, unique=True)
    full_name = pw.CharField(max_length=200, default="")
    password_hash = pw.CharField(max_length=300)
    role = pw.CharField(max_length=20)
    division = pw.ForeignKeyField(Division, null=True, backref="users", on_delete="SET NULL")
    is_superuser = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    failed_logins = pw.IntegerField(default=0)
    locked_until = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class Account(BaseModel):
    """One configured channel and the state of its polling."""

    name = pw.CharField(max_length=80, unique=True)
    kind = pw.CharField(max_length=40)
    label = pw.CharField(max_length=200, default="")
    enabled = pw.BooleanField(default=True)
    cursor = JSONField(default=dict)
    poll_interval = pw.IntegerField(default=60)
    next_poll_at = UTCDateTimeField(null=True, index=True)
    last_poll_at = UTCDateTimeField(null=True)
    last_success_at = UTCDateTimeField(null=True)
    last_error = pw.TextField(null=True)
    last_error_at = UTCDateTimeField(null=True)
    last_error_detail = pw.TextField(null=True)
    warning = pw.TextField(null=True)
    consecutive_failures = pw.IntegerField(default=0)
    disabled_reason = pw.TextField(null=True)
    lease_owner = pw.CharField(max_length=120, null=True)
    lease_until = UTCDateTimeField(null=True)
    # Since when every call to the platform failed to connect at all (a poll or a send; cleared
    # by the next that gets through): the dashboard's "offline" line (migration 13).
    offline_since = UTCDateTimeField(null=True)

    @property
    def practice(self) -> bool:
        return self.kind in PRACTICE_KINDS

    @classmethod
    def practice_ids(cls) -> list[int]:
        """The ids of the practice channels (the sandbox), configured now or before."""
        return [i for (i,) in cls.select(cls.id).where(cls.kind.in_(PRACTICE_KINDS)).tuples()]


class Usage(BaseModel):
    """Platform calls and items read per account per day: what an office pays X for."""

    account = pw.ForeignKeyField(Account, backref="usage", on_delete="CASCADE")
    day = pw.DateField()
    polls = pw.IntegerField(default=0)
    requests = pw.IntegerField(default=0)
    resources = pw.IntegerField(default=0)
    messages = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("account", "day"), True),)


class Contact(BaseModel):
    """A citizen on one platform.

    ``alias_id`` (migration 14) is a second id of the same citizen on the platform, by which
    messages may still name them (WhatsApp: the phone number of a contact keyed by its
    business-scoped user id); replies prefer it when set (``inbox.arrive.identities``)."""

    kind = pw.CharField(max_length=40)
    platform_user_id = pw.CharField(max_length=120)
    handle = pw.CharField(max_length=200, default="")
    name = pw.CharField(max_length=200, default="")
    created_at = UTCDateTimeField(default=utcnow)
    alias_id = pw.CharField(max_length=120, null=True)

    class Meta:
        indexes = ((("kind", "platform_user_id"), True), (("kind", "alias_id"), True))


class Case(BaseModel):
    """A *pengaduan*: one citizen's thread on one account."""

    reference = pw.CharField(max_length=40, unique=True)
    account = pw.ForeignKeyField(Account, backref="cases", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, backref="cases", on_delete="CASCADE")
    thread_id = pw.CharField(max_length=200)
    public = pw.BooleanField()
    status = pw.CharField(max_length=20, default="new", index=True)
    queue = pw.CharField(max_length=20, default="admin")
    division = pw.ForeignKeyField(Division, null=True, backref="cases", on_delete="SET NULL")
    assignee = pw.ForeignKeyField(User, null=True, backref="assigned", on_delete="SET NULL")
    categories = JSONField(default=list)            # what the classifier found
    categories_override = JSONField(null=True)      # a person's correction; wins in recaps
    intent = pw.CharField(max_length=20, null=True)
    intent_override = pw.CharField(max_length=20, null=True)
    personal_data = pw.BooleanField(default=False)
    summary = pw.CharField(max_length=300, default="")
    dismiss_reason = pw.CharField(max_length=40, null=True)
    alert = pw.TextField(null=True)
    opened_at = UTCDateTimeField(index=True)
    due_at = UTCDateTimeField(null=True, index=True)
    last_inbound_at = UTCDateTimeField(null=True)
    reply_window_closes_at = UTCDateTimeField(null=True)
    first_response_at = UTCDateTimeField(null=True)
    escalated_at = UTCDateTimeField(null=True)
    division_answered_at = UTCDateTimeField(null=True)
    answered_at = UTCDateTimeField(null=True, index=True)
    closed_at = UTCDateTimeField(null=True)
    recapped_on = pw.DateField(null=True)
    reopen_count = pw.IntegerField(default=0)
    updated_at = UTCDateTimeField(default=utcnow)
    # Issue 30 (migration 15), inbox.sop.handling: the resolution clock of a complaint class
    # beside the SOP's answer clock, the maladministration axis, "bukan wewenang" and LAPOR!.
    complaint_class = pw.CharField(max_length=40, null=True)       # a code of [resolution] classes
    resolution_due_at = UTCDateTimeField(null=True)
    resolved_at = UTCDateTimeField(null=True)                      # the follow-up was recorded
    follow_up = pw.TextField(null=True)                            # what was done (internal)
    maladministration = pw.CharField(max_length=40, null=True)     # confirmed by a person; "none"
    maladministration_suggested = pw.CharField(max_length=40, null=True)  # the classifier's
    referred_to = pw.CharField(max_length=200, null=True)          # bukan wewenang: the agency
    referral_forwarded = pw.BooleanField(default=False)            # the office forwarded it there
    report_type = pw.CharField(max_length=30, null=True)           # LAPOR!'s klasifikasi
    lapor_tracking_id = pw.CharField(max_length=20, null=True, index=True)

    class Meta:
        indexes = (
            (("account", "thread_id", "contact"), False),
            # Class clocks past due (inbox tabs, dashboard): most cases have no class, so the
            # unresolved ones with a due date are a short range of this index.
            (("resolved_at", "resolution_due_at"), False),
            (("status", "id"), False),
            # Overdue / due-today counts and lists (inbox tabs, dashboard): with due_at alone the
            # planner walks every past due date of a year (~200k rows) to find the few open ones.
            # The intents ride along so the overdue count (thanks and greetings are on no clock)
            # is read from the index alone: reading each open case's row was 2.7 ms of the
            # inbox's ~16 on a year (migration 20).
            (("status", "due_at", "intent", "intent_override"), False),
            # Dashboard "dismissed in this period" and "escalated in this period".
            (("status", "closed_at"), False),
            (("escalated_at",), False),
        )

    @property
    def effective_categories(self) -> list[str]:
        return list(self.categories_override if self.categories_override is not None
                    else self.categories or [])

    @property
    def effective_intent(self) -> str | None:
        return self.intent_override or self.intent

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def outcome(self) -> str:
        """How the case ended (JSONL export, recaps): ``open`` while the SOP is not done;
        ``bukan_wewenang`` (another agency's matter), ``dismissed`` (not a complaint);
        ``in_follow_up`` (answered, its class's follow-up still due), ``resolved`` (answered and
        followed up) or ``answered``."""
        if self.status in OPEN_STATUSES:
            return "open"
        if self.referred_to:
            return "bukan_wewenang"
        if self.status == "not_complaint":
            return "dismissed"
        if self.complaint_class:
            return "resolved" if self.resolved_at else "in_follow_up"
        return "answered"

    @property
    def resolution_open(self) -> bool:
        """The case's class clock still runs (a class set, no follow-up recorded, not closed as
        not a complaint or another agency's matter)."""
        return bool(self.complaint_class and self.resolved_at is None and not self.referred_to
                    and self.status != "not_complaint")

    @classmethod
    def resolution_overdue_condition(cls, now: datetime) -> pw.Expression:
        """Cases whose class clock ran out before ``now`` with no follow-up recorded."""
        return (cls.resolved_at.is_null() & (cls.resolution_due_at < now)
                & cls.complaint_class.is_null(False) & cls.referred_to.is_null()
                & (cls.status != "not_complaint"))

    @classmethod
    def answer_overdue_condition(cls, now: datetime) -> pw.Expression:
        """Late on the SOP's answer clock: open, ``due_at`` passed, and not a thank-you or a
        greeting, which wait on no clock (the inbox list shows them so)."""
        intent = pw.fn.COALESCE(cls.intent_override, cls.intent, "")
        return (cls.status.in_(OPEN_STATUSES) & (cls.due_at < now)
                & intent.not_in(NO_CLOCK_INTENTS))

    @classmethod
    def overdue_condition(cls, now: datetime) -> pw.Expression:
        """Overdue on either clock: the answer (``answer_overdue_condition``) or the class's
        resolution (``resolution_overdue_condition``)."""
        return cls.answer_overdue_condition(now) | cls.resolution_overdue_condition(now)

    @classmethod
    def latest_in_thread(cls, account: Account, thread_id: str, contact: Contact) -> Case | None:
        return (cls.select()
                .where((cls.account == account) & (cls.thread_id == thread_id)
                       & (cls.contact == contact))
                .order_by(cls.id.desc())
                .first())

    @classmethod
    def overdue(cls, now: datetime | None = None) -> pw.ModelSelect:
        now = now or utcnow()
        return cls.select().where(cls.overdue_condition(now))


class CaseCategory(BaseModel):
    """The effective categories of a case, one row each, so a filter by category uses an index."""

    case = pw.ForeignKeyField(Case, backref="category_rows", on_delete="CASCADE")
    code = pw.CharField(max_length=40)

    class Meta:
        indexes = ((("code", "case"), True),)


class Message(BaseModel):
    """A message in or out, unique on (account, external_id) so ingest is idempotent."""

    account = pw.ForeignKeyField(Account, backref="messages", on_delete="CASCADE")
    external_id = pw.CharField(max_length=200)
    case = pw.ForeignKeyField(Case, null=True, backref="messages", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, null=True, backref="messages", on_delete="SET NULL")
    direction = pw.CharField(max_length=3)  # "in" or "out"
    kind = pw.CharField(max_length=20)
    public = pw.BooleanField()
    thread_id = pw.CharField(max_length=200)
    text = pw.TextField()
    created_at = UTCDateTimeField(index=True)
    received_at = UTCDateTimeField(default=utcnow)
    permalink = pw.TextField(null=True)
    in_reply_to = pw.CharField(max_length=200, null=True)
    personal_data = pw.BooleanField(default=False)
    author = pw.ForeignKeyField(User, null=True, backref="messages", on_delete="SET NULL")
    raw = JSONField(null=True)

    class Meta:
        indexes = (
            (("account", "external_id"), True),
            (("case", "created_at"), False),
        )


class Event(BaseModel):
    """The audit trail: every state change and every reply writes one in the same transaction."""

    case = pw.ForeignKeyField(Case, null=True, backref="events", on_delete="CASCADE")
    actor = pw.ForeignKeyField(User, null=True, backref="events", on_delete="SET NULL")
    actor_name = pw.CharField(max_length=80, default="system")
    action = pw.CharField(max_length=40)
    at = UTCDateTimeField(default=utcnow, index=True)
    detail = JSONField(default=dict)

    class Meta:
        indexes = ((("case", "at"), False),)

    @classmethod
    def record(cls, action: str, case: Case | None = None, actor: User | None = None,
               at: datetime | None = None, **detail: Any) -> Event:
        return cls.create(case=case, actor=actor,
                          actor_name=actor.username if actor is not None else "system",
                          action=action, at=at or utcnow(), detail=detail)

    @classmethod
    def opened_confidence(cls, case_ids: list[int]) -> dict[int, dict[str, Any]]:
        """{case id: the classifier's probabilities when the case was opened} (the ``confidence``
        its ``opened`` event keeps; cases without one are left out). One indexed query for a
        page of cases, never a scan: the list shows "perlu dicek" from it."""
        if not case_ids:
            return {}
        found: dict[int, dict[str, Any]] = {}
        for event in (cls.select(cls.case, cls.detail)
                      .where(cls.case.in_(case_ids) & (cls.action == "opened"))
                      .order_by(cls.at, cls.id)):
            confidence = (event.detail or {}).get("confidence")
            if isinstance(confidence, dict):
                found[event.case_id] = confidence
        return found

    @classmethod
    def went_live(cls) -> Event | None:
        """The office's step from practice to real use (``aduan go-live``), once it was taken:
        from then on the practice channels stay stopped (``inbox.records.practice``)."""
        return (cls.select().where(cls.case.is_null() & (cls.action == "went_live"))
                .order_by(cls.id).first())


class Outbox(BaseModel):
    """A reply waiting to go out (DESIGN.md, "Outbox")."""

    # None only for an automatic answer to a message that belongs to no case (a status check
    # from someone who is not the case's citizen, or on a public channel: inbox.arrive.selfservice).
    case = pw.ForeignKeyField(Case, null=True, backref="outbox", on_delete="CASCADE")
    text = pw.TextField()
    public = pw.BooleanField()
    purpose = pw.CharField(max_length=20, default="answer")  # answer | acknowledgement | status | survey
    # Where an automatic answer goes when it answers one message rather than a case (migration 8):
    # the message's account, thread, author and id. Empty for answers, which follow the case.
    account = pw.ForeignKeyField(Account, null=True, backref="outbox", on_delete="CASCADE")
    thread_id = pw.CharField(max_length=200, null=True)
    recipient_id = pw.CharField(max_length=120, null=True)
    in_reply_to = pw.CharField(max_length=200, null=True)
    reply_kind = pw.CharField(max_length=20, null=True)
    status = pw.CharField(max_length=20, default="pending", index=True)
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow, index=True)
    lease_owner = pw.CharField(max_length=120, null=True)
    lease_until = UTCDateTimeField(null=True)
    platform_id = pw.CharField(max_length=200, null=True)
    last_error = pw.TextField(null=True)
    created_by = pw.ForeignKeyField(User, null=True, backref="replies", on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        # the per-contact rate limit of status checks (inbox.arrive.selfservice)
        indexes = ((("recipient_id", "created_at"), False),)


class SurveyResponse(BaseModel):
    """A citizen's rating of the answer to their case (SKM, 1 tidak puas … 4 sangat puas), once
    per case; ``comment`` is what they wrote after the digit or in their next message."""

    case = pw.ForeignKeyField(Case, backref="survey", on_delete="CASCADE", unique=True)
    rating = pw.IntegerField()
    comment = pw.TextField(default="")
    awaiting_comment = pw.BooleanField(default=False)  # a bare digit: the next message is the comment
    external_id = pw.CharField(max_length=200)
    answered_at = UTCDateTimeField(index=True)


class SetAside(BaseModel):
    """An item a connector could not read (``connectors.items``), kept visibly until
    ``aduan reprocess`` reads it with newer code. One row per (account, key); seeing the same
    item again counts it."""

    account = pw.ForeignKeyField(Account, backref="set_aside", on_delete="CASCADE")
    key = pw.CharField(max_length=200)
    surface = pw.CharField(max_length=60)
    platform_id = pw.CharField(max_length=200, null=True)
    reason = pw.TextField()
    raw = JSONField(null=True)
    context = JSONField(default=dict)
    first_seen_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow, index=True)
    seen_count = pw.IntegerField(default=1)
    resolved_at = UTCDateTimeField(null=True)
    resolved_external_id = pw.CharField(max_length=200, null=True)

    class Meta:
        indexes = ((("account", "key"), True),)

    @classmethod
    def open_items(cls) -> pw.ModelSelect:
        return cls.select().where(cls.resolved_at.is_null())


class IgnoredCount(BaseModel):
    """Items a connector read past because they are no message and need nobody (a Telegram
    reaction, an auto-reply mail), counted per account and kind (migration 14)."""

    account = pw.ForeignKeyField(Account, backref="ignored", on_delete="CASCADE")
    kind = pw.CharField(max_length=80)
    count = pw.IntegerField(default=0)
    first_seen_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "kind"), True),)

    @classmethod
    def by_account(cls) -> dict[int, dict[str, int]]:
        """{account id: {kind: count}}, the kinds in name order."""
        found: dict[int, dict[str, int]] = {}
        for account_id, kind, count in (cls.select(cls.account, cls.kind, cls.count)
                                        .order_by(cls.kind).tuples()):
            found.setdefault(account_id, {})[kind] = count
        return found


ATTACHMENT_STATES: dict[str, str] = {
    "pending": "menunggu diunduh",
    "stored": "tersimpan",
    "failed": "gagal diunduh",
    "skipped": "tidak diunduh",
}


class Attachment(BaseModel):
    """A photo, video or file sent with a message; downloaded by the daemon after ingest."""

    message = pw.ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    kind = pw.CharField(max_length=20)  # image | video | audio | file | sticker
    platform_id = pw.CharField(max_length=200, null=True)
    url = pw.TextField(null=True)
    mime = pw.CharField(max_length=120, null=True)
    size = pw.BigIntegerField(null=True)
    name = pw.CharField(max_length=200, default="")
    path = pw.TextField(null=True)  # relative to the data folder
    status = pw.CharField(max_length=20, default="pending")
    reason = pw.TextField(null=True)  # why it has no file (yet), in Indonesian
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease_until = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    downloaded_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class WebhookDelivery(BaseModel):
    """A signed delivery from Meta, stored as received before the 200 (``inbox.arrive.webhooks``) and
    ingested afterwards by the daemon; ``status`` pending -> done (or failed, with ``error``)."""

    received_at = UTCDateTimeField(default=utcnow, index=True)
    body = pw.TextField()
    source = pw.CharField(max_length=60, default="")  # the envelope's "object"
    status = pw.CharField(max_length=20, default="pending")
    attempts = pw.IntegerField(default=0)
    lease_until = UTCDateTimeField(null=True)
    processed_at = UTCDateTimeField(null=True)
    error = pw.TextField(null=True)
    spool_name = pw.CharField(max_length=80, null=True, unique=True)  # the SQLite spool's file
    # Why a failed delivery was set aside (inbox.arrive.webhooks.CAUSES; migration 13).
    cause = pw.CharField(max_length=40, null=True)

    class Meta:
        indexes = ((("status", "id"), False),)


class Template(BaseModel):
    """An entry of the office's knowledge base (*basis pengetahuan*), also offered on the case
    page as a quick answer (*jawaban cepat*): one place for an answer. ``text`` may use {nama},
    {nomor}, {batas_waktu} and {kantor}; ``[[...]]`` marks an office specific still to be
    written in (a reply holding one is refused). The shipped starter entries carry a
    ``starter_key`` and ``needs_review`` until someone checks them (migration 17)."""

    name = pw.CharField(max_length=120, unique=True)  # the entry's title
    text = pw.TextField()
    active = pw.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    categories = JSONField(default=list)   # the classifier's category codes it answers
    keywords = pw.TextField(default="")    # words citizens use for it, one phrase per line or comma
    valid_until = pw.DateField(null=True)  # "berlaku sampai": not suggested after this day
    needs_review = pw.BooleanField(default=False)  # "perlu diperiksa"
    checked_by = pw.ForeignKeyField(User, null=True, backref="checked_entries", on_delete="SET NULL")
    checked_at = UTCDateTimeField(null=True)
    updated_by = pw.ForeignKeyField(User, null=True, backref="updated_entries", on_delete="SET NULL")
    updated_at = UTCDateTimeField(default=utcnow)
    starter_key = pw.CharField(max_length=60, null=True, unique=True)


class TemplateRevision(BaseModel):
    """The history of a knowledge-base entry: what it said after each change, and who made it."""

    template = pw.ForeignKeyField(Template, backref="revisions", on_delete="CASCADE")
    change = pw.CharField(max_length=20)  # created | edited | checked | switched_off | switched_on
    name = pw.CharField(max_length=120)
    text = pw.TextField()
    categories = JSONField(default=list)
    keywords = pw.TextField(default="")
    valid_until = pw.DateField(null=True)
    needs_review = pw.BooleanField(default=False)
    by = pw.ForeignKeyField(User, null=True, backref="entry_revisions", on_delete="SET NULL")
    at = UTCDateTimeField(default=utcnow)


class KnowledgeEditor(BaseModel):
    """A user a superuser allowed to manage the knowledge base (superusers always may)."""

    user = pw.ForeignKeyField(User, unique=True, backref="knowledge_grant", on_delete="CASCADE")
    granted_by = pw.ForeignKeyField(User, null=True, backref="knowledge_grants_given",
                                    on_delete="SET NULL")
    granted_at = UTCDateTimeField(default=utcnow)


INCIDENT_STATUSES: dict[str, str] = {
    "proposed": "Diusulkan",
    "open": "Berlangsung",
    "closed": "Selesai",
    "rejected": "Bukan gangguan massal",
}


class Incident(BaseModel):
    """A mass incident (*gangguan massal*): many citizens writing about one outage at once.
    Proposed by ``inbox.sop.incidents``, confirmed by an officer with one answer that goes to
    every linked case through the outbox, closed with an optional follow-up."""

    title = pw.CharField(max_length=200, default="")
    status = pw.CharField(max_length=20, default="proposed", index=True)
    signature = JSONField(default=dict)  # what the cases share: outage words, categories
    answer_text = pw.TextField(default="")
    followup_text = pw.TextField(default="")
    started_at = UTCDateTimeField()       # the first linked case's message
    proposed_at = UTCDateTimeField(default=utcnow)
    confirmed_at = UTCDateTimeField(null=True)
    confirmed_by = pw.ForeignKeyField(User, null=True, backref="incidents_confirmed",
                                      on_delete="SET NULL")
    closed_at = UTCDateTimeField(null=True)
    closed_by = pw.ForeignKeyField(User, null=True, backref="incidents_closed", on_delete="SET NULL")


class IncidentCase(BaseModel):
    """A case's place in an incident (one incident per case). ``state`` is ``linked`` or
    ``unlinked`` (kept, so the automatic linking never adds it back); the outbox rows of the
    incident's answer and follow-up are recorded here, so each goes to a case at most once."""

    incident = pw.ForeignKeyField(Incident, backref="links", on_delete="CASCADE")
    case = pw.ForeignKeyField(Case, unique=True, backref="incident_link", on_delete="CASCADE")
    state = pw.CharField(max_length=20, default="linked")
    how = pw.CharField(max_length=20, default="proposed")  # proposed | automatic | manual
    linked_at = UTCDateTimeField(default=utcnow)
    linked_by = pw.ForeignKeyField(User, null=True, backref="incident_links", on_delete="SET NULL")
    answer_outbox = pw.ForeignKeyField(Outbox, null=True, backref="+", on_delete="SET NULL")
    answer_skipped = pw.TextField(null=True)     # why the answer did not go to this case
    followup_outbox = pw.ForeignKeyField(Outbox, null=True, backref="+", on_delete="SET NULL")
    followup_skipped = pw.TextField(null=True)

    class Meta:
        indexes = ((("incident", "state"), False),)


class CaseLink(BaseModel):
    """Two cases an officer found to be the same citizen (another channel, another account);
    stored once with ``case`` the lower id."""

    case = pw.ForeignKeyField(Case, backref="links_out", on_delete="CASCADE")
    other = pw.ForeignKeyField(Case, backref="links_in", on_delete="CASCADE")
    reason = pw.CharField(max_length=200, default="")
    linked_by = pw.ForeignKeyField(User, null=True, backref="case_links", on_delete="SET NULL")
    linked_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("case", "other"), True), (("other",), False))


class CaseMark(BaseModel):
    """A keyed hash of a NIK, phone number or e-mail address a case's citizen wrote (or wrote
    from), so "the same number in another channel" is one index look-up. Only the hash is kept
    (``inbox.sop.related``); erasure and retention delete a case's marks with its data."""

    case = pw.ForeignKeyField(Case, backref="marks", on_delete="CASCADE")
    kind = pw.CharField(max_length=10)   # nik | phone | email
    digest = pw.CharField(max_length=32)

    class Meta:
        indexes = ((("digest", "case"), False), (("case", "kind", "digest"), True))


class Recap(BaseModel):
    """A recap file made (daily recap or monthly report)."""

    kind = pw.CharField(max_length=20)  # daily | monthly
    period = pw.CharField(max_length=20)  # 2026-11-28 or 2026-11
    fmt = pw.CharField(max_length=10)
    path = pw.TextField()
    created_at = UTCDateTimeField(default=utcnow)
    created_by = pw.ForeignKeyField(User, null=True, backref="recaps", on_delete="SET NULL")
    # Who asked when no user did (migration 19): "schedule" (the daemon) or "command" (``aduan
    # recap`` without ``--as``); empty when ``created_by`` names the officer.
    made_by = pw.CharField(max_length=20, default="")
    # Made from practice data alone, before the office went live (``inbox.records.practice``).
    practice = pw.BooleanField(default=False)

    class Meta:
        # One row per recap file: two workers making the same recap replace each other's row.
        indexes = ((("kind", "period", "fmt"), True),)


class Counter(BaseModel):
    """Named counters (the monthly case number); incremented inside the writer's transaction."""

    key = pw.CharField(max_length=40, primary_key=True)
    value = pw.IntegerField(default=0)

    @classmethod
    def next(cls, key: str) -> int:
        """The next value of ``key``; call inside a write transaction."""
        updated = cls.update(value=cls.value + 1).where(cls.key == key).execute()
        if not updated:
            cls.insert(key=key, value=1).on_conflict(
                conflict_target=[cls.key], update={cls.value: cls.value + 1}).execute()
        return cls.get_by_id(key).value


class WebSession(BaseModel):
    """One logged-in browser (migration 6). The cookie holds a random token; the row holds only
    its SHA-256, so a copied database opens no session. Deleting the row ends the session at
    the browser's next request (logout, password change, deactivation, idle timeout)."""

    token_hash = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, backref="web_sessions", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow)
    address = pw.CharField(max_length=64, default="")


class LoginThrottle(BaseModel):
    """Failed logins per client address (``addr:...``) or per typed user name (``name:...``,
    whether or not such a user exists), and until when the next attempt must wait (migration 6)."""

    key = pw.CharField(max_length=200, unique=True)
    failures = pw.IntegerField(default=0)
    last_failure_at = UTCDateTimeField(default=utcnow)
    wait_until = UTCDateTimeField(null=True)


class BackupRun(BaseModel):
    """One run of ``aduan backup`` (by hand or by the daemon): its outcome stays on the row so
    ``aduan status``, the dashboard and ``/healthz`` can tell when backups stopped."""

    started_at = UTCDateTimeField(default=utcnow, index=True)
    finished_at = UTCDateTimeField(null=True)
    status = pw.CharField(max_length=20, default="running")  # running | ok | failed
    path = pw.TextField(null=True)
    size = pw.BigIntegerField(null=True)
    error = pw.TextField(null=True)
    trigger = pw.CharField(max_length=20, default="manual")  # manual | daemon

    @classmethod
    def last_good(cls) -> BackupRun | None:
        """The newest successful run whose file is still there (of the last 20 that succeeded)."""
        for run in (cls.select().where(cls.status == "ok")
                    .order_by(cls.started_at.desc()).limit(20)):
            if run.path and Path(run.path).is_file():
                return run
        return None


class Heartbeat(BaseModel):
    """The daemon's sign of life, one row per worker; ``/healthz`` reads the newest."""

    worker_id = pw.CharField(max_length=120, primary_key=True)
    beat_at = UTCDateTimeField(default=utcnow)
    interval_seconds = pw.IntegerField(default=60)
    # What started the daemon (migration 19): "systemd", "windows" or "" (a terminal).
    service = pw.CharField(max_length=20, default="")


class NotificationPreference(BaseModel):
    """Where and about what one user wants to be told (migration 7). A table of its own rather
    than columns on User: the login table stays as it is (no ALTER on a table every request
    reads), and a person's private address and chat id stay out of the rows the user list,
    sessions and audit pages load."""

    user = pw.ForeignKeyField(User, unique=True, backref="notification_preference",
                              on_delete="CASCADE")
    email = pw.CharField(max_length=200, default="")
    telegram_chat_id = pw.CharField(max_length=40, default="")
    channels = JSONField(default=list)  # "email", "telegram"
    events_off = JSONField(default=list)  # events this user does not want; new ones start on
    updated_at = UTCDateTimeField(default=utcnow)


class Notification(BaseModel):
    """One message to one person on one channel (``inbox.notify.notices``): an outbox of its own with
    the replies' statuses and lease (pending, sending, sent, failed, uncertain). ``key`` is
    unique, so an event is queued at most once for each recipient and channel.
    ``next_attempt_at`` is also when a message held over quiet hours goes out; rows sent
    together as one digest share its ``platform_id`` and name the first row in ``digest``."""

    key = pw.CharField(max_length=200, unique=True)
    event = pw.CharField(max_length=40)
    case = pw.ForeignKeyField(Case, null=True, backref="notifications", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, null=True, backref="notifications", on_delete="CASCADE")
    channel = pw.CharField(max_length=20)  # email | telegram
    destination = pw.CharField(max_length=200)
    subject = pw.CharField(max_length=300)
    text = pw.TextField()
    status = pw.CharField(max_length=20, default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease_owner = pw.CharField(max_length=120, null=True)
    lease_until = UTCDateTimeField(null=True)
    platform_id = pw.CharField(max_length=300, null=True)
    digest = pw.IntegerField(null=True)
    last_error = pw.TextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),
                   (("channel", "destination", "status"), False))


class SchemaMigration(BaseModel):
    number = pw.IntegerField(primary_key=True)
    name = pw.CharField(max_length=120)
    applied_at = UTCDateTimeField(default=utcnow)


MODELS: list[type[BaseModel]] = [
    Division, User, Account, Usage, Contact, Case, CaseCategory, Message, Event, Outbox,
    Template, Recap, Counter, SetAside, Attachment, WebhookDelivery, WebSession, LoginThrottle,
    BackupRun, Heartbeat, NotificationPreference, Notification, SurveyResponse, IgnoredCount,
    TemplateRevision, KnowledgeEditor, Incident, IncidentCase, CaseLink, CaseMark,
]


# --- the free-text search index (migration 3; used by inbox.web.queries.search_condition) ------

#: On SQLite, ``search_text`` holds every message text and case reference under the key
#: case id * SEARCH_KEY + message id (+ 0 for the reference): the index then lists its hits in
#: case order, so a search reads the newest cases' hits first and stops. ``search_contact`` holds
#: handle and name by contact id. Both are FTS5 trigram tables without a copy of the text
#: (contentless, no positions: a hit is a candidate that the search checks with LIKE) and are
#: kept by triggers, so every writer — ingest, replies, imports, the benchmark generator — keeps
#: them current. A contentless row is removed by repeating its old values, which a trigger has.
#: Message ids stay below SEARCH_KEY (2**31, PostgreSQL's integer limit too).
SEARCH_KEY = 2**31
SQLITE_SEARCH_TABLES = ("search_text", "search_contact")
#: On PostgreSQL, pg_trgm GIN indexes that answer ``ILIKE '%…%'`` (name, table, expression). The
#: reference's is on lower(reference): on the bare column the planner may take it for ingest's
#: ``reference IN (…)`` instead of the unique index, and every reference shares most trigrams.
PG_SEARCH_INDEXES = (("message_text_trgm", "message", "text"),
                     ("case_reference_trgm", "case", "lower(reference)"),
                     ("contact_handle_trgm", "contact", "handle"),
                     ("contact_name_trgm", "contact", "name"))


def sqlite_search_index_sql() -> list[str]:
    """The statements that create and fill the SQLite search index."""
    key = SEARCH_KEY
    text = "INSERT INTO search_text(rowid, text)"
    text_delete = "INSERT INTO search_text(search_text, rowid, text)"
    contact = "INSERT INTO search_contact(rowid, handle, name)"
    contact_delete = "INSERT INTO search_contact(search_contact, rowid, handle, name)"
    fts = "USING fts5({}, content='', tokenize='trigram', detail='none', columnsize=0)"
    return [
        f"CREATE VIRTUAL TABLE search_text {fts.format('text')}",
        f"CREATE VIRTUAL TABLE search_contact {fts.format('handle, name')}",
        # Each poll commits a small segment; merging them 16 at a time instead of 4 cut the
        # index's cost per ingested message by a sixth (queries read a few more segments).
        "INSERT INTO search_text(search_text, rank) VALUES ('automerge', 16)",
        f"""CREATE TRIGGER search_message_insert AFTER INSERT ON message
            WHEN new.case_id IS NOT NULL BEGIN
            {text} VALUES (new.case_id * {key} + new.id, new.text); END""",
        f"""CREATE TRIGGER search_message_delete AFTER DELETE ON message
            WHEN old.case_id IS NOT NULL BEGIN
            {text_delete} VALUES ('delete', old.case_id * {key} + old.id, old.text); END""",
        f"""CREATE TRIGGER search_message_update AFTER UPDATE OF case_id, text ON message BEGIN
            {text_delete} SELECT 'delete', old.case_id * {key} + old.id, old.text
                WHERE old.case_id IS NOT NULL;
            {text} SELECT new.case_id * {key} + new.id, new.text WHERE new.case_id IS NOT NULL;
            END""",
        f"""CREATE TRIGGER search_case_insert AFTER INSERT ON "case" BEGIN
            {text} VALUES (new.id * {key}, new.reference); END""",
        f"""CREATE TRIGGER search_case_delete AFTER DELETE ON "case" BEGIN
            {text_delete} VALUES ('delete', old.id * {key}, old.reference); END""",
        f"""CREATE TRIGGER search_case_update AFTER UPDATE OF reference ON "case" BEGIN
            {text_delete} VALUES ('delete', old.id * {key}, old.reference);
            {text} VALUES (new.id * {key}, new.reference); END""",
        f"""CREATE TRIGGER search_contact_insert AFTER INSERT ON contact BEGIN
            {contact} VALUES (new.id, new.handle, new.name); END""",
        f"""CREATE TRIGGER search_contact_delete AFTER DELETE ON contact BEGIN
            {contact_delete} VALUES ('delete', old.id, old.handle, old.name); END""",
        f"""CREATE TRIGGER search_contact_update AFTER UPDATE OF handle, name ON contact BEGIN
            {contact_delete} VALUES ('delete', old.id, old.handle, old.name);
            {contact} VALUES (new.id, new.handle, new.name); END""",
        f"""{text} SELECT case_id * {key} + id, text FROM message WHERE case_id IS NOT NULL
            ORDER BY case_id, id""",
        f'{text} SELECT id * {key}, reference FROM "case" ORDER BY id',
        f"{contact} SELECT id, handle, name FROM contact ORDER BY id",
        "INSERT INTO search_text(search_text) VALUES ('optimize')",
        "INSERT INTO search_contact(search_contact) VALUES ('optimize')",
    ]


def drop_search_index(db: pw.Database) -> bool:
    """Drop the search index (SQLite: its triggers and tables; PostgreSQL: its GIN indexes), as
    far as it exists; return whether any of it did."""
    if isinstance(db, pw.PostgresqlDatabase):
        names = [name for name, _, _ in PG_SEARCH_INDEXES]
        present = db.execute_sql("SELECT count(*) FROM pg_class WHERE relname = ANY(%s)",
                                 [names]).fetchone()[0]
        for name in names:
            db.execute_sql(f"DROP INDEX IF EXISTS {name}")
        return bool(present)
    triggers = db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                              "AND name LIKE 'search\\_%' ESCAPE '\\'").fetchall()
    for (trigger,) in triggers:
        db.execute_sql(f'DROP TRIGGER "{trigger}"')
    present = [name for name in SQLITE_SEARCH_TABLES if db.table_exists(name)]
    for name in present:
        db.execute_sql(f"DROP TABLE {name}")
    return bool(triggers or present)


def pg_search_index_sql(names: Iterable[str] | None = None, concurrently: bool = False
                        ) -> list[str]:
    """The statements that create the PostgreSQL search index (pg_trgm must be installed), or
    only its indexes in ``names``; ``concurrently``: without blocking writers (outside a
    transaction)."""
    how = "CONCURRENTLY " if concurrently else ""
    return [f'CREATE INDEX {how}IF NOT EXISTS {name} ON "{table}" USING gin (({expression}) '
            "gin_trgm_ops)" for name, table, expression in PG_SEARCH_INDEXES
            if names is None or name in names]
