"""A resize whose own numbers Neon refuses is a policy error at load, naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.policy import PolicyError, load_policies


def _load_error(tmp_path: Path, action: str) -> str:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "- name: shrink\n"
        "  resource: endpoint\n"
        "  filters: [{autoscaling_limit_min_cu: {gte: 8}}]\n"
        f"  action: {action}\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_policies([path])
    return str(raised.value).replace(str(path), "FILE")


def test_a_resize_to_a_size_neon_does_not_offer_is_refused_at_load(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "{type: resize, min_cu: 0.3}")
    assert message.startswith("FILE:4:")
    assert "min_cu 0.3 is not a compute size Neon offers" in message


def test_a_resize_range_neon_refuses_is_refused_at_load(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "{type: resize, min_cu: 0.25, max_cu: 16}")
    assert message.startswith("FILE:")
    assert "resize 0.25-16 CU is a pair Neon refuses" in message
    assert "range spans at most 8 CU" in message


def test_a_resize_asking_only_a_minimum_loads_and_may_lower_the_maximum(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "- name: shrink\n"
        "  resource: endpoint\n"
        "  filters: [{autoscaling_limit_min_cu: {gte: 8}}]\n"
        "  action: {type: resize, min_cu: 0.25, lower_max: true}\n"
    )
    [policy] = load_policies([path])
    assert policy.action.as_json() == {"type": "resize", "min_cu": 0.25, "lower_max": True}
