"""A small Confluent-compatible schema registry (AVRO only).

A stand-in for a real Confluent or Apicurio registry: it serves the subset of the
Confluent REST API that ``confluent-kafka``'s ``SchemaRegistryClient``, Spark users and
the platform's schema creator use, backed by one SQLite file. Point
``Settings.external.registry_url`` at a real registry to use that one instead.
"""

__all__ = ["create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from schema_registry.app import create_app

        return create_app
    raise AttributeError(name)
