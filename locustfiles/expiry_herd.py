"""expiry-herd: many users of one client id share one token cache per process.

Start the server with short tokens so they expire mid-run, e.g. a config with
``[provider] token_lifetime_s = 6``:

    quotalab serve --config short-tokens.toml --port 8080
    locust -f locustfiles/expiry_herd.py --host http://127.0.0.1:8080 -u 20 -r 20 -t 30s \
        --strategy cached --rate 2
"""

from quotalab.locust.user import StrategyUser

__all__ = ["StrategyUser"]
