"""Writing a recap's files and recording them (the ``Recap`` rows the web lists).

Files go to ``<data_dir>/recaps`` unless another folder is given. Each file is written under a
temporary name and renamed into place, so the web never serves half a PDF. A file inside that
recap folder gets a ``Recap`` row (path relative to the data directory, so the folder can
move); making the same recap again replaces its row. A file written elsewhere (``--out``) is
not listed, because the web serves files from the recap folder only (and the backup carries
that folder).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.db import atomic_write
from inbox.models import Recap, User, utcnow
from recap.document import Document

if TYPE_CHECKING:
    from inbox.setup.runtime import Runtime

Writer = Callable[[Document, Path], None]

#: File names of the formats whose name is not ``<stem>.<format>``.
FILE_NAMES = {"csv_excel": "{stem}-excel.csv"}


def recaps_dir(rt: Runtime, out_dir: Path | str | None) -> Path:
    folder = Path(out_dir) if out_dir is not None else Path(rt.data_dir) / "recaps"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def write_files(rt: Runtime, doc: Document, writers: dict[str, Writer],
                out_dir: Path | str | None, actor: User | None) -> list[Path]:
    """Write ``doc`` once per format and record the files; return their paths."""
    folder = recaps_dir(rt, out_dir)
    paths = []
    for fmt, write in writers.items():
        path = folder / FILE_NAMES.get(fmt, "{stem}.{fmt}").format(stem=doc.stem, fmt=fmt)
        # Unique per call: the web and the daemon of `aduan run` share one process id.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            write(doc, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        paths.append(path)
    record(rt, doc, paths, actor, list(writers))
    return paths


def record(rt: Runtime, doc: Document, paths: list[Path], actor: User | None,
           formats: list[str] | None = None) -> None:
    """One ``Recap`` row per file; ``formats`` name them (default: the file's suffix)."""
    data_dir = Path(rt.data_dir).resolve()
    root = (data_dir / "recaps").resolve()
    with atomic_write():
        for i, path in enumerate(paths):
            resolved = path.resolve()
            if not resolved.is_relative_to(root):
                continue
            stored = resolved.relative_to(data_dir).as_posix()
            fmt = formats[i] if formats else path.suffix.lstrip(".")
            fields: dict[str, Any] = {"kind": doc.kind, "period": doc.period_key, "fmt": fmt,
                                      "path": stored, "created_at": utcnow(), "created_by": actor,
                                      "made_by": "" if actor is not None else
                                      getattr(doc, "made_by", ""),
                                      "practice": bool(getattr(doc, "practice", False))}
            # An upsert, not delete-then-insert: two processes making the same recap at once
            # (the daemon's schedule and the web's button) must leave one row, not two.
            Recap.insert(**fields).on_conflict(
                conflict_target=[Recap.kind, Recap.period, Recap.fmt],
                update={Recap.path: stored, Recap.created_at: fields["created_at"],
                        Recap.created_by: actor, Recap.made_by: fields["made_by"],
                        Recap.practice: fields["practice"]}).execute()
