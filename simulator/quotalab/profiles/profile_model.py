"""A provider described as data: endpoints, limit rules, clients and responses.

The loader builds these frozen values from TOML; the server core only reads
them. Adding a provider means adding a TOML file that combines the endpoint
``kind``s below with its own limits and exact response bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from quotalab.limits import Algorithm

EndpointKind = Literal[
    "auth0_token",  # client-credentials exchange answered with a signed JWT
    "jwt_api",  # a resource server validating the provider's JWTs
    "jwks",  # the public signing keys
    "discovery",  # OpenID Connect discovery document
    "twitter_token",  # app-only bearer token, one per app until invalidated
    "twitter_invalidate",  # revokes an app-only bearer token
    "bearer_api",  # an API accepting the opaque app-only bearer tokens
    "oauth2_token",  # RFC 6749 client credentials, form body, shaped by data (Entra, Okta)
]
ENDPOINT_KINDS: tuple[str, ...] = (
    "auth0_token",
    "jwt_api",
    "jwks",
    "discovery",
    "twitter_token",
    "twitter_invalidate",
    "bearer_api",
    "oauth2_token",
)
OAUTH2_TOKEN_ROLES: tuple[str, ...] = (
    "ok",
    "malformed",
    "missing_parameter",
    "missing_secret",
    "auth_method",
    "unknown_client",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unknown_resource",
    "scope_not_allowed",
    "multiple_auth_methods",
)
"""The outcomes an ``oauth2_token`` endpoint answers; each role names a response."""
PER_ANSWER_VALUES = frozenset(
    {"transaction", "trace_id", "correlation_id", "timestamp", "error_id", "jti"}
)
"""Placeholders any response may use: made up afresh for each answer (ids, timestamps)."""
LIMIT_VALUES = frozenset({"limit", "remaining", "reset_at", "reset_in", "retry_after", "period"})
"""Placeholders a limit rule's headers and its reject response may use."""
OAUTH2_TOKEN_ROLE_VALUES: dict[str, frozenset[str]] = {
    "ok": frozenset({"access_token", "expires_in", "scope"}),
    "malformed": frozenset({"description"}),
    "missing_parameter": frozenset({"name"}),
    "missing_secret": frozenset({"client_id"}),
    "auth_method": frozenset({"client_id"}),
    "multiple_auth_methods": frozenset({"client_id", "description"}),
    "unknown_client": frozenset({"client_id"}),
    "invalid_client": frozenset({"client_id"}),
    "unsupported_grant_type": frozenset({"grant_type"}),
    "invalid_scope": frozenset({"scope"}),
    "unknown_resource": frozenset({"audience"}),
    "scope_not_allowed": frozenset({"scope"}),
}
"""What each ``oauth2_token`` role fills in, besides ``PER_ANSWER_VALUES``."""
OAUTH2_CLAIM_VALUES = frozenset({"client_id", "audience", "issuer", "tenant", "jti", "scopes"})
"""Placeholders an ``oauth2_token`` endpoint's ``claims`` may use."""
DISCOVERY_VALUES = frozenset({"issuer", "base_url", "served_issuer"})
"""Placeholders a ``discovery`` endpoint's ``ok`` document may use: ``served_issuer`` is
this server's base URL plus ``issuer_path``, where the issuer's endpoints are served
whatever ``issuer`` names (a real tenant's URL, so tokens validate as in production)."""
KeyPart = Literal["tenant", "client", "endpoint", "request"]
AudienceFrom = Literal["scope", "endpoint"]
IetfFields = Literal["none", "structured", "legacy"]
ClaimValue = str | int | float | bool | tuple[str, ...]
Stage = Literal["request", "issue"]
TokenSigning = Literal["RS256", "HS256"]


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """One response, byte for byte; ``${name}`` placeholders are filled per request."""

    name: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True, slots=True)
class LimitRule:
    """An algorithm applied to a key built from ``key`` parts.

    A ``"request"`` key part is what a token request asks for (grant, scope,
    audience): identical requests share a key, which is how a loop detector
    tells a client asking again and again for the same token.
    ``stage="request"`` rules see every request before anything else;
    ``stage="issue"`` rules only count requests about to receive a token (the
    M2M quota). ``enforce=False`` counts without ever rejecting.
    ``ietf_fields`` adds the IETF RateLimit fields to ``headers``: ``structured``
    (``RateLimit-Policy: "<name>";q=..;w=..`` and ``RateLimit: "<name>";r=..;t=..``)
    or ``legacy`` (``RateLimit-Limit``, ``-Remaining``, ``-Reset``).
    """

    name: str
    algorithm: Algorithm
    key: tuple[KeyPart, ...]
    stage: Stage
    enforce: bool
    headers: tuple[tuple[str, str], ...]
    reject: str
    ietf_fields: IetfFields = "none"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Injected trouble on one endpoint: 503s and added latency."""

    probability: float = 0.0
    schedule: tuple[tuple[float, float], ...] = ()
    retry_after_s: int | None = None
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """A route and how it behaves; ``responses`` maps roles to response names."""

    name: str
    method: str
    path: str
    kind: str
    limits: tuple[str, ...]
    scope: str = ""
    audience: str = ""
    responses: tuple[tuple[str, str], ...] = ()
    # oauth2_token: accepted client authentication methods (first = preferred),
    # where the audience comes from, and the access token's claims.
    client_auth: tuple[str, ...] = ("client_secret_post", "client_secret_basic")
    audience_from: AudienceFrom = "scope"
    scope_suffix: str = ""
    claims: tuple[tuple[str, ClaimValue], ...] = ()
    # jwt_api: which claims hold the granted scopes (a string or a list) and the client.
    scope_claims: tuple[str, ...] = ("scope",)
    client_claim: str = "azp"

    def response(self, role: str, default: str) -> str:
        """The response name this endpoint uses for ``role``."""
        for key, value in self.responses:
            if key == role:
                return value
        return default


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A registered client (Auth0 application, Twitter app)."""

    client_id: str
    secret: str
    grant_types: tuple[str, ...] = ("client_credentials",)
    scopes: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    """Provider-wide values."""

    name: str
    tenant: str = "tenant"
    issuer: str = ""
    issuer_path: str = "/"
    token_signing: TokenSigning = "RS256"
    token_lifetime_s: int = 86400
    include_nbf: bool = False
    validation_leeway_s: float = 0.0
    clock_offset_s: float = 0.0
    max_body_bytes: int = 65536
    limits_enabled: bool = True
    seed: int = 0
    signing_key_file: str = ""
    # What a backing-off client of this provider should be ready to wait in all
    # for one call, and how long to cool down after a throttle that names no wait
    # (Twitter's 403 code 99): a budget shorter than the provider's windows
    # makes backoff give up where waiting would have worked.
    client_retry_budget_s: float = 120.0
    client_cooldown_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Everything a ``MockProvider`` needs, as loaded and validated."""

    settings: ProfileSettings
    endpoints: tuple[EndpointSpec, ...]
    limits: dict[str, LimitRule] = field(default_factory=dict)
    responses: dict[str, ResponseSpec] = field(default_factory=dict)
    clients: dict[str, ClientSpec] = field(default_factory=dict)
    audiences: dict[str, tuple[str, ...]] = field(default_factory=dict)
    faults: dict[str, FaultSpec] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    plans: dict[str, int] = field(default_factory=dict)
    """Monthly M2M token allowance per plan name, the first being the default."""
