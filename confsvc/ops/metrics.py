"""Prometheus metrics (GET /metrics, text format) in a registry of our own (never
prometheus_client's global REGISTRY: the Metrics object is made in server.py and handed
to whatever records into it).

Label sets are bounded: event types, statuses, ARI endpoint templates (ids replaced by
{id}), delivery kinds and results; never a call, room or tenant. Counters are bumped where
a thing happens (O(1)); the gauges of live things are read when Prometheus scrapes, from
what the engine and the outbox already hold in memory, so nothing is scanned per event."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from confsvc.domain import Conference, Conferencecall
from confsvc.events.model import Delivery, Event

# Join latency and ARI calls are sub-second when healthy; webhooks may take seconds.
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# API operations that kick a caller (the engine's own removals, e.g. a room's end, are
# seen as conferencecall_leaving events instead).
KICK_OPERATIONS = frozenset({"kickConferencecall", "plivoKickMember", "plivoHangupMember"})
# An ARI path segment after one of these is an id (or a name): templated as {id}.
_ID_AFTER = frozenset(
    {"channels", "bridges", "playbacks", "live", "stored", "applications", "endpoints"}
)
_NOT_IDS = frozenset({"create", "externalMedia", "snoop"})


def ari_endpoint(path: str) -> str:
    """/channels/abc/play -> /channels/{id}/play: a bounded label."""
    parts = path.split("?", 1)[0].split("/")
    out = [
        "{id}" if i > 0 and parts[i - 1] in _ID_AFTER and seg not in _NOT_IDS else seg
        for i, seg in enumerate(parts)
    ]
    return "/".join(out)


class Live:
    """What the scrape-time gauges read: callables, so this module needs no engine."""

    def __init__(
        self,
        conferences: Callable[[], Iterable[Conference]],
        calls: Callable[[], Iterable[Conferencecall]],
        outbox_depth: Callable[[], tuple[int, int]],  # (queued, in flight)
        ari_connected: Callable[[], bool],
    ) -> None:
        self.conferences = conferences
        self.calls = calls
        self.outbox_depth = outbox_depth
        self.ari_connected = ari_connected


class _LiveCollector(Collector):
    def __init__(self, live: Live) -> None:
        self.live = live

    def describe(self) -> Iterable[Metric]:
        return []  # unchecked: the families depend on what is live

    def collect(self) -> Iterator[Metric]:
        confs = GaugeMetricFamily("confsvc_conferences", "Live conferences", labels=["status"])
        recording = 0
        by_status: dict[str, int] = {}
        for conf in self.live.conferences():
            by_status[conf.status.value] = by_status.get(conf.status.value, 0) + 1
            recording += conf.recording_id is not None
        for status, n in sorted(by_status.items()):
            confs.add_metric([status], n)
        yield confs
        calls = GaugeMetricFamily(
            "confsvc_conferencecalls", "Live conferencecalls (participants)", labels=["status"]
        )
        by_status = {}
        for call in self.live.calls():
            by_status[call.status.value] = by_status.get(call.status.value, 0) + 1
        for status, n in sorted(by_status.items()):
            calls.add_metric([status], n)
        yield calls
        yield GaugeMetricFamily(
            "confsvc_recordings_active", "Recordings in progress", value=recording
        )
        queued, in_flight = self.live.outbox_depth()
        yield GaugeMetricFamily(
            "confsvc_outbox_depth", "Deliveries waiting (in flight included)", value=queued
        )
        yield GaugeMetricFamily(
            "confsvc_outbox_in_flight", "Delivery requests in flight", value=in_flight
        )
        yield GaugeMetricFamily(
            "confsvc_ari_connected", "1 while the ARI event stream is connected",
            value=int(self.live.ari_connected()),
        )  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("confsvc_events", "Events stored, by type", ["type"], registry=r)
        self.joins = Counter("confsvc_joins", "Callers joined to a room", registry=r)
        self.leaves = Counter("confsvc_leaves", "Callers gone from a room", registry=r)
        self.kicks = Counter(
            "confsvc_kicks", "Kick requests served (DELETE conferencecall, Plivo kick)",
            registry=r,
        )  # fmt: skip
        self.join_seconds = Histogram(
            "confsvc_join_seconds", "StasisStart (call created) to joined",
            buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.ari_seconds = Histogram(
            "confsvc_ari_request_seconds", "ARI REST requests",
            ["method", "endpoint"], buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.ari_errors = Counter(
            "confsvc_ari_request_errors", "ARI REST requests that failed (status 0: no answer)",
            ["method", "endpoint", "status"], registry=r,
        )  # fmt: skip
        self.ari_connects = Counter(
            "confsvc_ari_connects", "ARI event stream (re)connections", registry=r
        )
        self.event_lag = Histogram(
            "confsvc_ari_event_lag_seconds", "ARI event timestamp to handled",
            buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "confsvc_deliveries", "Webhook / notify / callback attempts by result",
            ["kind", "result"], registry=r,
        )  # fmt: skip
        self.delivery_seconds = Histogram(
            "confsvc_delivery_seconds", "Webhook / notify / callback request time",
            ["kind"], buckets=SLOW_BUCKETS, registry=r,
        )  # fmt: skip
        self.http_seconds = Histogram(
            "confsvc_http_request_seconds", "API requests by operation (route) and status",
            ["operation", "method", "status"], buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.dialouts = Counter(
            "confsvc_dialout_calls", "Dial-out calls ended, by result", ["result"], registry=r
        )

    def watch(self, live: Live) -> None:
        self.registry.register(_LiveCollector(live))

    # --- recorders (each O(1) per thing recorded) --------------------------------------

    def events_stored(self, events: Sequence[Event]) -> None:
        """Store event listener: every committed event."""
        for event in events:
            self.events.labels(event.type).inc()
            if event.type == "conferencecall_joined":
                self.joins.inc()
                took = _seconds_between(event.data.get("tm_create"), event.data.get("tm_update"))
                if took is not None:
                    self.join_seconds.observe(took)
            elif event.type == "conferencecall_leaved":
                self.leaves.inc()
            elif event.type == "call_ended":
                self.dialouts.labels(str(event.data.get("call_status_dest") or "unknown")).inc()

    def http_request(self, operation: str, method: str, status: int, seconds: float) -> None:
        """After each API request (ops/access_log.py); operation: the route's id."""
        self.http_seconds.labels(operation or "unmatched", method, str(status)).observe(seconds)
        if operation in KICK_OPERATIONS and status < 300:
            self.kicks.inc()

    def ari_request(self, method: str, path: str, status: int, seconds: float) -> None:
        endpoint = ari_endpoint(path)
        self.ari_seconds.labels(method, endpoint).observe(seconds)
        if not 200 <= status < 300:
            self.ari_errors.labels(method, endpoint, str(status)).inc()

    def ari_event(self, timestamp: str | None, now: datetime) -> None:
        lag = _seconds_between(timestamp, now.isoformat())
        if lag is not None:
            self.event_lag.observe(max(lag, 0.0))

    def delivery_attempt(self, d: Delivery, seconds: float) -> None:
        """After each attempt; d: the delivery as the attempt left it."""
        self.deliveries.labels(d.kind, d.status).inc()
        self.delivery_seconds.labels(d.kind).observe(seconds)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (_parse(end) - _parse(start)).total_seconds()
    except ValueError:
        return None


def _parse(ts: str) -> datetime:
    # ARI writes "2026-01-01T10:00:00.123+0000"; fromisoformat takes +0000 since 3.11.
    return datetime.fromisoformat(ts)
