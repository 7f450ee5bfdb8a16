"""The ``quotalab`` command line: ``serve``, ``run``, ``simulate``, ``gate``."""

from simulator.cli.app import app, main

__all__ = ["app", "main"]
