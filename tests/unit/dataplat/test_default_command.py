"""A typer group whose first argument, when it names no sub-command, goes to ``run``."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from dataplat.default_command import DefaultCommandGroup

app = typer.Typer()
group = typer.Typer(cls=DefaultCommandGroup, no_args_is_help=True)
app.add_typer(group, name="g")
seen: list[tuple[str, ...]] = []


@group.command("run")
def run(name: str, flag: bool = False) -> None:
    seen.append(("run", name, str(flag)))


@group.command("list")
def list_(name: str) -> None:
    seen.append(("list", name))


def test_default_and_named_sub_commands() -> None:
    runner = CliRunner()
    seen.clear()
    assert runner.invoke(app, ["g", "insights", "--flag"]).exit_code == 0
    assert runner.invoke(app, ["g", "run", "insights"]).exit_code == 0
    assert runner.invoke(app, ["g", "list", "insights"]).exit_code == 0
    assert seen == [("run", "insights", "True"), ("run", "insights", "False"), ("list", "insights")]
    help_text = runner.invoke(app, ["g", "--help"]).output
    assert "run" in help_text and "list" in help_text
