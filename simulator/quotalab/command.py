"""The ``quotalab`` command's entry point: start-up light enough to guard.

Importing the CLI (typer, rich, the commands) takes most of a second's
first tenth; a Ctrl-C then ends the command as it does later, with
``quotalab: aborted`` and exit code 130, not an import traceback. This
module imports nothing but ``sys`` before that guard.
"""

from __future__ import annotations

import sys

ABORTED = "quotalab: aborted"
"""What the command says when Ctrl-C stops it, whenever that comes."""


def main() -> None:
    """Import the CLI and run it (``quotalab.cli.entry.main``)."""
    try:
        from quotalab.cli.entry import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write(ABORTED + "\n")
        sys.exit(130)
    run_cli()
