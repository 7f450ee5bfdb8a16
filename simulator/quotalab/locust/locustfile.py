"""Locust entry point for the constant-pace scenarios (steady, expiry-herd, twitter).

``quotalab run`` passes this file to ``locust -f``; see docs/running.md.
"""

from quotalab.locust.user import StrategyUser

__all__ = ["StrategyUser"]
