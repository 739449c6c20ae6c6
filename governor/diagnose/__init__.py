"""The back ends of ``status`` and ``doctor``: what the store, the lock, the keys and Slack say.

Why apart from ``observability`` (telemetry): these read the daemon's lock, the store and
the runtime, so they sit above the daemon; telemetry is used by the daemon and stays low.
"""
