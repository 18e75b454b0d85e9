"""Whether the process that holds a lease is provably dead.

A lease owner is ``host:pid:random`` (``inbox.run.daemon.new_worker_id``). Only an owner on this
host can be checked, by its process id: a process that is gone cannot be working on its lease,
so a restarted worker need not wait out the five minutes. Anything uncertain (another host, a
pid that exists, a pid reused by another program) counts as alive: waiting is the safe side.
"""
from __future__ import annotations

import os
import socket
import sys


def pid_alive(pid: int) -> bool:
    """True unless the operating system says no process has this id."""
    if pid <= 0:
        return True
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    # os.kill(pid, 0) on Windows would send CTRL_C_EVENT; ask the kernel instead.
    import ctypes
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` names a process on this host, other than this one, that is gone."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isascii() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not pid_alive(pid)
