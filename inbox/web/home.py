"""Each role's own start (issue 16, item 2): the page it lands on after logging in, the inbox tabs
and office-health panels it sees, and the header's count of what waits for it.

Who sees what, after the SOP (shared/SOP.md):

- the **admin** works every stage of the inbox and keeps the channels running: the inbox is its
  home, with every tab, the channels' health, the backups and the stopped-channel banner;
- the **group admin** answers or routes what the admin escalated (step 2) and follows it at the
  bidang: it lands on "Antrean Group Admin"; its tabs are the open cases, its own queue, the
  bidang's, and the overdue / due-today ones; the channels are the admin's business;
- a **Pejabat Bidang Teknis** answers what was assigned to its bidang (step 3): it lands on its
  bidang's queue and sees its bidang's cases only (``workflow.visible_cases``), so every tab and
  figure counts those; the channels, backups and other bidang are not its business;
- the **supervisor** reads everything, as the admin sees it; nothing waits for it.

A superuser sees everything, and its role decides its landing page and its count.
"""
from __future__ import annotations

from flask import url_for

from inbox.labels import label
from inbox.models import OPEN_STATUSES, User
from inbox.sop import workflow
from inbox.web.queries import OPEN, STATUS_FILTERS

#: The status filter value of the list behind the header's count ("/?status=menunggu").
WAITING = STATUS_FILTERS[1]

ALL_TABS = (OPEN, "new", "escalated", "at_division", "division_answered", "replying",
            "overdue", "due_today")
#: The tabs of the roles that work one stage of the SOP.
ROLE_TABS: dict[str, tuple[str, ...]] = {
    "group_admin": (OPEN, "escalated", "at_division", "overdue", "due_today"),
    "division": (OPEN, "at_division", "division_answered", "overdue", "due_today"),
}
#: Roles that see the channels' health, the backups and webhook figures (superusers always do).
HEALTH_ROLES = ("admin", "supervisor")


def home_url(user: User) -> str:
    """Where ``user`` starts: the group admin's queue, its own bidang's queue, or the inbox."""
    if user.role == "group_admin":
        return url_for("cases.group_admin_queue")
    if user.role == "division" and user.division_id is not None:
        return url_for("cases.division_queue", code=user.division.code)
    return url_for("cases.index")


def tab_keys(user: User) -> tuple[str, ...]:
    """The inbox tabs ``user`` sees: a status, ``OPEN``, ``overdue`` or ``due_today``."""
    return ALL_TABS if user.is_superuser else ROLE_TABS.get(user.role, ALL_TABS)


def tabs(user: User) -> list[tuple[str, dict[str, str], str]]:
    """(label, filter arguments, key in ``queries.queue_counts``) of each of ``user``'s tabs."""
    def args(key: str) -> dict[str, str]:
        return {key: "1"} if key in ("overdue", "due_today") else {"status": key}
    return [(label("tab", key), args(key), key) for key in tab_keys(user)]


def waiting_statuses_shown(user: User) -> tuple[str, ...]:
    """The open statuses the dashboard's "Menunggu tindakan" lists for ``user``."""
    return tuple(key for key in tab_keys(user) if key in OPEN_STATUSES)


def sees_office_health(user: User) -> bool:
    """Whether ``user`` sees the channels' health, the backups and the webhook figures."""
    return user.is_superuser or user.role in HEALTH_ROLES


def waiting_count(user: User) -> int | None:
    """How many cases wait for ``user``'s action (the header's count); None for a role nothing
    waits for (a supervisor), which then shows no count at all."""
    if user.role not in workflow.WAITING_STATUSES:
        return None
    return workflow.waiting_cases(user).count()
