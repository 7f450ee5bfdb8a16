"""The typer application and the entry point that turns errors into one line."""

from __future__ import annotations

import sys

import typer

from simulator import __version__
from simulator.errors import QuotalabError

app = typer.Typer(
    name="quotalab",
    help="Mock OAuth token servers, client strategies and quota reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Mock OAuth token servers, client strategies and quota reports."""


@app.command()
def version() -> None:
    """Print the quotalab version.

    Example: quotalab version
    """
    typer.echo(__version__)


def _register_commands() -> None:
    """Import the command modules; each adds its command to ``app``."""
    # Imported for their side effect of registering commands.
    from simulator.cli import commands  # noqa: F401


def main() -> None:
    """Run the CLI; a ``QuotalabError`` becomes one line on stderr and exit 2."""
    _register_commands()
    try:
        app(prog_name="quotalab")
    except QuotalabError as error:
        typer.echo(f"quotalab: error: {error}", err=True)
        sys.exit(2)
