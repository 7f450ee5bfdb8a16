"""Every command module, imported so that each registers itself on ``app``."""

from simulator.cli import gate, run, serve  # noqa: F401
