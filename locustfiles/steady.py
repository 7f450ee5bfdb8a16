"""steady: every user calls the API at a fixed rate (--rate calls/s) through --strategy.

    locust -f locustfiles/steady.py --host http://127.0.0.1:8080 -u 10 -r 10 -t 30s \
        --strategy cached+backoff --rate 4

The scenario code ships in the package (quotalab.locust); see docs/running.md.
"""

from quotalab.locust.user import StrategyUser

__all__ = ["StrategyUser"]
