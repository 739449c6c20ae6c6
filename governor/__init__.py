"""neon-governor: cost and idle governance for Neon serverless Postgres.

``__version__`` is the one place the version is written: the wheel's metadata reads it
(pyproject.toml, ``dynamic``), and so do ``--version``, the User-Agent and build_info.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
