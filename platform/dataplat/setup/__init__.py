"""One-shot setup steps run as services (``python -m dataplat.setup.<name>``): they configure a
running service through its own API or client, safe to repeat. Specs live in ``dataplat.services``."""
