"""The load scenarios a comparison run can play, as data.

Both sides read these: ``quotalab run`` for defaults and the server settings a
scenario needs, and the locust process for the user's pace and how users map
onto client ids (users of one client id share one token cache per process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from quotalab.errors import InputError

Shape = Literal["constant", "spike"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of load: how many users, how fast each calls, for how long.

    ``rate`` is API calls per second per user (locust ``constant_throughput``).
    ``token_lifetime_s`` shortens the server's token lifetime so cached
    tokens expire mid-run; ``None`` keeps the profile's.
    """

    name: str
    summary: str
    users: int
    rate: float
    duration_s: float
    profile: str = "auth0"
    shape: Shape = "constant"
    token_lifetime_s: float | None = None
    spike_factor: int = 1


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="steady",
            summary="a fixed rate per user for the whole run",
            users=10,
            rate=4.0,
            duration_s=12.0,
        ),
        Scenario(
            name="spike",
            summary="base load, then 3x the users for the middle third, then base again",
            users=8,
            rate=4.0,
            duration_s=15.0,
            shape="spike",
            spike_factor=3,
        ),
        Scenario(
            name="expiry-herd",
            summary="6 s tokens: every user of the client id hits expiry together, mid-run",
            users=20,
            rate=2.0,
            duration_s=15.0,
            token_lifetime_s=6.0,
        ),
        Scenario(
            name="twitter",
            summary="app-only bearer tokens against the Twitter profile (403 code 99)",
            users=5,
            rate=2.0,  # 10 calls/s for 12 s stays under the 450 searches per 15 min
            duration_s=12.0,
            profile="twitter",
        ),
    )
}


def scenario_named(name: str) -> Scenario:
    """The scenario called ``name``; an ``InputError`` lists the known ones."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise InputError(f"unknown scenario {name!r}; choose one of: {known}") from None


def spike_users(scenario_users: int, factor: int, elapsed_s: float, duration_s: float) -> int:
    """Users a spike run wants at ``elapsed_s``: base, ``factor`` x base mid-run, base."""
    third = duration_s / 3
    if third <= elapsed_s < 2 * third:
        return scenario_users * factor
    return scenario_users
