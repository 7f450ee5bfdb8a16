"""Locust entry point for the ``spike`` scenario: the users plus the spike shape."""

from quotalab.locust.shape import SpikeShape
from quotalab.locust.user import StrategyUser

__all__ = ["SpikeShape", "StrategyUser"]
