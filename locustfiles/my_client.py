"""Template: load-test YOUR client the same way. Copy this file and the factory below.

A factory takes the provider settings and returns either a sans-I/O
``Strategy`` (``name`` + ``call(request) -> Flow``; quotalab drives it on
locust's fast client, so every request is counted and timed) or an
``OwnClient`` (``name`` + ``call_api(path) -> status``, blocking or ``async def``;
your code does its own HTTP, e.g. your production client; the server still
counts its tokens).

    quotalab run --strategies naive,locustfiles.my_client:my_factory
    locust -f locustfiles/steady.py --host http://127.0.0.1:8080 -u 10 -t 30s \
        --strategy locustfiles.my_client:my_factory

Run from the repository root: a spec's module is imported with the working
directory first on the path, no PYTHONPATH needed. Keep locust imports out
of this module: ``quotalab run`` imports it to check the factory.
"""

from __future__ import annotations

import random

from quotalab import ClientSettings, Clock, Strategy, TokenPolicy, make_strategy

__all__ = ["my_factory"]


def my_factory(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Strategy:
    """Example: a cached client that refreshes 30 s before expiry, with backoff."""
    return make_strategy(
        "cached+backoff", settings, clock=clock, rng=rng, token_policy=TokenPolicy(margin_s=30)
    )
