"""The database lost mid-way, then back: queries fail with a coded error and recover;
calls and scorecards wait in the outbox and land when it returns, or are reported as
lost (full, closed, refused), never dropped in silence. Both databases, really cut off."""

from __future__ import annotations

import asyncio
import threading

import pytest

from models.errors import StoreUnavailable, UnknownSession
from models.records import CriterionVerdict
from server.store import AsyncStore, Outbox, Store, StoreConfig, WriteFailure
from tests.store.conftest import DAY_S, T0

VERDICTS = [CriterionVerdict(criterion="lsd", verdict="needs_work")]


def test_lost_mid_way_then_back(target, store: Store, make_call):
    store.save_call(make_call("c1"))
    target.cut_off()
    with pytest.raises(StoreUnavailable) as e:
        store.call("c1")
    assert e.value.code == "store_unavailable"
    with pytest.raises(StoreUnavailable):  # still away: reconnecting fails too
        store.save_call(make_call("c2"))
    target.restore()
    assert store.call("c1").session == "c1"  # reconnected on the next call
    assert store.save_call(make_call("c2")) is True


@pytest.fixture
async def astore(target):
    failures: list[WriteFailure] = []
    s = await AsyncStore.open(
        target.location,
        outbox=Outbox(
            first_retry_s=0.01, max_retry_s=0.05, max_pending=3, on_failure=failures.append
        ),
        busy_timeout_s=target.busy_timeout_s,
    )
    s.failures = failures  # type: ignore[attr-defined]
    yield s
    if target.is_cut_off:
        target.restore()
    await s.close(timeout_s=2)


async def _until_retried(outbox: Outbox, attempts_s: float = 0.3) -> None:
    # Long enough for several failed retries at 10-50 ms.
    await asyncio.sleep(attempts_s)
    assert outbox.pending


async def test_scorecard_lands_when_the_database_returns(target, astore: AsyncStore, make_call):
    assert await astore.save_call(make_call("c1")) is True
    target.cut_off()
    assert await astore.save_scorecard("c1", b'{"s":1}', VERDICTS, at=T0) is False
    await _until_retried(astore.outbox)
    assert astore.outbox.last_error is not None
    assert astore.outbox.last_error.code == "store_unavailable"
    target.restore()
    assert await astore.outbox.drain(timeout_s=5) is True
    got = await astore.run(Store.call, "c1")
    assert got.scorecard == b'{"s":1}' and got.verdicts == tuple(VERDICTS)
    assert astore.failures == []  # type: ignore[attr-defined]


async def test_call_and_scorecard_wait_in_order(target, astore: AsyncStore, make_call):
    target.cut_off()
    assert await astore.save_call(make_call("c1")) is False
    # Queued behind its call: never tried first (it would be refused as unknown).
    assert await astore.save_scorecard("c1", b"{}", VERDICTS) is False
    assert astore.outbox.pending == 2
    await _until_retried(astore.outbox)
    target.restore()
    assert await astore.outbox.drain(timeout_s=5) is True
    assert (await astore.run(Store.call, "c1")).scorecard == b"{}"


async def test_full_outbox_refuses_and_reports(target, astore: AsyncStore, make_call):
    target.cut_off()
    for i in range(3):
        assert await astore.save_call(make_call(f"c{i}")) is False
    with pytest.raises(StoreUnavailable, match="3 writes already wait"):
        await astore.save_call(make_call("c3"))
    assert [(f.what, f.session) for f in astore.failures] == [("call", "c3")]  # type: ignore[attr-defined]
    target.restore()
    assert await astore.outbox.drain(timeout_s=5) is True


async def test_close_while_away_reports_what_was_not_written(target, make_call):
    failures: list[WriteFailure] = []
    s = await AsyncStore.open(
        target.location,
        outbox=Outbox(first_retry_s=0.01, max_retry_s=0.05, on_failure=failures.append),
        busy_timeout_s=target.busy_timeout_s,
    )
    await s.save_call(make_call("c1"))
    target.cut_off()
    await s.save_scorecard("c1", b"{}", VERDICTS)
    lost = await s.close(timeout_s=0.2)
    target.restore()
    assert [(f.what, f.session, f.error.code) for f in lost] == [
        ("scorecard", "c1", "store_unavailable")
    ]
    assert failures == lost


async def test_refused_write_reported_not_retried(target, astore: AsyncStore, make_call):
    with pytest.raises(UnknownSession):  # tried at once: the caller hears it
        await astore.save_scorecard("nope", b"{}", VERDICTS)
    target.cut_off()
    await astore.save_scorecard("nope", b"{}", VERDICTS)
    target.restore()
    assert await astore.outbox.drain(timeout_s=5) is True
    (failure,) = astore.failures  # type: ignore[attr-defined]
    assert (failure.session, failure.error.code) == ("nope", "unknown_session")


async def test_unreachable_at_start_is_a_coded_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreUnavailable):
        await AsyncStore.open(tmp_path / "file" / "data")
    with pytest.raises(StoreUnavailable):
        await AsyncStore.open("postgresql://postgres@127.0.0.1:1/x")


async def test_queries_run_off_the_event_loop(astore: AsyncStore):
    thread = await astore.run(lambda _store: threading.current_thread().name)
    assert thread.startswith("store") and thread != threading.current_thread().name


async def test_retention_purge_at_start_and_then_daily(astore: AsyncStore, make_call):
    await astore.save_call(make_call("old", created_at=T0 - 100 * DAY_S))
    await astore.save_call(make_call("new", created_at=T0 - 1 * DAY_S))
    task = asyncio.create_task(
        astore.keep_purging(StoreConfig(retention_days=90), clock=lambda: T0)
    )
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            try:
                await astore.run(Store.call, "old")
            except UnknownSession:
                break
        else:
            pytest.fail("the purge did not run")
        assert (await astore.run(Store.call, "new")).session == "new"
    finally:
        task.cancel()
