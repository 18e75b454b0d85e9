"""The command line's parser in Indonesian (issue 28, item 12): ``aduan --help``, each
sub-command's help and argparse's own error messages read as the rest of aduan does.

argparse writes its own words ("usage:", "options", "show this help message and exit", "the
following arguments are required") through gettext, which has no Indonesian catalogue; this
parser puts its own words in those places: the usage prefix, the section titles, the ``-h``
line, and its errors, translated by pattern (an unknown one is shown as argparse wrote it).
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

USAGE = "pemakaian: "
POSITIONALS = "argumen"
OPTIONALS = "pilihan"
HELP = "tampilkan bantuan ini lalu selesai"

#: argparse's error sentences (Python 3.11-3.13) and their Indonesian.
ERRORS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"the following arguments are required: (.*)", r"argumen ini wajib diisi: \1"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
     r"argumen \1: pilihan \2 tidak dikenal (pilih salah satu: \3)"),
    (r"argument (\S+): expected one argument", r"argumen \1 perlu satu nilai"),
    (r"argument (\S+): expected at most one argument", r"argumen \1 paling banyak satu nilai"),
    (r"argument (\S+): expected at least one argument", r"argumen \1 perlu paling sedikit satu nilai"),
    (r"argument (\S+): invalid (\w+) value: (.*)", r"argumen \1: nilai \3 tidak sah"),
    (r"argument (\S+): not allowed with argument (.*)", r"argumen \1 tidak boleh dipakai bersama \2"),
    (r"argument (\S+): ignored explicit argument (.*)", r"argumen \1 tidak menerima nilai \2"),
    (r"unrecognized arguments: (.*)", r"argumen tidak dikenal: \1"),
    (r"ambiguous option: (\S+) could match (.*)", r"pilihan \1 tidak jelas: bisa berarti \2"),
    (r"one of the arguments (.*) is required", r"salah satu argumen ini wajib diisi: \1"),
)]


def translate(message: str) -> str:
    for pattern, replacement in ERRORS:
        found = pattern.fullmatch(message)
        if found:
            return found.expand(replacement)
    return message


class HelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that speaks Indonesian; its sub-parsers are of the same kind."""

    def __init__(self, *args: Any, add_help: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONALS
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: galat: {translate(message)}\n")
