"""Stats: the exposition of one server. Counters are Counters, one metric per meaning, and
figures kept elsewhere are read at scrape time from what was registered at wiring."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from server.asr.pool import PoolStats
from server.stats import AsrPoolCollector, Stats


def families(stats: Stats) -> dict:
    body, content_type = stats.exposition()
    assert content_type.startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def value(family, name: str, **labels) -> float:
    [sample] = [s for s in family.samples if s.name == name and s.labels == labels]
    return sample.value


def pool_stats(**changes) -> PoolStats:
    figures = dict.fromkeys(PoolStats.__dataclass_fields__, 0)
    figures.update(
        partial_latency_p50_s=None,
        partial_latency_p95_s=None,
        final_latency_p50_s=None,
        final_latency_p95_s=None,
        queue_wait_p95_s=None,
        service_mean_s=0.0,
    )
    figures.update(changes)
    return PoolStats(**figures)


def test_stats_adapter_counts_are_counters():
    stats = Stats()
    stats.audio_received(3200)
    stats.audio_received(3200)
    stats.session_created()
    stats.nudge_sent("monologue", 0.004)
    stats.nudge_sent("monologue", None)  # a nudge no audio frame caused: no latency
    stats.nudge_sent("pace", 0.02)
    f = families(stats)
    assert f["sparring_audio_bytes"].type == "counter"
    assert value(f["sparring_audio_bytes"], "sparring_audio_bytes_total") == 6400
    assert value(f["sparring_sessions_created"], "sparring_sessions_created_total") == 1
    nudges = f["sparring_nudges"]
    assert nudges.type == "counter"
    assert value(nudges, "sparring_nudges_total", rule="monologue") == 2
    assert value(nudges, "sparring_nudges_total", rule="pace") == 1
    latency = f["sparring_nudge_latency_seconds"]
    assert value(latency, "sparring_nudge_latency_seconds_count") == 2
    assert list(stats.nudge_latencies_s) == [0.004, 0.02]
    assert stats.audio_bytes == 6400 and stats.sessions_created == 1


def test_stats_reads_registered_figures_at_scrape_time():
    stats = Stats()
    open_sessions = [1, 2]
    published = {("state",): 1}
    stats.gauge("sparring_sessions", "Open sessions", lambda: len(open_sessions))
    stats.counter("sparring_events_published", "Events", lambda: published, labels=("type",))
    open_sessions.append(3)
    published[("metrics",)] = 4
    f = families(stats)
    assert f["sparring_sessions"].type == "gauge"
    assert value(f["sparring_sessions"], "sparring_sessions") == 3
    events = f["sparring_events_published"]
    assert events.type == "counter"
    assert value(events, "sparring_events_published_total", type="metrics") == 4
    assert value(events, "sparring_events_published_total", type="state") == 1


def test_stats_asr_pool_one_metric_per_meaning():
    stats = Stats()
    snapshot = pool_stats(
        queued_partials=3,
        queued_finals=2,
        running=1,
        degrade_level=1,
        submitted=20,
        completed=9,
        coalesced=4,
        cancelled=2,
        dropped_overflow=1,
        dropped_stale=1,
        failed=1,
        final_latency_p95_s=0.8,
    )
    stats.register(AsrPoolCollector(lambda: snapshot))
    stats.recognition_latency(final=True, seconds=0.3)
    stats.recognition_latency(final=True, seconds=3.0)
    stats.recognition_latency(final=False, seconds=0.2)
    f = families(stats)
    queued = f["sparring_asr_queued_jobs"]
    assert queued.type == "gauge"
    assert value(queued, "sparring_asr_queued_jobs", kind="partial") == 3
    assert value(queued, "sparring_asr_queued_jobs", kind="final") == 2
    assert value(f["sparring_asr_running_jobs"], "sparring_asr_running_jobs") == 1
    assert value(f["sparring_asr_degrade_level"], "sparring_asr_degrade_level") == 1
    assert f["sparring_asr_jobs_submitted"].type == "counter"
    assert value(f["sparring_asr_jobs_submitted"], "sparring_asr_jobs_submitted_total") == 20
    jobs = f["sparring_asr_jobs"]
    assert jobs.type == "counter"
    outcomes = {s.labels["outcome"]: s.value for s in jobs.samples}
    assert outcomes == {
        "completed": 9,
        "coalesced": 4,
        "cancelled": 2,
        "dropped_overflow": 1,
        "dropped_degraded": 0,
        "dropped_stale": 1,
        "dropped_finals": 0,
    }
    assert value(f["sparring_asr_failures"], "sparring_asr_failures_total") == 1
    latency = f["sparring_asr_latency_seconds"]
    assert latency.type == "histogram"
    assert value(latency, "sparring_asr_latency_seconds_count", kind="final") == 2
    assert value(latency, "sparring_asr_latency_seconds_count", kind="partial") == 1
    assert value(latency, "sparring_asr_latency_seconds_bucket", kind="final", le="1.0") == 1
    assert "sparring_asr" not in f  # the old gauge that mixed four meanings
