"""Thank-yous, greetings and spam: proposed for dismissal in one click on the case page, and
dismissed at ingest with an event saying why when ``classify.auto_dismiss`` is on (off by
default) — never when the citizen has an open case the message may be about."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Event
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.factories import T0, msg
from tests.web_helpers import login, make_users, page_text, post_form
from tests.workflow_helpers import runtime_with

THANKS = "terima kasih banyak min, sangat membantu 🙏"


def arrive(rt: Runtime, n: int, text: str, author: str) -> Case:
    ingest(Account.get(Account.name == "sandbox"), [msg(f"d-{n}", thread=f"dt-{n}", author=author,
                                                        text=text, at=T0)], None, rt.ingest_options)
    return Case.select().order_by(Case.id.desc()).get()


def test_a_sure_thank_you_is_dismissed_with_its_reason_when_auto_dismiss_is_on(tmp_path: Path) -> None:
    with runtime_with(tmp_path, extra="\n[classify]\nauto_dismiss = true\n") as rt:
        case = arrive(rt, 1, THANKS, "warga1")
        assert (case.status, case.dismiss_reason, case.due_at) == ("not_complaint", "thanks", None)
        event = Event.get((Event.case == case) & (Event.action == "dismissed"))
        assert event.detail["automatic"] is True and event.detail["reason"] == "thanks"
        assert event.detail["confidence"] >= 0.9 and "tidak punya pengaduan terbuka" in event.detail["why"]
        # the same citizen with an open complaint: the thank-you waits for a person
        complaint = arrive(rt, 2, "ktp saya sudah 3 bulan belum jadi", "warga2")
        later = arrive(rt, 3, THANKS, "warga2")
        assert complaint.status == "new" and later.status == "new" and later.intent == "thanks"
        assert arrive(rt, 4, "ktp saya hilang, cetak ulang syaratnya apa?", "warga3").status == "new"


def test_auto_dismiss_is_off_by_default(rt: Runtime) -> None:
    assert rt.config.classify["auto_dismiss"] is False
    case = arrive(rt, 1, THANKS, "warga1")
    assert (case.status, case.intent) == ("new", "thanks")
    assert not Event.select().where(Event.action == "dismissed").exists()


def test_the_case_page_proposes_the_dismissal_in_one_click(rt: Runtime) -> None:
    users = make_users()
    app: Flask = create_app(rt, testing=True)
    client = app.test_client()
    login(client, users["admin"].username)
    thanks = arrive(rt, 1, THANKS, "warga1")
    page = page_text(client.get(f"/pengaduan/{thanks.id}"))
    assert "Tandai bukan pengaduan: ucapan terima kasih" in page
    complaint = arrive(rt, 2, "ktp saya sudah 3 bulan belum jadi", "warga2")
    assert "Tandai bukan pengaduan: ucapan" not in page_text(client.get(f"/pengaduan/{complaint.id}"))
    post_form(client, f"/pengaduan/{thanks.id}/aksi/dismiss", {"reason": "thanks"},
              token_from=f"/pengaduan/{thanks.id}")
    thanks = Case.get_by_id(thanks.id)
    assert (thanks.status, thanks.dismiss_reason) == ("not_complaint", "thanks")
