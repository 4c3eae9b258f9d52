"""Hand freed memory back to the system, so a node's RSS stays flat for hours.

Recognition runs in worker threads. glibc gives threads arenas of their own (up to 8 per
core) and gives their free pages back only when the top of a heap is free, so a soak saw a
node's RSS climb in 10-20 MB steps for minutes after warm-up (bench/README.md, soak.py).
Fewer arenas and a periodic `malloc_trim` keep it flat. Elsewhere than glibc nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger("sparring.allocator")

# mallopt's parameter number for the arena cap (glibc <malloc.h>).
M_ARENA_MAX = -8
# Two arenas: the event loop's and one the recognition threads share. More bought no speed
# with two workers (bench/bench_capacity.py --variant) and held more memory.
ARENAS = 2


class Allocator:
    """glibc's malloc controls, when this process runs on glibc."""

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        if not sys.platform.startswith("linux"):
            return
        name = ctypes.util.find_library("c") or "libc.so.6"
        try:
            libc = ctypes.CDLL(name)
        except OSError:
            return
        if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):  # musl has neither
            libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.malloc_trim.argtypes = [ctypes.c_size_t]
            self._libc = libc

    @property
    def available(self) -> bool:
        return self._libc is not None

    def cap_arenas(self, arenas: int = ARENAS) -> bool:
        """Caps the arenas threads created from now on share (call before they start)."""
        return self._libc is not None and self._libc.mallopt(M_ARENA_MAX, arenas) == 1

    def trim(self) -> bool:
        """Returns free pages of every arena to the system; True when some were returned."""
        return self._libc is not None and self._libc.malloc_trim(0) == 1
