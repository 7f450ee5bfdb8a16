"""Locustfile for the no-strategy baseline: FastHttpUser calling GET /api/data.

The token is fetched once by the benchmark and passed in ``QUOTALAB_BENCH_TOKEN``,
so every request is the same API call the strategy side makes, minus the strategy.
Run only by locust in its own process (gevent monkey-patching).
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

AUTHORIZATION = {"Authorization": f"Bearer {os.environ.get('QUOTALAB_BENCH_TOKEN', '')}"}


class ApiUser(FastHttpUser):
    """Calls the API as fast as it can with a token it already holds."""

    wait_time = constant(0)

    @task
    def api_data(self) -> None:
        """One GET /api/data with the pre-fetched bearer token."""
        self.client.get("/api/data", headers=AUTHORIZATION, name="GET /api/data [api]")
