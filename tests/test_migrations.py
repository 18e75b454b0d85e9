"""Schema migrations: a fresh database gets every one once, and a database made by older code is
brought up to date without losing its rows."""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import peewee
import pytest

from inbox.db import database
from inbox.models import Case, Recap, SchemaMigration, User, utcnow
from inbox.setup.config import load_config
from inbox.setup.migrations import MIGRATIONS, migrate
from inbox.setup.runtime import Runtime
from recap.output import record
from tests.conftest import PG_URL, reset_database

RECAP_MIGRATION = 4


def index_names(table: str) -> set[str]:
    return {index.name for index in database.get_indexes(table)}


def test_a_fresh_database_gets_every_migration_once(rt: Runtime) -> None:
    done = [(m.number, m.name) for m in SchemaMigration.select().order_by(SchemaMigration.number)]
    assert done == [(number, name) for number, name, _ in MIGRATIONS]
    assert migrate() == []
    assert "recap_kind_period_fmt" in index_names("recap")


def test_an_older_database_gets_the_case_indexes_and_one_recap_row_per_file(
        config_path: Path) -> None:
    """A database from before migrations 2 and 4: without the case indexes and the recap index,
    and holding the duplicate recap rows two processes could leave."""
    rt = Runtime(load_config(config_path))
    if PG_URL:
        reset_database()
    database.create_tables([SchemaMigration])
    MIGRATIONS[0][2](database.obj)
    SchemaMigration.create(number=1, name=MIGRATIONS[0][1])
    for name in ("case_status_due_at_intent_intent_override", "case_status_closed_at",
                 "case_escalated_at", "recap_kind_period_fmt"):
        database.execute_sql(f'DROP INDEX "{name}"')
    Recap.insert_many([
        {"kind": "daily", "period": "2026-11-23", "fmt": "pdf", "path": "recaps/old.pdf"},
        {"kind": "daily", "period": "2026-11-23", "fmt": "pdf", "path": "recaps/new.pdf"},
        {"kind": "daily", "period": "2026-11-23", "fmt": "xlsx", "path": "recaps/a.xlsx"},
        {"kind": "monthly", "period": "2026-10", "fmt": "pdf", "path": "recaps/m1.pdf"},
        {"kind": "monthly", "period": "2026-10", "fmt": "pdf", "path": "recaps/m2.pdf"},
        {"kind": "monthly", "period": "2026-10", "fmt": "pdf", "path": "recaps/m3.pdf"},
    ]).execute()

    applied = migrate()

    assert applied == [f"{number:03d} {name}" for number, name, _ in MIGRATIONS[1:]]
    held = index_names("case")
    assert {"case_status_due_at_intent_intent_override", "case_status_closed_at",
            "case_escalated_at"} <= held
    assert "case_status_due_at" not in held  # migration 20: the wider index replaced it
    kept = sorted((r.kind, r.period, r.fmt, r.path) for r in Recap.select())
    assert kept == [("daily", "2026-11-23", "pdf", "recaps/new.pdf"),
                    ("daily", "2026-11-23", "xlsx", "recaps/a.xlsx"),
                    ("monthly", "2026-10", "pdf", "recaps/m3.pdf")]
    with pytest.raises(peewee.IntegrityError), database.atomic():
        Recap.create(kind="daily", period="2026-11-23", fmt="pdf", path="recaps/again.pdf")
    assert Case.select().count() == 0 and migrate() == []
    rt.close()


def test_processes_recording_the_same_recap_at_once_leave_one_row_per_file(rt: Runtime) -> None:
    """The daemon's schedule and the web's button can make the same recap at the same moment;
    each writer here has its own connection, all released together."""
    doc = SimpleNamespace(kind="daily", period_key="2026-11-23")
    folder = Path(rt.data_dir) / "recaps"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "rekap-harian-2026-11-23.pdf", folder / "rekap-harian-2026-11-23.xlsx"]
    actor = User.create(username="admin1", password_hash="x", role="admin", full_name="Admin Satu")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            start.wait()
            record(rt, doc, paths, actor)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = sorted((r.kind, r.period, r.fmt, r.path, r.created_by_id) for r in Recap.select())
    assert rows == [("daily", "2026-11-23", "pdf", "recaps/rekap-harian-2026-11-23.pdf", actor.id),
                    ("daily", "2026-11-23", "xlsx", "recaps/rekap-harian-2026-11-23.xlsx",
                     actor.id)]


def test_migration_11_gives_an_older_webhook_table_its_unique_spool_name(rt: Runtime) -> None:
    """A webhook_delivery table made by migration 10 before the spool existed, holding a row."""
    from inbox.models import WebhookDelivery
    from inbox.setup.migrations import _migration_11, _migration_13

    class OldDelivery(peewee.Model):
        received_at = peewee.DateTimeField()
        body = peewee.TextField()
        source = peewee.CharField(max_length=60, default="")
        status = peewee.CharField(max_length=20, default="pending")
        attempts = peewee.IntegerField(default=0)
        lease_until = peewee.DateTimeField(null=True)
        processed_at = peewee.DateTimeField(null=True)
        error = peewee.TextField(null=True)

        class Meta:
            database = database
            table_name = WebhookDelivery._meta.table_name

    database.drop_tables([WebhookDelivery])
    database.create_tables([OldDelivery])
    OldDelivery.create(received_at="2026-11-30 01:00:00", body="{}")
    _migration_11(database.obj)
    _migration_11(database.obj)  # safe to run twice
    _migration_13(database.obj)  # today's model also has migration 13's column
    assert WebhookDelivery.get().spool_name is None
    WebhookDelivery.create(body="{}", spool_name="a.json")
    with pytest.raises(peewee.IntegrityError), database.atomic():
        WebhookDelivery.create(body="{}", spool_name="a.json")


def test_migration_13_adds_offline_since_and_the_set_aside_cause_to_older_tables(rt: Runtime) -> None:
    """An account and a webhook table as the current main makes them, each holding a row."""
    from inbox.models import Account, WebhookDelivery
    from inbox.setup.migrations import _migration_13
    for model, column in ((Account, "offline_since"), (WebhookDelivery, "cause")):
        database.execute_sql(f'ALTER TABLE "{model._meta.table_name}" DROP COLUMN {column}')
    database.execute_sql("INSERT INTO webhook_delivery (received_at, body, source, status, attempts) "
                         "VALUES ('2026-11-30 01:00:00', '{}', '', 'failed', 5)")
    _migration_13(database.obj)
    _migration_13(database.obj)  # safe to run twice
    account = Account.get(Account.name == "sandbox")
    assert account.offline_since is None and WebhookDelivery.get().cause is None
    Account.update(offline_since=account.last_poll_at or utcnow()).execute()
    WebhookDelivery.update(cause="unknown_account").execute()
    assert Account.get().offline_since is not None and WebhookDelivery.get().cause == "unknown_account"


def test_an_outbox_from_before_migration_8_can_hold_status_answers_and_keeps_its_rows(
        rt: Runtime) -> None:
    """Migration 8 on an outbox made by older code: ``case_id`` NOT NULL and no address
    columns. Its rows stay; afterwards a status answer with no case can be queued."""
    from inbox.models import Account, Outbox, SurveyResponse
    from tests.workflow_helpers import open_case

    class OldOutbox(peewee.Model):
        case = peewee.ForeignKeyField(Case, on_delete="CASCADE")
        text = peewee.TextField()
        public = peewee.BooleanField()
        purpose = peewee.CharField(max_length=20, default="answer")
        status = peewee.CharField(max_length=20, default="pending", index=True)
        attempts = peewee.IntegerField(default=0)
        next_attempt_at = peewee.DateTimeField(index=True)
        lease_owner = peewee.CharField(max_length=120, null=True)
        lease_until = peewee.DateTimeField(null=True)
        platform_id = peewee.CharField(max_length=200, null=True)
        last_error = peewee.TextField(null=True)
        created_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = peewee.DateTimeField()
        sent_at = peewee.DateTimeField(null=True)

        class Meta:
            database = database
            table_name = "outbox"

    case = open_case(rt, 1, public=False)
    database.drop_tables([SurveyResponse, Outbox], **({"cascade": True} if PG_URL else {}))
    database.create_tables([OldOutbox])
    OldOutbox.create(case=case.id, text="Jawaban lama", public=False,
                     next_attempt_at=case.opened_at.replace(tzinfo=None),
                     created_at=case.opened_at.replace(tzinfo=None))
    SchemaMigration.delete().where(SchemaMigration.number == 8).execute()
    assert not {c.name: c for c in database.get_columns("outbox")}["case_id"].null

    assert migrate() == ["008 satisfaction responses and status-check answers"]

    columns = {c.name: c for c in database.get_columns("outbox")}
    assert columns["case_id"].null
    assert {"account_id", "thread_id", "recipient_id", "in_reply_to", "reply_kind"} <= set(columns)
    assert [(o.case_id, o.text) for o in Outbox.select()] == [(case.id, "Jawaban lama")]
    account = Account.get(Account.name == "sandbox")
    Outbox.create(case=None, text="netral", public=False, purpose="status", account=account.id,
                  thread_id="t9", recipient_id="warga9", in_reply_to="m9", reply_kind="dm")
    assert Outbox.select().where(Outbox.case.is_null()).count() == 1
    assert "outbox_recipient_id_created_at" in index_names("outbox")
    SurveyResponse.create(case=case.id, rating=3, external_id="r1", answered_at=case.opened_at)
    assert migrate() == []


def test_migration_14_gives_an_older_contact_table_its_alias_and_keeps_its_rows(rt: Runtime) -> None:
    """A contact table made before migration 14 (no ``alias_id``) holding a citizen and a case:
    the column and its unique index are added, the rows stay, and a second run changes nothing."""
    from inbox.models import Contact, IgnoredCount
    from inbox.setup.migrations import _migration_14
    from tests.workflow_helpers import open_case

    case = open_case(rt, 1, public=False)
    database.execute_sql(f'DROP INDEX IF EXISTS "{Contact._meta.table_name}_kind_alias_id"')
    from playhouse.migrate import SchemaMigrator, migrate as apply
    apply(SchemaMigrator.from_database(database.obj).drop_column(Contact._meta.table_name, "alias_id"))
    database.drop_tables([IgnoredCount])
    assert "alias_id" not in {c.name for c in database.get_columns("contact")}
    SchemaMigration.delete().where(SchemaMigration.number == 14).execute()

    assert migrate() == ["014 contact alias ids and ignored-item counts"]
    _migration_14(database.obj)  # safe to run twice
    contact = Contact.get_by_id(case.contact_id)
    assert contact.alias_id is None and Case.get_by_id(case.id).contact_id == contact.id
    Contact.update(alias_id="6281234567890").where(Contact.id == contact.id).execute()
    with pytest.raises(peewee.IntegrityError), database.atomic():
        Contact.create(kind=contact.kind, platform_user_id="other", alias_id="6281234567890")
    assert IgnoredCount.select().count() == 0


def test_migration_20_replaces_the_narrow_overdue_index(config_path: Path) -> None:
    """A database at migration 19 holds case(status, due_at); migration 20 adds the index that
    also carries the intents and drops the narrow one; the overdue count's plan uses it."""
    rt = Runtime(load_config(config_path))
    if PG_URL:
        reset_database()
    database.create_tables([SchemaMigration])
    MIGRATIONS[0][2](database.obj)
    for number, name, _ in MIGRATIONS:
        SchemaMigration.insert(number=number, name=name).on_conflict_ignore().execute()
    SchemaMigration.delete().where(SchemaMigration.number == 20).execute()
    database.execute_sql('DROP INDEX "case_status_due_at_intent_intent_override"')
    database.execute_sql('CREATE INDEX "case_status_due_at" ON "case" ("status", "due_at")')

    assert migrate() == ["020 the overdue count from one index"]

    held = index_names("case")
    assert "case_status_due_at_intent_intent_override" in held
    assert "case_status_due_at" not in held
    if not PG_URL:
        sql, params = Case.select(Case.id).where(Case.overdue_condition(utcnow())).sql()
        plan = " ".join(str(row[-1]) for row in database.execute_sql(
            "EXPLAIN QUERY PLAN " + sql, params))
        assert "USING INDEX case_status_due_at_intent_intent_override" in plan, plan
    rt.close()
