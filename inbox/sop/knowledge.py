"""The office's knowledge base (*basis pengetahuan*): its entries are the quick-answer templates
(``Template``) of the case page and the first source of suggested answers, so an answer lives in
one place. Managed by superusers and the users they allow (``KnowledgeEditor``); every change
leaves a ``TemplateRevision``, so the page can show who wrote what when.

An entry is "perlu diperiksa" (``needs_review``) until someone checks it: the shipped starter
entries, and an edit saved without the "sudah diperiksa" box. It cannot be marked checked while
it still holds a ``[[...]]`` gap. Past its "berlaku sampai" date it is no longer suggested.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from inbox.db import atomic_write
from inbox.labels import CATEGORY_LABELS
from inbox.models import KnowledgeEditor, Template, TemplateRevision, User, utcnow
from inbox.sop.workflow import GAP

VARIABLES = ("nama", "nomor", "batas_waktu", "kantor")


class KnowledgeError(Exception):
    """Refused; ``str(exc)`` is one Indonesian sentence naming what to fix."""


@dataclass
class EntryForm:
    """What the page's form gives (already stripped)."""

    name: str
    text: str
    categories: list[str]
    keywords: str = ""
    valid_until: date | None = None
    checked: bool = False


def can_manage(user: User) -> bool:
    """Superusers, and the users a superuser allowed."""
    if not user.active:
        return False
    return user.is_superuser or KnowledgeEditor.select().where(KnowledgeEditor.user == user).exists()


def problem(form: EntryForm, entry_id: int | None) -> str | None:
    """Why the entry cannot be saved, or None."""
    if not form.name or not form.text.strip():
        return "Nama dan isi templat wajib diisi."
    if len(form.name) > 120:
        return "Judul paling panjang 120 karakter."
    clash = Template.select().where(Template.name == form.name)
    if entry_id is not None:
        clash = clash.where(Template.id != entry_id)
    if clash.exists():
        return f"Templat bernama {form.name} sudah ada."
    text = GAP.sub("", form.text)   # [[isian]] is not a variable
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError:
        return "Kurung kurawal { } tidak seimbang. Pakai hanya {nama}, {nomor}, {batas_waktu}, {kantor}."
    unknown = sorted({f for f in fields if f not in VARIABLES})
    if unknown:
        shown = ", ".join("{" + f + "}" for f in unknown)
        return f"Variabel tidak dikenal: {shown}. Yang boleh: {{nama}}, {{nomor}}, {{batas_waktu}}, {{kantor}}."
    bad = [c for c in form.categories if c not in CATEGORY_LABELS]
    if bad:
        return f"Kategori tidak dikenal: {', '.join(bad)}."
    if form.checked and GAP.search(form.text):
        return (f"Isian {GAP.search(form.text).group(0)} belum diganti; entri yang masih berisi "
                "isian tidak bisa ditandai sudah diperiksa.")
    return None


def _revision(entry: Template, change: str, actor: User | None) -> None:
    TemplateRevision.create(template=entry, change=change, name=entry.name, text=entry.text,
                            categories=entry.categories or [], keywords=entry.keywords or "",
                            valid_until=entry.valid_until, needs_review=entry.needs_review,
                            by=actor, at=utcnow())


def save(form: EntryForm, actor: User, entry_id: int | None = None) -> Template:
    """Add an entry, or change one; raises KnowledgeError with the reason."""
    if not can_manage(actor):
        raise KnowledgeError("Anda tidak diizinkan mengelola basis pengetahuan.")
    found = problem(form, entry_id)
    if found:
        raise KnowledgeError(found)
    now = utcnow()
    fields: dict[str, Any] = dict(name=form.name, text=form.text, categories=sorted(set(form.categories)),
                                  keywords=form.keywords, valid_until=form.valid_until,
                                  needs_review=not form.checked, updated_by=actor.id, updated_at=now)
    if form.checked:
        fields.update(checked_by=actor.id, checked_at=now)
    with atomic_write():
        if entry_id is None:
            entry = Template.create(**fields)
            change = "created"
        else:
            if not Template.update(**fields).where(Template.id == entry_id).execute():
                raise KnowledgeError("Entri itu tidak ada lagi.")
            entry = Template.get_by_id(entry_id)
            change = "edited"
        _revision(entry, change, actor)
    return entry


def mark_checked(entry: Template, actor: User) -> None:
    """Someone checked the entry as it is: no longer "perlu diperiksa"."""
    if not can_manage(actor):
        raise KnowledgeError("Anda tidak diizinkan mengelola basis pengetahuan.")
    gap = GAP.search(entry.text)
    if gap:
        raise KnowledgeError(f"Isian {gap.group(0)} belum diganti; ubah entri ini dulu.")
    now = utcnow()
    with atomic_write():
        Template.update(needs_review=False, checked_by=actor.id, checked_at=now).where(
            Template.id == entry.id).execute()
        _revision(Template.get_by_id(entry.id), "checked", actor)


def switch(entry: Template, actor: User, active: bool) -> None:
    """Switch an entry off (no longer offered or suggested) or on again."""
    if not can_manage(actor):
        raise KnowledgeError("Anda tidak diizinkan mengelola basis pengetahuan.")
    with atomic_write():
        Template.update(active=active, updated_at=utcnow(), updated_by=actor.id).where(
            Template.id == entry.id).execute()
        _revision(Template.get_by_id(entry.id), "switched_on" if active else "switched_off", actor)


def grant(user: User, by: User) -> None:
    if not by.is_superuser:
        raise KnowledgeError("Hanya superuser yang boleh memberi izin mengelola basis pengetahuan.")
    KnowledgeEditor.insert(user=user.id, granted_by=by.id, granted_at=utcnow()).on_conflict_ignore().execute()


def revoke(user: User, by: User) -> None:
    if not by.is_superuser:
        raise KnowledgeError("Hanya superuser yang boleh mencabut izin mengelola basis pengetahuan.")
    KnowledgeEditor.delete().where(KnowledgeEditor.user == user).execute()


def state(entry: Template, today: date) -> tuple[str, str]:
    """(words, level) of an entry's state for the list: off, expired, to check, checked."""
    if not entry.active:
        return "Dimatikan", "muted"
    if entry.valid_until is not None and entry.valid_until < today:
        return "Kedaluwarsa — perlu diperiksa", "late"
    if entry.needs_review:
        return ("Perlu disesuaikan (masih ada isian [[...]])" if GAP.search(entry.text)
                else "Perlu diperiksa"), "today"
    return "Sudah diperiksa", "ok"
