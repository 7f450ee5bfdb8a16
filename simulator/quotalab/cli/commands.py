"""Every command module, imported so that each registers itself on ``app``."""

from quotalab.cli import gate, run, serve, simulate, worker  # noqa: F401
