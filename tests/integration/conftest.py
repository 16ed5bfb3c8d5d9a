"""Integration tests use the session-wide ``stack``, ``settings`` and ``ingest_url`` of tests/conftest.py."""
