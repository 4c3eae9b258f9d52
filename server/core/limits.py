"""Rate limits as token buckets: how much a client may do per second, with a burst.

Pure: the caller passes the time (any monotonic clock, in seconds), so tests drive it by
hand. The transport decides what to do when a bucket is empty (refuse, pace, close).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# Addresses remembered at once; the least recently seen is forgotten first (and starts
# again with a full bucket, which is no worse than a new address).
MAX_TRACKED_KEYS = 10_000


@dataclass(slots=True)
class TokenBucket:
    """`rate_per_s` tokens a second up to `burst`; a full bucket at the first `take`.

    Attributes:
        rate_per_s: Tokens added per second.
        burst: The most tokens it holds (what may be spent at once).
    """

    rate_per_s: float
    burst: float
    tokens: float = field(default=0.0)
    updated_at: float | None = None  # None: never used, full

    def _refill(self, now: float) -> None:
        if self.updated_at is None:
            self.tokens, self.updated_at = self.burst, now
            return
        elapsed = max(0.0, now - self.updated_at)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate_per_s)
        self.updated_at = now

    def take(self, now: float, amount: float = 1.0) -> bool:
        """Spends `amount` tokens if there are that many; False (nothing spent) if not."""
        self._refill(now)
        if self.tokens >= amount:
            self.tokens -= amount
            return True
        return False

    def spend(self, now: float, amount: float) -> float:
        """Spends `amount` even into debt; returns the seconds to wait until it is paid.

        For pacing: the caller waits that long before taking more (0.0: within the burst).
        """
        self._refill(now)
        self.tokens -= amount
        if self.tokens >= 0 or self.rate_per_s <= 0:
            return 0.0
        return -self.tokens / self.rate_per_s

    def wait_s(self, now: float, amount: float = 1.0) -> float:
        """Seconds until `amount` tokens are there (0.0: now)."""
        self._refill(now)
        missing = amount - self.tokens
        if missing <= 0 or self.rate_per_s <= 0:
            return 0.0
        return missing / self.rate_per_s


class KeyedBuckets:
    """One `TokenBucket` per key (a client address), for at most `max_keys` keys.

    Args:
        make: A new, full bucket.
        max_keys: The keys remembered; the least recently used is forgotten first.
    """

    def __init__(self, make: Callable[[], TokenBucket], max_keys: int = MAX_TRACKED_KEYS) -> None:
        self._make = make
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def bucket(self, key: str) -> TokenBucket:
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = self._make()
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return found

    def take(self, key: str, now: float, amount: float = 1.0) -> bool:
        return self.bucket(key).take(now, amount)

    def __len__(self) -> int:
        return len(self._buckets)


def per_minute(count: int, burst: int | None = None) -> TokenBucket:
    """A bucket of `count` a minute, `burst` at once (default: the whole minute's count)."""
    return TokenBucket(rate_per_s=count / 60.0, burst=float(burst if burst is not None else count))


class Counts:
    """How many of something each key holds now (open connections per address), bounded.

    Args:
        limit: The most one key may hold.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Counts one more for `key`; False (nothing counted) when it holds `limit` already."""
        held = self._counts.get(key, 0)
        if held >= self.limit:
            return False
        self._counts[key] = held + 1
        return True

    def release(self, key: str) -> None:
        held = self._counts.get(key, 0) - 1
        if held > 0:
            self._counts[key] = held
        else:
            self._counts.pop(key, None)

    def held(self, key: str) -> int:
        return self._counts.get(key, 0)
