"""Logs: JSON lines or text on stderr, and no secret in any part of a record, either way."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from governor.observability.logs import configure_logging, unconfigure_logging

SECRET = "napi_0123456789abcdefSECRET"
OTHER = "slack-xoxb-OTHER-SECRET"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    unconfigure_logging()
    root.setLevel(level)


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_neon_governor_handler", False)]


def log_everything_secret(logger: logging.Logger) -> None:
    logger.warning(
        "calling with key %s and header %s",
        SECRET,
        "Authorization: Bearer tok_unknown_to_us",
        extra={"run_id": 7, "request_id": "req-1", "key": SECRET, "body": {"token": [OTHER]}},
    )
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        logger.exception("sweep failed for %s", OTHER)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_secret_in_any_field(log_format: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format, "info", [SECRET, OTHER])
    log_everything_secret(logging.getLogger("governor.test"))
    err = capsys.readouterr().err
    assert err.count("\n") >= 2
    for secret in (SECRET, OTHER, "tok_unknown_to_us", "0123456789abcdef"):
        assert secret not in err
    assert "[REDACTED]" in err
    assert "Bearer [REDACTED]" in err
    assert "RuntimeError: failed with [REDACTED]" in err.replace("\\n", "\n")


def test_json_lines_carry_the_fields_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "info", [SECRET])
    logging.getLogger("governor.daemon").info(
        "sweep done in %.1f s", 2.25, extra={"run_id": 12, "request_id": "req-9"}
    )
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "info"
    assert record["logger"] == "governor.daemon"
    assert record["message"] == "sweep done in 2.2 s"
    assert (record["run_id"], record["request_id"]) == (12, "req-9")
    assert record["ts"].endswith("+00:00")
    assert set(record) == {"ts", "level", "logger", "message", "run_id", "request_id"}


def test_text_lines_read_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "warning", [])
    logger = logging.getLogger("governor.daemon")
    logger.info("not shown: below the level")
    logger.warning("budget low", extra={"run_id": 3})
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(" warning governor.daemon: budget low run_id=3")


def test_calling_twice_keeps_one_handler_and_the_latest_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "info", [SECRET])
    configure_logging("text", "debug", [OTHER])
    assert len(ours()) == 1
    logging.getLogger("governor.x").debug("with %s", OTHER)
    (line,) = capsys.readouterr().err.splitlines()
    assert "debug governor.x: with [REDACTED]" in line


def test_bad_format_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="json or text"):
        configure_logging("xml", "info", [])
    with pytest.raises(ValueError, match="log level"):
        configure_logging("json", "loud", [])
