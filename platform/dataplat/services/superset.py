"""Apache Superset 6.1.0 from its own venv: dashboards over Trino.

Three processes: ``superset-init`` (oneshot, Superset's own CLI: ``db upgrade``, ``fab
create-admin``, ``init``; after ``postgres-setup``), the ``superset`` daemon (gunicorn, one gthread
worker; metadata in the platform's PostgreSQL, database and role ``superset``; ready when ``/health``
says OK) and ``superset-setup`` (oneshot,
:mod:`dataplat.setup.superset`), which creates the Trino database, the datasets, the charts and the
``clickstream`` dashboard through the REST API, and leaves its stamp once every table existed.
The venv is installed by :mod:`dataplat.superset_install`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dataplat.paths import Paths
from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.settings import Settings
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec
from dataplat.superset_install import superset_bin, venv_dir

VERSION = "6.1.0"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@dataplat.local"
PASSWORD_SECRET = "SUPERSET_ADMIN_PASSWORD"  # noqa: S105 - the name of a generated secret
SETUP_STAMP = "setup.done"


def init_stamp(paths: Paths) -> Path:
    """Touched by ``superset-init`` once this version's database is migrated and its admin exists."""
    return paths.data / "superset" / f"init-{VERSION}.done"


def setup_stamp(paths: Paths) -> Path:
    """Written by ``superset-setup`` once the dashboard is complete (then it is not run again)."""
    return paths.data / "superset" / SETUP_STAMP


def superset_env(paths: Paths, secrets: Mapping[str, str]) -> dict[str, str]:
    """Environment of every Superset process (pure)."""
    bin_dir = venv_dir(paths) / "bin"
    return {
        "SUPERSET_CONFIG_PATH": str(paths.conf / "superset" / "superset_config.py"),
        "SUPERSET_HOME": str(paths.data / "superset"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "PYTHONUNBUFFERED": "1",
        # click's auto env var for `superset fab create-admin --password` (kept out of argv)
        "FLASK_FAB_CREATE_ADMIN_PASSWORD": secrets[PASSWORD_SECRET],
    }


def health_probe(url: str) -> Probe:
    return http_probe(f"{url}/health")


def base_url(s: Settings) -> str:
    return f"http://{s.bind_host}:{s.ports.superset}"


def init_script(paths: Paths) -> str:
    """``superset-init``: migrate, create the admin (an existing one is kept), sync roles."""
    superset = superset_bin(paths)
    admin = f"--username {ADMIN_USER} --firstname Admin --lastname Dataplat --email {ADMIN_EMAIL}"
    return (
        f"set -e; {superset} db upgrade; {superset} fab create-admin {admin} </dev/null; "
        f"{superset} init; touch {init_stamp(paths)}"
    )


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    secrets = {
        name: get_secret(paths.secrets_file, name) for name in (PASSWORD_SECRET, "SUPERSET_SECRET_KEY")
    }
    env = superset_env(paths, secrets)
    data, url = paths.data / "superset", base_url(s)
    config = ConfigFile(
        "superset/superset_config.py.j2", paths.conf / "superset" / "superset_config.py", 0o600
    )
    gunicorn = (
        str(venv_dir(paths) / "bin" / "gunicorn"),
        "--bind", f"{s.bind_host}:{s.ports.superset}",
        "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--timeout", "120", "--graceful-timeout", "15",
        "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    )  # fmt: skip
    setup_deps = {"superset": Condition.HEALTHY}
    if not s.external.trino_url:
        setup_deps["trino"] = Condition.HEALTHY
    hint = f"installed by `dataplat install` into {venv_dir(paths)}"
    return [
        ServiceSpec(
            name="superset-init",
            argv=("bash", "-c", init_script(paths)),
            kind=Kind.ONESHOT,
            env=env,
            cwd=data,
            configs=(config,),
            depends_on=postgres.depends(s),  # its database and role exist
            creates=init_stamp(paths),
            start_timeout_s=600,
            hint=f"see {ctx.log_file('superset-init')}; {hint}",
        ),
        ServiceSpec(
            name="superset",
            argv=gunicorn,
            probe=health_probe(url),
            env=env,
            cwd=data,
            ports={"http": s.ports.superset},
            depends_on={"superset-init": Condition.COMPLETED},
            configs=(config,),
            start_timeout_s=300,
            hint=f"see {ctx.log_file('superset')}; {hint}",
            url=url,
        ),
        ServiceSpec(
            name="superset-setup",
            argv=(str(ctx.python_bin), "-m", "dataplat.setup.superset"),
            kind=Kind.ONESHOT,
            env={"PYTHONUNBUFFERED": "1"},
            depends_on=setup_deps,
            creates=setup_stamp(paths),
            start_timeout_s=300,
            hint=f"see {ctx.log_file('superset-setup')}; admin password: {PASSWORD_SECRET}",
        ),
    ]
