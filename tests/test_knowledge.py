"""The knowledge base: the starter entries shipped with the install ("perlu diperiksa" until
checked), its page for superusers and whom they allow, its history, the gaps a reply may not
carry, and a database made before it (the quick-answer templates) brought up to date."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import peewee
import pytest

from inbox.db import database
from inbox.models import (MODELS, KnowledgeEditor, SchemaMigration, Template, TemplateRevision,
                          User)
from inbox.setup.config import load_config
from inbox.setup.migrations import MIGRATIONS, migrate
from inbox.setup.runtime import Runtime
from inbox.setup.starter import starter_entries
from inbox.sop import knowledge, workflow
from tests.conftest import PG_URL, reset_database
from tests.web_helpers import make_case, page_text, post_form

class OldTemplate(peewee.Model):
    """The quick-answer template as main made it before the knowledge base."""

    name = peewee.CharField(max_length=120, unique=True)
    text = peewee.TextField()
    active = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField()

    class Meta:
        database = database
        table_name = "template"


#: Issue 28 item 4: the starter answers an office needs on the first day.
REQUIRED = {"syarat-ktp-el", "syarat-kk", "syarat-akta-kelahiran", "syarat-akta-kematian",
            "pindah-datang", "aktivasi-ikd", "legalisir", "jam-layanan", "status-berkas"}


def test_the_starter_entries_ship_with_every_install_waiting_to_be_checked(rt: Runtime) -> None:
    shipped = {e["key"] for e in starter_entries()}
    assert REQUIRED <= shipped
    rows = list(Template.select().where(Template.starter_key.is_null(False)))
    assert {t.starter_key for t in rows} == shipped
    assert all(t.needs_review and t.active and t.categories is not None for t in rows)
    assert all(TemplateRevision.select().where(TemplateRevision.template == t).count() == 1
               for t in rows)
    hours = Template.get(Template.starter_key == "jam-layanan")
    assert workflow.GAP.search(hours.text)   # the office's own hours are a gap to fill
    assert migrate() == []                   # loaded once


def test_a_superuser_and_whom_they_allow_manage_the_entries_with_their_history(
        rt: Runtime, client_for: Callable, users: dict[str, User]) -> None:
    admin_client, super_client = client_for("admin"), client_for("superuser")
    assert admin_client.get("/kelola/basis-pengetahuan").status_code == 403
    page = page_text(super_client.get("/kelola/basis-pengetahuan"))
    assert "Syarat KTP-el" in page and "Perlu diperiksa" in page and "bawaan aduan" in page
    assert post_form(super_client, "/kelola/basis-pengetahuan/pengelola",
                     {"user": users["admin"].id}).status_code == 302
    assert "Basis pengetahuan" in page_text(admin_client.get("/"))
    # The allowed admin adds an entry, checked; then changes it without checking.
    assert post_form(admin_client, "/kelola/basis-pengetahuan", {
        "name": "Jadwal jemput bola", "text": "Halo {nama}, pelayanan keliling ada setiap Kamis.",
        "categories": ["antrean_pelayanan"], "keywords": "jemput bola, keliling",
        "valid_until": "2027-06-30", "checked": "1"}).status_code == 302
    entry = Template.get(Template.name == "Jadwal jemput bola")
    assert not entry.needs_review and entry.checked_by_id == users["admin"].id
    assert entry.valid_until.isoformat() == "2027-06-30" and entry.categories == ["antrean_pelayanan"]
    assert post_form(admin_client, "/kelola/basis-pengetahuan", {
        "id": entry.id, "name": "Jadwal jemput bola", "text": "Pelayanan keliling setiap Jumat.",
        "keywords": "keliling"}).status_code == 302
    entry = Template.get_by_id(entry.id)
    assert entry.needs_review and entry.text == "Pelayanan keliling setiap Jumat."
    history = page_text(admin_client.get(f"/kelola/basis-pengetahuan/{entry.id}/riwayat"))
    assert history.index("diubah") < history.index("dibuat")   # newest first
    assert "setiap Kamis" in history and "Admin Satu" in history
    # Only a superuser grants; an editor cannot.
    assert post_form(admin_client, "/kelola/basis-pengetahuan/pengelola",
                     {"user": users["group_admin"].id}).status_code == 403
    assert not KnowledgeEditor.select().where(KnowledgeEditor.user == users["group_admin"]).exists()


def test_an_entry_with_a_gap_cannot_be_marked_checked_and_a_reply_with_one_is_refused(
        rt: Runtime, users: dict[str, User]) -> None:
    superuser = users["superuser"]
    hours = Template.get(Template.starter_key == "jam-layanan")
    with pytest.raises(knowledge.KnowledgeError, match=r"\[\[07.30–15.00\]\]"):
        knowledge.mark_checked(hours, superuser)
    case = make_case(rt, 1, text="jam berapa buka min?", public=False)
    with pytest.raises(workflow.WorkflowError, match="isian"):
        workflow.reply(rt, case, users["admin"], workflow.render_template(rt, hours.text, case))
    filled = hours.text.replace("[[07.30–15.00]]", "07.30–14.30")
    knowledge.save(knowledge.EntryForm(hours.name, filled, hours.categories, hours.keywords,
                                       checked=True), superuser, hours.id)
    assert not Template.get_by_id(hours.id).needs_review
    assert workflow.reply(rt, case, users["admin"], workflow.render_template(rt, filled, case))


def test_the_quick_answer_picker_marks_the_entries_still_to_check(
        rt: Runtime, client_for: Callable) -> None:
    case = make_case(rt, 1)
    page = page_text(client_for("admin").get(f"/pengaduan/{case.id}"))
    assert "Syarat KTP-el (perekaman baru) (perlu diperiksa)</option>" in page


def test_a_database_made_before_the_knowledge_base_keeps_its_templates(config_path: Path) -> None:
    """Today's main: the quick-answer templates without the new columns, no new tables. The
    office's templates stay as they are (checked: the office wrote them); the starter entries
    are added, except one whose title the office already uses."""
    rt = Runtime(load_config(config_path))
    if PG_URL:
        reset_database()
    database.create_tables([SchemaMigration])
    new = {"template_revision", "knowledge_editor", "incident", "incident_case", "case_link",
           "case_mark"}
    database.create_tables([m for m in MODELS if m._meta.table_name not in new | {"template"}])
    database.create_tables([OldTemplate])
    for number, name, _ in MIGRATIONS:
        if number not in (17, 18):  # only the knowledge base is missing
            SchemaMigration.create(number=number, name=name)
    OldTemplate.insert_many([
        {"name": "Jam layanan", "text": "Buka 08.00-14.00, {nama}.", "active": True,
         "created_at": datetime(2026, 10, 1, 2)},
        {"name": "Terima kasih", "text": "Sama-sama, {nama}.", "active": False,
         "created_at": datetime(2026, 10, 1, 2)}]).execute()
    applied = migrate()
    assert applied == ["017 knowledge base, incidents and linked cases", "018 starter knowledge base"]
    mine = Template.get(Template.name == "Jam layanan")
    assert mine.text == "Buka 08.00-14.00, {nama}." and not mine.needs_review
    assert mine.starter_key is None and mine.categories == [] and mine.updated_at is not None
    assert not Template.get(Template.name == "Terima kasih").active
    starters = {t.starter_key for t in Template.select().where(Template.starter_key.is_null(False))}
    assert "syarat-ktp-el" in starters and "jam-layanan" not in starters   # the office's title
    assert len(starters) == len(starter_entries()) - 1
    with pytest.raises(peewee.IntegrityError), database.atomic():
        Template.create(name="x", text="y", starter_key="syarat-ktp-el")
    assert migrate() == []
    rt.close()
