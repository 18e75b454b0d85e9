"""One contact per citizen, whichever id the platform names them by.

A platform may name one person by two ids: WhatsApp gives a business-scoped user id (BSUID)
beside the phone number, and leaves the number out once the person adopts a username
(docs/whatsapp.md). The connector puts the preferred id in ``InboundMessage.author_id`` and the
other in ``author_alias``; here, inside ingest's transaction, the two become one contact keyed
by the preferred id with the other as ``Contact.alias_id``:

* a contact known by the alias alone (the phone number, from before BSUIDs) is re-keyed to the
  preferred id, and its threads named by the alias are renamed with it, so the citizen's next
  message joins the same case;
* two contacts that turn out to be one person (one created by number, one by BSUID, by two
  workers at once) are merged: the cases and messages of the one keyed by the alias move to
  the other, which keeps its key;
* a message naming a contact by its alias only (a late copy of an older delivery) is filed
  under that contact and its thread;
* an alias already held by a contact with *another* preferred id moves to the new one and
  nothing is merged: a phone number that changed hands must never show one citizen's
  complaints to another.

Two workers on PostgreSQL: every citizen id a batch names is locked first, before any contact
is read (transaction-scoped advisory locks, in sorted order), so two batches about the same
citizen resolve one after the other and a late copy naming the citizen by number waits for
the re-keying that renames its thread; a unique violation that slips through anyway is rolled
back to a savepoint and the pair resolved again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from typing import Any

import peewee as pw

from connectors.base import InboundMessage
from inbox.db import database, is_postgres
from inbox.models import Case, Contact, Message

log = logging.getLogger(__name__)


def canonical(kind: str, messages: list[InboundMessage]) -> list[InboundMessage]:
    """``messages`` with each citizen's author and thread renamed to the contact's key, after
    linking every (id, alias) pair the batch carries; office messages are left as they are."""
    citizens = [m for m in messages if not m.from_office]
    pairs = list(dict.fromkeys((m.author_id, m.author_alias) for m in citizens if m.author_alias))
    # Locked before anything is read, the shortcut below included: a batch naming a citizen by
    # number alone that read "no aliases yet" while another worker was re-keying that citizen
    # would otherwise store its message under the old thread (seen in CI on PostgreSQL).
    _lock(kind, {m.author_id for m in citizens} | {m.author_alias for m in citizens if m.author_alias})
    # A platform whose contacts have no aliases at all (every one but WhatsApp) costs one
    # indexed query here (and the lock statement above on PostgreSQL) and nothing more.
    if not pairs and not Contact.select().where(
            (Contact.kind == kind) & Contact.alias_id.is_null(False)).exists():
        return messages
    for preferred, alias in pairs:
        link(kind, preferred, alias)
    return _renamed(kind, messages) if pairs or _aliased(kind, citizens) else messages


def link(kind: str, preferred: str, alias: str, retry: bool = True) -> Contact | None:
    """Make ``preferred`` and ``alias`` one contact keyed by ``preferred``; that contact, or
    None when neither id is known yet (ingest then creates it with its alias)."""
    try:
        with database.atomic():  # a savepoint: a unique violation leaves the rest of the batch
            return _link(kind, preferred, alias)
    except pw.IntegrityError:
        if not retry:
            raise
        log.info("contact %s of %s changed under another worker; resolving again", preferred, kind)
        return link(kind, preferred, alias, retry=False)


def _link(kind: str, preferred: str, alias: str) -> Contact | None:
    keyed = _one(kind, Contact.platform_user_id == preferred)
    by_alias = _one(kind, Contact.platform_user_id == alias)
    holder = _one(kind, Contact.alias_id == alias)
    if keyed is None and by_alias is None:
        if holder is not None:
            _release(holder)  # the number now belongs to another BSUID: nothing is merged
        return None
    if keyed is None:
        assert by_alias is not None
        if holder is not None and holder.id != by_alias.id:
            _release(holder)
        moved = Contact.update(platform_user_id=preferred, alias_id=alias).where(
            (Contact.id == by_alias.id) & (Contact.platform_user_id == alias)).execute()
        if moved != 1:  # another worker re-keyed it first: read it again
            return _link(kind, preferred, alias)
        _rename_threads(by_alias.id, alias, preferred)
        return Contact.get_by_id(by_alias.id)
    if by_alias is not None and by_alias.id != keyed.id:
        _merge(by_alias, into=keyed, old_key=alias)
    if keyed.alias_id != alias:
        if holder is not None and holder.id != keyed.id:
            _release(holder)
        Contact.update(alias_id=alias).where(Contact.id == keyed.id).execute()
        keyed.alias_id = alias
    return keyed


def _merge(contact: Contact, into: Contact, old_key: str) -> None:
    """Move ``contact``'s cases and messages to ``into`` and delete it."""
    Case.update(contact=into.id).where(Case.contact == contact.id).execute()
    Message.update(contact=into.id).where(Message.contact == contact.id).execute()
    _rename_threads(into.id, old_key, into.platform_user_id)
    if not into.name and contact.name:
        Contact.update(name=contact.name).where(Contact.id == into.id).execute()
        into.name = contact.name
    Contact.delete().where(Contact.id == contact.id).execute()
    log.info("two contacts of one citizen merged (%s into %s)", contact.id, into.id)


def _rename_threads(contact_id: int, old: str, new: str) -> None:
    """The contact's threads named by its old key take the new one (WhatsApp: the thread is
    the citizen), the office's replies in them included."""
    cases = Case.select(Case.id).where((Case.contact == contact_id) & (Case.thread_id == old))
    Message.update(thread_id=new).where(
        (Message.thread_id == old) & (Message.case.in_(cases) | (Message.contact == contact_id))
    ).execute()
    Case.update(thread_id=new).where((Case.contact == contact_id) & (Case.thread_id == old)).execute()


def _release(contact: Contact) -> None:
    Contact.update(alias_id=None).where(Contact.id == contact.id).execute()


def _one(kind: str, condition: Any) -> Contact | None:
    return Contact.select().where((Contact.kind == kind) & condition).first()


def _aliased(kind: str, citizens: list[InboundMessage]) -> bool:
    """Whether a message of the batch names a contact by its alias."""
    authors = list({m.author_id for m in citizens})
    return bool(authors) and Contact.select().where(
        (Contact.kind == kind) & Contact.alias_id.in_(authors)).exists()


def _renamed(kind: str, messages: list[InboundMessage]) -> list[InboundMessage]:
    authors = list({m.author_id for m in messages if not m.from_office})
    keys = {alias: key for alias, key in Contact.select(Contact.alias_id, Contact.platform_user_id)
            .where((Contact.kind == kind) & Contact.alias_id.in_(authors)).tuples()}
    known = {key for (key,) in Contact.select(Contact.platform_user_id).where(
        (Contact.kind == kind) & Contact.platform_user_id.in_(authors)).tuples()}
    out = []
    for message in messages:
        key = keys.get(message.author_id)
        if message.from_office or key is None or message.author_id in known:
            out.append(message)
            continue
        thread = key if message.thread_id == message.author_id else message.thread_id
        out.append(dataclasses.replace(message, author_id=key, thread_id=thread,
                                       author_alias=message.author_id))
    return out


def _lock(kind: str, ids: set[str]) -> None:
    """Transaction-scoped advisory locks on PostgreSQL on every id the batch names, taken in
    one statement in sorted order (two batches never wait for each other in a circle), before
    the batch reads a contact; SQLite's one write lock, taken by ingest's IMMEDIATE
    transaction, already serialises writers."""
    if not ids or not is_postgres():
        return
    keys = sorted({int.from_bytes(hashlib.blake2b(f"{kind}:{i}".encode(), digest_size=8).digest(),
                                  "big", signed=True) for i in ids})
    database.execute_sql("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k",
                         (keys,))
