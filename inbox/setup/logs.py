"""Logging for every command: lines on the console and, for the daemon, in a rotating file,
always with personal data masked (a NIK must never reach a log) and cleaned of terminal
sequences and control characters (``inbox.text``): a citizen's ``ESC[2J`` quoted in an error
must not clear the console of whoever reads it, live or with ``tail``."""
from __future__ import annotations

import logging
import logging.handlers
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from inbox import pii
from inbox.dates import tz_abbreviation
from inbox.text import terminal_text

#: Log levels as an officer reads them on the console of ``aduan run`` (issue 28).
LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "PERINGATAN", "ERROR": "GALAT",
          "CRITICAL": "GAWAT"}


class _Formatter(logging.Formatter):
    """``2026-12-05 01.08.29 WIB INFO inbox.run.daemon: …``: the office's time zone (WIB) and
    Indonesian level names, whatever the computer's clock is set to; then the line is cleaned
    as a whole: the message, its arguments and any traceback (an exception's text may quote what
    a citizen wrote, with terminal escapes). Line breaks stay for tracebacks."""

    tz: ZoneInfo = ZoneInfo("Asia/Jakarta")

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.tz)
        return f"{moment.strftime('%Y-%m-%d %H.%M.%S')} {tz_abbreviation(self.tz)}"

    def format(self, record: logging.LogRecord) -> str:
        original = record.levelname
        record.levelname = LEVELS.get(original, original)
        try:
            return terminal_text(super().format(record))
        finally:
            record.levelname = original


class _ConsoleHandler(logging.StreamHandler):
    """Log lines on whatever ``sys.stderr`` is when a line is written (a test's capture or the
    console), with personal data masked."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(pii.MaskingFilter())
        self.setFormatter(_Formatter())

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


class _FileHandler(logging.handlers.RotatingFileHandler):
    """``log_dir/aduan.log``, rotated at 5 MB (10 kept), with personal data masked."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(log_dir / "aduan.log", maxBytes=5 * 1024 * 1024, backupCount=10,
                         encoding="utf-8")
        self.addFilter(pii.MaskingFilter())
        self.setFormatter(_Formatter())


def configure_logging(level: int = logging.INFO, log_dir: Path | None = None,
                      tz: ZoneInfo | None = None) -> None:
    """Log lines on stderr, and into ``log_dir/aduan.log`` when given, with personal data masked
    (a NIK must never reach a log file).

    Called once by ``main()`` before any command runs, so no command logs through Python's
    default handler, which prints messages and tracebacks as they are; ``run`` and ``worker``
    call it again with the log folder, because a service has no terminal. Calling it again
    replaces aduan's handlers; handlers someone else added (pytest's, a service wrapper's) are
    kept."""
    if tz is not None:
        _Formatter.tz = tz
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, (_ConsoleHandler, _FileHandler))]
    root.addHandler(_ConsoleHandler())
    if log_dir is not None:
        root.addHandler(_FileHandler(log_dir))
    root.setLevel(level)
    for noisy in ("urllib3", "matplotlib", "PIL", "fontTools", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
