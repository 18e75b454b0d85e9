"""Free-text search: whatever plan the search index leads to, the inbox lists exactly the cases a
plain LIKE (ILIKE on PostgreSQL) over references, handles, names and message texts finds."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from inbox.arrive.ingest import ingest
from inbox.db import database, is_postgres
from inbox.models import (Account, Case, Contact, Message, SchemaMigration, drop_search_index,
                          utcnow)
from inbox.setup.config import load_config
from inbox.setup.migrations import MIGRATIONS, migrate
from inbox.setup.runtime import Runtime, sync_from_config
from inbox.web import queries
from inbox.web.app import create_app
from inbox.web.queries import InboxFilter, apply_filter, index_hits, page
from tests.conftest import PG_URL, reset_database
from tests.factories import T0, msg
from tests.web_helpers import login, make_users, page_text

SEARCH_MIGRATION = 3

# (external id, thread, author id, handle, name, text, public, from the office)
MESSAGES = [
    ("1", "t1", "u1", "@siti_aminah", "Siti Aminah", "KTP saya belum jadi, blangko habis katanya",
     True, False),
    ("2", "t2", "u2", "@budi99", "Budi Santoso", "Akta kelahiran anak saya salah nama", False,
     False),
    ("3", "t3", "u3", "@calo_watch", "Pemantau", "Ada calo minta 100% di muka, 50_50 katanya",
     True, False),
    ("4", "t4", "u4", "@warga4", "Rina", "NIK 3329012345678901 tidak terdaftar di Dukcapil",
     False, False),
    ("5", "t5", "u5", "@seno", "Séno Ñúñez", "Pelayanan di Ketanggungan ramah 👍 terima kasih",
     True, False),
    ("6", "t6", "u6", "@warga6", "Dewi", 'Petugas bilang "tunggu saja" sudah sebulan', False,
     False),
    ("7", "t1", "u1", "@siti_aminah", "Siti Aminah", "Sudah 3 minggu BLANGKO belum ada", True,
     False),
    ("8", "t2", "office", "@dukcapil", "Dukcapil Brebes", "Mohon maaf, kami cek dulu datanya",
     False, True),
    ("9", "t9", "u9", "@warga9", "Joko", "KK HILANG, mohon bantuan\\cetak ulang", True, False),
    ("10", "t10", "u10", "@andi_", "Andi", "KIA anak belum jadi", True, False),
] + [(f"k{n}", f"tk{n}", f"k{n}", f"@ktp_{n}", f"Warga KTP {n}", f"KTP elektronik nomor {n} "
      f"belum dicetak", n % 2 == 0, False) for n in range(30)]

QUERIES = ["blangko", "BLANGKO", "Siti", "siti_", "@budi", "Budi Santoso", "100%", "50_50", "_",
           "%", "\\", "3329", "3329012345678901", "kelahiran anak", "Séno", "séno", "Ñúñez", "👍",
           '"tunggu', "ktp", "KTP elektronik", "nomor 1", "nomor 29 belum", "k", "kt", "a", "zz",
           "tidak ada kata ini", "ADU-", "Mohon maaf", "!!!", "mohon", "Warga KTP 7", "cetak"]

# How the index is used (queries.NEWEST_HITS, DENSE, FEW_HITS, MANY_HITS): the defaults (on this
# small data every hit is read); newest hits then older ones (SQLite), newest cases then the
# hits (PostgreSQL); every word checked case by case.
PLANS = [(queries.NEWEST_HITS, queries.DENSE, queries.FEW_HITS, queries.MANY_HITS),
         (2, 1, 0, 10**9), (3, 1, 0, 10**9), (2, 10**6, 0, -1)]


def build(rt: Runtime) -> None:
    """The varied cases: one poll a day, so the newest hits are not the first cases."""
    account = Account.get(Account.name == "sandbox")
    for hour, row in enumerate(MESSAGES):
        external_id, thread, author, handle, name, text, public, office = row
        message = replace(msg(external_id, thread=thread, author=author, text=text, public=public,
                              at=T0 + timedelta(hours=hour), from_office=office),
                          author_handle=handle, author_name=name)
        ingest(account, [message], None, rt.ingest_options)


def plain_like(text: str) -> set[int]:
    """The plain search, written out: case-insensitive substring, wildcards taken literally."""
    like = "ILIKE" if is_postgres() else "LIKE"
    mark = database.obj.param
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    match = f"{like} {mark} ESCAPE '\\'"
    sql = (f'SELECT id FROM "case" WHERE reference {match} '
           f"OR contact_id IN (SELECT id FROM contact WHERE handle {match} OR name {match}) "
           f"OR id IN (SELECT case_id FROM message WHERE text {match})")
    return {case_id for (case_id,) in database.execute_sql(sql, [pattern] * 4)}


def inbox_search(rt: Runtime, text: str, tell_before: bool = True, **filters: str) -> list[int]:
    """Every page the inbox lists for a search, newest first, following the "older" link (and
    telling the search where the page starts, unless not ``tell_before``)."""
    found: list[int] = []
    before = None
    while True:
        query = apply_filter(Case.select(), InboxFilter(q=text, **filters), utcnow(), rt.config.tz,
                             before if tell_before else None)
        rows, before = page(query, before)
        found += [case.id for case in rows]
        if before is None:
            return found


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)  # several pages from a few dozen cases


@pytest.mark.parametrize("plan", PLANS)
def test_search_lists_exactly_what_plain_like_finds(rt: Runtime, small_pages: None,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    plan: tuple[int, int, int, int]) -> None:
    build(rt)
    for name, value in zip(("NEWEST_HITS", "DENSE", "FEW_HITS", "MANY_HITS"), plan):
        monkeypatch.setattr(queries, name, value)
    for text in QUERIES + [Case.get_by_id(3).reference, Case.get_by_id(3).reference[:10]]:
        expected = sorted(plain_like(text), reverse=True)
        assert inbox_search(rt, text) == expected, text
        assert inbox_search(rt, text, tell_before=False) == expected, text
        private = {c.id for c in Case.select().where(Case.public == False)}  # noqa: E712
        assert inbox_search(rt, text, visibility="pribadi") == [
            case_id for case_id in expected if case_id in private], text


def test_every_case_is_named_by_the_index_for_its_reference(rt: Runtime) -> None:
    build(rt)
    for case in Case.select():
        hits = {case_id for source in index_hits(case.reference) for case_id in source.newest(1000)}
        assert case.id in hits



def test_a_database_made_at_the_previous_migration_upgrades_and_finds_old_and_new_messages(
        config_path: Path, small_pages: None) -> None:
    rt = Runtime(load_config(config_path))
    if PG_URL:
        reset_database()
    database.create_tables([SchemaMigration])
    for number, name, apply in MIGRATIONS:
        if number < SEARCH_MIGRATION:
            apply(database.obj)
            SchemaMigration.create(number=number, name=name)
    sync_from_config(rt.config)
    build(rt)
    assert index_hits("blangko") is None  # no index yet: the plain search
    assert inbox_search(rt, "blangko") == sorted(plain_like("blangko"), reverse=True)

    assert f"{SEARCH_MIGRATION:03d} text search index" in migrate()

    assert index_hits("blangko") is not None
    for text in QUERIES:
        assert inbox_search(rt, text) == sorted(plain_like(text), reverse=True), text
    account = Account.get(Account.name == "sandbox")
    ingest(account, [msg("late", thread="t-late", author="u-late", text="Kartu keluarga rusak",
                         at=T0 + timedelta(days=3))], None, rt.ingest_options)
    late = Case.select().order_by(Case.id.desc()).get()
    hits = {case_id for source in index_hits("keluarga rusak") for case_id in source.newest(10)}
    assert late.id in hits
    assert inbox_search(rt, "keluarga rusak") == [late.id]
    rt.close()


def test_a_renamed_citizen_is_found_by_the_new_handle_only(rt: Runtime) -> None:
    build(rt)
    account = Account.get(Account.name == "sandbox")
    renamed = replace(msg("11", thread="t1", author="u1", text="Masih menunggu",
                          at=T0 + timedelta(days=2)),
                      author_handle="@siti_baru", author_name="Siti Baru")
    ingest(account, [renamed], None, rt.ingest_options)
    siti = Contact.get(Contact.platform_user_id == "u1")
    assert siti.handle == "@siti_baru"
    cases = [c.id for c in Case.select().where(Case.contact == siti).order_by(Case.id.desc())]
    assert inbox_search(rt, "siti_baru") == cases
    assert inbox_search(rt, "siti_aminah") == []


def test_a_deleted_or_edited_message_leaves_the_index_consistent(rt: Runtime) -> None:
    build(rt)
    follow_up = Message.get(Message.external_id == "7")
    follow_up.delete_instance()
    case = Case.get_by_id(follow_up.case_id)
    assert case.id not in inbox_search(rt, "3 minggu")
    Message.update(text="Sudah 4 minggu").where(Message.external_id == "1").execute()
    assert inbox_search(rt, "4 minggu") == [case.id]
    assert inbox_search(rt, "blangko") == []
    if not PG_URL:
        database.execute_sql("INSERT INTO search_text(search_text, rank) "
                             "VALUES ('integrity-check', 0)")


def test_search_without_the_index_gives_the_same_cases(rt: Runtime) -> None:
    build(rt)
    drop_search_index(database.obj)
    assert index_hits("blangko") is None
    for text in QUERIES:
        assert inbox_search(rt, text) == sorted(plain_like(text), reverse=True), text


def test_the_inbox_page_lists_the_search_results(rt: Runtime) -> None:
    build(rt)
    client = create_app(rt, testing=True).test_client()
    login(client, make_users()["admin"].username)
    html = page_text(client.get("/?q=BLANGKO"))
    for case in Case.select():
        assert (case.reference in html) == (case.id in plain_like("blangko")), case.reference


def test_the_inbox_pages_of_a_search_follow_on_from_each_other(rt: Runtime, small_pages: None,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """Following "Berikutnya" through the web lists every match once, newest first (the plans'
    thresholds forced low, so later pages take the plan that starts where the page starts)."""
    build(rt)
    for name, value in zip(("NEWEST_HITS", "DENSE", "FEW_HITS", "MANY_HITS"), PLANS[1]):
        monkeypatch.setattr(queries, name, value)
    client = create_app(rt, testing=True).test_client()
    login(client, make_users()["admin"].username)
    references = {case.reference: case.id for case in Case.select()}
    listed: list[int] = []
    url: str | None = "/?q=ktp"
    while url:
        html = page_text(client.get(url))
        # A row may show its reference more than once; a case on two pages is listed twice.
        found = re.findall(r"ADU-\d{6}-\d{4,}", html)
        listed += [references[ref] for ref in dict.fromkeys(found)]
        more = re.search(r'href="([^"]*sebelum=\d+[^"]*)"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert listed == sorted(plain_like("ktp"), reverse=True)
    assert len(listed) > 3 * queries.PAGE_SIZE
