"""Benchmarks of the platform's components, run against the live stack (`dataplat bench`)."""
