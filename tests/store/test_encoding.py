"""encode_json's fast path gives exactly the text of scrub-then-encode, secrets redacted."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from governor.store.encoding import REDACTED, encode_json, scrub

KEYS = [
    "id",
    "name",
    "key",
    "KEY",
    "\u212aey",  # KELVIN SIGN: lower() gives "key"
    "keys",
    "api_key",
    "Api_Key_Value",
    "x_api_key_value_y",
    "token",
    "refresh_Token",
    "tok\\en",
    'to"ken',
    'token"x',  # an escaped quote after the part: the key goes on
    'x"secret\\"y',
    "my\ntoken",
    'pass"word',
    "db_password",
    "passwordless_access",
    "secret",
    "client_secret\\",
    "Authorization",
    "set-cookie",
    "cookie",
    "headers",
    "connection_uri",
    "connection_uris",
    "bearer",
    "owner",
    "\u0130d",  # lower() gives two characters
    "Σtoken",
]
LEAVES: list[Any] = [
    None,
    True,
    False,
    0,
    -3,
    2.5,
    "",
    "plain",
    'a "quoted": value',
    "password",
    '"key":"x"',
    "tab\there",
    datetime(2026, 11, 1, tzinfo=UTC),
]


def slow(value: Any) -> str:
    return json.dumps(
        scrub(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def generate(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(LEAVES)
    if roll < 0.55:
        return [generate(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(KEYS): generate(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_path_gives_the_same_text_as_scrubbing_first(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2_000):
        value = {rng.choice(KEYS): generate(rng) for _ in range(rng.randrange(1, 6))}
        jsonable = json.loads(json.dumps(value, default=str))
        assert encode_json(jsonable, what="value") == slow(jsonable), jsonable


def test_secrets_are_redacted_and_flags_under_secret_names_kept() -> None:
    value = {
        "\u212aey": "napi_x",
        "nested": [{"Authorization": "Bearer napi_x"}, {"my_Token": {"deep": 1}}],
        "passwordless_access": True,
        "token_count": 3,
    }
    assert json.loads(encode_json(value, what="v")) == {
        "\u212aey": REDACTED,
        "nested": [{"Authorization": REDACTED}, {"my_Token": REDACTED}],
        "passwordless_access": True,
        "token_count": 3,
    }


def test_an_unserialisable_value_under_a_secret_key_is_redacted_not_refused() -> None:
    assert encode_json({"token": object()}, what="v") == '{"token":"[redacted]"}'
    with pytest.raises(ValueError, match="v: cannot be stored as JSON"):
        encode_json({"size": object()}, what="v")
