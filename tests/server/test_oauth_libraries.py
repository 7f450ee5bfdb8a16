"""General OAuth libraries and Microsoft's MSAL fetch tokens from the Entra and Okta
profiles, over HTTPS signed by the server's throwaway CA, unmodified.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from quotalab.testing import QuotalabServer

pytestmark = pytest.mark.live

ENTRA_SCOPE = "https://api.quotalab.test/.default"


@pytest.fixture
def entra() -> Iterator[QuotalabServer]:
    server = QuotalabServer("entra", tls=True)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def okta() -> Iterator[QuotalabServer]:
    server = QuotalabServer("okta", tls=True)
    try:
        yield server
    finally:
        server.close()


def api_status(server: QuotalabServer, access_token: str) -> int:
    response = requests.get(
        f"{server.live_url}/api/data",
        headers={"authorization": f"Bearer {access_token}"},
        verify=server.ca_file,
        timeout=10,
    )
    return response.status_code


@pytest.mark.parametrize(
    ("profile", "token_path", "scope", "auth_method"),
    [
        ("entra", "/demo-tenant/oauth2/v2.0/token", ENTRA_SCOPE, "client_secret_post"),
        ("okta", "/oauth2/default/v1/token", "quotalab.read", "client_secret_basic"),
    ],
)
def test_authlib_fetches_a_token_over_tls(
    profile: str, token_path: str, scope: str, auth_method: str
) -> None:
    server = QuotalabServer(profile, tls=True)
    try:
        with AuthlibSession(
            "demo-client", "demo-secret", scope=scope, token_endpoint_auth_method=auth_method
        ) as client:
            token = client.fetch_token(
                server.live_url + token_path,
                grant_type="client_credentials",
                verify=server.ca_file,  # requests prefers REQUESTS_CA_BUNDLE to session.verify
            )
            assert token["token_type"] == "Bearer"
            assert api_status(server, token["access_token"]) == 200
            # authlib adds the bearer itself
            api = client.get(f"{server.live_url}/api/data", verify=server.ca_file)
            assert api.status_code == 200
        assert server.client_stats("demo-client")["tokens_issued"] == 1
    finally:
        server.close()


@pytest.mark.parametrize(
    ("profile", "token_path", "scope", "include_client_id"),
    [
        ("entra", "/demo-tenant/oauth2/v2.0/token", ENTRA_SCOPE, True),
        ("okta", "/oauth2/default/v1/token", "quotalab.read", False),  # Basic
    ],
)
def test_requests_oauthlib_fetches_a_token_over_tls(
    profile: str, token_path: str, scope: str, include_client_id: bool
) -> None:
    server = QuotalabServer(profile, tls=True)
    try:
        session = OAuth2Session(client=BackendApplicationClient(client_id="demo-client"))
        token = session.fetch_token(
            server.live_url + token_path,
            client_id="demo-client",
            client_secret="demo-secret",
            scope=[scope],
            include_client_id=include_client_id,
            verify=server.ca_file,
        )
        assert api_status(server, token["access_token"]) == 200
    finally:
        server.close()


def msal_app(
    server: QuotalabServer, monkeypatch: pytest.MonkeyPatch
) -> msal.ConfidentialClientApplication:
    """An unmodified MSAL confidential client pointed at the mock tenant.

    requests prefers ``REQUESTS_CA_BUNDLE`` over a session's ``verify``, so the
    CA is trusted the way ``quotalab serve --tls`` tells users to.
    """
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    return msal.ConfidentialClientApplication(
        "demo-client",
        client_credential="demo-secret",
        authority=f"{server.live_url}/demo-tenant",
        instance_discovery=False,  # no call to login.microsoftonline.com
        verify=server.ca_file,
    )


def test_msal_gets_a_token_from_the_entra_profile_and_caches_it(
    entra: QuotalabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = msal_app(entra, monkeypatch)
    first = app.acquire_token_for_client(scopes=[ENTRA_SCOPE])
    assert first.get("token_type") == "Bearer", first
    assert api_status(entra, first["access_token"]) == 200
    again = app.acquire_token_for_client(scopes=[ENTRA_SCOPE])
    assert again["access_token"] == first["access_token"]
    assert again.get("token_source") == "cache"
    assert entra.client_stats("demo-client")["token_requests"] == 1


def test_msal_python_cannot_parse_the_documented_plain_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded Entra 429 is bare text: MSAL Python fails to parse it, as in the field."""
    config = tmp_path / "entra.toml"
    config.write_text("[limits.token_throttle]\nlimit = 1\n")
    server = QuotalabServer("entra", str(config), tls=True)
    try:
        msal_app(server, monkeypatch).acquire_token_for_client(scopes=[ENTRA_SCOPE])
        fresh = msal_app(server, monkeypatch)
        with pytest.raises(ValueError):  # json.JSONDecodeError on "Too Many Requests"
            fresh.acquire_token_for_client(scopes=[ENTRA_SCOPE])
        assert server.client_stats("demo-client")["throttled_429"] == 1
    finally:
        server.close()


def test_msal_honours_the_throttled_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "entra.toml"
    config.write_text('[limits.token_throttle]\nlimit = 1\nreject = "throttled"\n')  # guessed JSON
    server = QuotalabServer("entra", str(config), tls=True)
    try:
        msal_app(server, monkeypatch).acquire_token_for_client(scopes=[ENTRA_SCOPE])
        fresh = msal_app(server, monkeypatch)  # an empty token cache: it must ask the server
        throttled = fresh.acquire_token_for_client(scopes=[ENTRA_SCOPE])
        assert throttled["error"] == "temporarily_unavailable"
        assert throttled["error_codes"] == [90055]
        assert server.client_stats("demo-client")["throttled_429"] == 1
        # MSAL keeps the 429 for Retry-After (60 s) and answers from it without calling.
        server.advance(61)  # the server would admit it now; MSAL's own clock has not moved
        again = fresh.acquire_token_for_client(scopes=[ENTRA_SCOPE])
        assert again["error"] == "temporarily_unavailable"
        assert server.client_stats("demo-client")["token_requests"] == 2
    finally:
        server.close()


def test_httpx_trusts_the_ca_file_through_ssl_cert_file(
    okta: QuotalabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", okta.ca_file)  # what quotalab serve --tls prints
    response = httpx.get(f"{okta.live_url}/oauth2/default/v1/keys")
    assert response.status_code == 200
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{okta.live_url}/oauth2/default/v1/keys")  # a CA nobody trusts


def test_a_storm_on_the_entra_profile_is_its_429(entra: QuotalabServer) -> None:
    entra.storm(30)
    with entra.client() as client:
        answer = client.post(
            "/demo-tenant/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "scope": ENTRA_SCOPE,
            },
        )
    assert answer.status_code == 429 and answer.headers["retry-after"] == "60"  # as written
    assert answer.text == "Too Many Requests"  # the profile's own (documented) 429


def test_a_storm_on_the_okta_profile_keeps_its_headers(okta: QuotalabServer) -> None:
    """Okta's throttle sends no Retry-After and keeps announcing its limit."""
    okta.storm(30)
    with okta.client() as client:
        answer = client.post(
            "/oauth2/default/v1/token",
            data={"grant_type": "client_credentials", "scope": "quotalab.read"},
            auth=("demo-client", "demo-secret"),
        )
    assert answer.status_code == 429 and answer.json()["errorCode"] == "E0000047"
    assert "retry-after" not in answer.headers
    assert answer.headers["x-rate-limit-limit"] == "1200"
    assert answer.headers["x-rate-limit-remaining"] == "0"
    assert int(answer.headers["x-rate-limit-reset"]) == math.ceil(okta.clock.now() + 30)
    assert "${" not in answer.text  # per-answer ids are filled in storms too
