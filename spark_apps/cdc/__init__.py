"""Change data capture: Debezium change events on Kafka -> Iceberg raw, trusted and dead-letter tables.

``envelope`` parses the Kafka records, ``schema`` maps Kafka Connect schemas to Spark types,
``changes`` types the events and picks each key's latest, ``lake`` holds the DDL and the MERGE
statements, ``batch`` is the ``foreachBatch`` function, ``maintenance`` compacts and expires,
``metrics`` writes the heartbeat file, ``app`` is the Structured Streaming driver.
"""
