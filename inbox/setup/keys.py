"""Secret keys kept as files in the data folder: made once with a random value (mode 600), then
read by every process that shares the folder (the web's session key, the marks' hash key)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_key(data_dir: Path | str, name: str) -> str:
    """The key in ``data_dir/name``, made now if there is none. Two processes starting at once
    make it once (exclusive create); an empty file, left by a crash between create and write,
    is replaced."""
    path = Path(data_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        path.unlink()
        return data_key(data_dir, name)
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key
