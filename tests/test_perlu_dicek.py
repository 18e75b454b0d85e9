"""A category (or intent) the classifier chose with low confidence reads "perlu dicek" in the
inbox list and on the case page, from the probabilities the case's ``opened`` event keeps,
until a person saves the categories."""
from __future__ import annotations

import re

from flask import Flask

from inbox.models import Case, Event
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.understand.classify import LOW_CONFIDENCE, uncertain_of
from inbox.web.app import create_app
from tests.web_helpers import login, make_case, make_users, page_text

TEXT = "KTP saya sudah 3 minggu belum jadi, antrinya panjang"


def opened_with(rt: Runtime, n: int, confidence: dict[str, float]) -> Case:
    """A case opened by real ingest whose ``opened`` event holds ``confidence`` (what ingest
    stores from ``Classification.confidence``), with categories ktp_el and antrean_pelayanan."""
    case = make_case(rt, n, TEXT)
    Case.update(categories=["ktp_el", "antrean_pelayanan"], intent="complaint").where(
        Case.id == case.id).execute()
    event = Event.get((Event.case == case.id) & (Event.action == "opened"))
    event.detail = {**event.detail, "confidence": confidence}
    event.save()
    return Case.get_by_id(case.id)


def row_of(page: str, reference: str) -> str:
    found = re.search(r"<tr[^>]*>\s*<td><a [^>]*>" + re.escape(reference) + r"</a>.*?</tr>", page, re.S)
    assert found, reference
    return found.group(0)


def test_uncertain_of_reads_only_probabilities_under_the_threshold() -> None:
    assert uncertain_of({"ktp_el": 0.95, "kia": LOW_CONFIDENCE - 0.01, "intent": 0.5}) == ["kia", "intent"]
    assert uncertain_of({"ktp_el": LOW_CONFIDENCE}) == []
    assert uncertain_of(None) == [] and uncertain_of(["kia"]) == []  # type: ignore[arg-type]
    assert uncertain_of({"kia": "0.1", "ikd": True}) == []  # odd stored values are not doubts


def test_the_inbox_list_marks_only_the_unsure_category(rt: Runtime) -> None:
    users = make_users()
    client = create_app(rt, testing=True).test_client()
    login(client, users["admin"].username)
    unsure = opened_with(rt, 1, {"ktp_el": 0.97, "antrean_pelayanan": 0.55, "intent": 0.9})
    sure = opened_with(rt, 2, {"ktp_el": 0.97, "antrean_pelayanan": 0.91, "intent": 0.9})
    page = page_text(client.get("/"))
    row = row_of(page, unsure.reference)
    assert re.search(r'<span class="tag unsure"[^>]*>Antrean &amp; waktu layanan · perlu dicek</span>', row), row
    assert re.search(r'<span class="tag">KTP-el</span>', row)
    assert "perlu dicek" not in row_of(page, sure.reference)
    # a case opened before probabilities were stored (no "confidence") shows no doubt
    old = make_case(rt, 3, TEXT)
    event = Event.get((Event.case == old.id) & (Event.action == "opened"))
    event.detail = {k: v for k, v in event.detail.items() if k != "confidence"}
    event.save()   # as ingest wrote it before it kept the probabilities
    assert "perlu dicek" not in row_of(page_text(client.get("/")), old.reference)


def test_the_case_page_marks_it_until_a_person_saves_the_categories(rt: Runtime) -> None:
    users = make_users()
    app: Flask = create_app(rt, testing=True)
    client = app.test_client()
    login(client, users["admin"].username)
    case = opened_with(rt, 1, {"ktp_el": 0.97, "antrean_pelayanan": 0.55, "intent": 0.6})
    page = page_text(client.get(f"/pengaduan/{case.id}"))
    assert page.count("perlu dicek") == 2  # the category and the intent
    assert re.search(r'Antrean &amp; waktu layanan <span class="tag unsure"[^>]*>perlu dicek</span>', page)
    assert re.search(r'Jenis pesan <span class="tag unsure"[^>]*>perlu dicek</span>', page)
    workflow.set_categories(rt, case, users["admin"], ["ktp_el", "antrean_pelayanan"],
                            intent="complaint")
    assert "perlu dicek" not in page_text(client.get(f"/pengaduan/{case.id}"))
    assert "perlu dicek" not in row_of(page_text(client.get("/")), case.reference)
