"""A full audit against a server that echoes the key back everywhere it can: the key appears
in no output of any format, on no stream, and nowhere in the database or its WAL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from tests.hostile.hostile_server import (
    BRANCH,
    ENDPOINT,
    HOSTILE_KEY,
    PREVIEW,
    TOKEN,
    echoing,
    hostile_server,
    serve_account,
)

runner = CliRunner()
FORMATS = ("table", "json", "csv", "markdown")


def echoing_account() -> dict[str, Any]:
    """Every place a server's words are kept, each holding the key."""
    return {
        # an error whose message, code and request id all repeat the key
        "org_keys": echoing(
            500, {"message": f"key {TOKEN} failed", "code": TOKEN, "request_id": TOKEN}
        ),
        # an HTML error page with the key past the point where snippets are cut
        "personal_keys": echoing(502, "<html><body>" + "x" * 300 + TOKEN + "</body></html>"),
        # a success body with the key as names and values
        "branches": echoing(
            200, {"branches": [BRANCH, {**PREVIEW, "name": TOKEN, "notes": {TOKEN: TOKEN}}]}
        ),
        "endpoints": echoing(200, {"endpoints": [{**ENDPOINT, "name": f"ep {TOKEN}"}]}),
    }


def config(folder: Path) -> Path:
    path = folder / "governor.toml"
    path.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "max_attempts = 2\nbackoff_cap_seconds = 0.05\ntimeout_seconds = 5\n"
    )
    return path


@pytest.fixture
def outputs(tmp_path: Path) -> tuple[list[str], Path]:
    db = tmp_path / "governor.db"
    texts: list[str] = []
    with hostile_server() as server:
        serve_account(server, echoing_account())
        for output_format in FORMATS:
            report = tmp_path / f"report.{output_format}"
            arguments = ["audit", "--db", str(db), "--config", str(config(tmp_path))]
            arguments += ["--format", output_format, "--output", str(report)]
            result = runner.invoke(
                app,
                arguments,
                env={"NEON_API_URL": server.base_url, "NEON_API_KEY": HOSTILE_KEY},
            )
            assert result.exit_code == 3, result.stderr  # erroring listings: incomplete
            assert "Traceback" not in result.stderr
            texts += [result.stdout, result.stderr]
            texts.append(report.read_text(encoding="utf-8"))
    return texts, db


def test_the_key_is_on_no_stream_and_in_no_report(outputs: tuple[list[str], Path]) -> None:
    texts, _ = outputs
    assert len(texts) == 3 * len(FORMATS)
    assert all(HOSTILE_KEY not in text for text in texts)
    assert any("incomplete" in text for text in texts)  # the errors were seen and reported


def test_the_key_is_nowhere_in_the_database_or_its_wal(outputs: tuple[list[str], Path]) -> None:
    _, db = outputs
    files = [path for path in db.parent.iterdir() if path.name.startswith(db.name)]
    assert db in files
    for path in files:
        assert HOSTILE_KEY.encode() not in path.read_bytes(), path.name
    connection = sqlite3.connect(db)
    try:
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    assert "br-preview-12345678" in dump  # the echoing branch itself was stored
    assert "[REDACTED]" in dump  # its echoed key arrived, and was scrubbed on the way in
    assert HOSTILE_KEY not in dump
