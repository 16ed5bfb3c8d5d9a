"""A typer group that runs its default sub-command when the first argument names none.

``dataplat backfill insights FROM TO`` stays the short form of ``dataplat backfill run insights FROM TO``
beside ``dataplat backfill list`` and ``cancel``.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


class DefaultCommandGroup(TyperGroup):
    """Prepends ``default_command`` to arguments that start with neither a sub-command nor an option."""

    default_command = "run"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: the click Context typer uses
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
