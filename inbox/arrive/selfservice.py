"""The citizen's own status check and the satisfaction survey (issue 16, items 3-4).

Status check: a message that is only a case number, optionally after ``status``/``cek``
("status ADU-202612-0013", "cek adu 202612 13", "ADU2026120013"), is answered automatically
and opens no case:

- on a private channel, from the case's own contact (the same Contact row: same platform and
  platform user id): the case's status and deadline; the message joins that case, which keeps
  its status (nothing is reopened);
- on a private channel from anyone else, and for a number that does not exist: one neutral
  sentence, the same for both, so nobody learns whether a number exists;
- on a public channel: an invitation to write privately, nothing about any case.

Messages other than the owner's are stored with no case; every check writes a
``status_check`` Event (with the case when it is the owner's) so it shows in the audit. Answers
go through the outbox (purpose ``status``, addressed to the message itself), at most
``citizen.status_checks_per_day`` per contact in 24 hours; past that the message is still
stored and the Event says ``rate_limited``.

Survey (SKM, in the spirit of PermenPANRB 14/2017, scale 1 tidak puas ... 4 sangat puas): when a
private case's answer is delivered inside the platform's reply window, one question is queued
(purpose ``survey``), once per case. While the case stays answered, a reply starting with a
lone digit 1-4 is the rating:

- only the digit ("3"): recorded, the message joins the case and nothing else happens; the
  citizen's next message is kept as the comment (and read as usual);
- the digit and words ("1 KTP saya belum jadi"): the rating with the words as its comment, and
  the message is then read as usual, so a complaint after the digit reopens the case for the
  admin (a low score with a reason is exactly what a person must see) and a thank-you does not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from connectors.base import InboundMessage
from inbox.labels import LABELS, label
from inbox.models import Account, Case, Contact, Event, Outbox, SurveyResponse, utcnow

if TYPE_CHECKING:
    from inbox.setup.runtime import IngestOptions, Runtime

#: "status ADU-202612-0013", "cek no. adu 202612 13", "ADU2026120013?" - the whole message.
STATUS_PATTERN = re.compile(
    r"\s*(?:(?:status|cek|check|info|pengaduan|aduan|nomor|no)\b\W*){0,5}"
    r"adu\W{0,3}(\d{6})\W{0,3}(\d{1,6})\W*", re.IGNORECASE)
#: A rating: a lone digit 1-4 at the start, optionally a separator, then the comment.
RATING_PATTERN = re.compile(r"\s*([1-4])(?!\d)(?![.,]\d)\s*[).:,-]?\s*(.*)", re.DOTALL)
#: How long after a bare rating the citizen's next message is taken as its comment.
COMMENT_WITHIN = timedelta(days=1)
#: Longer messages are not status checks (they are read as usual); keeps the regex cheap.
MAX_STATUS_LENGTH = 80

#: The survey's scale (SKM): rating -> its words, from the one table of labels.
SCALE: dict[int, str] = LABELS["rating"]

SURVEY_TEXT = ("Terima kasih telah menghubungi kami. Bagaimana penilaian Anda atas jawaban "
               "untuk pengaduan {nomor}? Balas dengan satu angka: 1 = tidak puas, "
               "2 = kurang puas, 3 = puas, 4 = sangat puas. Boleh ditambah saran setelah angkanya.")
NEUTRAL_TEXT = ("Mohon maaf, status pengaduan hanya dapat kami sampaikan kepada pengirim "
                "pengaduan itu sendiri, melalui akun yang dipakai saat mengadu. Periksa kembali "
                "nomor pengaduan Anda atau hubungi kantor kami.")
PUBLIC_TEXT = ("Untuk menanyakan status pengaduan, silakan kirim pesan pribadi kepada kami "
               "dengan menuliskan nomor pengaduan Anda.")
OWNER_TEXT = "Status pengaduan {nomor}: {status}. {batas}"
#: Purposes of rows the outbox sends with no person involved: an unknown outcome is not chased.
AUTOMATIC_PURPOSES = ("status", "survey")


def status_reference(text: str) -> str | None:
    """``ADU-YYYYMM-NNNN`` when ``text`` is only a status request, else None."""
    if len(text) > MAX_STATUS_LENGTH or not text:
        return None
    found = STATUS_PATTERN.fullmatch(text)
    if found is None:
        return None
    return f"ADU-{found.group(1)}-{int(found.group(2)):04d}"


def rating_of(text: str) -> tuple[int, str] | None:
    """``(rating, comment)`` when ``text`` starts with a lone digit 1-4, else None."""
    found = RATING_PATTERN.fullmatch(text)
    if found is None:
        return None
    return int(found.group(1)), found.group(2).strip()


@dataclass
class _Answer:
    """A status answer to queue once the batch's cases exist."""

    message: InboundMessage
    case_id: int | None
    text: str
    outcome: str
    reference: str
    contact_id: int


@dataclass
class Pending:
    """What one ingest batch's status checks will write after the batch's own rows."""

    answers: list[_Answer] = field(default_factory=list)
    answered: dict[tuple[int, str], int] = field(default_factory=dict)  # per account, contact
    awaiting: set[int] | None = None  # cases whose bare rating waits for its comment (read once)


class CaseState(Protocol):
    """What these checks read of a case the batch knows."""

    id: int | None
    status: str


class Batch(Protocol):
    """What these checks need of the ingest batch they run inside (``inbox.arrive.ingest``,
    which calls :func:`intercept` for every citizen message and :func:`write` before it
    commits): its account, options and report, these checks' own pending work, and a way to
    keep a message or an event with the batch's rows."""

    account: Account
    options: IngestOptions
    report: Any
    selfservice: Pending

    def case_state(self, thread_id: str, contact_id: int) -> CaseState | None: ...

    def state_of(self, case: Case) -> CaseState: ...

    def add_message(self, message: InboundMessage, case: Any, contact: Contact | None,
                    direction: str, has_pii: bool) -> None: ...

    def add_event(self, case: Any, action: str, at: datetime | None = None,
                  **detail: Any) -> None: ...


def intercept(batch: Batch, message: InboundMessage, contact: Contact, has_pii: bool) -> bool:
    """Handle ``message`` as a status check or a bare rating; True when it is handled and must
    not be threaded as usual. Called by ingest for every citizen message: the checks before any
    database work are two anchored regular expressions."""
    settings = batch.options.citizen
    text = message.text
    if settings.get("status_check", True):
        reference = status_reference(text)
        if reference is not None:
            _status_check(batch, message, contact, reference, has_pii)
            return True
    if settings.get("survey", False):
        return _survey_reply(batch, message, contact, has_pii)
    return False


def _status_check(batch: Batch, message: InboundMessage, contact: Contact, reference: str,
                  has_pii: bool) -> None:
    case = None if message.public else Case.get_or_none(Case.reference == reference)
    if message.public:
        outcome, text = "public", PUBLIC_TEXT
    elif case is not None and case.contact_id == contact.id:
        outcome, text = "owner", owner_text(case, batch.options.calendar.tz)
    else:
        outcome, text, case = "other", NEUTRAL_TEXT, None
    if _over_limit(batch, contact, message):
        outcome = "rate_limited"
    state = batch.state_of(case) if case is not None else None
    batch.add_message(message, state, contact, "in", has_pii)
    batch.selfservice.answers.append(_Answer(message, case.id if case else None, text, outcome,
                                             reference, contact.id))


def owner_text(case: Case, tz: Any) -> str:
    """The status and deadline of ``case`` in plain Indonesian."""
    from inbox.dates import format_datetime_id
    if case.status == "answered" and case.answered_at:
        when = f"Jawaban kami kirim pada {format_datetime_id(case.answered_at, tz)}."
    elif case.status in ("answered", "not_complaint") or case.due_at is None:
        when = "Tidak ada tindak lanjut yang masih berjalan."
    else:
        when = f"Batas waktu penyelesaian: {format_datetime_id(case.due_at, tz)}."
    return OWNER_TEXT.format(nomor=case.reference, status=label("citizen_status", case.status),
                             batas=when)


def _over_limit(batch: Batch, contact: Contact, message: InboundMessage) -> bool:
    """Whether this contact has had its answers for the last 24 hours (stored or in this batch);
    counts this one when it is not."""
    key = (batch.account.id, message.author_id)
    pending = batch.selfservice.answered
    if key not in pending:
        pending[key] = Outbox.select().where(
            (Outbox.purpose == "status") & (Outbox.recipient_id == message.author_id)
            & (Outbox.account == batch.account.id)
            & (Outbox.created_at > utcnow() - timedelta(hours=24))).count()
    if pending[key] >= batch.options.citizen.get("status_checks_per_day", 5):
        return True
    pending[key] += 1
    return False


def write(batch: Batch) -> None:
    """Queue the batch's status answers and write their Events (after the batch's messages,
    inside its transaction: a crash leaves both or neither)."""
    for answer in batch.selfservice.answers:
        message = answer.message
        detail: dict[str, Any] = {"reference": answer.reference, "outcome": answer.outcome,
                                  "external_id": message.external_id,
                                  "contact_id": answer.contact_id}
        if answer.outcome != "rate_limited":
            row = Outbox.create(case=answer.case_id, text=answer.text, public=message.public,
                                purpose="status", account=batch.account.id,
                                thread_id=message.thread_id, recipient_id=message.author_id,
                                in_reply_to=message.external_id, reply_kind=message.kind)
            detail["outbox_id"] = row.id
        Event.record("status_check", case=answer.case_id, at=message.created_at, **detail)


# --- the survey -------------------------------------------------------------------------------

def _survey_reply(batch: Batch, message: InboundMessage, contact: Contact, has_pii: bool) -> bool:
    state = batch.case_state(message.thread_id, contact.id)
    if state is None or state.id is None or state.status != "answered":
        return False
    rating = rating_of(message.text)
    if rating is None:
        _keep_comment(batch.selfservice, state.id, message)
        return False
    asked = Outbox.select().where((Outbox.case == state.id) & (Outbox.purpose == "survey")
                                  & (Outbox.status == "sent")).exists()
    if not asked or SurveyResponse.select().where(SurveyResponse.case == state.id).exists():
        return False
    score, comment = rating
    SurveyResponse.create(case=state.id, rating=score, comment=comment,
                          awaiting_comment=not comment, external_id=message.external_id,
                          answered_at=message.created_at)
    if not comment and batch.selfservice.awaiting is not None:
        batch.selfservice.awaiting.add(state.id)
    batch.add_event(state, "survey_answered", at=message.created_at, rating=score,
                    external_id=message.external_id)
    if comment:
        return False  # read as usual: words after the digit may be a new complaint
    batch.add_message(message, state, contact, "in", has_pii)
    batch.report.joined += 1
    return True


def _keep_comment(pending: Pending, case_id: int, message: InboundMessage) -> None:
    """The message after a bare digit, within a day, is the survey's comment (and is read as
    usual too). The few cases waiting for one are read once per batch."""
    if pending.awaiting is None:
        pending.awaiting = {case for (case,) in SurveyResponse.select(SurveyResponse.case).where(
            SurveyResponse.awaiting_comment
            & (SurveyResponse.answered_at > utcnow() - COMMENT_WITHIN)).tuples()}
    if case_id not in pending.awaiting:
        return
    pending.awaiting.discard(case_id)
    SurveyResponse.update(comment=message.text[:2000], awaiting_comment=False).where(
        (SurveyResponse.case == case_id) & SurveyResponse.awaiting_comment).execute()


def queue_survey(rt: Runtime, case_id: int, sent_at: datetime) -> Outbox | None:
    """After a private case's answer is delivered: queue the question once, if the platform's
    reply window is still open. Call inside the delivery's transaction."""
    settings = rt.config.citizen
    if not settings["survey"]:
        return None
    case = Case.get_by_id(case_id)
    if case.public or case.status != "answered":
        return None
    if case.reply_window_closes_at is None or case.reply_window_closes_at <= sent_at:
        return None
    if Outbox.select().where((Outbox.case == case.id) & (Outbox.purpose == "survey")).exists():
        return None
    row = Outbox.create(case=case.id, text=(settings["survey_text"] or SURVEY_TEXT).format(
        nomor=case.reference), public=False, purpose="survey")
    Event.record("survey_queued", case=case, outbox_id=row.id)
    return row


def survey_too_late(case: Case, now: datetime) -> bool:
    """Whether a queued question can no longer go out: the window closed or the case moved on."""
    closes = case.reply_window_closes_at
    return case.status != "answered" or closes is None or closes <= now
