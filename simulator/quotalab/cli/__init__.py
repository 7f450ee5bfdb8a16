"""The ``quotalab`` command line: ``serve``, ``run``, ``simulate``, ``gate``."""

from quotalab.cli.entry import app, main

__all__ = ["app", "main"]
