"""Prometheus metrics of the ingest path (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACCEPTED = Counter("ingest_records_accepted", "Records written to Kafka (delivery confirmed)", ["topic"])
REJECTED = Counter("ingest_records_rejected", "Records not written, by reason", ["topic", "reason"])
DLQ = Counter(
    "ingest_dlq_records", "Rejected records sent to the dead-letter topic, by outcome", ["topic", "outcome"]
)
PRODUCE_LATENCY = Histogram(
    "ingest_produce_latency_seconds",
    "From produce() to the broker's delivery report",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
