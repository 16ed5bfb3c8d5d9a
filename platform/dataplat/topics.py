"""Create the platform's topics before anything reads them (``python -m dataplat.topics``).

Spark's Kafka source fails on a topic that does not exist yet, so the click topic and its
dead-letter topic are created up front (idempotent; existing topics are left as they are).
"""

from __future__ import annotations

import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from dataplat.settings import Settings, get_settings

PARTITIONS = 3


def platform_topics(settings: Settings) -> list[str]:
    click = settings.lake.click_topic
    return [click, f"{click}.dlq"]


def ensure_topics(settings: Settings, *, replication: int = 1, timeout_s: float = 30.0) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = AdminClient(settings.kafka_client_config())
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [name for name in platform_topics(settings) if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=PARTITIONS, replication_factor=replication) for name in missing],
        operation_timeout=timeout_s,
    )
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as error:  # created meanwhile (by a producer) is fine
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise
        print(f"created topic {name} ({PARTITIONS} partitions)")
    return missing


if __name__ == "__main__":
    ensure_topics(get_settings())
    sys.exit(0)
