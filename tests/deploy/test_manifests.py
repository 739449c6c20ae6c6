"""compose.yaml and deploy/kubernetes: valid, and consistent with the image and the config.

Why static checks: CI has no Docker engine for compose and no cluster. The Kubernetes
manifests are validated against the official JSON schemas that kubernetes-validate ships
(offline, strict: an unknown field is an error); the rest checks what a schema cannot see,
that names, ports and paths agree across files and with the daemon's config.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

import governor
from governor.config import load_config, parse_config
from governor.observability.server import parse_listen

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
# the oldest Kubernetes release still in common support, and the newest the validator knows
KUBE_VERSIONS = ("1.29", kubernetes_validate.latest_version())
VOLUME = "/var/lib/neon-governor"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _manifests() -> dict[str, dict[str, Any]]:
    """kind -> the manifest, for every file the kustomization lists."""
    listed = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]
    found: dict[str, dict[str, Any]] = {}
    for name in listed:
        for document in yaml.safe_load_all((KUBE / name).read_text()):
            assert document["kind"] not in found, f"two {document['kind']}s"
            found[document["kind"]] = document
    return found


def test_compose_runs_the_simulator_the_fake_slack_and_the_daemon_from_one_image() -> None:
    services = _compose()["services"]
    assert set(services) == {"simulator", "fake-slack", "governor"}
    images = {
        (s["image"], s["build"]["context"], s["build"]["dockerfile"]) for s in services.values()
    }
    assert len(images) == 1
    (_, context, dockerfile) = images.pop()
    assert (ROOT / context / dockerfile).is_file()
    for name in ("fake-slack", "governor"):
        assert services[name]["network_mode"] == "service:simulator"  # the fakes on loopback
    for service in services.values():
        assert set(service.get("depends_on", {})) <= set(services)


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_compose_daemon_reaches_both_fakes_and_publishes_its_metrics() -> None:
    services = _compose()["services"]
    governor_service = services["governor"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in governor_service["volumes"][1:])
    assert all((ROOT / source).exists() for source in mounts)
    config_source = next(s for s, target in mounts.items() if target.endswith("config.toml"))
    config = load_config(ROOT / config_source)
    assert config.store.path.startswith(f"{VOLUME}/")
    assert governor_service["volumes"][0] == f"governor-data:{VOLUME}"
    neon = urlsplit(config.effective_api_url())
    assert (neon.hostname, str(neon.port)) == (
        _flag(services["simulator"]["command"], "--host"),
        _flag(services["simulator"]["command"], "--port"),
    )
    slack = urlsplit(config.slack.api_url)
    assert (slack.hostname, str(slack.port)) == (
        _flag(services["fake-slack"]["command"], "--host"),
        _flag(services["fake-slack"]["command"], "--port"),
    )
    assert set(config.policies.paths) <= set(mounts.values())
    _, port = parse_listen(config.metrics.listen)
    assert f"127.0.0.1:{port}:{port}" in services["simulator"]["ports"]
    environment = governor_service["environment"]
    assert {config.slack.bot_token_env, config.slack.app_token_env, "NEON_API_KEY"} <= set(
        environment
    )


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]
    files = {path.name for path in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(files)


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_the_kubernetes_manifests_are_valid_against_the_kubernetes_schemas(version: str) -> None:
    for kind, manifest in _manifests().items():
        if kind == "ServiceMonitor":  # a CRD: no schema ships for it, checked below instead
            continue
        kubernetes_validate.validate(manifest, version, strict=True)


def test_a_misspelt_field_fails_the_schema_validation() -> None:
    """The check above can fail: strict validation rejects a field Kubernetes does not know."""
    deployment = copy.deepcopy(_manifests()["Deployment"])
    deployment["spec"]["strategy"]["typ"] = deployment["spec"]["strategy"].pop("type")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)


def test_the_deployment_is_one_replica_recreated_non_root_with_probes_on_healthz() -> None:
    deployment = _manifests()["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}  # never two daemons on one store
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    (container,) = pod["containers"]
    assert container["image"].endswith(f":{governor.__version__}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9464}]
    assert pod["terminationGracePeriodSeconds"] > 20  # more than [daemon] shutdown_grace


def test_the_deployment_mounts_the_claim_the_config_and_the_keys_it_uses() -> None:
    manifests = _manifests()
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    claim = volumes["store"]["persistentVolumeClaim"]["claimName"]
    assert claim == manifests["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == manifests["ConfigMap"]["metadata"]["name"]
    secret = manifests["Secret"]
    assert volumes["keys"]["secret"]["secretName"] == secret["metadata"]["name"]
    text = manifests["ConfigMap"]["data"]["config.toml"]
    config = parse_config(tomllib.loads(text), text=text)
    assert mounts["config"] == "/etc/neon-governor"
    assert pod["containers"][0]["args"] == ["run", "--config", "/etc/neon-governor/config.toml"]
    assert Path(config.store.path).parent == Path(mounts["store"])
    key_file = Path(str(config.neon.api_key_file))
    assert key_file.parent == Path(mounts["keys"])
    assert key_file.name in secret["stringData"]
    assert parse_listen(config.metrics.listen) == ("0.0.0.0", 9464)


def test_the_service_and_the_servicemonitor_select_the_pods_metrics_port() -> None:
    manifests = _manifests()
    pod_labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = manifests["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics"
    monitor = manifests["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"]
    assert endpoint["path"] == "/metrics"
