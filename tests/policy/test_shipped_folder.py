"""The shipped policies are found from the installed package, wherever it runs from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import governor
from governor.config import Config, PolicySettings
from governor.policy import configured_policy_paths, load_policies, shipped_policies_path


def test_the_shipped_folder_lives_inside_the_package() -> None:
    folder = shipped_policies_path()
    assert folder == Path(governor.__file__).parent / "policies"
    assert sorted(path.name for path in folder.glob("*.yaml")) == [
        "archived-branches.yaml",
        "backup-branches.yaml",
        "backup-schedules-without-retention.yaml",
        "branches-over-allowance.yaml",
        "computes-kept-awake-logical-replication.yaml",
        "computes-kept-awake.yaml",
        "expensive-project-defaults.yaml",
        "idle-projects.yaml",
        "idle-read-replicas.yaml",
        "long-suspend-timeouts.yaml",
        "never-suspending-computes.yaml",
        "no-spending-notification.yaml",
        "old-manual-snapshots.yaml",
        "oversized-computes.yaml",
        "plan-fit.yaml",
        "restore-window.yaml",
        "stale-branches.yaml",
        "unused-api-keys.yaml",
    ]


def test_the_shipped_policies_load_from_another_working_directory(tmp_path: Path) -> None:
    script = (
        "from governor.policy import load_policies, shipped_policies_path\n"
        "print(sorted(p.name for p in load_policies([shipped_policies_path()])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(
        sorted(policy.name for policy in load_policies([shipped_policies_path()]))
    )


def test_without_configured_paths_the_shipped_folder_is_used() -> None:
    assert configured_policy_paths(Config().policies.paths, None) == [shipped_policies_path()]


def test_configured_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = Config(policies=PolicySettings(paths=["local", "/etc/neon-governor/policies"]))
    assert configured_policy_paths(config.policies.paths, tmp_path / "governor.toml") == [
        tmp_path / "local",
        Path("/etc/neon-governor/policies"),
    ]
