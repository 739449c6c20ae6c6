"""The wheel's contents and the image's shape, checked from the source tree.

Why here and not only in .ci/package-check / .ci/container-check: those build and run the
real artifacts (minutes, CI); these fail in seconds when a file that must travel in the
wheel or the image is forgotten, drifts or is renamed.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import json
import re
import tomllib
from pathlib import Path

from typer.testing import CliRunner

import governor
from governor.cli import app
from governor.config import load_config
from governor.observability.metrics import Metrics
from governor.observability.server import parse_listen
from governor.policy.json_schema import policy_file_schema

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTAINERFILE = (ROOT / "Containerfile").read_text()
SCHEMA_FILE = ROOT / "governor" / "schemas" / "policy-file.schema.json"
VOLUME = "/var/lib/neon-governor"


def test_the_shipped_policy_schema_file_is_the_generated_schema() -> None:
    shipped = json.loads(SCHEMA_FILE.read_text())
    assert shipped == policy_file_schema(), (
        "governor/schemas/policy-file.schema.json is stale: regenerate it with "
        "`neon-governor policies schema > governor/schemas/policy-file.schema.json`"
    )
    printed = CliRunner().invoke(app, ["policies", "schema"]).stdout
    assert SCHEMA_FILE.read_text() == printed  # byte for byte what the command prints


def test_the_version_is_written_only_in_governor_init() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "governor.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", governor.__version__)


def test_version_flag_and_build_info_report_the_same_version() -> None:
    shown = CliRunner().invoke(app, ["--version"]).stdout.strip()
    assert shown == f"neon-governor {governor.__version__}"
    body, _ = Metrics().render()
    version = re.escape(f'version="{governor.__version__}"')
    assert re.search(
        rf"^neon_governor_build_info\{{[^}}]*{version}[^}}]*\}} 1\.0$", body.decode(), re.M
    )


def _packaged(relative: str) -> bool:
    """Whether setuptools' package-data globs put ``governor/<relative>`` in the wheel."""
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        folder = package.replace(".", "/").removeprefix("governor").strip("/")
        inside = relative.removeprefix(f"{folder}/") if folder else relative
        if (not folder or relative.startswith(f"{folder}/")) and any(
            fnmatch.fnmatchcase(inside, pattern) for pattern in patterns
        ):
            return True
    return False


def test_the_wheel_carries_the_policies_the_schema_and_the_example_config() -> None:
    policies = sorted(p.name for p in (ROOT / "policies").glob("*.yaml"))
    assert policies
    shipped = [f"policies/{name}" for name in policies]
    shipped += ["schemas/policy-file.schema.json", "config/example.toml", "py.typed"]
    assert [path for path in shipped if not _packaged(path)] == []
    files = importlib.resources.files("governor")
    assert sorted(p.name for p in files.joinpath("policies").iterdir()) == policies


def test_config_example_prints_the_packaged_example_config() -> None:
    packaged = importlib.resources.files("governor").joinpath("config/example.toml")
    assert packaged.read_text() == (ROOT / "examples" / "config.toml").read_text()
    printed = CliRunner().invoke(app, ["config", "example"])
    assert printed.exit_code == 0
    assert printed.stdout == packaged.read_text()


def test_the_image_config_keeps_the_store_on_the_volume_and_listens_on_every_interface() -> None:
    config = load_config(ROOT / "deploy" / "container" / "config.toml")
    assert config.store.path.startswith(f"{VOLUME}/")
    assert parse_listen(config.metrics.listen) == ("0.0.0.0", 9464)
    assert "NEON_GOVERNOR_HEALTHZ_URL=http://127.0.0.1:9464/healthz" in CONTAINERFILE


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", CONTAINERFILE)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_is_multi_stage_non_root_with_a_healthcheck_and_sigterm() -> None:
    steps = _instructions()
    values = {name: [args for step, args in steps if step == name] for name, _ in steps}
    assert values["ARG"][0] == "BASE_IMAGE=docker.io/library/python:3.11-slim"
    assert values["FROM"] == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE}"]
    assert values["USER"] == ["10001:10001"]
    assert "useradd --system --uid 10001" in " ".join(values["RUN"])
    assert values["VOLUME"] == [f'["{VOLUME}"]']
    assert values["WORKDIR"] == [VOLUME]
    assert values["STOPSIGNAL"] == ["SIGTERM"]
    assert len(values["HEALTHCHECK"]) == 1
    assert "NEON_GOVERNOR_HEALTHZ_URL" in values["HEALTHCHECK"][0]
    assert "--find-links /src/wheelhouse" in " ".join(values["RUN"])
    labels = " ".join(values["LABEL"])
    for key in ("title", "version", "revision", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    copied = [args.split()[-2] for step, args in steps if step == "COPY" and "--from" not in args]
    assert all((ROOT / source).exists() for source in copied if source != ".")
