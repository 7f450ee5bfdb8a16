"""When a strategy's figures are no evidence at all: one rule for the run and the gate.

A strategy that made no call, whose calls succeeded while the server counted
no API request or fewer successful API answers than successful calls (a
client that swallows its errors and says 200), or none of whose requests
the server counted, passes no bound honestly: 0 token requests per 1,000
calls there is no evidence of a frugal client, nor 100% success of a
healthy one. ``quotalab run`` says so of its live counts and fails
(``run.orchestrate.untrustworthy``), ``quotalab gate`` of a report
(``gate.checks.check_evidence``); each adds its own hint.
"""

from __future__ import annotations

from typing import Literal

Lack = Literal["no_call", "unseen", "swallowed", "uncounted"]
"""What is missing: any call; any API request seen by the server while calls
succeeded; as many successful API answers as successful calls; any request counted."""


def lack_of_evidence(
    calls: int, calls_ok: int, api_calls: int, api_ok: int, token_requests: int
) -> tuple[Lack, str] | None:
    """Why figures with these counts (calls made and succeeded as the client saw them,
    API requests and successes and token requests as the server counted them) are no
    evidence, and a sentence saying so (to follow the strategy's name); None: they are."""
    if calls == 0:
        return "no_call", "made no call, so nothing was measured"
    if calls_ok and api_calls == 0:
        return "unseen", (
            f"{calls_ok} calls succeeded but the server counted no API request: "
            "the client never reached the server"
        )
    if calls_ok > api_ok:
        return "swallowed", (
            f"{calls_ok} calls succeeded but the server answered only {api_ok} API "
            "requests with success: the client reports successes the server never gave"
        )
    if token_requests == 0 and api_calls == 0:
        return "uncounted", (
            f"none of its {calls} calls sent a request the server counted, so nothing was measured"
        )
    return None
