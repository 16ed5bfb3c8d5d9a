"""Load tooling: tools that drive the platform from outside, as any client would.

- :mod:`dataplat.load.generator`: ``dataplat generate``, posts generated events to the ingest API;
- :mod:`dataplat.load.bench`: ``dataplat bench ingest|streaming|batch|sql``, benchmarks of the
  running stack whose reports land under ``<home>/reports``;
- :mod:`dataplat.load.schemas`: the Avro schemas of ``schemas/``, read from their files.

They talk to the services over public protocols only (HTTP to the ingest API, the Kafka protocol,
the registry's REST API, Trino's client) and never import an app's internals; endpoints come as
parameters, which the CLI takes from the platform's settings.
"""
