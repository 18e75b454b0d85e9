"""Items the connectors set aside: counting them for ``aduan status`` and the dashboard, and
reading them again with the code installed now (``aduan reprocess``, ``inbox.cli.reprocess``).

A set-aside item (``inbox.models.SetAside``) keeps the raw JSON, the surface it came from and
the context its parser needs, so re-reading it needs neither the platform nor the page it came
in. An item that now parses is ingested exactly once: the message's unique (account,
external_id) index and the row's ``resolved_at``, written in one transaction, see to that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import peewee as pw

from connectors.items import Unreadable
from inbox.arrive.ingest import ingest
from inbox.db import atomic_write
from inbox.models import Account, SetAside, utcnow


def counts(tz: Any, now: datetime | None = None) -> dict[int, dict[str, int]]:
    """{account id: {"today": first seen today (office day), "total": still set aside}}."""
    now = now or utcnow()
    local = now.astimezone(tz).date()
    start = datetime.combine(local, time(0), tzinfo=tz)
    found: dict[int, dict[str, int]] = {}
    rows = (SetAside.select(SetAside.account, pw.fn.COUNT(SetAside.id),
                            pw.fn.SUM(pw.Case(None, [(SetAside.first_seen_at >= start, 1)], 0)))
            .where(SetAside.resolved_at.is_null()).group_by(SetAside.account).tuples())
    for account_id, total, today in rows:
        found[account_id] = {"today": int(today or 0), "total": int(total or 0)}
    return found


@dataclass
class ReprocessReport:
    ingested: list[str] = field(default_factory=list)   # "account: external id"
    not_messages: int = 0
    still_unreadable: list[tuple[int, str]] = field(default_factory=list)  # (row id, reason)

    def lines(self) -> list[str]:
        out = [f"{len(self.ingested)} item dibaca ulang dan dicatat sebagai pesan"
               + (f": {', '.join(self.ingested[:10])}" + (" …" if len(self.ingested) > 10 else "")
                  if self.ingested else ".")]
        if self.not_messages:
            out.append(f"{self.not_messages} item ternyata bukan pesan warga dan ditandai selesai.")
        if self.still_unreadable:
            out.append(f"{len(self.still_unreadable)} item masih belum dapat dibaca:")
            out.extend(f"  #{row}: {reason}" for row, reason in self.still_unreadable[:20])
        return out


def reprocess(runtime: Any, account_name: str | None = None) -> ReprocessReport:
    """Re-read every unresolved set-aside item (of one account, or all) with today's code."""
    report = ReprocessReport()
    query = SetAside.open_items().join(Account).where(
        Account.name.in_(list(runtime.config.accounts))).order_by(SetAside.id)
    if account_name:
        query = query.where(Account.name == account_name)
    for row in list(query):
        connector = runtime.connector(row.account.name)
        try:
            message = connector.reread(row.surface, row.raw, row.context or {})
        except Unreadable as exc:
            report.still_unreadable.append((row.id, exc.reason))
            SetAside.update(reason=exc.reason).where(SetAside.id == row.id).execute()
            continue
        except Exception as exc:  # the same bug as before: leave the item as it is
            reason = f"Item masih tidak dapat dibaca ({type(exc).__name__})."
            report.still_unreadable.append((row.id, reason))
            continue
        with atomic_write():
            claimed = SetAside.update(resolved_at=utcnow(), resolved_external_id=(
                message.external_id if message else None)).where(
                (SetAside.id == row.id) & SetAside.resolved_at.is_null()).execute()
            if claimed != 1:
                continue  # another reprocess took it
            if message is None:
                report.not_messages += 1
                continue
            ingest(Account.get_by_id(row.account_id), [message], None, runtime.ingest_options)
        report.ingested.append(f"{row.account.name}: {message.external_id}")
    return report


def recent(limit: int = 200) -> pw.ModelSelect:
    """The set-aside items for the superuser's list: unresolved first, newest seen first."""
    return (SetAside.select(SetAside, Account).join(Account)
            .order_by(SetAside.resolved_at.is_null(False), SetAside.last_seen_at.desc())
            .limit(limit))
