"""twitter: app-only bearer tokens (Basic auth, form body) against --profile twitter.

    quotalab serve --profile twitter --port 8080
    locust -f locustfiles/twitter.py --host http://127.0.0.1:8080 -u 5 -r 5 -t 30s \
        --strategy naive --rate 2
"""

from typing import Any

from locust import events

from quotalab.locust.user import StrategyUser

__all__ = ["StrategyUser"]


@events.init_command_line_parser.add_listener
def _twitter_defaults(parser: Any) -> None:
    parser.set_defaults(
        scenario="twitter",
        provider_style="twitter",
        token_path="/oauth2/token",
        api_path="/2/tweets/search/recent",
        client_id="demo-key",
        client_secret="demo-secret",
    )
