"""The typer application and the entry point that turns errors into one line."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from quotalab import __version__
from quotalab.command import ABORTED
from quotalab.errors import QuotalabError

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
    from quotalab.cli import commands  # noqa: F401


def _usage_error_type() -> type[Exception]:
    """click's ``UsageError`` as the installed typer raises it (newer typers vendor click)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError":
            return cls
    return typer.BadParameter


_UsageError = _usage_error_type()


def _usage_line(error: Exception) -> str:
    """A usage error (bad option value, unknown option, missing argument) as one line."""
    message = " ".join(str(getattr(error, "format_message", error.__str__)()).split())
    ctx = getattr(error, "ctx", None)
    command = getattr(ctx, "command_path", "quotalab")
    return f"quotalab: error: {message} (see '{command} --help')"


def _aborted() -> NoReturn:
    typer.echo(ABORTED, err=True)
    sys.exit(130)


def main() -> None:
    """Run the CLI; a ``QuotalabError`` or usage error becomes one line on stderr and exit 2."""
    try:
        _register_commands()  # most of the start-up: Ctrl-C is likeliest here
        result = app(prog_name="quotalab", standalone_mode=False)
    except QuotalabError as error:
        typer.echo(f"quotalab: error: {error}", err=True)
        sys.exit(2)
    except _UsageError as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # a bare ``quotalab``: the help has been printed already
        typer.echo(_usage_line(error), err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        _aborted()
    # Outside standalone mode click returns typer.Exit's code instead of exiting; typer
    # turns Ctrl-C into Exit(130), which no command raises itself.
    if result == 130:
        _aborted()
    sys.exit(result if isinstance(result, int) else 0)
