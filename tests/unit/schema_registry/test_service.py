"""The ``registry`` service spec: argv, probe against a real server, external registry."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from dataplat.paths import Paths
from dataplat.services import registry
from dataplat.settings import External, Ports, Settings
from dataplat.spec import Context, Kind


def context(tmp_path: Path, **settings: object) -> Context:
    s = Settings(home=tmp_path / "home", **settings)
    paths = Paths(home=s.home, cache=tmp_path / "cache")
    return Context(s, paths, Path("/jdk17"), Path("/jdk25"), Path(sys.executable), None)


def test_spec(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    [spec] = registry.specs(ctx)
    assert spec.name == "registry" and spec.kind is Kind.DAEMON and not spec.depends_on
    assert spec.argv[:3] == (sys.executable, "-m", "schema_registry")
    assert spec.argv[spec.argv.index("--port") + 1] == "8081"
    assert spec.argv[spec.argv.index("--db") + 1] == str(ctx.paths.data / "registry" / "registry.db")
    assert spec.url == "http://127.0.0.1:8081/apis/ccompat/v7"


def test_external_registry_runs_nothing(tmp_path: Path) -> None:
    ctx = context(tmp_path, external=External(registry_url="http://sr.example:8081"))
    assert registry.specs(ctx) == []


def test_probe_waits_then_sees_the_server(tmp_path: Path, server_url: str) -> None:
    port = urlsplit(server_url).port
    assert port is not None
    [spec] = registry.specs(context(tmp_path, ports=Ports(registry=port)))
    assert spec.probe is not None and spec.probe().ok, spec.probe()
    [down] = registry.specs(context(tmp_path, ports=Ports(registry=1)))
    assert down.probe is not None and not down.probe().ok
