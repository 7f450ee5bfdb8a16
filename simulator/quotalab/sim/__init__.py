"""Virtual-time simulation: strategies against the mock provider, a day in seconds."""

from quotalab.sim.aggregates import BucketSeries, ClientTally, Latencies, is_throttled
from quotalab.sim.duration import parse_duration
from quotalab.sim.engine import CacheGroup, Engine, EngineResult, Provider, QuietOracle, Worker
from quotalab.sim.traffic import TRAFFIC_MODELS, TrafficName, arrivals

__all__ = [
    "TRAFFIC_MODELS",
    "BucketSeries",
    "CacheGroup",
    "ClientTally",
    "Engine",
    "EngineResult",
    "Latencies",
    "Provider",
    "QuietOracle",
    "TrafficName",
    "Worker",
    "arrivals",
    "is_throttled",
    "parse_duration",
]
