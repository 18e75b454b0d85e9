"""A process that stays up all day keeps its memory small (issue 29): recaps are made in a child
process, so their libraries never load into it, and malloc's freed memory goes back."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from inbox.models import Recap, utcnow
from inbox.run import memory
from inbox.setup.runtime import Runtime
from recap.figures import RecapError
from recap.make import make_daily_recap
from tests.web_helpers import login, make_users, page_text, post_form

WRITERS = ("matplotlib", "fpdf", "openpyxl", "PIL")
REPO = Path(__file__).resolve().parent.parent

# A clean interpreter: the test process itself may have loaded the writers already.
RESIDENT = textwrap.dedent("""
    import json, sys
    from datetime import date
    from inbox.models import User
    from inbox.setup.config import load_config
    from inbox.setup.runtime import Runtime
    from recap.figures import RecapError
    from recap.make import make_daily_recap, make_monthly_report
    rt = Runtime(load_config(sys.argv[1]), create=False)
    rt.resident = True
    day = date.fromisoformat(sys.argv[2])
    paths = make_daily_recap(rt, day, actor=User.get(User.username == "admin1"))
    paths += make_monthly_report(rt, day.year, day.month)
    try:
        make_daily_recap(rt, date(day.year + 5, 1, 2))
        refused = ""
    except RecapError as exc:
        refused = str(exc)
    print(json.dumps({"paths": [str(p) for p in paths], "refused": refused,
                      "loaded": [m for m in %r if m in sys.modules]}))
""" % (WRITERS,))


def yesterday(rt: Runtime):
    return (utcnow() - timedelta(days=1)).astimezone(rt.config.tz).date()


def test_a_resident_process_makes_both_recaps_in_a_child_and_never_loads_their_writers(
        rt: Runtime, config_path: Path) -> None:
    make_users()
    day = yesterday(rt)
    done = subprocess.run([sys.executable, "-c", RESIDENT, str(config_path), day.isoformat()],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["loaded"] == []
    assert sorted(Path(p).suffix for p in answer["paths"]) == \
        [".csv", ".csv", ".html", ".pdf", ".pdf", ".xlsx", ".xlsx"]
    assert all(Path(p).is_file() for p in answer["paths"])
    assert Path(answer["paths"][0]).read_bytes().startswith(b"%PDF")
    daily = list(Recap.select().where(Recap.kind == "daily"))
    assert len(daily) == 3 and {r.created_by.username for r in daily} == {"admin1"}
    assert Recap.select().where(Recap.kind == "monthly").count() == 4
    assert "belum" in answer["refused"]   # the child's RecapError, raised again in the parent


def test_the_web_of_a_resident_process_makes_a_recap_through_the_child(rt: Runtime) -> None:
    from inbox.web.app import create_app
    make_users()
    rt.resident = True
    client = create_app(rt, testing=True).test_client()
    assert login(client, "admin1").status_code == 302
    day = yesterday(rt)
    response = post_form(client, "/rekap/buat-harian", {"day": day.isoformat()},
                         follow_redirects=True)
    assert "dibuat (3 berkas)" in page_text(response)
    pdf = Recap.get((Recap.kind == "daily") & (Recap.fmt == "pdf"))
    assert pdf.created_by.username == "admin1"
    download = client.get(f"/rekap/{pdf.id}/unduh")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    future = post_form(client, "/rekap/buat-harian", {"day": f"{day.year + 5}-01-02"},
                       follow_redirects=True)
    assert future.status_code == 200 and "belum terjadi" in page_text(future)


def test_a_recap_made_in_this_process_stays_here(rt: Runtime) -> None:
    """A command (aduan recap) or a test is not resident: nothing is spawned."""
    assert rt.resident is False
    with pytest.raises(RecapError):
        make_daily_recap(rt, yesterday(rt).replace(year=yesterday(rt).year + 5))
    assert make_daily_recap(rt, yesterday(rt))


needs_glibc = pytest.mark.skipif(memory.free_kept() is None, reason="needs glibc's malloc")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@needs_glibc
def test_the_trimmer_gives_memory_back_only_when_enough_piled_up_and_not_too_often() -> None:
    clock = Clock()
    never = memory.Trimmer(above=2**62, interval=1.0, clock=clock)
    assert never.maybe() is False and never.trims == 0
    always = memory.Trimmer(above=-2**62, interval=1.0, clock=clock)
    assert always.maybe() is True
    clock.now += 0.5
    assert always.maybe() is False          # within the interval
    clock.now += 0.6
    assert always.maybe() is True and always.trims == 2


@needs_glibc
def test_an_arena_limit_in_the_environment_is_left_as_the_user_set_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False


@needs_glibc
def test_the_daemon_loop_gives_memory_back(rt: Runtime) -> None:
    import threading
    import time
    from inbox.run.daemon import Daemon
    daemon = Daemon(rt)
    daemon.trimmer = memory.Trimmer(above=-2**62, interval=0.0)
    runner = threading.Thread(target=daemon.run, kwargs={"install_signals": False})
    runner.start()
    try:
        deadline = time.monotonic() + 120   # the first poll and the model's loading come first
        while daemon.trimmer.trims < 2 and time.monotonic() < deadline and runner.is_alive():
            time.sleep(0.1)
    finally:
        daemon.stopping.set()
        runner.join(60)
    assert not runner.is_alive()
    assert daemon.trimmer.trims >= 2
