"""``neon-governor simulate`` as a child process, for tests that need a real one."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LISTENING = re.compile(r"^LISTENING (http://127\.0\.0\.1:\d+/api/v2)\n$")


@contextmanager
def simulate(*flags: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "governor", "simulate", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = LISTENING.match(line)
        assert match, f"first line was {line!r}; stderr: {process.stderr and process.stderr.read()}"
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
