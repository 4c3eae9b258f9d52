"""Operational figures of one server: the Prometheus exposition and raw nudge latencies.

Knows no session, hub or pool: the adapters report counts through `Stats`' methods, and
figures kept elsewhere are read at scrape time through callables registered at wiring time.
Counters only go up (`..._total`); one metric per meaning.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from server.asr.pool import PoolStats

# Partials are useful within about a second; finals of a long utterance take seconds.
ASR_LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
# The pool's outcome counts: each submitted job ends in exactly one of them.
ASR_OUTCOMES = (
    "completed",
    "coalesced",
    "cancelled",
    "dropped_overflow",
    "dropped_degraded",
    "dropped_stale",
    "dropped_finals",
)


class Stats:
    """The registry of one server and the counts the adapters keep.

    `audio_bytes` and `sessions_created` are plain integers on the hot path, exposed as
    Counters; `nudge_latencies_s` keeps raw samples for the benchmarks.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.audio_bytes = 0
        self.sessions_created = 0
        self.nudge_latencies_s: deque[float] = deque(maxlen=100_000)
        self._nudge_latency = Histogram(
            "sparring_nudge_latency_seconds",
            "From the audio frame that crossed a threshold to the nudge written",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self._nudges = Counter("sparring_nudges", "Nudges sent", ["rule"], registry=self.registry)
        self._store_lost = Counter(
            "sparring_store_writes_lost",
            "Writes the store gave up on (database away too long, or refused)",
            ["what"],
            registry=self.registry,
        )
        self._limits = Counter(
            "sparring_limits_fired",
            "Requests refused, paced or cut off by a limit (docs/protocol.md, Limits)",
            ["limit"],
            registry=self.registry,
        )
        self._asr_latency = Histogram(
            "sparring_asr_latency_seconds",
            "Speech recognition, from submission to result, per delivered job",
            ["kind"],
            buckets=ASR_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.counter("sparring_audio_bytes", "Audio bytes received", lambda: {(): self.audio_bytes})
        self.counter(
            "sparring_sessions_created",
            "Sessions created since start",
            lambda: {(): self.sessions_created},
        )

    # -- what the adapters report --------------------------------------------------------

    def audio_received(self, nbytes: int) -> None:
        self.audio_bytes += nbytes

    def session_created(self) -> None:
        self.sessions_created += 1

    def limit_fired(self, limit: str) -> None:
        """A limit refused, paced or cut off something (`limit`: its name in the docs)."""
        self._limits.labels(limit).inc()

    def store_write_lost(self, what: str) -> None:
        """The store gave up on a write (a call or a scorecard): counted, and logged."""
        self._store_lost.labels(what).inc()

    def nudge_sent(self, rule: str, latency_s: float | None) -> None:
        """Counts a nudge written to a connection.

        Args:
            rule: The nudge's rule name.
            latency_s: Since the arrival of the audio frame that caused it; None when no
                audio frame did (a recognition result, a command).
        """
        self._nudges.labels(rule).inc()
        if latency_s is not None:
            self.nudge_latencies_s.append(latency_s)
            self._nudge_latency.observe(latency_s)

    def recognition_latency(self, final: bool, seconds: float) -> None:
        self._asr_latency.labels("final" if final else "partial").observe(seconds)

    # -- wiring: figures kept elsewhere, read at scrape time ------------------------------

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """Exposes `read()` as a Gauge."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def counter(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Mapping[tuple[str, ...], float]],
        labels: tuple[str, ...] = (),
    ) -> None:
        """Exposes a count kept elsewhere as a Counter `{name}_total`.

        Args:
            name: Without `_total`.
            documentation: The HELP text.
            read: Label values -> count; each count must never go down.
            labels: The label names.
        """
        self.registry.register(_ReadCounter(name, documentation, labels, read))

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of `GET /metrics`."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ReadCounter(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        read: Callable[[], Mapping[tuple[str, ...], float]],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = labels
        self._read = read

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self._name, self._documentation, labels=self._labels)

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for values, count in sorted(self._read().items()):
            family.add_metric(list(values), count)
        return [family]


class AsrPoolCollector(Collector):
    """The ASR pool's queue, workers, degrade level and job outcomes, from one snapshot.

    Args:
        snapshot: `AsrPool.stats`.
    """

    def __init__(self, snapshot: Callable[[], PoolStats]) -> None:
        self._snapshot = snapshot

    def _families(
        self,
    ) -> tuple[
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
    ]:
        return (
            GaugeMetricFamily(
                "sparring_asr_queued_jobs", "Recognition jobs waiting", labels=["kind"]
            ),
            GaugeMetricFamily("sparring_asr_running_jobs", "Recognition jobs in a worker now"),
            GaugeMetricFamily(
                "sparring_asr_degrade_level",
                "0 normal, 1 partials every 2 s, 2 partials off",
            ),
            CounterMetricFamily("sparring_asr_jobs_submitted", "Recognition jobs submitted"),
            CounterMetricFamily(
                "sparring_asr_jobs", "Recognition jobs by how they ended", labels=["outcome"]
            ),
            CounterMetricFamily(
                "sparring_asr_failures",
                "Recognitions that raised (delivered empty, or cancelled)",
            ),
            CounterMetricFamily(
                "sparring_asr_merged",
                "Finals recognised together with the final before them (a party behind)",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        s = self._snapshot()
        queued, running, level, submitted, outcomes, failures, merged = self._families()
        queued.add_metric(["partial"], s.queued_partials)
        queued.add_metric(["final"], s.queued_finals)
        running.add_metric([], s.running)
        level.add_metric([], s.degrade_level)
        submitted.add_metric([], s.submitted)
        for outcome in ASR_OUTCOMES:
            outcomes.add_metric([outcome], getattr(s, outcome))
        failures.add_metric([], s.failed)
        merged.add_metric([], s.merged)
        return [queued, running, level, submitted, outcomes, failures, merged]
