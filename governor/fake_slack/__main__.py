"""``python -m governor.fake_slack [--port N] [--socket-port M]``: the fake as a process.

Prints one JSON line (base_url, socket_url, http_root, bot_token, app_token) once it
listens, then serves until SIGTERM or SIGINT and exits 0 after closing its ports. Another
process reads the log at ``<http_root>/_fake/log`` and pushes envelopes by POSTing
them to ``<http_root>/_fake/push``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from governor.fake_slack.fake import FakeSlack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m governor.fake_slack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="Web API port (0: any free)")
    parser.add_argument("--socket-port", type=int, default=0, help="Socket Mode port")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with FakeSlack(host=args.host, port=args.port, socket_port=args.socket_port) as fake:
        print(
            json.dumps(
                {
                    "base_url": fake.base_url,
                    "socket_url": fake.socket_url,
                    "http_root": fake.http_root,
                    "bot_token": fake.bot_token,
                    "app_token": fake.app_token,
                }
            ),
            flush=True,
        )
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
