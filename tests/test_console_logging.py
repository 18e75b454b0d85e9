"""Every command logs through the masking handler (issue 20, item 2).

Before, only ``run``, ``worker`` and ``serve`` installed it; ``poll`` and the others logged
through Python's default handler, which printed a NIK in an error or a traceback as it was.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from main import main
from tests.conftest import make_runtime, write_config
from tests.factories import jsonl_line, write_jsonl

NIK = "3329015708900003"
PHONE = "081327551122"
FACEBOOK = """
[accounts.fb_dukcapil]
kind = "facebook"
label = "Facebook Dukcapil"
page_id = "104857600000001"
page_access_token = "PAGE-TOKEN"
app_secret = "app-secret-for-tests"
"""


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_crash_while_polling_prints_its_traceback_masked(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, accounts=FACEBOOK)
    make_runtime(config).close()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # A failure no connector expects, whose text quotes a citizen's NIK and phone number.
        rsps.add(responses.GET, re.compile(r"https://graph\.facebook\.com/.*"),
                 body=RuntimeError(f"created_time tidak terbaca: NIK {NIK} HP {PHONE}"))
        assert main(["--config", str(config), "poll"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error while reading the platform" in err and "Traceback" in err
    assert "3329**********03" in err and "0813*****122" in err
    assert NIK not in err and PHONE not in err


def test_a_rejected_import_line_does_not_print_the_nik_it_quotes(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    make_runtime(config).close()
    path = write_jsonl(tmp_path / "in.jsonl", [jsonl_line(created_at=NIK)])
    assert main(["--config", str(config), "import", "--jsonl", str(path)]) == 1
    err = capsys.readouterr().err
    assert "baris 1:" in err and "3329**********03" in err and NIK not in err
