"""Practice and the office's record (issue 28): the sandbox's practice messages never mix with
what the office reports, and going live is one step.

Which cases count (:func:`scope`):

- while the office only practises — it has not gone live and no real channel was ever
  configured — the practice cases are all there is: a recap counts them and says on every page
  that it is a practice recap (*LATIHAN*), never the office's record;
- otherwise the practice channels' cases are left out of every official recap, export and the
  satisfaction index, whether or not a sandbox still runs beside the real channels.

Going live (:func:`go_live`, ``aduan go-live`` and the superuser's page *Mulai memakai aduan*)
stops the practice channels for good (``sync_from_config`` keeps them stopped even while
``config.toml`` still lists them), removes the practice cases with everything hanging off them
(messages, history, replies, notifications, survey answers, attachment files, contacts), the
practice recaps and their files, resets the month's case numbering to the real cases, and may
switch off users and quick-answer templates made only for practice. It is recorded as one
``went_live`` event that says how many of each went.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import peewee as pw

from inbox.db import atomic_write
from inbox.models import (PRACTICE_KINDS, Account, Attachment, Case, Contact, Counter, Event,
                          Message, Outbox, Recap, SetAside, SurveyResponse, Template, Usage, User,
                          WebSession)

log = logging.getLogger(__name__)

#: Printed on every page of a recap made from practice data alone.
PRACTICE_MARK = "LATIHAN — bukan laporan resmi"
CHUNK = 500


@dataclass(frozen=True)
class Scope:
    """Which cases a recap, an export or the satisfaction index counts."""

    practice: bool                 # only practice data exists: a practice recap, marked so
    excluded: tuple[int, ...] = ()  # account ids whose cases are left out

    def narrow(self, query: pw.ModelSelect) -> pw.ModelSelect:
        """``query`` (of cases, or joined to them) without the excluded channels' cases."""
        if not self.excluded:
            return query
        return query.where(Case.account.not_in(list(self.excluded)))


def has_real_channel() -> bool:
    """A channel other than practice was ever configured (its row stays when it is removed)."""
    return Account.select().where(Account.kind.not_in(PRACTICE_KINDS)).exists()


def scope() -> Scope:
    """The cases that count now (see the module's docstring)."""
    practice_ids = Account.practice_ids()
    if not practice_ids:
        return Scope(False)
    if not has_real_channel() and Event.went_live() is None:
        return Scope(True)
    return Scope(False, tuple(practice_ids))


@dataclass
class PracticeData:
    """What practice left in the database (what going live removes)."""

    cases: int = 0
    messages: int = 0
    contacts: int = 0
    recaps: int = 0
    attachments: int = 0

    @property
    def any(self) -> bool:
        return bool(self.cases or self.messages or self.recaps)

    def sentence(self) -> str:
        """``1.234 pengaduan latihan (5.678 pesan) dan 12 berkas rekap latihan``."""
        def n(value: int) -> str:
            return f"{value:,}".replace(",", ".")
        return (f"{n(self.cases)} pengaduan latihan ({n(self.messages)} pesan, {n(self.contacts)} "
                f"warga latihan) dan {n(self.recaps)} berkas rekap latihan")


def practice_data() -> PracticeData:
    ids = Account.practice_ids()
    if not ids:
        return PracticeData(recaps=Recap.select().where(Recap.practice == True).count())  # noqa: E712
    return PracticeData(
        cases=Case.select().where(Case.account.in_(ids)).count(),
        messages=Message.select().where(Message.account.in_(ids)).count(),
        contacts=Contact.select().where(Contact.kind.in_(PRACTICE_KINDS)).count(),
        recaps=Recap.select().where(Recap.practice == True).count(),  # noqa: E712
        attachments=(Attachment.select().join(Message)
                     .where(Message.account.in_(ids)).count()))


@dataclass
class WentLive:
    """What going live did."""

    removed: PracticeData
    accounts: list[str]
    users: list[str]
    templates: list[str]

    def lines(self) -> list[str]:
        out = [f"Dihapus: {self.removed.sentence()}."]
        out.append("Saluran latihan dihentikan: " + (", ".join(self.accounts) or "tidak ada") + ".")
        if self.users:
            out.append("Pengguna latihan dinonaktifkan: " + ", ".join(self.users) + ".")
        if self.templates:
            out.append("Templat latihan dimatikan: " + ", ".join(self.templates) + ".")
        return out


def go_live(data_dir: Path, actor: User | None = None, users: Sequence[User] = (),
            templates: Sequence[Template] = ()) -> WentLive:
    """Stop the practice channels and remove every trace of practice from the office's record
    (see the module's docstring); safe to run again (it then removes what a poll in flight
    added). ``users`` and ``templates`` were made only for practice and are switched off."""
    ids = Account.practice_ids()
    found = practice_data()
    files = [row.path for row in Attachment.select(Attachment.path).join(Message)
             .where(Message.account.in_(ids or [0]) & Attachment.path.is_null(False))]
    recap_files = [row.path for row in Recap.select(Recap.path).where(Recap.practice == True)]  # noqa: E712
    with atomic_write():
        # Stopped first, so the daemon polls them no more from its next step.
        Account.update(enabled=False, lease_owner=None, lease_until=None).where(
            Account.id.in_(ids or [0])).execute()
        stopped = [a.label or a.name for a in Account.select().where(Account.id.in_(ids or [0]))]
        _remove_practice_cases(ids)
        Recap.delete().where(Recap.practice == True).execute()  # noqa: E712
        _renumber_months()
        user_names = [u.username for u in users]
        User.update(active=False).where(User.id.in_([u.id for u in users] or [0])).execute()
        # their browsers are logged out at once, as a deactivation on the users' page does
        WebSession.delete().where(WebSession.user.in_([u.id for u in users] or [0])).execute()
        template_names = [t.name for t in templates]
        Template.update(active=False).where(
            Template.id.in_([t.id for t in templates] or [0])).execute()
        done = WentLive(found, stopped, user_names, template_names)
        Event.record("went_live", actor=actor, **asdict(found), accounts=stopped,
                     users=user_names, templates=template_names)
    _unlink(data_dir, files + recap_files)
    log.info("aduan mulai dipakai: %s", " ".join(done.lines()))
    return done


def _remove_practice_cases(ids: list[int]) -> None:
    """Every row practice left: messages first (their search-index triggers fire on a plain
    delete), then the cases with what cascades from them, then the rest of the channels'."""
    if not ids:
        return
    Attachment.delete().where(Attachment.message.in_(
        Message.select(Message.id).where(Message.account.in_(ids)))).execute()
    SurveyResponse.delete().where(SurveyResponse.case.in_(
        Case.select(Case.id).where(Case.account.in_(ids)))).execute()
    Message.delete().where(Message.account.in_(ids)).execute()
    Outbox.delete().where(Outbox.account.in_(ids) | Outbox.case.in_(
        Case.select(Case.id).where(Case.account.in_(ids)))).execute()
    case_ids = [i for (i,) in Case.select(Case.id).where(Case.account.in_(ids)).tuples()]
    for start in range(0, len(case_ids), CHUNK):
        part = case_ids[start:start + CHUNK]
        Event.delete().where(Event.case.in_(part)).execute()
        Case.delete().where(Case.id.in_(part)).execute()
    Contact.delete().where(Contact.kind.in_(PRACTICE_KINDS) & Contact.id.not_in(
        Case.select(Case.contact))).execute()
    SetAside.delete().where(SetAside.account.in_(ids)).execute()
    Usage.delete().where(Usage.account.in_(ids)).execute()


def _renumber_months() -> None:
    """Each month's case counter back to its highest remaining number, so the first real case
    of a month that held only practice is ``…-0001`` again."""
    for counter in list(Counter.select().where(Counter.key.startswith("ADU-"))):
        prefix = counter.key + "-"
        numbers = [int(ref.rsplit("-", 1)[1]) for (ref,) in Case.select(Case.reference)
                   .where(Case.reference.startswith(prefix)).tuples()
                   if ref.rsplit("-", 1)[1].isdigit()]
        Counter.update(value=max(numbers, default=0)).where(Counter.key == counter.key).execute()


def _unlink(data_dir: Path, paths: list[str]) -> None:
    root = Path(data_dir).resolve()
    for text in paths:
        path = Path(text)
        path = (path if path.is_absolute() else root / path).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()


