"""Bring your own sans-I/O strategy: policies of your choosing, driven everywhere.

Modelled on httpx-auth's defaults (30 s early expiry, no single-flight) with
three retries. Use it with ``--strategies examples.custom_strategy:factory``;
quotalab drives it under httpx, locust and the virtual-time simulation.
"""

from __future__ import annotations

import random

from quotalab import ClientSettings, ClientStrategy, Clock, RetryPolicy, Strategy, TokenPolicy


def factory(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Strategy:
    return ClientStrategy(
        "httpx-auth-like",
        settings,
        token=TokenPolicy(margin_s=30.0, single_flight=False),
        retry=RetryPolicy(max_attempts=3, base_s=0.5, max_delay_s=8.0, budget_s=30.0),
        clock=clock,
        rng=rng,
    )
