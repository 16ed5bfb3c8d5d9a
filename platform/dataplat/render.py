"""Render config templates (real files under ``templates/``) from the one settings object."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2

from dataplat.spec import ConfigFile, Context

TEMPLATES = Path(__file__).parent / "templates"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - config files, not HTML
)


def render_text(template: str, ctx: Context, **extra: object) -> str:
    return _environment.get_template(template).render(s=ctx.settings, paths=ctx.paths, ctx=ctx, **extra)


def render_config(config: ConfigFile, ctx: Context, **extra: object) -> Path:
    """Write ``config.target`` only when its content changed (keeps mtimes stable)."""
    text = render_text(config.template, ctx, **extra)
    config.target.parent.mkdir(parents=True, exist_ok=True)
    if not config.target.exists() or config.target.read_text() != text:
        config.target.write_text(text)
    os.chmod(config.target, config.mode)
    return config.target
