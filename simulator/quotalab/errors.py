"""The exception tree of quotalab.

::

    QuotalabError                  anything quotalab reports to a user
    ├── ConfigError                a config or profile file is unusable
    ├── InputError                 a CLI option or argument is impossible
    ├── StoreUnavailable           the limiter store (Redis) cannot be reached
    ├── StrategyExit               a client's own code tried to end the program
    └── StrategyError              a client strategy gave up on a call
        ├── ThrottledError         still throttled when retries ran out
        ├── CredentialsError       401 / 403: retrying cannot help
        └── UnavailableError       503 or transport errors outlasted retries

The CLI prints ``str(error)`` as one line and exits non-zero; no traceback.
"""

from __future__ import annotations


class QuotalabError(Exception):
    """Base of every error quotalab reports to its user."""


class ConfigError(QuotalabError):
    """A config or profile file is unusable: names the file, key and expectation."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {expected}")


class InputError(QuotalabError):
    """A command-line option or argument cannot be used as given."""


class StoreUnavailable(QuotalabError):
    """The rate-limit store cannot be reached."""


class StrategyExit(QuotalabError):
    """A client's own code raised ``SystemExit`` (``sys.exit``) or another exception that is
    not an ``Exception`` where it should return or raise one: the run stops, unreported."""


class StrategyError(QuotalabError):
    """A client strategy gave up on an API call."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class ThrottledError(StrategyError):
    """Still throttled (429 or Twitter 403 code 99) when retries ran out."""


class CredentialsError(StrategyError):
    """The provider refused the credentials or scope: retrying cannot help."""


class UnavailableError(StrategyError):
    """503s or transport errors outlasted the retry policy."""
