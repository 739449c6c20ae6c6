"""The body decoder's short way (issue 21): a body whose bytes show that no string can hold
the key or a lone surrogate skips the walk over every string, and must decide exactly as
the walk would: same data, same depth rule, every echo of the key still scrubbed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from governor.neon.body import MAX_JSON_DEPTH, BodyError, _checked, decode_json
from governor.secrets import REDACTED

SECRET = "napi_0123456789abcdefghijklmnopqrstuvwxyz_secret"


def walked(content: bytes) -> Any:
    """What the decoder answered before the short way: every string visited."""
    return _checked(json.loads(content), SECRET)


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"branches": [{"id": "br-a-1", "name": "main"}]}', id="plain"),
        pytest.param(b'{"name": "' + b"[" * 200 + b'{"}', id="brackets-in-a-string"),
        pytest.param(b'{"n": "caf\xc3\xa9 \xed\x9f\xbf"}', id="utf8-beside-surrogates"),
        pytest.param(b'"just a string"', id="top-level-string"),
        pytest.param(b"[" + b",".join([b'{"a": [1, {"b": []}]}'] * 100) + b"]", id="wide"),
        pytest.param(nested(MAX_JSON_DEPTH), id="at-the-depth-limit"),
        pytest.param(
            b'[{"a": "]]]]"}, ' + nested(MAX_JSON_DEPTH - 1) + b"]", id="closers-in-a-string"
        ),
    ],
)
def test_a_plain_body_decodes_as_the_walk_decodes_it(content: bytes) -> None:
    assert decode_json(content, SECRET) == walked(content)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(nested(MAX_JSON_DEPTH + 1), id="one-too-deep"),
        pytest.param(b'["x", ' + nested(MAX_JSON_DEPTH, '"[[["') + b"]", id="deep-with-strings"),
    ],
)
def test_a_plain_body_nested_deeper_than_the_limit_is_refused(content: bytes) -> None:
    with pytest.raises(BodyError, match="nests deeper"):
        decode_json(content, SECRET)


def test_a_key_echoed_in_a_utf16_body_is_still_scrubbed() -> None:
    content = json.dumps({"message": f"bad key {SECRET}"}).encode("utf-16")

    assert decode_json(content, SECRET) == {"message": f"bad key {REDACTED}"}


def test_a_key_echoed_with_json_escapes_is_still_scrubbed() -> None:
    escaped = "".join(f"\\u{ord(char):04x}" for char in SECRET)
    content = ('{"' + escaped + '": "' + escaped + '"}').encode()

    assert decode_json(content, SECRET) == {REDACTED: REDACTED}


def test_a_lone_surrogate_sent_as_raw_bytes_is_still_replaced() -> None:
    content = b'{"name": "a\xed\xa0\x80b"}'  # what json.loads reads as "a\ud800b"

    assert decode_json(content, SECRET) == {"name": "a\ufffdb"}
