"""Clickstream streaming: Kafka (Confluent-framed Avro) -> 5-second window counts in the lake.

``transforms`` holds the pure DataFrame logic, ``sink`` the idempotent batch-keyed writes,
``app`` the Structured Streaming driver, ``compact`` the daily compaction job.
"""
