"""The admin endpoints refuse other sites, non-JSON bodies and, with a token set, strangers."""

from __future__ import annotations

from quotalab.server import MockProvider
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import BASE_URL, auth0_token_request
from server.conftest import MakeProvider

JSON = ("content-type", "application/json")
FORM = ("content-type", "application/x-www-form-urlencoded")


def _reset(provider: MockProvider, *headers: tuple[str, str], body: bytes = b"") -> HttpResponse:
    return provider.handle(HttpRequest("POST", "/_admin/reset", tuple(headers), body))


def _counted(provider: MockProvider) -> int:
    return int(provider.stats()["clients"]["demo-client"]["token_requests"])


def test_a_cross_site_form_post_cannot_reset_the_counts(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    response = _reset(provider, ("origin", "http://attacker.example"), FORM, body=b"a=1")
    assert response.status == 403
    assert response.json()["error"] == "access_denied"
    assert "Origin 'http://attacker.example'" in response.json()["error_description"]
    assert _counted(provider) == 1


def test_cross_site_and_non_json_admin_requests_are_403(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    for headers, body in (
        ((("origin", "null"),), b""),
        ((("origin", "http://127.0.0.1:9999"),), b""),  # another port is another site
        ((("host", "attacker.example:8000"),), b""),  # DNS rebinding
        ((FORM,), b"x=1"),
        ((("content-type", "text/plain"),), b"{}"),
        ((), b"{}"),
    ):
        assert _reset(provider, *headers, body=body).status == 403, headers
    assert _counted(provider) == 1
    faults = HttpRequest("PUT", "/_admin/faults", (FORM,), b"clock_offset_s=99")
    assert provider.handle(faults).status == 403
    assert provider.clock.offset_s == 0


def test_the_servers_own_pages_and_tools_are_served(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    same_site = (("origin", BASE_URL), ("host", "127.0.0.1:8000"), JSON)
    assert _reset(provider, *same_site, body=b"{}").status == 200
    assert _reset(provider, ("host", "localhost:8000")).status == 200
    assert _reset(provider).status == 200  # curl -X POST, no body
    assert provider.stats()["clients"] == {}


def test_with_an_admin_token_only_its_bearer_is_served(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.admin_token = "s3cret-token"
    provider.handle(auth0_token_request())
    assert _reset(provider).status == 403
    assert _reset(provider, ("authorization", "Bearer wrong")).status == 403
    assert _reset(provider, ("authorization", "Bearer s3cret-token\u00e9")).status == 403
    assert _counted(provider) == 1
    # Off loopback the Host is the server's public name: the token is what counts.
    served = _reset(
        provider, ("authorization", "Bearer s3cret-token"), ("host", "mock.internal:8000")
    )
    assert served.status == 200
    stats = HttpRequest("GET", "/_admin/stats", (("authorization", "Bearer s3cret-token"),))
    assert provider.handle(stats).status == 200


def test_a_malformed_origin_is_refused_not_a_crash(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    for origin in ("http://[::1", "http://127.0.0.1:notaport", "http://[::1]:8000]", "\x00"):
        response = _reset(provider, ("origin", origin))
        assert response.status == 403, origin
        assert response.json()["error"] == "access_denied"
    assert _counted(provider) == 1


def test_every_origin_header_is_checked(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    for origins in (
        (("origin", "http://attacker.example"), ("origin", BASE_URL)),
        (("origin", BASE_URL), ("Origin", "http://attacker.example")),
    ):
        assert _reset(provider, *origins).status == 403, origins
    assert _counted(provider) == 1
    assert _reset(provider, ("origin", BASE_URL), ("origin", BASE_URL)).status == 200
