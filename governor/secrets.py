"""Reading the API key, and keeping it (and any other secret) out of every message.

Why here and not in the config: the config names *where* the key lives (an environment
variable, a file, a systemd credential), never the key itself, so a config file can be
shared and logged freely.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

REDACTED = "[REDACTED]"
# A key is short; a larger file (or /dev/zero, a FIFO that never ends) is not one.
MAX_SECRET_FILE_BYTES = 64 * 1024
# systemd credential ids: no slashes, no leading dot (systemd.exec(5), "LoadCredential=").
_CREDENTIAL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Anything that looks like a bearer credential, whether or not we know its value.
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


class SecretError(Exception):
    """A secret that cannot be read; the message says where we looked, never the value."""


def read_secret(
    env_name: str, file: str | Path | None = None, *, relative_to: Path | None = None
) -> str:
    """The secret from ``file`` when given, else from the environment variable ``env_name``.

    ``file`` is a path, or a bare systemd credential name looked up in
    ``$CREDENTIALS_DIRECTORY`` first (``LoadCredential=neon-api-key:...``); a relative
    path is taken from ``relative_to`` (the config file's folder), else the working folder.
    One trailing newline (as left by editors and ``echo``) is stripped.
    """
    if file is not None and str(file) != "":
        return _read_secret_file(Path(file), relative_to)
    if not _ENV_NAME.match(env_name):
        # Never echoed: a key pasted where the variable's name belongs would be printed.
        raise SecretError(
            f"the environment variable's name is not a variable name ({REDACTED}; is it the "
            "key itself?): set api_key_env to a name such as NEON_API_KEY"
        )
    value = os.environ.get(env_name)
    if value is None or value.strip() == "":
        state = "is not set" if value is None else "is empty"
        raise SecretError(
            f"environment variable {env_name} {state}: export the Neon API key there, "
            "or set neon.api_key_file in the config"
        )
    return _checked(value, f"environment variable {env_name}")


def _read_secret_file(file: Path, relative_to: Path | None = None) -> str:
    candidates: list[Path] = []
    credentials_directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials_directory and _CREDENTIAL_NAME.match(str(file)):
        candidates.append(Path(credentials_directory) / str(file))
    path = file.expanduser()
    candidates.append(path if path.is_absolute() or relative_to is None else relative_to / path)
    for candidate in candidates:
        try:
            text = _read_bounded(candidate)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise SecretError(f"cannot read secret file {candidate}: {reason}") from None
        if text.strip() == "":
            raise SecretError(f"secret file {candidate} is empty")
        return _checked(text, f"secret file {candidate}")
    looked = " and ".join(str(candidate) for candidate in candidates)
    hint = ""
    if not credentials_directory and _CREDENTIAL_NAME.match(str(file)):
        hint = " ($CREDENTIALS_DIRECTORY is not set, so no systemd credential was looked up)"
    raise SecretError(f"secret file not found: looked at {looked}{hint}")


def _read_bounded(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretError(
            f"secret file {path} is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB: not a key"
        )
    return data.decode("utf-8")


def _checked(value: str, where: str) -> str:
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    if any(character.isspace() or ord(character) < 32 for character in value):
        # An HTTP header cannot carry it, and httpx would echo it in its error.
        raise SecretError(f"{where} holds whitespace or control characters inside the key")
    if not value.isascii():
        raise SecretError(f"{where} holds non-ASCII characters; an API key is plain ASCII")
    return value


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret and any ``Bearer <token>`` replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _BEARER.sub(lambda match: match.group(1) + REDACTED, text)
