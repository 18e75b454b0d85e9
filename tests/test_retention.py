"""aduan privacy erase and [privacy] retention_months (UU 27/2022 PDP)."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import main
from connectors.base import AttachmentRef
from inbox.arrive.ingest import ingest
from inbox.models import Account, Attachment, Case, Contact, Event, Message, WebhookDelivery, utcnow
from inbox.records.retention import ERASED, ERASED_DELIVERY, reduce_expired
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from recap.monthly import monthly_figures
from tests.conftest import PG_URL
from tests.factories import T0, msg
from tests.workflow_helpers import case_in_status, fresh, make_users

NIK = "3329014503900003"
SECRET_PHRASE = "rumah saya di gang kenanga nomor tujuh"
PHOTO = b"\xff\xd8\xff\xe0" + b"FOTO-KTP-WARGA-RAHASIA" * 50


def run(config: Path, *argv: str) -> int:
    return main.main(["--config", str(config), *argv])


def figures(rt: Runtime) -> dict:
    f = monthly_figures(rt, 2026, 11)
    return {"headline": f.current, "before": f.before, "divisions": f.division_lines,
            "by_channel": f.sla_by("account_id"), "received": f.received_by("account_id"),
            "trend": f.trend(), "categories": f.complaints_by_category(),
            "problems": [(code, n, m) for code, n, m, _ in f.top_problems()],
            "rows": [(r.id, r.reference, r.status, r.categories, r.opened_at, r.answered_at,
                      r.due_at, r.division_id) for r in f.rows]}


def citizen_case(rt: Runtime, users: dict) -> Case:
    """Citizen 'siti_brebes' writes twice with a NIK and a photo; the office answers."""
    account = Account.get(Account.name == "sandbox")
    first = msg("siti-1", thread="siti", author="siti_brebes", at=T0, public=False,
                text=f"KTP saya belum jadi, NIK {NIK}, {SECRET_PHRASE}",
                raw={"id": "siti-1", "from": {"username": "siti_brebes"}},
                attachments=(AttachmentRef("image", url="https://cdn.example/siti.jpg"),))
    ingest(account, [first], None, rt.ingest_options)
    case = Case.get(Case.contact == Contact.get(Contact.handle == "@siti_brebes"))
    photo = rt.data_dir / "attachments" / "2026" / "11" / "siti.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(PHOTO)
    Attachment.update(path="attachments/2026/11/siti.jpg", status="stored").execute()
    workflow.reply(rt, case, users["superuser"], f"Baik Bu Siti, NIK {NIK} sedang kami cek.")
    workflow.add_note(rt, fresh(case), users["superuser"], f"warga {SECRET_PHRASE}")
    return fresh(case)


@pytest.fixture
def office(rt: Runtime) -> tuple[Runtime, dict, Case]:
    users = make_users()
    for n, status in enumerate(("answered", "new", "escalated", "not_complaint")):
        case_in_status(rt, users, status, n)
    return rt, users, citizen_case(rt, users)


def database_bytes(rt: Runtime) -> bytes:
    path = Path(rt.db.database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_erase_leaves_the_monthly_figures_and_no_trace_of_the_person(office, capsys) -> None:
    rt, users, case = office
    WebhookDelivery.create(body=json.dumps({"from": "siti_brebes", "text": NIK}), status="done")
    someone_else = WebhookDelivery.create(body='{"from": "budi"}', status="done")
    before = figures(rt)
    other = Case.select().where(Case.id != case.id).order_by(Case.id).first()
    other_text = [m.text for m in other.messages]
    assert run(rt.config.path, "privacy", "erase", "--contact", "siti_brebes", "--as", users["admin"].username,
               "--reason", "x") == 1
    assert "hanya superuser" in capsys.readouterr().err
    assert run(rt.config.path, "privacy", "erase", "--contact", "@siti_brebes",
               "--as", users["superuser"].username, "--reason", "Surat 470/123/2026") == 0
    out = capsys.readouterr().out
    assert "1 kontak, 1 pengaduan" in out and "1 berkas lampiran" in out

    assert figures(rt) == before
    erased = fresh(case)
    assert erased.reference == case.reference and erased.opened_at == case.opened_at
    assert {m.text for m in erased.messages} == {ERASED} and erased.summary == ERASED
    assert all(m.raw is None and m.permalink is None for m in erased.messages)
    assert erased.contact.handle.startswith("dihapus-") and erased.contact.name == ""
    assert not (rt.data_dir / "attachments" / "2026" / "11" / "siti.jpg").exists()
    assert Attachment.get().url is None
    assert [m.text for m in fresh(other).messages] == other_text
    act = Event.get(Event.action == "privacy_erase")
    assert act.actor_id == users["superuser"].id and act.detail["reason"] == "Surat 470/123/2026"
    assert Event.select().where((Event.case == case.id) & (Event.action == "privacy_erased")).exists()
    assert WebhookDelivery.get_by_id(someone_else.id).body == '{"from": "budi"}'
    everything = json.dumps([list(Message.select().dicts()), list(Event.select().dicts()),
                             list(Contact.select().dicts()), list(WebhookDelivery.select().dicts())],
                            default=str)
    for trace in (NIK, SECRET_PHRASE, "siti_brebes", "cdn.example/siti"):
        assert trace not in everything
    if not PG_URL:  # the raw bytes of the database file, free pages and WAL included
        raw = database_bytes(rt)
        for trace in (NIK, SECRET_PHRASE, "siti_brebes", "FOTO-KTP-WARGA-RAHASIA"):
            assert trace.encode() not in raw, trace


def test_erase_of_an_unknown_handle_is_one_sentence(office, capsys) -> None:
    rt, users, _ = office
    assert run(rt.config.path, "privacy", "erase", "--contact", "nobody_here",
               "--as", users["superuser"].username, "--reason", "surat") == 1
    err = capsys.readouterr().err
    assert err.startswith("aduan: tidak ada warga dengan akun 'nobody_here'") and "Traceback" not in err


def test_retention_masks_closed_cases_older_than_the_period_and_keeps_the_rest(office) -> None:
    rt, users, case = office
    answered = Case.get(Case.status == "answered")
    Case.update(closed_at=utcnow() - timedelta(days=400)).where(Case.id == answered.id).execute()
    Message.update(text=f"NIK saya {NIK}", raw={"nik": NIK}).where(Message.case == answered.id).execute()
    old = WebhookDelivery.create(body=f'{{"nik": "{NIK}"}}', status="done",
                                 received_at=utcnow() - timedelta(days=400))
    waiting = WebhookDelivery.create(body=f'{{"nik": "{NIK}"}}', received_at=utcnow() - timedelta(days=400))
    recent = WebhookDelivery.create(body=f'{{"nik": "{NIK}"}}', status="done")
    before = figures(rt)
    assert reduce_expired(rt.data_dir, 0) == 0  # off by default
    assert WebhookDelivery.get_by_id(old.id).body != ERASED_DELIVERY
    assert reduce_expired(rt.data_dir, 12) == 1
    assert reduce_expired(rt.data_dir, 12) == 0  # once
    texts = [m.text for m in fresh(answered).messages if m.direction == "in"]
    assert texts and all(NIK not in t and "3329" in t for t in texts)
    assert all(m.raw is None for m in fresh(answered).messages)
    assert NIK in [m.text for m in fresh(case).messages if m.direction == "in"][0]  # open: kept
    assert figures(rt) == before
    assert Event.select().where(Event.action == "retention_reduced").count() == 1
    assert WebhookDelivery.get_by_id(old.id).body == ERASED_DELIVERY  # ingested long ago
    assert NIK in WebhookDelivery.get_by_id(waiting.id).body  # not ingested yet: kept
    assert NIK in WebhookDelivery.get_by_id(recent.id).body


def test_the_privacy_page_lists_unmasked_exports_and_erasures_for_superusers_only(
        office, tmp_path: Path, capsys) -> None:
    from inbox.models import User
    from inbox.web.app import create_app
    from tests.web_helpers import PASSWORD, login, page_text
    from werkzeug.security import generate_password_hash
    rt, users, _ = office
    User.update(password_hash=generate_password_hash(PASSWORD)).execute()
    su = users["superuser"].username
    import io
    import sys
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")  # issue 20: the superuser types it
    try:
        assert run(rt.config.path, "export", "--unmasked", "--as", su, "--out", str(tmp_path / "x")) == 0
    finally:
        sys.stdin = stdin
    assert run(rt.config.path, "privacy", "erase", "--contact", "siti_brebes", "--as", su,
               "--reason", f"surat warga NIK {NIK}") == 0
    client = create_app(rt, testing=True).test_client()
    assert client.get("/privasi").status_code == 302  # login first
    login(client, users["admin"].username)
    assert client.get("/privasi").status_code == 403
    client = create_app(rt, testing=True).test_client()
    login(client, su)
    page = page_text(client.get("/privasi"))
    assert "Ekspor tanpa penyamaran" in page and "format: jsonl" in page
    assert "Penghapusan data pribadi" in page and "cases: 1" in page
    assert NIK not in page and "3329**********03" in page
    assert page.index("Penghapusan data pribadi") < page.index("Ekspor tanpa penyamaran")
