from __future__ import annotations

from pathlib import Path

import pytest

from governor.config import parse_config
from governor.runtime import Runtime
from governor.secrets import REDACTED, SecretError, read_secret, redact

KEY = "napi_secret_value_1234567890"


def test_it_reads_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_API_KEY", KEY + "\n")
    assert read_secret("NEON_API_KEY") == KEY


def test_a_missing_variable_is_named_and_the_file_alternative_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEON_API_KEY", raising=False)
    with pytest.raises(SecretError, match=r"NEON_API_KEY is not set.*api_key_file"):
        read_secret("NEON_API_KEY")


def test_a_file_wins_and_loses_one_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEON_API_KEY", "from-the-environment")
    secret_file = tmp_path / "neon.key"
    secret_file.write_text(KEY + "\r\n")
    assert read_secret("NEON_API_KEY", secret_file) == KEY


def test_a_credential_name_is_looked_up_in_the_systemd_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "neon-api-key").write_text(KEY + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    assert read_secret("NEON_API_KEY", "neon-api-key") == KEY


def test_a_missing_file_names_every_place_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SecretError) as caught:
        read_secret("NEON_API_KEY", "neon-api-key")
    assert str(tmp_path / "neon-api-key") in str(caught.value)
    assert "neon-api-key" in str(caught.value)


@pytest.mark.parametrize("content", ["", "\n", "two words\n", "line\nline\n"])
def test_empty_or_multi_part_keys_are_refused_without_echoing_them(
    tmp_path: Path, content: str
) -> None:
    secret_file = tmp_path / "neon.key"
    secret_file.write_text(content)
    with pytest.raises(SecretError) as caught:
        read_secret("NEON_API_KEY", secret_file)
    assert str(secret_file) in str(caught.value)
    if content.strip():
        assert content.strip().split()[0] not in str(caught.value).replace(str(secret_file), "")


def test_redact_hides_known_secrets_and_any_bearer_token() -> None:
    text = f"key {KEY} and header Authorization: Bearer other-token-123"
    redacted = redact(text, [KEY, None, ""])
    assert KEY not in redacted
    assert "other-token-123" not in redacted
    assert redacted.count(REDACTED) == 2


def test_the_runtime_builds_a_client_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "neon.key"
    secret_file.write_text(KEY)
    monkeypatch.setenv("NEON_API_URL", "http://127.0.0.1:9/api/v2")
    config = parse_config(
        {
            "neon": {
                "api_key_file": str(secret_file),
                "requests_per_minute": 300,
                "requests_per_second_per_route": 7,
            }
        }
    )

    runtime = Runtime(config)
    (account,) = runtime.account_settings()
    client = runtime.client(account)

    assert client.base_url == "http://127.0.0.1:9/api/v2"
    assert client.pacer.requests_per_minute == 300
    assert client.pacer.requests_per_second_per_route == 7
    assert KEY not in repr(client)


def test_the_runtime_says_which_variable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_NEON_KEY", raising=False)
    config = parse_config({"neon": {"api_key_env": "MY_NEON_KEY"}})
    runtime = Runtime(config)
    with pytest.raises(SecretError, match="MY_NEON_KEY"):
        runtime.client(runtime.account_settings()[0])
