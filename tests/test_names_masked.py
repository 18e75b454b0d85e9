"""A NIK or phone number written into a citizen's display name or handle is masked wherever
message texts are (issue 20, item 8)."""
from __future__ import annotations

import json
from pathlib import Path

from inbox.arrive.ingest import ingest
from inbox.models import Account, Case, Template
from inbox.setup.runtime import Runtime
from inbox.sop import workflow
from inbox.web.app import create_app
from main import main
from tests.factories import InboundMessage, msg
from tests.web_helpers import login, make_users, page_text

NIK = "3329015708900003"
PHONE = "081327551122"
MASKED_NIK = "3329**********03"


def hostile_case(rt: Runtime) -> Case:
    base = msg("nama-1", text="KTP saya belum jadi")
    data = base.to_dict()
    data.update(author_handle=f"warga_{NIK}", author_name=f"Budi NIK {NIK} HP {PHONE}")
    ingest(Account.get(Account.name == "sandbox"), [InboundMessage.from_dict(data)], None,
           rt.ingest_options)
    return Case.select().order_by(Case.id.desc()).get()


def test_the_supervisor_and_the_inbox_list_see_names_masked(rt: Runtime) -> None:
    make_users()
    case = hostile_case(rt)
    app = create_app(rt, testing=True)
    supervisor = app.test_client()
    assert login(supervisor, "pengawas1").status_code == 302
    for url in ("/", f"/pengaduan/{case.id}"):
        page = page_text(supervisor.get(url))
        assert MASKED_NIK in page, url
        assert NIK not in page and PHONE not in page, url
    admin = app.test_client()
    assert login(admin, "admin1").status_code == 302
    listing = page_text(admin.get("/"))
    assert MASKED_NIK in listing and NIK not in listing


def test_the_masked_export_masks_the_contact(rt: Runtime, tmp_path: Path, capsys) -> None:
    hostile_case(rt)
    assert main(["--config", str(tmp_path / "config.toml"), "export", "--format", "jsonl"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    contact = json.loads(line)["contact"]
    assert NIK not in json.dumps(contact) and PHONE not in json.dumps(contact)
    assert contact["handle"] == f"warga_{MASKED_NIK}"


def test_a_template_never_copies_a_nik_from_the_name_into_a_reply(rt: Runtime) -> None:
    case = hostile_case(rt)
    template = Template.create(name="Halo", text="Halo {nama}, pengaduan {nomor} kami proses.")
    text = workflow.render_template(rt, template.text, case)
    assert NIK not in text and MASKED_NIK in text
