"""The ``quotalab_server`` fixture, used from a user's own test suite (run by pytester)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

USER_CLIENT = '''
import json
import urllib.request

import httpx


class MyTokenClient:
    """A user's client: caches its token, honours Retry-After on 429."""

    def __init__(self, http, now, sleep, cache=True):
        self.http, self.now, self.sleep, self.cache = http, now, sleep, cache
        self.token, self.expires_at = None, 0.0

    def access_token(self):
        if self.cache and self.token and self.now() < self.expires_at - 60:
            return self.token
        for attempt in range(8):
            answer = self.http.post("/oauth/token", json={
                "grant_type": "client_credentials", "client_id": "demo-client",
                "client_secret": "demo-secret", "audience": "https://api.quotalab.test/",
            })
            if answer.status_code == 429:
                self.sleep(float(answer.headers.get("retry-after", 2 ** attempt)))
                continue
            answer.raise_for_status()
            body = answer.json()
            self.token, self.expires_at = body["access_token"], self.now() + body["expires_in"]
            return self.token
        raise RuntimeError("still throttled")

    def get_data(self):
        token = self.access_token()
        return self.http.get("/api/data", headers={"authorization": f"Bearer {token}"})


CACHE = __CACHE__


def make_client(server):
    return MyTokenClient(server.client(), server.clock.now, server.advance, cache=CACHE)


def test_one_token_for_1000_calls(quotalab_server):
    client = make_client(quotalab_server)
    for _ in range(1000):
        assert client.get_data().status_code == 200
        quotalab_server.advance(1.0)
    assert quotalab_server.client_stats("demo-client")["token_requests"] == 1


def test_survives_a_429_storm(quotalab_server):
    quotalab_server.storm(30.0)
    client = make_client(quotalab_server)
    assert client.get_data().status_code == 200
    stats = quotalab_server.client_stats("demo-client")
    assert stats["throttled_429"] >= 1
    assert stats["tokens_issued"] == 1


def test_a_day_later_the_token_is_refreshed(quotalab_server):
    client = make_client(quotalab_server)
    client.get_data()
    quotalab_server.advance(86400.0)
    assert client.get_data().status_code == 200
    assert quotalab_server.client_stats("demo-client")["tokens_issued"] == 2


def test_other_http_stacks_use_the_loopback_port(quotalab_server):
    url = quotalab_server.live_url
    assert url.startswith("http://127.0.0.1:")
    body = json.dumps({
        "grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret", "audience": "https://api.quotalab.test/",
    }).encode()
    request = urllib.request.Request(
        url + "/oauth/token", body, {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    assert quotalab_server.client_stats("demo-client")["tokens_issued"] == 1


TOKEN_BODY = {
    "grant_type": "client_credentials", "client_id": "demo-client",
    "client_secret": "demo-secret", "audience": "https://api.quotalab.test/",
}


def test_a_storm_reaches_requests_on_the_loopback_port(quotalab_server):
    import requests

    url = quotalab_server.live_url + "/oauth/token"
    quotalab_server.storm(30.0)
    answer = requests.post(url, json=TOKEN_BODY, timeout=10)
    assert answer.status_code == 429
    # Auth0's global 429 as the profile writes it: no Retry-After, the reset at the storm's end.
    assert "retry-after" not in answer.headers
    reset = int(answer.headers["x-ratelimit-reset"])
    assert reset - quotalab_server.clock.now() == pytest.approx(30.0, abs=1.0)
    assert answer.headers["x-ratelimit-limit"] == "30"
    quotalab_server.advance(30.0)
    assert requests.post(url, json=TOKEN_BODY, timeout=10).status_code == 200
    stats = quotalab_server.client_stats("demo-client")
    assert (stats["throttled_429"], stats["tokens_issued"]) == (1, 1)


def test_an_api_storm_is_counted_for_the_bearers_client(quotalab_server):
    import requests

    url = quotalab_server.live_url
    token = requests.post(url + "/oauth/token", json=TOKEN_BODY, timeout=10).json()
    quotalab_server.storm(10.0, endpoint="api_data")
    bearer = {"authorization": "Bearer " + token["access_token"]}
    answer = requests.get(url + "/api/data", headers=bearer, timeout=10)
    assert answer.status_code == 429
    stats = quotalab_server.stats()["clients"]
    assert "anonymous" not in stats, stats
    mine = stats["demo-client"]
    assert (mine["token_requests"], mine["api_calls"], mine["api_429"]) == (1, 1, 1), mine
    assert "throttled_429" not in mine  # a token request that was throttled: none was


def test_faults_reach_both_routes_alike(quotalab_server):
    import requests

    quotalab_server.set_faults({"endpoints": {"token": {"probability": 1.0}}})
    over_the_wire = requests.post(
        quotalab_server.live_url + "/oauth/token", json=TOKEN_BODY, timeout=10
    )
    in_process = quotalab_server.client().post("/oauth/token", json=TOKEN_BODY)
    assert over_the_wire.status_code == in_process.status_code == 503
    assert quotalab_server.client_stats("demo-client")["faults_503"] == 2


@pytest.mark.quotalab(profile="twitter")
def test_profile_marker_selects_twitter(quotalab_server):
    assert quotalab_server.stats()["provider"] == "twitter"


@pytest.mark.quotalab(profile="entra", tls=True)
def test_https_live_url_signed_by_its_own_ca(quotalab_server):
    import ssl
    import urllib.parse

    url = quotalab_server.live_url
    assert url.startswith("https://127.0.0.1:")
    body = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret", "scope": "https://api.quotalab.test/.default",
    }).encode()
    request = urllib.request.Request(
        url + "/demo-tenant/oauth2/v2.0/token", body,
        {"content-type": "application/x-www-form-urlencoded"},
    )
    trust = ssl.create_default_context(cafile=quotalab_server.ca_file)
    with urllib.request.urlopen(request, timeout=10, context=trust) as answer:
        assert answer.status == 200
'''


def user_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> pytest.RunResult:
    source = "import pytest\n" + USER_CLIENT.replace("__CACHE__", repr(cache))
    pytester.makepyfile(test_user_client=source)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    installed = any(ep.name == "quotalab" for ep in entry_points(group="pytest11"))
    load = () if installed else ("-p", "quotalab.pytest_plugin")
    return pytester.runpytest_subprocess(*load, "-q", "--strict-markers")


def test_a_caching_client_passes_the_users_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = user_suite(pytester, monkeypatch, cache=True)
    result.assert_outcomes(passed=9)


def test_a_client_without_a_cache_is_caught(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = user_suite(pytester, monkeypatch, cache=False)
    # Without a cache every call fetches a token: the 1,000-call test must fail.
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["*test_one_token_for_1000_calls*assert 1000 == 1*"])


MARKERS = """
import pytest


@pytest.mark.quotalab("twitter")
def test_the_profile_by_position(quotalab_server):
    assert quotalab_server.stats()["provider"] == "twitter"


@pytest.mark.quotalab(profile="okta")
class TestMarkersMerge:
    @pytest.mark.quotalab(tls=True)
    def test_the_class_profile_and_the_method_tls(self, quotalab_server):
        assert quotalab_server.stats()["provider"] == "okta"
        assert quotalab_server.tls


@pytest.mark.quotalab(profle="twitter")
def test_a_misspelt_setting(quotalab_server):
    pass
"""


def test_every_marker_counts_and_a_bad_one_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A positional profile, or a class's marker under a method's, once gave a silent
    Auth0 server; a misspelt setting must not either."""
    pytester.makepyfile(test_markers=MARKERS)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    installed = any(ep.name == "quotalab" for ep in entry_points(group="pytest11"))
    load = () if installed else ("-p", "quotalab.pytest_plugin")
    result = pytester.runpytest_subprocess(*load, "-q", "--strict-markers")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.quotalab(profle='twitter'): got an unexpected keyword argument*"]
    )
