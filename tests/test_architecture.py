"""The dependency picture: layers only import downwards, and no cycles outside the fakes.

Why a test: the next layers (remediation, Slack, the daemon) are added by people who did
not draw this picture; one import running back up a layer is how a house of small modules
turns into one knot again. Read from the source with ``ast``, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "governor"

# Lowest first. A module may import its own layer and any below it, never above.
LAYERS: list[tuple[str, ...]] = [
    # governor.rules: Neon's documented rules (compute sizes, suspend timeouts), pure data
    # and checks, shared by the planner, the executor's re-check and the simulator.
    ("governor", "governor.secrets", "governor.durations", "governor.rules"),
    ("governor.observability",),  # telemetry: logs, metrics, /healthz, the transport counter
    ("governor.neon",),
    ("governor.model",),  # the snapshot, actions, change kinds, findings
    ("governor.sweep",),  # reads only: told which project details to read by a predicate
    # costs: Neon's bill from its meters (calibration, the bill, realized savings), pure.
    ("governor.policy", "governor.savings", "governor.costs"),
    ("governor.config",),  # the TOML schema and its sections (prices stay in savings)
    # owners: who owns each resource, from a sweep's or the store's facts (reads records)
    ("governor.store", "governor.owners"),
    ("governor.pipeline",),
    ("governor.report",),
    ("governor.remediate",),
    ("governor.notify",),
    # channels: webhook, email and Teams, beside Slack on the same seam (governor.notify)
    ("governor.slack", "governor.channels"),
    # digest: each owner's digest, composed from the store and sent through the runtime's channels
    ("governor.runtime", "governor.exit_codes", "governor.digest"),
    ("governor.daemon",),
    ("governor.diagnose",),  # status and doctor: read the daemon's lock, the store, the keys
    ("governor.commands", "governor.cli", "governor.__main__"),
]
# Fakes of the outside world: each imports only itself; only commands use them. The
# simulator also reads Neon's rules from governor.rules: one statement of each rule, so the
# fake refuses exactly what the planner avoids.
APART = ("governor.simulator", "governor.fake_slack")
SHARED_WITH_FAKES = ("governor.rules",)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            if base.startswith("governor"):
                found.add(base)
                found.update(
                    f"{base}.{alias.name}"
                    for alias in node.names
                    if (PACKAGE.parent / f"{base}.{alias.name}".replace(".", "/")).exists()
                    or (
                        PACKAGE.parent / (f"{base}.{alias.name}".replace(".", "/") + ".py")
                    ).exists()
                )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("governor"))
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file()


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching prefix, layer)
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if prefix == "governor" and module != "governor":
                    continue  # the package itself, not everything in it
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), number)
    return None if best is None else best[1]


def test_every_module_has_a_place_in_the_picture() -> None:
    placeless = [
        module for module in graph() if layer_of(module) is None and not module.startswith(APART)
    ]
    assert placeless == []


def test_no_import_runs_up_a_layer() -> None:
    upward = []
    for module, targets in graph().items():
        if module.startswith(APART):
            continue
        own = layer_of(module)
        assert own is not None
        for target in targets:
            if target.startswith(APART):
                if not module.startswith("governor.commands"):
                    upward.append(f"{module} -> {target} (only commands use the fakes)")
                continue
            other = layer_of(target)
            if other is not None and other > own:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_telemetry_imports_nothing_but_itself_and_the_leaves() -> None:
    """The daemon uses telemetry; diagnostics (which read the daemon's lock) live apart."""
    allowed = ("governor.observability", "governor.secrets")
    outside = {
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith("governor.observability")
        for target in targets
        if target != "governor" and not target.startswith(allowed)
    }
    assert outside == set()


def test_the_sweep_only_reads_it_imports_nothing_of_the_policy_engine() -> None:
    """Which project details to read is a predicate the pipeline builds from the policies."""
    reaching = {
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith("governor.sweep")
        for target in targets
        if target.startswith(("governor.policy", "governor.savings", "governor.pipeline"))
    }
    assert reaching == set()


def test_the_neon_edge_imports_nothing_of_the_domain() -> None:
    allowed = ("governor.neon", "governor.secrets")
    outside = {
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith("governor.neon")
        for target in targets
        if target != "governor" and not target.startswith(allowed)
    }
    assert outside == set()


def test_the_fakes_stand_apart() -> None:
    outside = {
        f"{module} -> {target}"
        for module, targets in graph().items()
        for root in APART
        if module.startswith(root)
        for target in targets
        if not target.startswith(root)
        and not (root == "governor.simulator" and target.startswith(SHARED_WITH_FAKES))
    }
    assert outside == set()


def test_the_rules_import_nothing_but_themselves() -> None:
    """The simulator imports them: they must not drag the domain into the fake."""
    outside = {
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith(SHARED_WITH_FAKES)
        for target in targets
        if target != "governor" and not target.startswith(SHARED_WITH_FAKES)
    }
    assert outside == set()


def test_there_is_no_import_cycle_outside_the_fakes() -> None:
    edges = {
        module: {target for target in targets if target != module and target in known}
        for known in [set(graph())]
        for module, targets in graph().items()
        if not module.startswith(APART)
    }
    cycles = strongly_connected(edges)
    # A package's __init__ re-exporting its modules is not a cycle of logic.
    real = [sorted(group) for group in cycles if not _only_package_reexports(group, edges)]
    assert real == []


def _only_package_reexports(group: set[str], edges: dict[str, set[str]]) -> bool:
    packages = {module for module in group if (PACKAGE.parent / module.replace(".", "/")).is_dir()}
    rest = group - packages
    # Remove the edges into packages; if no cycle remains among the rest, it was re-exports.
    trimmed = {module: edges[module] & rest for module in rest}
    return not any(len(component) > 1 for component in strongly_connected(trimmed))


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, size > 1."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [{"a", "b"}]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: dict[str, set[str]], expected: list[set[str]]
) -> None:
    assert strongly_connected(edges) == expected


def test_the_layer_check_places_modules_by_their_longest_prefix() -> None:
    assert layer_of("governor") == 0
    assert layer_of("governor.observability.metrics") == 1
    assert layer_of("governor.neon.client") == 2
    assert layer_of("governor.store.records") == 7
    assert layer_of("governor.remediate.plan") == 10
    assert layer_of("governor.slack.outbox") == 12
    assert layer_of("governor.config") == 6
    assert layer_of("governor.diagnose.status") > layer_of("governor.daemon.lock")  # type: ignore[operator]
    assert layer_of("governor.unknown_module") is None
