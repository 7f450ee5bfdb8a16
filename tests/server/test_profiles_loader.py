"""Profiles load from shipped TOML; user files override or define; bad files fail in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

import quotalab.profiles as quotalab_profiles
from quotalab.errors import ConfigError
from quotalab.limits import FixedWindow, TokenBucket
from quotalab.profiles import load_config
from quotalab.profiles.loader import BUILTIN_PROFILES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text)
    return path


def test_builtin_auth0_has_the_documented_token_bucket_and_demo_client() -> None:
    config = load_config("auth0")
    rule = config.limits["oauth_token"]
    assert rule.algorithm == TokenBucket(burst=30, refill_rate=30.0)
    assert config.clients["demo-client"].secret == "demo-secret"
    assert "read:data" in config.clients["demo-client"].scopes
    assert config.limits["m2m_quota"].stage == "issue"
    assert config.settings.token_signing == "RS256"


def test_builtin_twitter_has_a_negotiation_window_and_15_minute_api_windows() -> None:
    config = load_config("twitter")
    assert isinstance(config.limits["token_negotiation"].algorithm, FixedWindow)
    assert config.limits["search_v2"].algorithm == FixedWindow(450, 900.0)
    assert config.clients["demo-key"].secret == "demo-secret"


def test_user_file_overrides_one_value_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, "[limits.oauth_token]\nburst = 5\nreject = 'per_client'\n")
    config = load_config("auth0", path)
    rule = config.limits["oauth_token"]
    assert rule.algorithm == TokenBucket(burst=5, refill_rate=30.0)
    assert rule.reject == "per_client"
    assert rule.headers == load_config("auth0").limits["oauth_token"].headers
    assert str(path) in config.sources


@pytest.mark.parametrize("first_line", ["", 'profile = "auth0"\n'])
def test_a_user_limit_changing_algorithm_replaces_the_base_algorithms_keys(
    tmp_path: Path, first_line: str
) -> None:
    text = "[limits.oauth_token]\nalgorithm = 'fixed_window'\nlimit = 5\nwindow_s = 60\n"
    text += "[limits.m2m_quota]\nalgorithm = 'token_bucket'\nburst = 2\nrefill_rate = 1\n"
    config = load_config("auth0", write(tmp_path, first_line + text))
    base = load_config("auth0")
    rule = config.limits["oauth_token"]
    assert rule.algorithm == FixedWindow(limit=5, window_s=60.0)
    assert (rule.key, rule.reject, rule.headers) == (
        base.limits["oauth_token"].key,
        base.limits["oauth_token"].reject,
        base.limits["oauth_token"].headers,
    )
    quota = config.limits["m2m_quota"]  # the quota's ``period`` and ``limit`` went with it
    assert quota.algorithm == TokenBucket(burst=2, refill_rate=1.0)
    assert quota.stage == base.limits["m2m_quota"].stage


def test_user_file_registers_clients(tmp_path: Path) -> None:
    path = write(tmp_path, '[clients.svc]\nsecret = "s3"\nscopes = "read:data write:data"\n')
    config = load_config("auth0", path)
    assert config.clients["svc"].scopes == ("read:data", "write:data")
    assert "demo-client" in config.clients


def test_user_file_can_pick_the_twitter_base(tmp_path: Path) -> None:
    path = write(tmp_path, 'profile = "twitter"\n[limits.token_negotiation]\nlimit = 3\n')
    config = load_config("auth0", path)
    assert config.settings.name == "twitter"
    assert config.limits["token_negotiation"].algorithm == FixedWindow(3, 60.0)


def test_a_new_provider_from_scratch(tmp_path: Path) -> None:
    text = """
profile = "none"
[provider]
name = "okta"
[endpoints.token]
method = "POST"
path = "/oauth2/v1/token"
kind = "auth0_token"
limits = ["token"]
[limits.token]
algorithm = "fixed_window"
limit = 2
window_s = 60
reject = "too_many"
[responses.too_many]
status = 429
body = '{"errorCode":"E0000047"}'
[responses.not_found]
status = 404
[responses.payload_too_large]
status = 413
[responses.unavailable]
status = 503
"""
    config = load_config("auth0", write(tmp_path, text))
    assert config.settings.name == "okta"
    assert [e.path for e in config.endpoints] == ["/oauth2/v1/token"]
    assert config.clients == {}


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[limits.oauth_token]\nburst = 'lots'\n", "limits.oauth_token.burst", "an integer >= 1"),
        ("[limits.oauth_token]\nburst = 0\n", "limits.oauth_token.burst", "an integer >= 1"),
        ("[limits.oauth_token]\nreject = 'nope'\n", "limits.oauth_token.reject", "[responses.*]"),
        ("[limits.oauth_token]\nkey = ['planet']\n", "limits.oauth_token.key", "tenant, client"),
        ("[limits.oauth_token]\nrefill = 'sometimes'\n", "limits.oauth_token.refill", "continuous"),
        ("[endpoints.token]\nkind = 'magic'\n", "endpoints.token.kind", "one of auth0_token"),
        ("[endpoints.token]\nlimits = ['ghost']\n", "endpoints.token.limits", "ghost"),
        ("[endpoints.token]\npath = 'oauth'\n", "endpoints.token.path", "starting with /"),
        ("[provider]\ntoken_signing = 'none'\n", "provider.token_signing", "RS256, HS256"),
        ("[provider]\nlimits_enabled = 'yes'\n", "provider.limits_enabled", "true or false"),
        ("[clients.x]\nscopes = ['a']\n", "clients.x.secret", "a string"),
        (
            "[responses.global_limit]\nstatus = 999\n",
            "responses.global_limit.status",
            "from 200 to 599 other than 204 and 304",
        ),
        # Statuses that carry no body: h11 refused to send them, httptools framed them wrong.
        ("[responses.global_limit]\nstatus = 101\n", "responses.global_limit.status", "200"),
        ("[responses.token_ok]\nstatus = 204\n", "responses.token_ok.status", "204 and 304"),
        ("[responses.unauthorized]\nstatus = 304\n", "responses.unauthorized.status", "304"),
        ("[faults.token]\nprobability = 2\n", "faults.token.probability", "a number from 0 to 1"),
        ("[faults.nowhere]\nprobability = 0.5\n", "faults.nowhere", "[endpoints.*]"),
        ("profile = 'keycloak'\n", "profile", "auth0, twitter, entra, okta, none"),
        ("bogus = 1\n", "bogus", "not a known key; expected one of audiences, clients"),
        ("[limits.oauth_token]\nbrust = 10\n", "limits.oauth_token.brust", "burst"),
        ("[provider]\ntoken_lifetme_s = 5\n", "provider.token_lifetme_s", "token_lifetime_s"),
        ("[endpoints.token]\nscopes = 'x'\n", "endpoints.token.scopes", "not a known key"),
        ("[clients.demo-client]\nsecrett = 'x'\n", "clients.demo-client.secrett", "secret"),
        (
            '[responses.global_limit.headers]\nx-a = "caf\u00e9"\n',
            "responses.global_limit.headers.x-a",
            "ASCII",
        ),
        # Headers h11 refuses to send: every answer using them was a dropped connection.
        (
            '[responses.global_limit.headers]\n"x(a)" = "b"\n',
            "responses.global_limit.headers.x(a)",
            "a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
        ),
        (
            '[responses.global_limit.headers]\n"x a" = "b"\n',
            "responses.global_limit.headers.x a",
            "a header name",
        ),
        (
            '[responses.global_limit.headers]\nx-a = "a\\u0000b"\n',
            "responses.global_limit.headers.x-a",
            "no control characters",
        ),
        (
            '[responses.global_limit.headers]\nx-a = "b "\n',
            "responses.global_limit.headers.x-a",
            "no space or tab at either end",
        ),
        (
            '[responses.global_limit.headers]\nx-a = "\\tb"\n',
            "responses.global_limit.headers.x-a",
            "no space or tab at either end",
        ),
        # Numbers that pass a lower bound and then break dates and arithmetic (500s).
        ("[provider]\nclock_offset_s = 1e12\n", "provider.clock_offset_s", "<= 3.1536e+07"),
        ("[provider]\nclock_offset_s = -inf\n", "provider.clock_offset_s", "a number >= "),
        ("[provider]\nclock_offset_s = nan\n", "provider.clock_offset_s", "a finite number"),
        ("[limits.oauth_token]\nrefill_rate = inf\n", "limits.oauth_token.refill_rate", "finite"),
        ("[limits.oauth_token]\nrefill_rate = nan\n", "limits.oauth_token.refill_rate", "finite"),
        ("[provider]\ntoken_lifetime_s = 10000000000\n", "provider.token_lifetime_s", "<= "),
        ("[limits.oauth_token]\nburst = 10000000000000000\n", "limits.oauth_token.burst", "<= "),
        # The bound the limit itself holds, for a value of the user's file.
        (
            "[limits.oauth_token]\nrefill = 'interval'\ninterval_s = 0.0001\n",
            "limits.oauth_token.interval_s",
            "a number >= 0.001",
        ),
        (
            "[limits.oauth_token]\nalgorithm = 'fixed_window'\nlimit = 5\nwindow_s = 0.0001\n",
            "limits.oauth_token.window_s",
            "a number >= 0.001",
        ),
        # A limit given another algorithm lacks what the user did not write, in the user's file.
        (
            "[limits.oauth_token]\nalgorithm = 'fixed_window'\nwindow_s = 60\n",
            "limits.oauth_token.limit",
            "an integer >= 1",
        ),
        # Headers that frame the answer are the server's own.
        (
            '[responses.global_limit.headers]\nContent-Length = "61"\n',
            "responses.global_limit.headers.Content-Length",
            "a header the server does not set itself",
        ),
        (
            '[responses.global_limit.headers]\ntransfer-encoding = "chunked"\n',
            "responses.global_limit.headers.transfer-encoding",
            "a header the server does not set itself",
        ),
    ],
)
def test_broken_config_names_the_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config("auth0", path)
    error = caught.value
    assert error.source == str(path)
    assert error.key == key
    assert expected in error.expected
    assert "\n" not in str(error)


def test_header_values_h11_sends_are_accepted(tmp_path: Path) -> None:
    """Inner spaces and tabs, any visible ASCII, and an empty value are all on the wire."""
    text = '[responses.global_limit.headers]\nx-a = "a \\t b!~"\nx-b = ""\n"x.c_d`e" = "${limit}"\n'
    headers = load_config("auth0", write(tmp_path, text)).responses["global_limit"].headers
    assert ("x-a", "a \t b!~") in headers
    assert ("x-b", "") in headers
    assert ("x.c_d`e", "${limit}") in headers


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "[limits\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config("auth0", path)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config("auth0", tmp_path / "absent.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1.toml: not UTF-8 text \(byte 5\)"):
        load_config("auth0", latin1)
    with pytest.raises(ConfigError, match=r"/dev/zero: cannot be read \(larger than 16 MiB\)"):
        load_config("auth0", "/dev/zero")  # read up to a bound, never to the end


def test_unknown_builtin_profile() -> None:
    with pytest.raises(ConfigError, match="one of auth0, twitter, entra, okta"):
        load_config("keycloak")


def test_a_placeholder_nothing_fills_is_refused_at_load_time(tmp_path: Path) -> None:
    """``${name}`` where the server fills no ``name`` would reach clients as written."""
    config = tmp_path / "okta.toml"
    config.write_text(
        '[endpoints.token]\nresponses = { malformed = "invalid_request" }\n'  # needs ${name}
    )
    with pytest.raises(ConfigError) as caught:
        load_config("okta", config)
    assert caught.value.source == "<builtin okta.toml>"
    assert caught.value.key == "responses.invalid_request.body"
    assert "${name}" in str(caught.value) and "'malformed'" in str(caught.value)
    headers = tmp_path / "limit.toml"
    headers.write_text('[limits.authorization_servers.headers]\n"x-oops" = "${client_id}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config("okta", headers)
    assert caught.value.source == str(headers)
    assert caught.value.key == "limits.authorization_servers.headers.x-oops"


def test_the_builtin_profiles_fill_every_placeholder_they_write() -> None:
    for profile in BUILTIN_PROFILES:
        load_config(profile)  # raises ConfigError naming the first unfillable one


def test_a_provider_named_over_another_profile_is_refused(tmp_path: Path) -> None:
    """A copy of okta.toml renamed and given without ``profile = "none"`` would be merged
    over Auth0: Auth0's endpoints and clients beside its own, 0% success, no word."""
    text = (Path(quotalab_profiles.__file__).parent / "okta.toml").read_text("utf-8")
    mine = write(tmp_path, text.replace('name = "okta"', 'name = "acme-idp"', 1))
    with pytest.raises(ConfigError, match=r'merged over .* start the file with profile = "none"'):
        load_config("auth0", mine)
    okta = write(tmp_path, '[provider]\nname = "okta"\n')
    with pytest.raises(ConfigError, match='start the file with profile = "okta"'):
        load_config("auth0", okta)
    assert load_config("okta", okta).settings.name == "okta"  # its own name: fine
    config = load_config("auth0", write(tmp_path, 'profile = "none"\n' + text))
    assert config.settings.name == "okta"
