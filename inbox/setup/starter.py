"""The starter knowledge base shipped with aduan (``starter_answers.toml``): written from the
domain reference for a Dinas Dukcapil, loaded once by migration 18, every entry marked
"perlu diperiksa" until the office checks it.

An entry is identified by its ``key`` (``Template.starter_key``), never by its title, so an
office's edits survive any later release; an entry whose title the office already uses for one
of its own answers is left out rather than renamed.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from inbox.models import Template, TemplateRevision, utcnow

STARTER_FILE = Path(__file__).with_name("starter_answers.toml")


def starter_entries(path: Path = STARTER_FILE) -> list[dict[str, Any]]:
    """The shipped entries as dictionaries (key, title, categories, keywords, text)."""
    with open(path, "rb") as fh:
        return list(tomllib.load(fh)["entry"])


def load_starter_entries(path: Path = STARTER_FILE) -> int:
    """Add the shipped entries the database lacks; return how many were added. Call inside a
    write transaction (a migration is one)."""
    keys = {key for (key,) in Template.select(Template.starter_key)
            .where(Template.starter_key.is_null(False)).tuples()}
    names = {name for (name,) in Template.select(Template.name).tuples()}
    added = 0
    now = utcnow()
    for entry in starter_entries(path):
        if entry["key"] in keys or entry["title"] in names:
            continue
        row = Template.create(name=entry["title"], text=entry["text"].strip(),
                              categories=list(entry.get("categories", [])),
                              keywords="\n".join(entry.get("keywords", [])),
                              needs_review=True, starter_key=entry["key"], created_at=now,
                              updated_at=now)
        TemplateRevision.create(template=row, change="created", name=row.name, text=row.text,
                                categories=row.categories, keywords=row.keywords,
                                needs_review=True, by=None, at=now)
        added += 1
    return added
