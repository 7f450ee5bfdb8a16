"""How a registered client of a profile asks for its token: ``ClientSettings`` from data.

One answer for every adapter (the simulation, ``quotalab run``'s locust
users, tests): the token endpoint's kind gives the request style, and for
``oauth2_token`` endpoints the scope to ask for and the preferred client
authentication come from the profile too.
"""

from __future__ import annotations

from quotalab.errors import InputError
from quotalab.profiles.profile_model import ClientSpec, EndpointSpec, ProviderConfig
from quotalab.strategies.client_settings import ClientAuth, ClientSettings, Style

TOKEN_STYLES: dict[str, Style] = {
    "auth0_token": "auth0",
    "twitter_token": "twitter",
    "oauth2_token": "oauth2",
}


def token_endpoint(config: ProviderConfig) -> EndpointSpec:
    """The profile's client-credentials token endpoint (the first one listed)."""
    for endpoint in config.endpoints:
        if endpoint.kind in TOKEN_STYLES:
            return endpoint
    raise InputError(f"profile {config.settings.name!r} has no token endpoint")


def requested_scope(config: ProviderConfig, endpoint: EndpointSpec, client: ClientSpec) -> str:
    """The ``scope`` an ``oauth2_token`` client sends: ``<resource>/.default`` or its scopes."""
    if endpoint.kind != "oauth2_token":
        return ""
    if endpoint.audience_from == "scope":
        audience = client.audiences[0] if client.audiences else next(iter(config.audiences), "")
        return audience + endpoint.scope_suffix
    return " ".join(client.scopes)


def client_settings_for(
    config: ProviderConfig, client: ClientSpec, base_url: str
) -> ClientSettings:
    """Settings for ``client`` of ``config`` reaching the provider at ``base_url``."""
    endpoint = token_endpoint(config)
    style = TOKEN_STYLES[endpoint.kind]
    auth: ClientAuth = (
        "client_secret_basic"
        if endpoint.kind == "oauth2_token" and endpoint.client_auth[0] == "client_secret_basic"
        else "client_secret_post"
    )
    return ClientSettings(
        style=style,
        token_url=base_url.rstrip("/") + endpoint.path,
        client_id=client.client_id,
        client_secret=client.secret,
        audience=(client.audiences[0] if client.audiences else "") if style == "auth0" else "",
        scope=requested_scope(config, endpoint, client),
        api_base_url=base_url.rstrip("/"),
        client_auth=auth,
        retry_budget_s=config.settings.client_retry_budget_s,
        cooldown_s=config.settings.client_cooldown_s,
    )
