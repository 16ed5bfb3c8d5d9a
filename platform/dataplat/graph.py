"""Start order from the dependency graph."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dataplat.errors import DataplatError
from dataplat.spec import ServiceSpec


def closure(specs: Mapping[str, ServiceSpec], names: Iterable[str]) -> set[str]:
    """``names`` plus everything they depend on, transitively."""
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        stack.extend(dep for dep in specs[name].depends_on if dep in specs)
    return wanted


def dependents(specs: Mapping[str, ServiceSpec], names: Iterable[str]) -> set[str]:
    """``names`` plus everything that depends on them, transitively."""
    found = set(names)
    changed = True
    while changed:
        changed = False
        for spec in specs.values():
            if spec.name not in found and found.intersection(spec.depends_on):
                found.add(spec.name)
                changed = True
    return found


def topological_order(specs: Mapping[str, ServiceSpec]) -> list[str]:
    """Services ordered so that each comes after its dependencies (stable by declaration)."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise DataplatError(f"dependency cycle: {' -> '.join((*trail, name))}")
        state[name] = "visiting"
        for dep in specs[name].depends_on:
            if dep in specs:  # others are external (configured endpoints), checked by the stack
                visit(dep, (*trail, name))
        state[name] = "done"
        order.append(name)

    for name in specs:
        visit(name, ())
    return order
