"""The database's numbered schema migrations, recorded in the database itself (``aduan init``
and every command that opens the database apply the missing ones).

Append a migration; never edit one that has shipped: an office's database made by an older
release must open and migrate unchanged.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import peewee

from inbox.db import database
from inbox.models import (MODELS, Account, Attachment, BackupRun, Case, CaseLink, CaseMark,
                          Contact, Heartbeat, IgnoredCount, Incident, IncidentCase,
                          KnowledgeEditor, LoginThrottle, Notification, NotificationPreference,
                          Outbox, Recap, SchemaMigration, SetAside, SurveyResponse, Template,
                          TemplateRevision, User, WebSession, WebhookDelivery, PG_SEARCH_INDEXES,
                          drop_search_index, pg_search_index_sql, sqlite_search_index_sql)

log = logging.getLogger(__name__)


def _migration_1(db: peewee.Database) -> None:
    db.create_tables(MODELS, safe=True)


def _migration_2(db: peewee.Database) -> None:
    # Migration 1 creates the indexes the models declare today; a database made before
    # case(status, due_at), case(status, closed_at) and case(escalated_at) were declared lacks them.
    Case._schema.create_indexes(safe=True)


def _migration_3(db: peewee.Database) -> None:
    """Trigram indexes for the inbox's free-text search (``inbox.web.queries.search_condition``).

    Where the database cannot have them (SQLite older than 3.34, PostgreSQL without the pg_trgm
    extension or the right to create it) search keeps working without them, only slower; the
    log says how to add them later."""
    if isinstance(db, peewee.PostgresqlDatabase):
        try:
            with db.atomic():  # a savepoint: a refused CREATE EXTENSION must not end the migration
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except peewee.DatabaseError as exc:
            log.warning("pg_trgm is not available (%s); text search works without its index but "
                        "reads every message. To add it, have the database owner run CREATE "
                        "EXTENSION pg_trgm and then: %s", str(exc).strip().splitlines()[0],
                        "; ".join(pg_search_index_sql()))
            return
        for statement in pg_search_index_sql():
            db.execute_sql(statement)
        return
    try:
        with db.atomic():
            drop_search_index(db)  # a schema dropped and made again leaves the FTS tables behind
            for statement in sqlite_search_index_sql():
                db.execute_sql(statement)
    except peewee.OperationalError as exc:  # no FTS5 or no trigram tokenizer (SQLite < 3.34)
        log.warning("SQLite %s has no FTS5 trigram tokenizer (%s); text search works without "
                    "its index but reads every message", sqlite3.sqlite_version, exc)


def _migration_4(db: peewee.Database) -> None:
    # Before the unique (kind, period, fmt) index, two processes making the same recap at the
    # same moment could both add a row; keep the newest of each and let the index forbid more.
    newest = (Recap.select(peewee.fn.MAX(Recap.id))
              .group_by(Recap.kind, Recap.period, Recap.fmt))
    Recap.delete().where(Recap.id.not_in(newest)).execute()
    Recap._schema.create_indexes(safe=True)


def _migration_5(db: peewee.Database) -> None:
    # Items set aside by the connectors and the attachments of messages (real platform payloads).
    db.create_tables([SetAside, Attachment], safe=True)


def _migration_6(db: peewee.Database) -> None:
    # Server-side web sessions (logout and password changes end them) and login throttles
    # (growing delays per address and per name instead of a lock-out an attacker controls).
    db.create_tables([WebSession, LoginThrottle], safe=True)


def _migration_7(db: peewee.Database) -> None:
    # Notifications (an outbox of their own) and each user's choice of channels and events.
    db.create_tables([NotificationPreference, Notification], safe=True)


def _migration_8(db: peewee.Database) -> None:
    """Satisfaction responses, and outbox rows that answer one message rather than a case (the
    citizen's status check, inbox.arrive.selfservice): the case becomes optional and the row carries
    its own address. Migration 1 makes today's tables, so each change is made only if missing."""
    from playhouse.migrate import SchemaMigrator, migrate as apply
    db.create_tables([SurveyResponse], safe=True)
    table = Outbox._meta.table_name
    columns = {c.name: c for c in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    steps = [migrator.add_column(table, name, peewee.CharField(max_length=length, null=True))
             for name, length in (("thread_id", 200), ("recipient_id", 120),
                                  ("in_reply_to", 200), ("reply_kind", 20))
             if name not in columns]
    if "account_id" not in columns:
        steps.append(migrator.add_column(table, "account_id", peewee.ForeignKeyField(
            Account, null=True, field=Account.id, on_delete="CASCADE")))
    if not columns["case_id"].null:
        steps.append(migrator.drop_not_null(table, "case_id"))
    apply(*steps)
    Outbox._schema.create_indexes(safe=True)


def _migration_9(db: peewee.Database) -> None:
    # The outcome of every backup run and the daemon's heartbeat (status, dashboard, /healthz).
    db.create_tables([BackupRun, Heartbeat], safe=True)


def _migration_10(db: peewee.Database) -> None:
    # Webhook deliveries (WhatsApp); numbers 6-9 belong to work merged separately.
    db.create_tables([WebhookDelivery], safe=True)


def _migration_11(db: peewee.Database) -> None:
    # The SQLite receiver's spool files become rows named after them (inbox.arrive.webhooks.spool).
    # Migration 10 makes the table from today's model, column included; older ones lack it.
    if "spool_name" not in {c.name for c in db.get_columns(WebhookDelivery._meta.table_name)}:
        from playhouse.migrate import SchemaMigrator, migrate as apply
        field = WebhookDelivery.spool_name
        apply(SchemaMigrator.from_database(db).add_column(
            WebhookDelivery._meta.table_name, "spool_name",
            peewee.CharField(max_length=field.max_length, null=True)))
    WebhookDelivery._schema.create_indexes(safe=True)


def _migration_13(db: peewee.Database) -> None:
    # Since when an account's platform cannot be reached (the dashboard's "offline" line), and
    # why a webhook delivery was set aside. Migration 1 makes today's tables: added if missing.
    from playhouse.migrate import SchemaMigrator, migrate as apply
    migrator = SchemaMigrator.from_database(db)
    steps = []
    for model, name, field in ((Account, "offline_since", peewee.DateTimeField(null=True)),
                               (WebhookDelivery, "cause", peewee.CharField(max_length=40, null=True))):
        table = model._meta.table_name
        if name not in {c.name for c in db.get_columns(table)}:
            steps.append(migrator.add_column(table, name, field))
    apply(*steps)


def _migration_14(db: peewee.Database) -> None:
    """A contact's second id on its platform (WhatsApp: the phone number beside the BSUID, one
    contact per citizen whatever id Meta names them by) and the per-kind counts of items the
    connectors read past (Telegram updates that are no message, auto-reply mails)."""
    if "alias_id" not in {c.name for c in db.get_columns(Contact._meta.table_name)}:
        from playhouse.migrate import SchemaMigrator, migrate as apply
        apply(SchemaMigrator.from_database(db).add_column(
            Contact._meta.table_name, "alias_id", peewee.CharField(max_length=120, null=True)))
    Contact._schema.create_indexes(safe=True)
    db.create_tables([IgnoredCount], safe=True)


#: The agency of a case closed with the old "not_our_authority" dismissal, which named none.
UNRECORDED_AGENCY = "Instansi lain (tidak dicatat)"
#: Migration 15's columns of the case table, as they were added (the model may change later).
_CASE_COLUMNS_15: tuple[tuple[str, peewee.Field], ...] = (
    ("complaint_class", peewee.CharField(max_length=40, null=True)),
    ("resolution_due_at", peewee.DateTimeField(null=True)),
    ("resolved_at", peewee.DateTimeField(null=True)),
    ("follow_up", peewee.TextField(null=True)),
    ("maladministration", peewee.CharField(max_length=40, null=True)),
    ("maladministration_suggested", peewee.CharField(max_length=40, null=True)),
    ("referred_to", peewee.CharField(max_length=200, null=True)),
    ("report_type", peewee.CharField(max_length=30, null=True)),
    ("lapor_tracking_id", peewee.CharField(max_length=20, null=True)),
)


def _migration_15(db: peewee.Database) -> None:
    """Complaint classes, maladministration, "bukan wewenang" and LAPOR! (issue 30): the case's
    new columns, and every case dismissed as "not_our_authority" becomes a *bukan wewenang*
    case of an unrecorded agency, with an event saying so (its status stays ``not_complaint``:
    no answer was sent, and none is pretended). Migration 1 makes today's table, so each column
    is added only when missing."""
    from playhouse.migrate import SchemaMigrator, migrate as apply
    from inbox.models import Event
    table = Case._meta.table_name
    present = {c.name for c in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    steps = [migrator.add_column(table, name, field) for name, field in _CASE_COLUMNS_15
             if name not in present]
    if steps:
        apply(*steps)
    if "referral_forwarded" not in present:
        # NOT NULL with a default in one statement: peewee's migrator would add it nullable and
        # then rebuild SQLite's whole case table to forbid NULL.
        kind = "BOOLEAN NOT NULL DEFAULT false" if isinstance(db, peewee.PostgresqlDatabase) \
            else "INTEGER NOT NULL DEFAULT 0"
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN referral_forwarded {kind}')
    Case._schema.create_indexes(safe=True)
    old = [i for (i,) in db.execute_sql(
        f'SELECT id FROM "{table}" WHERE dismiss_reason = {db.param} ORDER BY id',
        ("not_our_authority",)).fetchall()]
    for start in range(0, len(old), 500):
        part = old[start:start + 500]
        Case.update(referred_to=UNRECORDED_AGENCY, dismiss_reason=None).where(
            Case.id.in_(part)).execute()
        Event.insert_many([{"case": i, "actor": None, "actor_name": "system", "action": "referred",
                            "detail": {"agency": UNRECORDED_AGENCY, "migrated": True,
                                       "reason": "not_our_authority"}}
                           for i in part]).execute()


def _migration_17(db: peewee.Database) -> None:
    """The knowledge base (the quick-answer templates gain categories, keywords, a validity
    date, who checked them, and a history), mass incidents, linked cases and the hashed marks
    that find a citizen's cases on other channels. Migration 1 makes today's tables, so each
    column is added only where missing."""
    from playhouse.migrate import SchemaMigrator, migrate as apply
    db.create_tables([TemplateRevision, KnowledgeEditor, Incident, IncidentCase, CaseLink,
                      CaseMark], safe=True)
    table = Template._meta.table_name
    present = {c.name for c in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    wanted: list[tuple[str, peewee.Field]] = [
        ("categories", peewee.TextField(default="[]")),
        ("keywords", peewee.TextField(default="")),
        ("valid_until", peewee.DateField(null=True)),
        ("needs_review", peewee.BooleanField(default=False)),
        ("checked_by_id", peewee.ForeignKeyField(User, null=True, field=User.id,
                                                 on_delete="SET NULL")),
        ("checked_at", peewee.DateTimeField(null=True)),
        ("updated_by_id", peewee.ForeignKeyField(User, null=True, field=User.id,
                                                 on_delete="SET NULL")),
        ("updated_at", peewee.DateTimeField(null=True)),
        ("starter_key", peewee.CharField(max_length=60, null=True)),
    ]
    apply(*[migrator.add_column(table, name, field) for name, field in wanted
            if name not in present])
    Template.update(updated_at=Template.created_at).where(Template.updated_at.is_null()).execute()
    Template._schema.create_indexes(safe=True)
    for model in (TemplateRevision, IncidentCase, CaseLink, CaseMark):
        model._schema.create_indexes(safe=True)
    # "The same name on another channel" (inbox.sop.related) without reading every contact.
    db.execute_sql("CREATE INDEX IF NOT EXISTS contact_name_lower ON contact (lower(name))")


def _migration_18(db: peewee.Database) -> None:
    """The starter knowledge base (``starter_answers.toml``), each entry "perlu diperiksa";
    an entry whose title an office already uses is left out rather than renamed."""
    from inbox.setup.starter import load_starter_entries
    load_starter_entries()


def _migration_19(db: peewee.Database) -> None:
    """Issue 28: who made a recap when no officer did (the schedule or a command) and whether it
    was made from practice data; what started a daemon (a service or a terminal). Migration 1
    makes today's tables, so each column is added only where missing."""
    from playhouse.migrate import SchemaMigrator, migrate as apply
    migrator = SchemaMigrator.from_database(db)
    steps = []
    for model, name, field in ((Recap, "made_by", peewee.CharField(max_length=20, default="")),
                               (Recap, "practice", peewee.BooleanField(default=False)),
                               (Heartbeat, "service", peewee.CharField(max_length=20, default=""))):
        if name not in {c.name for c in db.get_columns(model._meta.table_name)}:
            steps.append(migrator.add_column(model._meta.table_name, name, field))
    apply(*steps)


def _migration_20(db: peewee.Database) -> None:
    """Issue 29: the overdue count reads the case's intents from the (status, due_at) index,
    which now carries them, instead of each open case's row; the narrower index goes."""
    Case._schema.create_indexes(safe=True)
    db.execute_sql("DROP INDEX IF EXISTS case_status_due_at")


#: Numbered schema migrations. Append; never edit one that has shipped. Numbers 12 and 16 were
#: reserved by work merged in one release and never used: a gap is harmless.
MIGRATIONS: list[tuple[int, str, Callable[[peewee.Database], None]]] = [
    (1, "initial schema", _migration_1),
    (2, "indexes for the overdue and dashboard queries", _migration_2),
    (3, "text search index", _migration_3),
    (4, "one recap row per file", _migration_4),
    (5, "set-aside items and attachments", _migration_5),
    (6, "web sessions and login throttles", _migration_6),
    (7, "notifications and notification preferences", _migration_7),
    (8, "satisfaction responses and status-check answers", _migration_8),
    (9, "backup runs and the daemon's heartbeat", _migration_9),
    (10, "webhook deliveries", _migration_10),
    (11, "webhook spool names", _migration_11),
    (13, "offline accounts and set-aside webhook deliveries", _migration_13),
    (14, "contact alias ids and ignored-item counts", _migration_14),
    (15, "complaint classes, maladministration, bukan wewenang and LAPOR!", _migration_15),
    (17, "knowledge base, incidents and linked cases", _migration_17),
    (18, "starter knowledge base", _migration_18),
    (19, "recap makers, practice recaps and service heartbeats", _migration_19),
    (20, "the overdue count from one index", _migration_20),
]


def migrate() -> list[str]:
    """Apply the migrations not yet recorded; return their names (empty when up to date)."""
    database.create_tables([SchemaMigration], safe=True)
    done = {m.number for m in SchemaMigration.select(SchemaMigration.number)}
    applied = []
    for number, name, apply in MIGRATIONS:
        if number in done:
            continue
        with database.atomic():
            apply(database.obj)
            SchemaMigration.insert(number=number, name=name).on_conflict_ignore().execute()
        applied.append(f"{number:03d} {name}")
    return applied


def needs_migration() -> bool:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return True
    done = {m.number for m in SchemaMigration.select(SchemaMigration.number)}
    return any(number not in done for number, _, _ in MIGRATIONS)


# --- the search indexes a restore leaves to be built afterwards -------------------------------

#: The session-level advisory lock held by the one process building the search indexes: two
#: 32-bit keys, a key space apart from the single 64-bit keys ingest locks contacts with.
SEARCH_INDEX_LOCK = (0x616475, 3)


def absent_search_indexes() -> list[str]:
    """On PostgreSQL, the search indexes (``PG_SEARCH_INDEXES``) that are not there or were left
    invalid by a build that was stopped; [] on SQLite or without pg_trgm (migration 3 said how
    to add it)."""
    if not isinstance(database.obj, peewee.PostgresqlDatabase):
        return []
    if database.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() is None:
        return []
    names = [name for name, _, _ in PG_SEARCH_INDEXES]
    valid = {name for (name,) in database.execute_sql(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = ANY(%s) AND i.indisvalid AND pg_table_is_visible(c.oid)", [names])}
    return [name for name in names if name not in valid]


def build_search_indexes() -> list[str]:
    """Build the absent search indexes without blocking the inbox's writers (``CREATE INDEX
    CONCURRENTLY``, outside any transaction) and return their names. ``aduan restore`` leaves
    them out: on a year of messages they are most of a restore's time, and search works
    without them, only slower. One process builds at a time (an advisory lock; the others
    return at once); an invalid index left by a stopped build is dropped and built again."""
    if not absent_search_indexes():
        return []
    if not database.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", SEARCH_INDEX_LOCK).fetchone()[0]:
        return []
    try:
        built = absent_search_indexes()  # again, under the lock: another process may have built them
        for name in built:
            database.execute_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            for statement in pg_search_index_sql([name], concurrently=True):
                database.execute_sql(statement)
        return built
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s, %s)", SEARCH_INDEX_LOCK)
