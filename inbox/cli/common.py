"""What every ``aduan`` command shares: the one-line user error, the command's context (config
and runtime, loaded on first use), and small helpers several command modules need.

It imports no command module, so ``inbox.cli.commands`` and the modules that register sub-commands
(``case_cli``, ``classify_cli``, ``web.serve``, ``inbox.cli.recaps``) all depend on it and never on
each other in a circle.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from inbox.db import sqlite_file
from inbox.models import User
from inbox.setup.config import Config, default_config_path, load_config
from inbox.setup.migrations import migrate, needs_migration
from inbox.setup.runtime import Runtime
from inbox.text import terminal_text


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Context:
    """Lazily loaded config and runtime for one command."""

    def __init__(self, args: argparse.Namespace, out: TextIO | None = None) -> None:
        self.args = args
        self.out = out or sys.stdout
        self._config: Config | None = None
        self._runtime: Runtime | None = None

    @property
    def config_path(self) -> Path:
        return Path(self.args.config) if getattr(self.args, "config", None) else default_config_path()

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def runtime(self, migrate_schema: bool = True, create: bool = False) -> Runtime:
        """The runtime with the database open and its schema up to date.

        Only ``aduan init`` and ``aduan run`` pass ``create``: every other command refuses a
        SQLite file that does not exist rather than starting an empty database (or a folder
        tree) where a typo in ``database.url`` points. A file made here is named in one line."""
        if self._runtime is None:
            new = sqlite_file(self.config.database["url"], self.config.base_dir) if create else None
            new = new if new is not None and not new.exists() else None
            self._runtime = Runtime(self.config, create=create)
            if new is not None:
                self.print(f"database baru dibuat: {new}")
            if migrate_schema and needs_migration():
                migrate()
        return self._runtime

    def print(self, *parts: Any) -> None:
        """Print ``parts`` cleaned of terminal sequences and control characters: they quote
        citizens' texts and names, which must not clear or retitle the officer's console."""
        print(*(terminal_text(p) if isinstance(p, str) else p for p in parts), file=self.out)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def user_by_name(name: str) -> User:
    user = User.get_or_none(User.username == name)
    if user is None or not user.active:
        raise UserError(f"pengguna {name!r} tidak ada atau tidak aktif", exit_code=1)
    return user


def print_first_superuser(ctx: Context, created: tuple[str, str]) -> None:
    ctx.print("Pengguna pengelola (superuser) pertama dibuat (kata sandi ini hanya ditampilkan "
              "sekali):")
    ctx.print(f"  nama pengguna: {created[0]}")
    ctx.print(f"  kata sandi   : {created[1]}")


def migrations_line(applied: list[str]) -> str:
    """``11 migrasi (001–011)``: the numbers, not the developers' English names."""
    numbers = [name.split(" ", 1)[0] for name in applied]
    span = numbers[0] if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"
    return f"{len(numbers)} migrasi ({span})"


def read_secret(prompt: str) -> str:
    """One line from stdin (a script), or typed without echo at a console."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass(prompt)


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise UserError("kata sandi tidak sama")
    return first
