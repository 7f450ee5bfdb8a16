"""Drivers: thin adapters that perform a strategy flow's actions for real or in simulation."""

from quotalab.drivers.httpx_auth import StrategyAuth, from_httpx_response, to_httpx_request
from quotalab.drivers.loop import (
    AsyncRefreshGate,
    RefreshGate,
    run_flow_async,
    run_flow_sync,
)

__all__ = [
    "AsyncRefreshGate",
    "RefreshGate",
    "StrategyAuth",
    "from_httpx_response",
    "run_flow_async",
    "run_flow_sync",
    "to_httpx_request",
]
