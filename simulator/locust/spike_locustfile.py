"""Locust entry point for the ``spike`` scenario: the users plus the spike shape."""

from simulator.locust.shape import SpikeShape
from simulator.locust.user import StrategyUser

__all__ = ["SpikeShape", "StrategyUser"]
