from __future__ import annotations

import pytest

from dataplat import graph
from dataplat.errors import DataplatError
from dataplat.spec import Condition, Kind, ServiceSpec


def spec(name: str, *deps: str) -> ServiceSpec:
    return ServiceSpec(
        name=name, argv=("true",), kind=Kind.ONESHOT, depends_on={dep: Condition.HEALTHY for dep in deps}
    )


SPECS = {
    s.name: s
    for s in (
        spec("format"),
        spec("namenode", "format"),
        spec("datanode", "format"),
        spec("init", "namenode", "datanode"),
        spec("metastore", "init"),
        spec("trino", "metastore"),
        spec("kafka"),
    )
}


def test_dependencies_come_first() -> None:
    order = graph.topological_order(SPECS)
    for name, s in SPECS.items():
        for dep in s.depends_on:
            assert order.index(dep) < order.index(name)
    assert sorted(order) == sorted(SPECS)


def test_closure_pulls_in_dependencies_only() -> None:
    assert graph.closure(SPECS, ["trino"]) == {"format", "namenode", "datanode", "init", "metastore", "trino"}


def test_dependents_of_a_service() -> None:
    assert graph.dependents(SPECS, ["namenode"]) == {"namenode", "init", "metastore", "trino"}


def test_cycle_is_reported_with_its_path() -> None:
    cyclic = {"a": spec("a", "b"), "b": spec("b", "a")}
    with pytest.raises(DataplatError, match="a -> b -> a"):
        graph.topological_order(cyclic)


def test_external_dependency_is_skipped() -> None:
    assert graph.topological_order({"trino": spec("trino", "metastore")}) == ["trino"]
