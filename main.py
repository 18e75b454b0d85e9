"""The ``aduan`` command line: ``main(argv) -> int`` and the console-script entry ``cli``.

Everything else lives in ``inbox.cli`` (``inbox.cli.main`` turns mistakes into one line);
``python -m main`` works too (the service unit may call it so).
"""
from __future__ import annotations

from inbox.cli.main import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":
    cli()
