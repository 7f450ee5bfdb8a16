"""Every command module, imported so that each registers itself on ``app``."""

from simulator.cli import gate, run, serve, simulate, worker  # noqa: F401
