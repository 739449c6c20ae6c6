"""neon-governor: cost and idle governance for Neon serverless Postgres."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neon-governor")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
