"""Virtual-time simulation: strategies against the mock provider, a day in seconds."""

from simulator.sim.duration import parse_duration
from simulator.sim.engine import CacheGroup, Engine, EngineResult, Provider, QuietOracle, Worker
from simulator.sim.tally import ClientTally, Latencies, Series, is_throttled
from simulator.sim.traffic import TRAFFIC_MODELS, TrafficName, arrivals

__all__ = [
    "TRAFFIC_MODELS",
    "CacheGroup",
    "ClientTally",
    "Engine",
    "EngineResult",
    "Latencies",
    "Provider",
    "QuietOracle",
    "Series",
    "TrafficName",
    "Worker",
    "arrivals",
    "is_throttled",
    "parse_duration",
]
