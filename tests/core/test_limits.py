"""Token buckets and counts (server/core/limits.py), driven by a hand-held clock."""

from __future__ import annotations

import pytest

from server.core.limits import Counts, KeyedBuckets, TokenBucket, per_minute


def test_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_s(0.0) == pytest.approx(0.5)
    assert not bucket.take(0.4)
    assert bucket.take(0.5)
    assert bucket.take(100.0) and bucket.tokens == pytest.approx(2.0)  # never over the burst


def test_bucket_spend_goes_into_debt_and_says_how_long_to_wait() -> None:
    bytes_per_s = 32_000  # 16 kHz mono s16: a 50x cap is 1.6 MB/s after a 2 s burst
    bucket = TokenBucket(rate_per_s=bytes_per_s * 50, burst=bytes_per_s * 2)
    assert bucket.spend(0.0, bytes_per_s) == 0.0
    assert bucket.spend(0.0, bytes_per_s) == 0.0
    assert bucket.spend(0.0, bytes_per_s) == pytest.approx(1 / 50)  # one second of audio at 50x
    assert bucket.spend(1 / 50, bytes_per_s) == pytest.approx(1 / 50)


def test_per_minute_is_a_minute_at_once_by_default() -> None:
    bucket = per_minute(20)
    assert sum(bucket.take(0.0) for _ in range(25)) == 20
    assert bucket.wait_s(0.0) == pytest.approx(3.0)
    small = per_minute(60, burst=2)
    assert sum(small.take(0.0) for _ in range(5)) == 2 and small.take(1.0)


def test_keyed_buckets_are_apart_and_bounded() -> None:
    buckets = KeyedBuckets(lambda: TokenBucket(rate_per_s=0.0, burst=1.0), max_keys=2)
    assert buckets.take("a", 0.0) and not buckets.take("a", 0.0)
    assert buckets.take("b", 0.0)
    assert buckets.take("c", 0.0) and len(buckets) == 2  # "a" forgotten: the oldest
    assert buckets.take("a", 0.0)


def test_counts_hold_at_most_the_limit_per_key() -> None:
    counts = Counts(2)
    assert counts.acquire("a") and counts.acquire("a") and not counts.acquire("a")
    assert counts.acquire("b")
    counts.release("a")
    assert counts.held("a") == 1 and counts.acquire("a")
    counts.release("b")
    assert counts.held("b") == 0
