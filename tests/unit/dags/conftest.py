"""Airflow reads its config on import: point it at a throwaway home (no DB is needed to parse DAGs)."""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="dataplat-airflow-unit-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
