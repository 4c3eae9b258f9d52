"""A process's memory as Linux reports it, for the benchmarks: RSS, PSS and USS in MB.

RSS counts every resident page the process maps, shared ones (libraries, the model file)
in full; PSS splits shared pages between the processes that map them; USS is the
process's private pages alone: what would be freed if it exited. PSS and USS move when
another process maps or unmaps the same files (a second Python of the same environment):
anonymous memory (the heaps, thread stacks, the model's tensors) does not, and is what
grows when the process holds more.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True, slots=True)
class Memory:
    """One reading, in MB (PSS, USS and anonymous are None where smaps_rollup cannot be
    read)."""

    rss_mb: float
    pss_mb: float | None = None
    uss_mb: float | None = None
    anon_mb: float | None = None


def rss_mb(pid: int | str = "self") -> float:
    """VmRSS of `pid` from /proc/<pid>/status, in MB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def memory_of(pid: int | str = "self") -> Memory:
    """RSS from /proc/<pid>/status; PSS, USS (private clean + dirty) and anonymous memory
    from /proc/<pid>/smaps_rollup (Linux 4.14+; same user or root)."""
    rss = rss_mb(pid)
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    fields[name] = int(parts[0])
    except OSError:
        return Memory(rss)
    if "Pss" not in fields:
        return Memory(rss)
    uss_kb = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    anon_kb = fields.get("Anonymous")
    return Memory(
        rss, fields["Pss"] / 1024, uss_kb / 1024, None if anon_kb is None else anon_kb / 1024
    )


def median_memory(readings: list[Memory]) -> Memory:
    """The median of each figure over a few readings (one reading can catch a spike)."""

    def median_of(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return median(known) if known else None

    return Memory(
        median(r.rss_mb for r in readings),
        median_of([r.pss_mb for r in readings]),
        median_of([r.uss_mb for r in readings]),
        median_of([r.anon_mb for r in readings]),
    )


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two distinct xs)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
