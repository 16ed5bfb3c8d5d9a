"""The runtime's description of the ingest API process."""

from __future__ import annotations

import sys
from pathlib import Path

from dataplat.paths import Paths
from dataplat.services import ingest
from dataplat.settings import Settings
from dataplat.spec import Condition, Context, Readiness


def test_ingest_api_spec(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    paths = Paths(home=tmp_path, cache=tmp_path / "cache")
    ctx = Context(settings, paths, Path("/jdk17"), Path("/jdk25"), Path(sys.executable), None)
    specs = {spec.name: spec for spec in ingest.specs(ctx)}
    assert set(specs) == {"schemas", "ingest-api"}  # schemas are registered before the API starts
    spec = specs["ingest-api"]
    assert spec.argv[:4] == (sys.executable, "-m", "uvicorn", "ingest_api.main:app")
    assert ("--port", str(settings.ports.ingest_api)) == spec.argv[spec.argv.index("--port") :][:2]
    assert ("--host", settings.bind_host) == spec.argv[spec.argv.index("--host") :][:2]
    assert spec.env["INGEST_DLQ_ENABLED"] == "true"
    key = spec.env["INGEST_API_KEY"]
    assert len(key) >= 24 and key in paths.secrets_file.read_text()
    assert ingest.specs(ctx)[1].env["INGEST_API_KEY"] == key  # generated once
    assert spec.depends_on == {
        "kafka": Condition.HEALTHY,
        "kafka-topics": Condition.COMPLETED,
        "registry": Condition.HEALTHY,
        "schemas": Condition.COMPLETED,
    }
    assert isinstance(spec.probe(), Readiness)  # nothing listens here: waiting, not an exception
    assert spec.url.endswith("/docs")
