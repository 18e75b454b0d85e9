"""The optional local language model: off unless configured; personal data never reaches it
(hypothesis over texts with NIKs, phone numbers, e-mail addresses and names); a timeout or an
error leaves the suggestion as it was; requests and answers never reach the log."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.models import Event
from inbox.setup.runtime import Runtime
from inbox.understand import wording
from tests.conftest import make_runtime, write_config
from tests.web_helpers import login, make_case, make_users, page_text, post_form

URL = "http://127.0.0.1:11434/v1"
ENDPOINT = f"{URL}/chat/completions"
OPTIONS = {"llm_url": URL, "llm_model": "qwen2.5:3b", "llm_timeout_seconds": 5}
SUGGESTION = ("Halo {nama}, untuk KTP-el yang hilang bawa surat kehilangan dari kepolisian dan "
              "fotokopi KK. Nomor pengaduan Anda {nomor}.")
FIRST = ["Siti", "Budi", "Dewi", "Agus", "Rina", "Slamet", "Wahyuni", "Eko", "Nurhayati", "Bambang"]
LAST = ["Aminah", "Santoso", "Lestari", "Salim", "Wati", "Riyadi", "Hidayah", "Prasetyo"]


def answer(text: str) -> dict:
    """An OpenAI-compatible chat completion, as llama.cpp's server and Ollama return it."""
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "qwen2.5:3b",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]}


def nik(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(["33", "32", "35", "11", "91"]))
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
    digits = (f"{province}{draw(st.integers(1, 99)):02d}{draw(st.integers(1, 40)):02d}"
              f"{day:02d}{draw(st.integers(1, 12)):02d}{draw(st.integers(0, 99)):02d}"
              f"{draw(st.integers(1, 9999)):04d}")
    sep = draw(st.sampled_from(["", " ", ".", "-"]))
    return digits if not sep else sep.join([digits[:4], digits[4:8], digits[8:12], digits[12:]])


def phone(draw: st.DrawFn) -> str:
    body = f"8{draw(st.integers(11, 99))}{draw(st.integers(1000000, 99999999))}"
    form = draw(st.sampled_from(["0{}", "+62{}", "62{}", "0{} "]))
    number = form.format(body).strip()
    if draw(st.booleans()):
        number = number[:4] + "-" + number[4:8] + "-" + number[8:]
    return number


@st.composite
def citizen_texts(draw: st.DrawFn) -> tuple[str, str, str, list[str]]:
    """(message, display name, handle, the personal values that must not leak)."""
    first, last = draw(st.sampled_from(FIRST)), draw(st.sampled_from(LAST))
    full = f"{first} {last}"
    handle = f"{first.lower()}{last.lower()[:3]}{draw(st.integers(1, 99))}"
    number, mobile = nik(draw), phone(draw)
    other = draw(st.sampled_from(FIRST + LAST).filter(lambda n: n not in (first, last)))
    said = draw(st.sampled_from([first, first.lower(), first.upper(), full, full.lower(), handle]))
    pieces = draw(st.permutations([
        f"nik {number}", f"hp saya {mobile}", f"nama saya {said}",
        f"atas nama Bu {other}", f"email {handle}@gmail.com",
        draw(st.sampled_from(["ktp saya hilang min", "tolong dibantu ya", "gimana caranya?",
                              "sudah seminggu belum ada kabar", "🙏"]))]))
    text = draw(st.sampled_from([", ", ". ", " "])).join(pieces)
    return text, full, handle, [number, mobile, first, last, other, handle]


def leaked(body: str, secrets: list[str]) -> list[str]:
    found = []
    flat = re.sub(r"\D", "", body)
    for value in secrets:
        if re.fullmatch(r"[+\d .\-]+", value):
            digits = re.sub(r"\D", "", value)
            if digits in flat or digits.lstrip("0") in flat or digits[2:] in flat:
                found.append(value)
        elif re.search(rf"(?<!\w){re.escape(value)}(?!\w)", body, re.IGNORECASE):
            found.append(value)
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(citizen_texts())
def test_no_nik_phone_or_name_ever_reaches_the_model(example) -> None:
    text, full, handle, secrets = example
    seen: list[str] = []

    def record(request):
        seen.append(request.body.decode() if isinstance(request.body, bytes) else request.body)
        sent = json.loads(seen[-1])["messages"][1]["content"]
        return 200, {}, json.dumps(answer("Mohon maaf [NAMA-1], " + sent[-60:]))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.add_callback(responses.POST, ENDPOINT, callback=record)
        draft = wording.draft(OPTIONS, SUGGESTION, text, [full, handle])
    if seen:   # asked: nothing personal in what went out
        assert leaked(seen[0], secrets) == [], (text, seen[0])
        assert draft is not None and ("[NAMA-1]" not in draft)   # restored for the officer
    else:      # not asked because something could not be masked: the suggestion stays
        assert draft is None


def test_the_draft_gets_the_citizens_data_back_and_keeps_the_placeholders() -> None:
    text = "nama saya Dewi Lestari, nik 3329015708900001, ktp saya hilang"
    with responses.RequestsMock() as fake:
        fake.post(ENDPOINT, json=answer("Halo {nama}, kami sudah mencatat [NIK-1] atas nama "
                                        "[NAMA-1]. Nomor {nomor}."))
        draft = wording.draft(OPTIONS, SUGGESTION, text, ["Dewi Lestari", "dewi_l"])
        body = json.loads(fake.calls[0].request.body)
    assert "3329015708900001" not in json.dumps(body) and "Dewi" not in json.dumps(body)
    assert body["model"] == "qwen2.5:3b" and body["messages"][0]["role"] == "system"
    assert draft == "Halo {nama}, kami sudah mencatat 3329015708900001 atas nama Dewi Lestari. Nomor {nomor}."


@pytest.mark.parametrize("failure", [
    requests.ReadTimeout("timed out"), requests.ConnectionError("refused"),
    {"status": 500, "json": {"error": "model not loaded"}},
    {"status": 200, "json": {"choices": []}},
    {"status": 200, "json": answer("   ")},
])
def test_a_timeout_or_an_error_leaves_no_draft_and_logs_no_text(failure, caplog) -> None:
    caplog.set_level(logging.INFO)
    with responses.RequestsMock() as fake:
        if isinstance(failure, Exception):
            fake.post(ENDPOINT, body=failure)
        else:
            fake.post(ENDPOINT, **failure)
        assert wording.draft(OPTIONS, SUGGESTION, "nik saya 3329015708900001 Budi Santoso",
                             ["Budi Santoso"]) is None
    assert "3329015708900001" not in caplog.text and "Budi" not in caplog.text
    assert "local model: no draft" in caplog.text or "local model: empty" in caplog.text


def test_nothing_is_sent_without_an_endpoint() -> None:
    with responses.RequestsMock() as fake:   # any request would fail this test
        assert wording.draft({"llm_url": ""}, SUGGESTION, "ktp hilang", []) is None
        assert len(fake.calls) == 0


@pytest.fixture
def rt_model(tmp_path: Path):
    runtime = make_runtime(write_config(tmp_path, extra=f"""
[suggest]
llm_url = "{URL}"
llm_model = "qwen2.5:3b"
llm_timeout_seconds = 5
"""))
    yield runtime
    runtime.close()


def test_on_the_case_page_the_draft_fills_the_box_and_its_use_is_recorded(rt_model: Runtime) -> None:
    from inbox.web.app import create_app
    users = make_users()
    case = make_case(rt_model, 1, text="ktp saya hilang min, nama saya Dewi, hp 0812-3456-7890",
                     public=False)
    client = create_app(rt_model, testing=True).test_client()
    assert login(client, users["admin"].username).status_code == 302
    page = page_text(client.get(f"/pengaduan/{case.id}"))
    assert "Rapikan dengan model bahasa lokal" in page
    key = re.search(r'data-suggestion="([^"]+)"', page).group(1)
    with responses.RequestsMock() as fake:
        fake.post(ENDPOINT, json=answer("Halo {nama}, mohon maaf atas kehilangannya. Silakan bawa "
                                        "surat kehilangan dan fotokopi KK."))
        worded = post_form(client, f"/pengaduan/{case.id}/saran/rapikan", {"suggestion": key},
                           token_from=f"/pengaduan/{case.id}")
        sent = fake.calls[0].request.body.decode()
    assert "0812" not in sent and "Dewi" not in sent
    html = page_text(worded)
    assert "Draf dari model bahasa lokal" in html and "mohon maaf atas kehilangannya" in html
    assert 'id="suggestion-worded" value="1"' in html
    draft = re.search(r'<textarea id="reply-text" name="text"[^>]*>([^<]*)</textarea>', html).group(1)
    post_form(client, f"/pengaduan/{case.id}/aksi/reply",
              {"text": draft.replace("&#39;", "'"), "suggestions_shown": key, "suggestion": key,
               "suggestion_text": draft.replace("&#39;", "'"), "suggestion_worded": "1"})
    event = Event.get(Event.action == "suggestion_outcome")
    assert event.detail["result"] == "used" and event.detail["worded"] is True
    # The model down: the suggestion is offered as it was.
    with responses.RequestsMock() as fake:
        fake.post(ENDPOINT, body=requests.ConnectionError("refused"))
        second = make_case(rt_model, 2, text="ktp ku ilang", public=False)
        key = re.search(r'data-suggestion="([^"]+)"',
                        page_text(client.get(f"/pengaduan/{second.id}"))).group(1)
        html = page_text(post_form(client, f"/pengaduan/{second.id}/saran/rapikan",
                                   {"suggestion": key}, token_from=f"/pengaduan/{second.id}"))
    assert "saran dipakai apa adanya" in html and 'id="suggestion-worded" value=""' in html
