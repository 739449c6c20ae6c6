"""/metrics and /healthz over real loopback HTTP, and the strict listen-address parser."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from governor.observability.metrics import Metrics, MetricsServer, parse_listen, serve_metrics


@pytest.fixture
def health_state() -> dict[str, object]:
    return {"healthy": True, "reason": ""}


@pytest.fixture
def server(health_state: dict[str, object]) -> Iterator[tuple[MetricsServer, Metrics]]:
    metrics = Metrics()

    def health() -> tuple[bool, str]:
        if health_state.get("raise"):
            raise RuntimeError("boom")
        return bool(health_state["healthy"]), str(health_state["reason"])

    served = serve_metrics("127.0.0.1:0", metrics, health)
    try:
        yield served, metrics
    finally:
        served.close()


def test_metrics_are_served_in_prometheus_text(server: tuple[MetricsServer, Metrics]) -> None:
    served, metrics = server
    metrics.observe_retry("429", account="default")
    host, port = served.address
    assert host == "127.0.0.1"
    assert port > 0
    response = httpx.get(f"{served.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'neon_governor_api_retries_total{account="default",reason="429"} 1.0' in response.text


def test_healthz_says_ok_or_the_reason(
    server: tuple[MetricsServer, Metrics], health_state: dict[str, object]
) -> None:
    served, _ = server
    response = httpx.get(f"{served.url}/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")
    health_state.update(healthy=False, reason="last complete sweep is 27h old")
    response = httpx.get(f"{served.url}/healthz")
    assert (response.status_code, response.text) == (503, "last complete sweep is 27h old\n")
    health_state["raise"] = True
    response = httpx.get(f"{served.url}/healthz")
    assert response.status_code == 503
    assert "RuntimeError" in response.text


def test_other_paths_are_404(server: tuple[MetricsServer, Metrics]) -> None:
    served, _ = server
    for path in ("/", "/metricsx", "/healthz/extra", "/favicon.ico"):
        assert httpx.get(f"{served.url}{path}").status_code == 404, path


def test_close_releases_the_port() -> None:
    served = serve_metrics("127.0.0.1:0", Metrics(), lambda: (True, ""))
    host, port = served.address
    served.close()
    served.close()  # twice is fine
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind((host, port))  # would raise if the server still held it


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        served = serve_metrics("[::1]:0", Metrics(), lambda: (True, ""))
    except OSError as error:
        pytest.skip(f"cannot bind ::1 here: {error}")
    try:
        assert served.address[0] == "::1"
        assert httpx.get(f"{served.url}/healthz").text == "ok\n"
    finally:
        served.close()


@pytest.mark.parametrize(
    ("listen", "parsed"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("localhost:0", ("localhost", 0)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),  # explicit: the operator's choice
    ],
)
def test_listen_addresses_parse(listen: str, parsed: tuple[str, int]) -> None:
    assert parse_listen(listen) == parsed


@pytest.mark.parametrize(
    ("listen", "problem"),
    [
        ("9464", "not host:port"),
        (":9464", "not host:port"),
        ("127.0.0.1", "not host:port"),
        ("127.0.0.1:99999", "above 65535"),
        ("127.0.0.1:-1", "not host:port"),
        ("metrics.example.com:9464", "not an IP address"),
        ("::1:9464", "not host:port"),
        ("[127.0.0.1]:9464", "IPv6 only"),
        ("127.0.0.1:9464 junk", "not host:port"),
        ("http://127.0.0.1:9464", "not host:port"),
    ],
)
def test_garbage_is_a_clear_value_error(listen: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_listen(listen)


def test_an_empty_address_serves_nothing() -> None:
    with pytest.raises(ValueError, match="metrics are off"):
        serve_metrics("", Metrics(), lambda: (True, ""))
