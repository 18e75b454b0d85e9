"""What a new office trips over, in the browser at 1366x768 (issue 28, item 10): whole category
tags and status badges in the inbox list, the Notifikasi page's check boxes beside their words,
and a 20,000-character message folded on the case page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from inbox.models import Case, Event, Outbox
from inbox.setup.runtime import Runtime
from tests.test_web_e2e import Officer, browser, pytestmark, server  # noqa: F401 (fixtures)
from tests.web_helpers import make_case, make_users

CLIPPED = """() => [...document.querySelectorAll('table.cases tbody td .tag, table.cases tbody td .badge')]
    .map(el => {
        const cell = el.closest('td').getBoundingClientRect(), box = el.getBoundingClientRect();
        return {text: el.textContent.trim(),
                clipped: el.scrollWidth > el.clientWidth + 1 || box.right > cell.right + 1
                         || box.bottom > cell.bottom + 1 || box.left < cell.left - 1};
    })"""


def unsure_case(rt: Runtime, n: int, categories: list[str]) -> Case:
    case = make_case(rt, n, "Akta kelahiran anak saya belum jadi, petugas bilang datanya salah")
    Case.update(categories=categories, intent="complaint").where(Case.id == case.id).execute()
    event = Event.get((Event.case == case.id) & (Event.action == "opened"))
    event.detail = {**event.detail, "confidence": {code: 0.55 for code in categories}}
    event.save()
    return case


def test_the_inbox_list_shows_whole_tags_and_badges_at_1366(rt: Runtime, server: Any,
                                                            browser: Any, tmp_path: Path) -> None:
    make_users()
    unsure_case(rt, 1, ["akta_kelahiran"])
    unsure_case(rt, 2, ["akta_kelahiran", "pungli_calo_petugas", "antrean_pelayanan"])
    doubtful = make_case(rt, 3, "KTP-el saya belum jadi")
    Outbox.create(case=doubtful, text="Sudah kami cek.", public=True, status="uncertain")
    for n in range(4, 14):
        make_case(rt, n, "KTP-el saya belum jadi sejak bulan lalu, kapan bisa diambil")
    admin = Officer(browser, server.url, tmp_path, [])
    admin.login("admin1")
    admin.shot("kotak-masuk-1366")
    seen = admin.page.evaluate(CLIPPED)
    texts = [s["text"] for s in seen]
    assert "Akta kelahiran · perlu dicek" in texts and "Balasan BELUM PASTI terkirim" in texts, texts
    assert not [s for s in seen if s["clipped"]], seen
    channels = admin.page.evaluate("""() => [...document.querySelectorAll('table.cases tbody tr')]
        .map(tr => { const td = tr.children[2]; return td.scrollWidth <= td.clientWidth; })""")
    assert all(channels), channels  # "Latihan · publik" whole too
    from tests.test_web_e2e import rows_on_screen
    assert rows_on_screen(admin.page) >= 10, rows_on_screen(admin.page)
    admin.close()


def test_the_notification_page_puts_each_check_box_beside_its_words(
        rt: Runtime, server: Any, browser: Any, tmp_path: Path) -> None:
    make_users()
    admin = Officer(browser, server.url, tmp_path, [])
    admin.login("admin1")
    admin.page.goto(f"{server.url}/akun/notifikasi")
    admin.shot("notifikasi")
    gaps = admin.page.evaluate("""() => [...document.querySelectorAll('input[type=checkbox]')].map(box => {
        const b = box.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(box.parentElement);
        const words = [...range.getClientRects()].filter(r => r.left > b.right - 1 && r.width > 0)[0];
        return {width: b.width, across: words ? words.left - b.right : 999,
                down: words ? Math.abs((words.top + words.bottom) / 2 - (b.top + b.bottom) / 2) : 999};
    })""")
    assert len(gaps) >= 4, gaps
    assert all(g["width"] < 30 and 0 <= g["across"] < 20 and g["down"] < 25 for g in gaps), gaps
    admin.close()


def test_a_20000_character_message_is_folded_with_tampilkan_semua(
        rt: Runtime, server: Any, browser: Any, tmp_path: Path) -> None:
    make_users()
    long_text = ("Kronologi pengurusan akta: " + "saya datang ke kecamatan dan diminta kembali. " * 500)[:20_000]
    case = make_case(rt, 1, long_text, public=False)
    admin = Officer(browser, server.url, tmp_path, [])
    admin.login("admin1")
    admin.open_case(case)
    admin.shot("pesan-panjang")
    thread = admin.page.locator("ol.thread li.msg").first
    assert thread.bounding_box()["height"] < 700  # folded: the page is not 40 screens long
    summary = admin.page.locator("details.more summary")
    assert summary.inner_text().startswith("tampilkan semua (20.000 karakter)")
    summary.click()
    assert admin.page.locator("details.more").get_attribute("open") is not None
    assert thread.bounding_box()["height"] > 1500  # the whole text is there when asked for
    admin.close()
