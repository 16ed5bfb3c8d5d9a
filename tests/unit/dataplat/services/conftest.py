"""A service-module ``Context`` built from the code's defaults only, in a temporary home."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dataplat.paths import Paths
from dataplat.settings import Settings
from dataplat.spec import Context, ServiceSpec

JAVA17 = Path("/jdk17")
JAVA_MODERN = Path("/jdk25")
PYTHON = Path("/venv/bin/python")
SPARK_HOME = Path("/venv/lib/python3.11/site-packages/pyspark")

MakeContext = Callable[..., Context]


@pytest.fixture
def make_context(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MakeContext:
    """``make_context(**settings)``: no dataplat.toml, no DATAPLAT_* variables, fixed tool paths."""
    for key in list(os.environ):
        if key.startswith("DATAPLAT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATAPLAT_CONFIG", str(tmp_path / "absent.toml"))

    def make(*, spark_home: Path | None = SPARK_HOME, **settings: object) -> Context:
        s = Settings(home=tmp_path / "home", cache=tmp_path / "cache", **settings)  # type: ignore[arg-type]
        return Context(
            s, Paths(home=s.home, cache=tmp_path / "cache"), JAVA17, JAVA_MODERN, PYTHON, spark_home
        )

    return make


@pytest.fixture
def ctx(make_context: MakeContext) -> Context:
    return make_context()


def by_name(specs: list[ServiceSpec]) -> dict[str, ServiceSpec]:
    return {spec.name: spec for spec in specs}
