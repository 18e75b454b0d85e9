"""Keeping a process that runs all day small: freed memory goes back to the system.

Measured with ``bench/memory_trace.py`` (bench/RESULTS.md, issue 29): after ``aduan run`` had
ingested 100,000 messages and served the inbox, what the program still used was under 60 MB of
C heap while glibc's ``malloc`` kept more than 400 MB of freed memory. Every thread that
allocates gets an arena of its own (up to eight per core: the web's eight threads, the daemon,
the downloader), each request's SQLite page cache and query rows are freed into that thread's
arena, and an arena gives memory back to the system only from its top. Two calls fix that, both
glibc's own and both harmless where they are missing (Windows, macOS, musl: nothing happens):

* :func:`limit_arenas` at start: two arenas shared by all threads, so memory one request freed
  is reused by the next request on another thread instead of sitting in an arena of its own
  (``MALLOC_ARENA_MAX`` in the environment, when set, wins);
* :class:`Trimmer`: ``malloc_trim(0)`` when the resident size grew since the last trim, looked
  at most once a second from the daemon's loop (or ``aduan serve``'s): glibc then hands every
  free page of every arena back (``madvise``), not only the top of each.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import time

log = logging.getLogger(__name__)

#: ``mallopt`` parameter number of the arena limit (glibc ``malloc.h``: ``M_ARENA_MAX``).
M_ARENA_MAX = -8
ARENAS = 2
#: Growth of the resident size since the last trim above which another is worth its cost (a few
#: milliseconds). Not malloc's free total: a trim hands pages back but leaves the chunks on the
#: free lists, so that total stays high, and a request that reuses them and frees them again
#: brings the pages back without moving it.
TRIM_ABOVE = 4 * 2**20
MIN_INTERVAL = 1.0


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc with ``mallinfo2`` (2.33 and later); else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc


_libc = _glibc()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let all threads share ``arenas`` malloc arenas (call before the threads start); True when
    the limit was set, False where there is no glibc or ``MALLOC_ARENA_MAX`` already says."""
    if _libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_libc.mallopt(M_ARENA_MAX, arenas))


def free_kept() -> int | None:
    """Bytes malloc holds freed but not yet given back; None where it cannot say."""
    if _libc is None:
        return None
    return int(_libc.mallinfo2().fordblks)


def resident_bytes() -> int:
    """This process's resident size (Linux ``/proc/self/statm``: one small read)."""
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * _PAGE


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def give_back() -> bool:
    """Hand malloc's free pages back to the system now; True when some were."""
    return bool(_libc is not None and _libc.malloc_trim(0))


class Trimmer:
    """Gives freed memory back when the process grew since the last time; ``maybe()`` is cheap
    to call often (one read of ``/proc/self/statm`` at most every ``interval`` seconds)."""

    def __init__(self, above: int = TRIM_ABOVE, interval: float = MIN_INTERVAL,
                 clock: object = time.monotonic) -> None:
        self.above = above
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")
        self._after = 0          # the resident size right after the last trim
        self.trims = 0

    def maybe(self) -> bool:
        """Trim when at least ``interval`` seconds passed since the last look and the resident
        size grew by more than ``above`` bytes since the last trim; True when it trimmed."""
        if _libc is None:
            return False
        now = self.clock()  # type: ignore[operator]
        if now - self._last < self.interval:
            return False
        self._last = now
        if resident_bytes() - self._after <= self.above:
            return False
        give_back()
        self._after = resident_bytes()
        self.trims += 1
        return True
