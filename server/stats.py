"""Operational figures of one server: Prometheus exposition and raw latency samples."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from server.app import App


class Stats:
    """Counters kept by the adapters; read by /metrics and by the benchmarks."""

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
        self._sessions = Gauge("sparring_sessions", "Open sessions", registry=self.registry)
        self._live = Gauge("sparring_sessions_live", "Live sessions", registry=self.registry)
        self._connections = Gauge(
            "sparring_connections", "Open live connections", registry=self.registry
        )
        self._audio = Gauge("sparring_audio_bytes", "Audio bytes received", registry=self.registry)
        self._created = Gauge(
            "sparring_sessions_created", "Sessions created since start", registry=self.registry
        )
        self._asr = Gauge(
            "sparring_asr",
            "Speech recognition pool: queued jobs, degrade level, latency p95 (s)",
            ["what"],
            registry=self.registry,
        )
        self.nudges_total = Counter(
            "sparring_nudges", "Nudges sent", ["rule"], registry=self.registry
        )

    def observe_nudge_latency(self, seconds: float) -> None:
        self.nudge_latencies_s.append(seconds)
        self._nudge_latency.observe(seconds)

    def exposition(self, app: App) -> tuple[bytes, str]:
        self._sessions.set(len(app.hub.sessions))
        self._live.set(sum(1 for s in app.hub.sessions.values() if s.is_live))
        self._connections.set(len(app.connections))
        self._audio.set(self.audio_bytes)
        self._created.set(self.sessions_created)
        if app.asr is not None:
            pool = app.asr.stats()
            self._asr.labels("queued_partials").set(pool.queued_partials)
            self._asr.labels("queued_finals").set(pool.queued_finals)
            self._asr.labels("running").set(pool.running)
            self._asr.labels("degrade_level").set(pool.degrade_level)
            self._asr.labels("partial_latency_p95_s").set(pool.partial_latency_p95_s or 0.0)
            self._asr.labels("final_latency_p95_s").set(pool.final_latency_p95_s or 0.0)
            self._asr.labels("cancelled").set(pool.cancelled)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
