"""The one renderer of generated config files: Jinja templates rendered from the one settings object.

Two template roots share one environment: ``dataplat/templates/`` (the services' own config files,
named as their path there, e.g. ``hdfs/core-site.xml``) and the repository's reviewable ``catalog``
package (named with a ``catalog/`` prefix, e.g. ``catalog/trino/hive.properties``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import jinja2

from dataplat.spec import ConfigFile, Context

TEMPLATES = Path(__file__).parent / "templates"
CATALOG_PREFIX = "catalog"

_environment = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(TEMPLATES),
            jinja2.PrefixLoader(
                {CATALOG_PREFIX: jinja2.FileSystemLoader(str(resources.files(CATALOG_PREFIX)))}
            ),
        ]
    ),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - config files, not HTML
)


def template_names(folder: str, suffix: str = "") -> list[str]:
    """Templates directly in ``folder`` (e.g. ``catalog/trino``) whose names end with ``suffix``."""
    prefix = folder.rstrip("/") + "/"
    return sorted(
        name
        for name in _environment.list_templates()
        if name.startswith(prefix) and "/" not in name[len(prefix) :] and name.endswith(suffix)
    )


def render_text(template: str, ctx: Context, **extra: object) -> str:
    return _environment.get_template(template).render(s=ctx.settings, paths=ctx.paths, ctx=ctx, **extra)


def render_texts(configs: Iterable[ConfigFile], ctx: Context, root: Path) -> dict[str, str]:
    """Each config's text by its target's path relative to ``root`` (pure: for compose and tests)."""
    return {str(config.target.relative_to(root)): render_text(config.template, ctx) for config in configs}


def render_config(config: ConfigFile, ctx: Context, **extra: object) -> Path:
    """Write ``config.target`` only when its content changed (keeps mtimes stable)."""
    text = render_text(config.template, ctx, **extra)
    config.target.parent.mkdir(parents=True, exist_ok=True)
    if config.target.exists():
        os.chmod(config.target, config.mode)  # before new text (a password?) lands in an old 0644 file
    if not config.target.exists() or config.target.read_text() != text:
        fd = os.open(config.target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, config.mode)  # never wider
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    os.chmod(config.target, config.mode)
    return config.target
