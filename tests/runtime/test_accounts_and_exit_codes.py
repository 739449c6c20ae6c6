"""Several accounts in the config, the runtime that builds them, and the one exit-code map."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from governor.config import Config, ConfigError, UsageError, load_config, parse_config
from governor.exit_codes import ExitCode, describe, exit_code_for
from governor.neon.errors import NeonAuthError, NeonTransportError, NeonUsageError
from governor.policy.errors import PolicyError, PolicyProblem
from governor.runtime import Runtime
from governor.secrets import SecretError
from governor.store import StoreError
from governor.sweep import OrganizationNotVisible

TWO_ACCOUNTS = """
[neon]
requests_per_minute = 600

[[accounts]]
name = "prod"
api_key_env = "PROD_KEY"
organizations = ["org-prod-1"]

[[accounts]]
name = "staging"
api_key_file = "staging-key"
requests_per_minute = 100
"""


def config_of(text: str) -> Config:
    return parse_config(tomllib.loads(text), text=text, source="governor.toml")


def test_the_single_neon_form_is_one_account_named_default() -> None:
    (account,) = Config().effective_accounts()
    assert (account.name, account.api_key_env, account.requests_per_minute) == (
        "default",
        "NEON_API_KEY",
        700,
    )


def test_each_account_has_its_own_key_source_and_budget_defaulting_to_neon() -> None:
    prod, staging = config_of(TWO_ACCOUNTS).effective_accounts()
    assert (prod.name, prod.api_key_env, prod.organizations) == ("prod", "PROD_KEY", ["org-prod-1"])
    assert (prod.requests_per_minute, prod.requests_per_second_per_route) == (600, 40)
    assert (staging.api_key_file, staging.requests_per_minute) == ("staging-key", 100)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[accounts]]\nname = "a"\napi_key_env = "A"\n[[accounts]]\nname = "a"\n'
            'api_key_env = "B"\n',
            "account names must be unique; repeated: a",
        ),
        ('[[accounts]]\nname = "a"\n', "account 'a' needs api_key_env or api_key_file"),
        (
            '[neon]\napi_key_file = "k"\n[[accounts]]\nname = "a"\napi_key_env = "A"\n',
            "not in [neon]",
        ),
        ('[[accounts]]\nname = "Prod Account"\napi_key_env = "A"\n', "[accounts.0.name]"),
    ],
)
def test_a_bad_accounts_section_is_refused_with_where_and_why(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_of(text)
    assert message in str(raised.value)
    assert str(raised.value).startswith("governor.toml")


def test_the_runtime_refuses_an_account_the_config_lacks() -> None:
    runtime = Runtime(config_of(TWO_ACCOUNTS))
    assert [account.name for account in runtime.account_settings(["staging"])] == ["staging"]
    with pytest.raises(
        UsageError, match="unknown account 'dev' for --account; the config has prod, staging"
    ):
        runtime.account_settings(["dev"])


def test_the_runtime_reads_each_accounts_key_only_from_its_own_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROD_KEY", "prod-secret")
    runtime = Runtime(config_of(TWO_ACCOUNTS))
    prod, staging = runtime.account_settings()
    client = runtime.client(prod)
    assert (client.pacer.requests_per_minute, client.pacer.requests_per_second_per_route) == (
        600,
        40,
    )
    with pytest.raises(SecretError, match="staging-key"):
        runtime.client(staging)


def test_policy_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "governor.toml"
    config.parent.mkdir()
    config.write_text('[policies]\npaths = ["mine/"]\n')
    assert Runtime.load(config).policy_paths() == [config.parent / "mine"]
    assert load_config(config).policies.paths == ["mine/"]


@pytest.mark.parametrize(
    ("error", "code", "prefix"),
    [
        (ConfigError("governor.toml:3: [neon.x] unknown key"), ExitCode.USAGE, "config error:\n"),
        (UsageError("--org 'x y' is not an organization id"), ExitCode.USAGE, "usage error: "),
        (OrganizationNotVisible(["org-typo-1"], []), ExitCode.USAGE, "usage error: "),
        (PolicyError([PolicyProblem("p.yaml", None, (), "bad")]), ExitCode.USAGE, "policy error"),
        (SecretError("environment variable K is not set"), ExitCode.USAGE, "no Neon API key: "),
        (StoreError("g.db: not a usable database"), ExitCode.USAGE, "store error: "),
        (NeonUsageError("bad id", parameter="branch_id", value=".."), ExitCode.USAGE, "refused"),
        (
            NeonAuthError(401, "bad key", request_id="r", method="GET", path="/projects"),
            ExitCode.USAGE,
            "GET /projects",
        ),
        (
            NeonTransportError("refused", method="GET", path="/projects", request_id="r"),
            ExitCode.INCOMPLETE,
            "GET /projects",
        ),
    ],
)
def test_every_known_error_has_one_exit_code_and_a_labelled_message(
    error: Exception, code: ExitCode, prefix: str
) -> None:
    assert exit_code_for(error) == code
    assert describe(error).startswith(prefix)


def test_an_unknown_error_has_no_exit_code_so_it_is_not_hidden() -> None:
    assert exit_code_for(RuntimeError("a bug")) is None


@pytest.mark.parametrize("org_id", ["", "..", "org/../x", "ORG-UPPER", "org-" + "x" * 80])
def test_an_organization_id_neon_could_not_have_issued_is_a_config_error(org_id: str) -> None:
    with pytest.raises(ConfigError, match="invalid organization id"):
        Runtime.check_org_ids(["org-fine-12345678", org_id])


def test_genuine_organization_ids_pass() -> None:
    genuine = ["org-fine-12345678", "my-organization-morning-bread-81040908"]
    assert Runtime.check_org_ids(genuine) == genuine
