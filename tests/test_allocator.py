"""The allocator hands memory that threads freed back to the system (server/allocator.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from server.allocator import Allocator


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def allocator() -> Allocator:
    allocator = Allocator()
    if not allocator.available:
        pytest.skip("not glibc")
    return allocator


def test_trim_returns_what_a_thread_freed_inside_its_heap(allocator: Allocator) -> None:
    kept: list[bytes] = []

    def churn() -> None:
        # 150 MB of 2 KiB blocks, every 64th kept: the heap's top stays in use, so free()
        # alone gives nothing back; that is what recognition threads leave behind.
        blocks = [bytes(2048) for _ in range(75_000)]
        kept.extend(blocks[::64])
        del blocks

    allocator.trim()  # what was free before this test
    before = rss_mb()
    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    held = rss_mb()
    assert held - before > 100, (before, held)  # free() alone kept it
    assert allocator.trim()
    after = rss_mb()
    assert held - after > 0.8 * (held - before), (before, held, after)


def test_the_arena_cap_is_accepted(allocator: Allocator) -> None:
    assert allocator.cap_arenas()
