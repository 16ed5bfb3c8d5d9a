"""HTTP routes: thin adapters from requests to :class:`ingest_api.service.IngestService`."""
