"""`neon-governor inventory` (placeholder until its issue part lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the command to the application."""
    _ = app
