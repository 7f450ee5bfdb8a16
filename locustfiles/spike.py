"""spike: -u users, then 3x as many for the middle third of -t, then -u again.

locust -f locustfiles/spike.py --host http://127.0.0.1:8080 -u 8 -t 30s --strategy naive
"""

from quotalab.locust.shape import SpikeShape
from quotalab.locust.user import StrategyUser

__all__ = ["SpikeShape", "StrategyUser"]
