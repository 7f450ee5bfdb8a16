"""How a live run of a few seconds becomes a day of token use: the projection rules.

A caching client spends its first token warming its cache and then, for a
whole token lifetime, nothing; a linear extrapolation of a 12 s run would
multiply that warm-up by 7,200. The rules, each pinned by a test:

1. **Warm-up.** The tokens issued within ``WARMUP_WINDOW_S`` of the run's
   first token are the warm-up: every cache's first token, and the herd of
   concurrent callers that fetched with it; at most one per caller, since no
   cache fill needs more (the rest of that second is steady state).
2. **Already at steady state.** A client that, after the warm-up, still
   fetched a token for at least ``STEADY_TOKENS_PER_CALL`` of its API calls
   does not live off a cache (naive, backoff): its day is the linear
   extrapolation of every token of the run. So is a client none of whose API
   calls went without a token of its own (as many tokens as calls, or more):
   where each user called once, every token counts as warm-up and the run
   cannot tell a cache from fetching per call; the note says so.
3. **No refresh observed.** When the run is shorter than the lifetime of the
   tokens it was issued, no cache could refresh: the day is the steady-state
   issuance (tokens after warm-up, per second of the run) plus one refresh
   per cache per token lifetime at the lifetime the profile issues tokens
   with, each refresh costing what the warm-up cost (a herd repeats).
4. **Refresh cadence observed.** When the run lasted at least one token
   lifetime (short-lived tokens, ``--token-lifetime``), every token after the
   warm-up belongs to a refresh: refreshes are bursts, the cadence is the mean
   time between them, the margin the client showed is the lifetime minus that
   cadence, and the day repeats the mean refresh burst at the real lifetime
   minus the same margin (in seconds). A client that did not refresh although
   its tokens expired falls back to rule 3's one refresh per lifetime. One
   lifetime cannot tell a margin from a cache kept for a fixed time (which
   refreshes as often whatever tokens live): the note says so, and how to
   tell (another lifetime, whose cadence must follow).
5. **Simulation next to it.** Where the virtual-time simulation played the
   same load for a day, the two agree when they differ by at most
   ``AGREE_RATIO`` of the larger or ``AGREE_TOKENS_PER_CACHE`` tokens a day per
   cache (a simulated day counts its warm-up, a projected day does not).
   When they disagree, trust the simulation if the live run saw no refresh
   (rule 3 assumed the lifetime) or delivered less load than asked; otherwise
   trust the live run, which measured the client on real HTTP.

Pure: numbers in, numbers out; the live run and the report call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SECONDS_PER_DAY = 86_400
WARMUP_WINDOW_S = 1.0
"""Tokens this close to the first one were fetched to fill the caches."""
BURST_GAP_S = 1.0
"""Tokens issued closer together than this belong to one refresh (a herd)."""
STEADY_TOKENS_PER_CALL = 0.1
"""A client fetching a token for one API call in ten (or more) pays per call."""
AGREE_RATIO = 0.25
AGREE_TOKENS_PER_CACHE = 2.0
LOAD_SHORTFALL = 0.25
"""A live run that delivered less than 75 % of the asked call rate measured another load."""

AT_STEADY_STATE = (
    "fetches tokens as it calls, at steady state from the start: tokens issued over the "
    "run, extrapolated linearly"
)
"""Rule 2's note when there is nothing more to say."""
NO_TOKEN = "no token issued"

Method = Literal["linear", "steady_state", "refresh_cadence"]
Trust = Literal["both", "live", "simulation"]


@dataclass(frozen=True, slots=True)
class IssuanceObservation:
    """What a live run saw of one strategy's tokens.

    ``issued_at_s``: one entry per token issued, seconds from any fixed origin,
    sorted. ``run_lifetime_s``: the lifetime the server gave tokens during the
    run; ``real_lifetime_s``: the lifetime of the profile's tokens, which the
    day is projected at. ``None`` for tokens that never expire. ``callers``:
    the most concurrent callers the run had (locust users); ``None``: unknown.
    """

    duration_s: float
    issued_at_s: tuple[float, ...]
    api_calls: int
    run_lifetime_s: float | None
    real_lifetime_s: float | None
    callers: int | None = None


@dataclass(frozen=True, slots=True)
class DayProjection:
    """Tokens a day, by which rule, with what the rule read from the run."""

    method: Method
    tokens_per_day: float
    warmup_tokens: int
    steady_tokens: int
    refresh_interval_s: float | None
    observed_refresh_interval_s: float | None
    margin_s: float | None
    note: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """The live projection next to the simulated day, and which to trust."""

    simulated_tokens_per_day: float
    agrees: bool
    trust: Trust
    reason: str


def linear_per_day(tokens: int, duration_s: float) -> float:
    """``tokens`` over ``duration_s`` seconds, extrapolated to a day."""
    return 0.0 if duration_s <= 0 else tokens * SECONDS_PER_DAY / duration_s


def warmup_count(issued_at_s: Sequence[float], callers: int | None = None) -> int:
    """Rule 1: tokens within ``WARMUP_WINDOW_S`` of the first one, at most one per caller."""
    if not issued_at_s:
        return 0
    end = issued_at_s[0] + WARMUP_WINDOW_S
    within = sum(1 for t in issued_at_s if t <= end)
    return within if callers is None else min(within, max(callers, 1))


def bursts(issued_at_s: Sequence[float]) -> list[tuple[float, int]]:
    """``(start, tokens)`` of each run of tokens closer than ``BURST_GAP_S`` apart."""
    found: list[tuple[float, int]] = []
    last = None
    for t in issued_at_s:
        if last is not None and t - last <= BURST_GAP_S:
            start, n = found[-1]
            found[-1] = (start, n + 1)
        else:
            found.append((t, 1))
        last = t
    return found


def _seconds(value: float) -> str:
    return f"{value:,.0f} s" if value >= 10 else f"{value:.3g} s"


def _per_lifetime(obs: IssuanceObservation, warmup: int, steady: int, why: str) -> DayProjection:
    """Rule 3: steady-state issuance plus one warm-up's worth per profile lifetime."""
    steady_day = linear_per_day(steady, obs.duration_s)
    lifetime = obs.real_lifetime_s
    if lifetime is None or lifetime <= 0:
        refresh_day = 0.0
        note = f"{why}; the profile's tokens never expire, so a cache fetches once"
    else:
        refresh_day = warmup * SECONDS_PER_DAY / lifetime
        note = (
            f"{why}; refreshes assumed once per token lifetime, the {_seconds(lifetime)} "
            f"the profile issues tokens with, {warmup} token(s) each as at warm-up"
        )
    if steady:
        note += f"; plus {steady} token(s) after warm-up, extrapolated"
    return DayProjection(
        method="steady_state",
        tokens_per_day=steady_day + refresh_day,
        warmup_tokens=warmup,
        steady_tokens=steady,
        refresh_interval_s=lifetime,
        observed_refresh_interval_s=None,
        margin_s=None,
        note=note,
    )


def project_day(obs: IssuanceObservation) -> DayProjection:
    """Apply rules 1-4 to one strategy's live run."""
    times = tuple(sorted(obs.issued_at_s))
    total = len(times)
    warmup = warmup_count(times, obs.callers)
    steady = total - warmup
    at_steady_state = steady > 0 and steady >= STEADY_TOKENS_PER_CALL * obs.api_calls
    if total == 0 or at_steady_state or total >= obs.api_calls > 0:
        if total == 0:
            note = NO_TOKEN
        elif at_steady_state:
            note = AT_STEADY_STATE
            run_s, real_s = obs.run_lifetime_s, obs.real_lifetime_s
            if run_s is not None and real_s is not None and run_s < real_s:
                note += (
                    f"; but tokens lived {_seconds(run_s)} in this run, not the profile's "
                    f"{_seconds(real_s)}: a cache that refreshes {_seconds(run_s)} or more "
                    "before expiry fetches per call here and not at the profile's lifetime, "
                    "so this day may overstate it (run with a --token-lifetime above its "
                    "refresh margin to tell)"
                )
        else:  # every token may be a cache's first: the run cannot tell
            note = (
                f"no API call of the run went without a token of its own ({total} tokens, "
                f"{obs.api_calls} calls), so the run cannot tell a cache from fetching per "
                "call: extrapolated linearly (make more calls per user, with a longer run "
                "or a higher --rate, to measure a cache)"
            )
        return DayProjection(
            method="linear",
            tokens_per_day=linear_per_day(total, obs.duration_s),
            warmup_tokens=warmup,
            steady_tokens=steady,
            refresh_interval_s=None,
            observed_refresh_interval_s=None,
            margin_s=None,
            note=note,
        )
    lifetime = obs.run_lifetime_s
    if lifetime is None or lifetime <= 0 or obs.duration_s < lifetime:
        return _per_lifetime(
            obs, warmup, steady, f"no refresh possible in a {_seconds(obs.duration_s)} run"
        )
    refreshes = bursts(times[warmup:])
    if not refreshes:
        return _per_lifetime(
            obs,
            warmup,
            steady,
            f"no refresh seen in {_seconds(obs.duration_s)} although tokens lived "
            f"{_seconds(lifetime)}",
        )
    cadence = (refreshes[-1][0] - times[0]) / len(refreshes)
    margin = max(0.0, lifetime - cadence)
    per_refresh = steady / len(refreshes)
    real = obs.real_lifetime_s if obs.real_lifetime_s else lifetime
    interval = real - margin if real > margin else real
    return DayProjection(
        method="refresh_cadence",
        tokens_per_day=per_refresh * SECONDS_PER_DAY / interval,
        warmup_tokens=warmup,
        steady_tokens=steady,
        refresh_interval_s=interval,
        observed_refresh_interval_s=cadence,
        margin_s=margin,
        note=(
            f"{len(refreshes)} refresh(es) of {per_refresh:.3g} token(s) every "
            f"{_seconds(cadence)} with {_seconds(lifetime)} tokens (margin {_seconds(margin)}); "
            f"at the profile's {_seconds(real)} tokens, one every {_seconds(interval)}, "
            "if its refreshes follow the token's lifetime (a cache kept for a fixed time "
            "refreshes as often whatever tokens live: run again with another "
            "--token-lifetime, its cadence must follow)"
        ),
    )


def compare_with_simulation(
    live: DayProjection,
    simulated_tokens_per_day: float,
    caches: int,
    delivered_share: float,
) -> Agreement:
    """Rule 5: the live projection next to the simulated day.

    ``delivered_share``: API calls the live run made over those its settings
    asked for (1.0 when it kept pace).
    """
    live_day = live.tokens_per_day
    gap = abs(live_day - simulated_tokens_per_day)
    slack = max(AGREE_RATIO * max(live_day, simulated_tokens_per_day), AGREE_TOKENS_PER_CACHE)
    slack = max(slack, AGREE_TOKENS_PER_CACHE * caches)
    if gap <= slack:
        return Agreement(
            simulated_tokens_per_day,
            True,
            "both",
            f"within {AGREE_RATIO:.0%} or {AGREE_TOKENS_PER_CACHE:g} tokens a day per cache",
        )
    if live.method == "steady_state":
        reason = (
            "the live run saw no refresh and assumed one per token lifetime; the simulation "
            "played the whole day with the same strategy code and limits"
        )
        return Agreement(simulated_tokens_per_day, False, "simulation", reason)
    if delivered_share < 1 - LOAD_SHORTFALL:
        reason = (
            f"the live run delivered {delivered_share:.0%} of the asked calls (its users could "
            "not keep the pace: a load generator short of CPU, or calls held by waits, "
            "timeouts or errors); the simulation played the asked load"
        )
        return Agreement(simulated_tokens_per_day, False, "simulation", reason)
    reason = (
        "the live run measured this client on real HTTP and concurrency; the simulation "
        "models arrivals and latency"
    )
    return Agreement(simulated_tokens_per_day, False, "live", reason)
