"""The child process that makes a recap for a process that stays up all day
(``recap.make.make_in_child`` starts it; never run by hand).

    python -m recap.child   (reads the pickled request on stdin)

It opens the parent's database with the parent's config, makes the recap exactly as ``aduan
recap`` would, and answers with one JSON line on stdout: the paths, or the ``RecapError``
sentence (a day not yet begun). Anything else is logged (masked) on stderr with exit code 1.
"""
from __future__ import annotations

import json
import logging
import pickle
import sys
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _serve(stdin: Any, stdout: Any) -> int:
    from inbox.models import User
    from inbox.setup.logs import configure_logging
    from inbox.setup.runtime import Runtime
    from recap.figures import RecapError
    from recap.make import make_daily_recap, make_monthly_report
    configure_logging(logging.WARNING)  # stderr, masked; the parent logs what comes
    request = pickle.load(stdin)
    rt = Runtime(request["config"], create=False)
    try:
        actor = User.get_by_id(request["actor"]) if request["actor"] is not None else None
        out_dir = Path(request["out_dir"]) if request["out_dir"] else None
        try:
            if request["kind"] == "daily":
                paths = make_daily_recap(rt, date.fromisoformat(request["period"][0]), out_dir,
                                         actor, request["made_by"])
            else:
                year, month = request["period"]
                paths = make_monthly_report(rt, year, month, out_dir, actor, request["made_by"])
        except RecapError as exc:
            stdout.write(json.dumps({"recap_error": str(exc)}) + "\n")
            return 0
        stdout.write(json.dumps({"paths": [str(p) for p in paths]}) + "\n")
        return 0
    except Exception:
        log.exception("recap in a child process failed")
        return 1
    finally:
        rt.close()


if __name__ == "__main__":
    sys.exit(_serve(sys.stdin.buffer, sys.stdout))
