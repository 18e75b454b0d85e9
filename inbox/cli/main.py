"""``main(argv) -> int``: parse the command line, run the command, and turn every mistake into
one line on stderr and a non-zero exit, never a traceback (``main.py`` hands ``argv`` here).
"""
from __future__ import annotations

import logging
import os
import sys

import peewee

from inbox.cli.commands import build_parser
from inbox.cli.common import Context, UserError
from inbox.db import DatabaseError
from inbox.setup.config import ConfigError
from inbox.setup.logs import configure_logging
from inbox.text import one_line

# The long-running commands report their progress; a one-shot command logs only what went wrong
# (its results are printed), as before.
CHATTY = {"run", "worker", "serve"}
PRIVATE_UMASK = 0o077
log = logging.getLogger("aduan")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # Before anything can log: every command's log lines, tracebacks included, mask NIKs and
    # phone numbers (Python's default handler would print them raw).
    configure_logging(logging.INFO if args.command in CHATTY else logging.WARNING)
    ctx = Context(args)
    # Everything a command makes (the database and its -wal, backups, KTP photos, logs, recaps,
    # exports) is for this user only: 0600 files, 0700 folders. Restored afterwards, so a
    # program that calls main() keeps its own.
    umask = os.umask(PRIVATE_UMASK)
    try:
        return int(args.func(args, ctx) or 0)
    except (UserError, ConfigError, DatabaseError) as exc:
        print(f"aduan: {one_line(str(exc))}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except peewee.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"aduan: database.url: database tidak dapat dipakai: {one_line(first)}",
              file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"aduan: {exc.filename}: izin ditolak", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # ``aduan export | head``: the reader has gone; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        # A bug: its traceback goes through the masking log handler, never raw to the console.
        log.exception("aduan %s: unexpected error", args.command)
        return 1
    finally:
        ctx.close()
        os.umask(umask)


def cli() -> None:
    sys.exit(main())
