"""Mass incidents: a burst of outage messages is proposed as one incident; one confirmed answer
reaches each linked citizen once, on their own channel (the platforms faked at the requests
layer); new matching cases are linked while it is open; closing sends a follow-up; the reply
windows decide who can still be answered; the monthly report and the export show them."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
import time_machine

from connectors.base import InboundMessage
from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Contact, Event, Incident, IncidentCase, Outbox, User
from inbox.setup.runtime import Runtime
from inbox.sop import incident_watch, incidents, suggestions
from inbox.sop.outbox import deliver_one
from tests.conftest import make_runtime, write_config
from tests.incident_data import OUTAGE, SPAN, START, burst
from tests.web_helpers import make_users

GRAPH = "https://graph.facebook.com/v26.0"
PNID, PAGE, IG, TOKEN = "106540352242922", "900000000000003", "17841400000000000", "7012345678:AAE-test"
FIXTURES = Path(__file__).parent / "fixtures"
CHANNELS = f"""
[accounts.wa_dukcapil]
kind = "whatsapp"
phone_number_id = "{PNID}"
access_token = "wa-token-test"
app_secret = "wa-secret-test"
verify_token = "wa-verify-test"

[accounts.tg_dukcapil]
kind = "telegram"
bot_token = "{TOKEN}"

[accounts.fb_dukcapil]
kind = "facebook"
page_id = "{PAGE}"
page_access_token = "fb-page-token-test"

[accounts.ig_dukcapil]
kind = "instagram"
ig_user_id = "{IG}"
page_id = "{PAGE}"
page_access_token = "ig-page-token-test"
"""
KINDS = [("wa_dukcapil", "whatsapp"), ("tg_dukcapil", "telegram"), ("fb_dukcapil", "facebook"),
         ("ig_dukcapil", "instagram")]
ANSWER = ("Mohon maaf, {nama}, sistem layanan (SIAK/server pusat) sedang mengalami gangguan "
          "sejak pagi. Berkas tetap kami terima dan akan diproses begitu pulih. (Nomor {nomor})")


@pytest.fixture
def rt(tmp_path: Path):
    runtime = make_runtime(write_config(tmp_path, accounts=CHANNELS))
    yield runtime
    runtime.close()


def fixture(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def ingest_burst(rt: Runtime, seed: int = 31) -> set[int]:
    """Ingest the burst; return the ids of the 30 outage cases."""
    b = burst(KINDS, seed=seed)
    for name, messages in b.messages.items():
        ingest(Account.get(Account.name == name), messages, None, rt.ingest_options)
    return {c.id for c in Case.select().join(Contact)
            .where(Contact.platform_user_id.in_(b.outage_authors))}


def fake_platforms(api: responses.RequestsMock) -> None:
    """Every platform's send accepts, as its documentation shows."""
    api.post(re.compile(rf"{GRAPH}/{PNID}/messages"), json=fixture("whatsapp/send_ok.json"))
    api.post(re.compile(rf"https://api.telegram.org/bot{re.escape(TOKEN)}/sendMessage"),
             json=fixture("telegram/send_message.json"))
    api.post(re.compile(rf"{GRAPH}/{PAGE}/messages"), json=fixture("meta/fb_send_message.json"))
    api.post(re.compile(rf"{GRAPH}/\d+/replies"), json=fixture("meta/ig_reply_created.json"))


def recipients(api: responses.RequestsMock) -> Counter[tuple[str, str]]:
    """(channel, citizen) of every reply the platforms received."""
    seen: Counter[tuple[str, str]] = Counter()
    for call in api.calls:
        url, body = call.request.url, call.request.body
        text = body.decode() if isinstance(body, bytes) else (body or "")
        if "/replies" in url:
            seen[("instagram", url.split("/")[-2])] += 1
        elif "api.telegram.org" in url:
            seen[("telegram", str(json.loads(text)["chat_id"]))] += 1
        elif f"{PNID}/messages" in url:
            seen[("whatsapp", json.loads(text)["to"])] += 1
        else:   # Messenger: a form with the recipient as JSON
            seen[("facebook", json.loads(parse_qs(text)["recipient"][0])["id"])] += 1
    return seen


def where_it_goes(case: Case) -> tuple[str, str]:
    kind = case.account.kind
    if kind == "instagram":
        return ("instagram", case.thread_id)
    if kind == "telegram":
        return ("telegram", case.thread_id)
    return (kind, case.contact.platform_user_id)


def deliver_all(rt: Runtime) -> int:
    sent = 0
    while deliver_one(rt, "test"):
        sent += 1
    return sent


def test_a_burst_of_outage_messages_is_proposed_and_one_answer_reaches_each_citizen_once(rt):
    """30 citizens write about the outage on four channels among 200 ordinary messages within
    two hours: one incident is proposed with at least 27 of them and at most 3 others; the
    admin reviews it, confirms it with one answer, and each of the 30 gets it exactly once on
    its own channel, the public comments as comment replies."""
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        outage = ingest_burst(rt)
        assert len(outage) == 30 and Case.select().count() == 230
        assert incident_watch.step(rt)
        proposed = list(Incident.select().where(Incident.status == "proposed"))
        best = max(proposed, key=lambda i: len({link.case_id for link in i.links} & outage))
        linked = {link.case_id for link in best.links}
        assert len(linked & outage) >= 27 and len(linked - outage) <= 3, (len(linked & outage), len(linked - outage))
        assert best.title.startswith("Gangguan sistem")
        # The admin's review: the others out, a missed one in.
        for case_id in linked - outage:
            incidents.unlink(best, Case.get_by_id(case_id), admin)
        for case_id in outage - linked:
            incidents.link(best, Case.get_by_id(case_id), admin)
        queued = incidents.confirm(rt, best, admin, "SIAK pusat offline", ANSWER)
        assert {link.case_id for link in queued} == outage
        assert incident_watch.step(rt) is False   # nothing new: no second proposal of the same cases
        assert incidents.send_answer(rt, Incident.get_by_id(best.id), admin) == []   # never twice
        with responses.RequestsMock() as api:
            fake_platforms(api)
            assert deliver_all(rt) == 30
            got = recipients(api)
    expected = Counter(where_it_goes(Case.get_by_id(i)) for i in outage)
    assert got == expected and max(got.values()) == 1
    assert {kind for kind, _ in got} == {"whatsapp", "telegram", "facebook", "instagram"}
    for case_id in outage:
        case = Case.get_by_id(case_id)
        assert case.status == "answered"
        text = Outbox.get((Outbox.case == case) & (Outbox.purpose == "answer")).text
        assert case.reference in text and "{nama}" not in text
    assert Case.select().where(Case.status == "answered").count() == 30   # nobody else
    assert Event.select().where(Event.action == "incident_linked").count() == 30


def test_while_open_a_new_matching_case_is_linked_and_offered_the_answer_first(rt):
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        ingest_burst(rt)
        incident_watch.step(rt)
        incident = Incident.get(Incident.status == "proposed")
        incidents.confirm(rt, incident, admin, "SIAK pusat offline", ANSWER)
    later = START + SPAN + timedelta(minutes=20)
    with time_machine.travel(later, tick=False):
        ingest(Account.get(Account.name == "tg_dukcapil"), [
            InboundMessage(external_id="777:1", thread_id="777", kind="dm", public=False,
                           author_id="777", author_handle="baru", author_name="Warga Baru",
                           text="min servernya masih down? saya di kecamatan tanjung ga dilayani",
                           created_at=later),
            InboundMessage(external_id="778:1", thread_id="778", kind="dm", public=False,
                           author_id="778", author_handle="lain", author_name="Warga Lain",
                           text="syarat bikin akta kelahiran anak apa saja min?", created_at=later)],
            None, rt.ingest_options)
        assert incident_watch.step(rt)
        new = Case.get(Case.thread_id == "777")
        other = Case.get(Case.thread_id == "778")
        link = IncidentCase.get(IncidentCase.case == new)
        assert link.incident_id == incident.id and link.how == "automatic"
        assert not IncidentCase.select().where(IncidentCase.case == other).exists()
        offered = suggestions.for_case(rt, new)
        assert offered[0].suggestion.kind == "incident" and new.reference in offered[0].text
        # Sending to the newly linked ones reaches only the new case.
        queued = incidents.send_answer(rt, Incident.get_by_id(incident.id), admin)
        assert [q.case_id for q in queued] == [new.id]


def test_an_unlinked_case_is_never_linked_again_by_itself(rt):
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        outage = ingest_burst(rt)
        incident_watch.step(rt)
        incident = Incident.get(Incident.status == "proposed")
        victim = Case.get_by_id(sorted(outage)[0])
        incidents.unlink(incident, victim, admin)
        incident_watch.step(rt)
        assert IncidentCase.get(IncidentCase.case == victim).state == "unlinked"
        incidents.confirm(rt, incident, admin, "SIAK pusat offline", ANSWER)
    assert not Outbox.select().where(Outbox.case == victim).exists()
    assert Case.get_by_id(victim.id).status == "new"


def test_a_closed_reply_window_is_skipped_with_its_reason_and_public_comments_still_answered(rt):
    """WhatsApp after 24 hours without an approved template, and Messenger after 7 days, are
    left for a person, each with the reason; an Instagram comment has no window."""
    admin = make_users()["admin"]
    old = START - timedelta(days=8)
    texts = OUTAGE[:5]
    with time_machine.travel(old, tick=False):
        ingest(Account.get(Account.name == "wa_dukcapil"), [InboundMessage(
            external_id="wamid.old", thread_id="6281200000001", kind="dm", public=False,
            author_id="6281200000001", author_handle="wa_lama", author_name="Warga Lama",
            text=texts[0], created_at=old)], None, rt.ingest_options)
        ingest(Account.get(Account.name == "fb_dukcapil"), [InboundMessage(
            external_id="m_old", thread_id="t_fb_old", kind="dm", public=False,
            author_id="2563000000009", author_handle="fb_lama", author_name="Warga FB",
            text=texts[1], created_at=old)], None, rt.ingest_options)
    with time_machine.travel(START, tick=False):
        ingest(Account.get(Account.name == "ig_dukcapil"), [InboundMessage(
            external_id=f"ig-{i}", thread_id=f"1791{i:09d}", kind="comment", public=True,
            author_id=f"ig-{i}", author_handle=f"ig_{i}", author_name=f"Warga IG {i}", text=t,
            created_at=START - timedelta(minutes=i)) for i, t in enumerate(texts[2:])],
            None, rt.ingest_options)
        incident = Incident.create(title="", status="proposed", started_at=old,
                                   signature={"outages": ["sistem"]})
        for case in Case.select():
            incidents.link(incident, case, admin)
        queued = incidents.confirm(rt, incident, admin, "SIAK pusat offline", ANSWER)
    skipped = {IncidentCase.get(IncidentCase.case == c).case.account.kind:
               IncidentCase.get(IncidentCase.case == c).answer_skipped for c in Case.select()}
    assert len(queued) == 3 and skipped["instagram"] is None
    assert "24 jam" in skipped["whatsapp"] and "templat" in skipped["whatsapp"]
    assert "7 hari" in skipped["facebook"]
    assert Case.select().where(Case.status == "new").count() == 2


def answered_incident(rt: Runtime, admin: User) -> tuple[Incident, set[int]]:
    """The burst proposed, confirmed as proposed, and its answers delivered (call with the
    clock at the burst's end); returns the incident and the outage cases."""
    outage = ingest_burst(rt)
    incident_watch.step(rt)
    incident = Incident.get(Incident.status == "proposed")
    incidents.confirm(rt, incident, admin, "SIAK pusat offline", ANSWER)
    with responses.RequestsMock() as api:
        fake_platforms(api)
        deliver_all(rt)
    return incident, outage


def test_closing_sends_one_follow_up_to_each_citizen_who_got_the_answer(rt):
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        incident, outage = answered_incident(rt, admin)
        answered = {link.case_id for link in IncidentCase.select().where(
            (IncidentCase.incident == incident) & IncidentCase.answer_outbox.is_null(False))}
        assert incidents.close(rt, Incident.get_by_id(incident.id), admin,
                               "Halo {nama}, layanan {kantor} sudah pulih. ({nomor})") == len(answered)
        with pytest.raises(incidents.IncidentError):
            incidents.close(rt, Incident.get_by_id(incident.id), admin, "lagi")
        with responses.RequestsMock() as api:
            fake_platforms(api)
            deliver_all(rt)
            followups = recipients(api)
    assert sum(followups.values()) == len(answered) and max(followups.values()) == 1
    for case_id in answered:
        case = Case.get_by_id(case_id)
        assert case.status == "answered"   # a follow-up reopens nothing and answers nothing anew
        row = Outbox.get((Outbox.case == case) & (Outbox.purpose == "incident_followup"))
        assert row.status == "sent" and "sudah pulih" in row.text and "{kantor}" not in row.text
    assert len(answered) >= 27 and outage >= answered


@pytest.mark.parametrize("answer, words", [
    ("Halo {nama}, hubungi 0812-3456-7890 untuk info", "tidak boleh memuat"),
    ("Pelayanan dibuka lagi pukul [[jam]] WIB", "isian [[jam]]"),
    ("", "tidak boleh kosong"),
])
def test_an_answer_that_cannot_go_to_many_citizens_is_refused_before_anything_is_written(
        rt, answer, words):
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        ingest_burst(rt)
        incident_watch.step(rt)
        incident = Incident.get(Incident.status == "proposed")
        with pytest.raises(incidents.IncidentError) as refused:
            incidents.confirm(rt, incident, admin, "SIAK pusat offline", answer)
    assert words in str(refused.value)
    assert Incident.get_by_id(incident.id).status == "proposed" and Outbox.select().count() == 0


def test_only_admins_and_group_admins_act_on_incidents(rt):
    users = make_users()
    with time_machine.travel(START + SPAN, tick=False):
        ingest_burst(rt)
        incident_watch.step(rt)
        incident = Incident.get(Incident.status == "proposed")
        for role in ("division", "supervisor"):
            with pytest.raises(incidents.IncidentError):
                incidents.confirm(rt, incident, users[role], "SIAK", ANSWER)
        incidents.confirm(rt, incident, users["group_admin"], "SIAK", ANSWER)
    assert Incident.get_by_id(incident.id).status == "open"


def test_the_monthly_report_and_the_export_name_the_incident(rt, tmp_path):
    from inbox.cli.export import export_case
    from recap.figures import month_period
    from recap.incidents import incidents_section
    admin = make_users()["admin"]
    with time_machine.travel(START + SPAN, tick=False):
        incident, outage = answered_incident(rt, admin)
    with time_machine.travel(START + SPAN + timedelta(hours=3), tick=False):
        incidents.close(rt, Incident.get_by_id(incident.id), admin)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        section = incidents_section(month_period(2026, 11, rt.config.tz), "11. ", rt.config.tz)
    (row,) = section.tables[0].rows
    linked = IncidentCase.select().where((IncidentCase.incident == incident)
                                         & (IncidentCase.state == "linked")).count()
    assert row[0] == "SIAK pusat offline" and row[4] == linked and row[5] == linked
    assert row[3] == pytest.approx((Incident.get_by_id(incident.id).closed_at - incident.started_at)
                                   .total_seconds() / 3600, abs=0.05)
    assert "1 gangguan massal" in section.paragraphs[0]
    member = export_case(Case.get_by_id(sorted(outage)[0]))
    bystander = export_case(Case.select().where(Case.id.not_in(
        IncidentCase.select(IncidentCase.case))).first())
    assert member["incident_id"] == incident.id and member["linked_cases"] == []
    assert bystander["incident_id"] is None


def test_the_dashboard_proposes_the_incident_and_the_admin_confirms_it_on_its_page(rt):
    from inbox.web.app import create_app
    from tests.web_helpers import login, page_text, post_form
    users = make_users()
    app = create_app(rt, testing=True)
    admin, bidang = app.test_client(), app.test_client()
    with time_machine.travel(START + SPAN, tick=True):
        assert login(admin, users["admin"].username).status_code == 302
        assert login(bidang, users["division"].username).status_code == 302
        ingest_burst(rt)
        incident_watch.step(rt)
        incident = Incident.get(Incident.status == "proposed")
        board = page_text(admin.get("/dasbor"))
        assert "Usulan gangguan massal" in board and f"/gangguan/{incident.id}" in board
        assert "Usulan gangguan massal" not in page_text(bidang.get("/dasbor"))
        assert bidang.get(f"/gangguan/{incident.id}").status_code == 403
        page = page_text(admin.get(f"/gangguan/{incident.id}"))
        assert "Konfirmasi dan kirim jawaban" in page and "SIAK" in page
        done = post_form(admin, f"/gangguan/{incident.id}/konfirmasi",
                         {"title": "SIAK pusat offline", "answer": ANSWER},
                         token_from=f"/gangguan/{incident.id}")
        assert done.status_code == 302
    assert Incident.get_by_id(incident.id).status == "open" and Outbox.select().count() >= 27
