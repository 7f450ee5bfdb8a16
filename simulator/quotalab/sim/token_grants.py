"""Token requests the simulation's fast path knows, and the tokens it issues them.

A simulated client sends the same token request object every time. It is
read once with the full provider's own parsing and validation
(``plan_token``), and what never changes (endpoint, client, audience,
granted scopes, issuer) is kept as a ``TokenPlan``. ``TokenIssuer`` issues a
plan's tokens as ``auth0.token`` would, once per plan and second, and renders
a token's answer only when somebody reads it: a naive call played by
``quotalab.sim.scripted_calls`` needs the token's claims for its API request,
never its bytes.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import basic_credentials, declared_length, read_request
from quotalab.server.request_ids import GENERATED
from quotalab.sim.token_handles import HandleKeys
from quotalab.strategies.client_settings import access_token_of, with_bearer
from quotalab.wire import HttpRequest, HttpResponse

_BEARERS_MAX = 4096
_MARK = "qlmark7f3a"  # stands for the access token while a token answer's frame is made
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]+")
_MEMO_MAX = 4096


@dataclass(frozen=True, slots=True, eq=False)
class TokenPlan:
    """A client-credentials request the provider accepts, but for limits and faults.

    Compared and hashed by identity (it keys per-plan memos on every request):
    one plan per distinct request object.
    """

    endpoint: EndpointSpec
    client_id: str
    audience: str
    scope: str  # granted scopes, space-separated ("" when none)
    issuer: str
    response_name: str


def plan_token(p: MockProvider, request: HttpRequest) -> TokenPlan | None:
    """The plan of a token request ``p`` accepts as is; None: anything else."""
    incoming = read_request(request)
    endpoint = p.routes.get((incoming.method, incoming.path))
    if endpoint is None or endpoint.kind != "auth0_token":
        return None
    cap = p.settings.max_body_bytes
    if len(incoming.body) > cap or (declared_length(incoming.headers) or 0) > cap:
        return None
    fields = p.body_fields(incoming)
    if isinstance(fields, str):
        return None
    basic = (
        basic_credentials(incoming, url_decode=True)
        if "authorization" in incoming.headers
        else None
    )
    client_id = basic[0] if basic else fields.get("client_id", "")
    secret = basic[1] if basic else fields.get("client_secret", "")
    client = p.config.clients.get(client_id)
    if (
        fields.get("grant_type") != "client_credentials"
        or not client_id
        or client is None
        or not hmac.compare_digest(client.secret.encode(), secret.encode())
        or "client_credentials" not in client.grant_types
    ):
        return None
    audience = fields.get("audience", "")
    audience_scopes = p.config.audiences.get(audience)
    if not audience or audience_scopes is None:
        return None
    if client.audiences and audience not in client.audiences:
        return None
    allowed = [s for s in client.scopes if s in audience_scopes]
    requested = fields.get("scope")
    granted = allowed if requested is None else [s for s in requested.split() if s in allowed]
    name = "token_ok" if granted else "token_ok_no_scope"
    response_name = endpoint.response("ok" if granted else "ok_no_scope", name)
    if p.responses[response_name].names & GENERATED:
        return None  # a fresh id in every answer: nothing to render once
    return TokenPlan(
        endpoint, client_id, audience, " ".join(granted), p.issuer(incoming), response_name
    )


class Issued:
    """The token a plan got in one second; its answer is rendered when first read.

    ``claims`` are what the token was issued with. ``direct``: a client reads
    in the answer the very token signed for ``claims``, and the provider's
    keys give back exactly ``claims`` for it, so a request carrying it may be
    decided on ``claims`` alone (``FastProvider.api_ok_issued``).
    """

    __slots__ = ("_issuer", "_made", "claims", "direct", "issued_at", "plan")

    def __init__(
        self,
        issuer: TokenIssuer,
        plan: TokenPlan,
        issued_at: int,
        claims: dict[str, Any],
        direct: bool,
    ) -> None:
        self._issuer = issuer
        self.plan = plan
        self.issued_at = issued_at
        self.claims = claims
        self.direct = direct
        self._made: tuple[HttpResponse, str | None] | None = None

    def _rendered(self) -> tuple[HttpResponse, str | None]:
        made = self._made
        if made is None:
            made = self._made = self._issuer.render(self.plan, self.claims)
        return made

    @property
    def answer(self) -> HttpResponse:
        """The token answer without rate-limit headers (a flow reads only its body)."""
        return self._rendered()[0]

    @property
    def access_token(self) -> str | None:
        """The access token a client reads in ``answer`` (None: it finds none there)."""
        return self._rendered()[1]


class TokenIssuer:
    """Issues and renders plans' tokens for one provider, as ``auth0.token`` does."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        # Per plan: its last token (every token of one second carries the same claims).
        self._issued: dict[TokenPlan, Issued] = {}
        # Per plan: its answer rendered around a marker, the bytes either side of
        # the marker, and whether a client reads the marker as the access token.
        self._frames: dict[TokenPlan, tuple[HttpResponse, bytes, bytes, bool] | None] = {}
        self._shapes: dict[TokenPlan, tuple[dict[str, Any], dict[str, Any], int, bool, bool]] = {}
        self._claims_of_keys = isinstance(provider.keys, HandleKeys)  # verify(sign(c)) == c

    def issue(self, plan: TokenPlan, issued_at: int) -> Issued:
        """The token of ``plan`` issued at second ``issued_at`` (the same object all second)."""
        issued = self._issued.get(plan)
        if issued is not None and issued.issued_at == issued_at:
            return issued
        shape = self._shapes.get(plan)
        if shape is None:
            shape = self._shape(plan)
        head, tail, lifetime_s, nbf, direct = shape
        claims = head.copy()  # the claims ``auth0.token`` signs, in its order
        claims["iat"] = issued_at
        claims["exp"] = issued_at + lifetime_s
        if nbf:
            claims["nbf"] = issued_at
        claims.update(tail)
        issued = Issued(self, plan, issued_at, claims, direct)
        if len(self._issued) >= _MEMO_MAX:
            self._issued.clear()
        self._issued[plan] = issued
        return issued

    def _shape(self, plan: TokenPlan) -> tuple[dict[str, Any], dict[str, Any], int, bool, bool]:
        """What every token of ``plan`` shares: the claims before and after the time
        claims, the lifetime, whether ``nbf`` is set, and whether it is ``direct``."""
        settings = self.provider.settings
        head: dict[str, Any] = {
            "iss": plan.issuer,
            "sub": f"{plan.client_id}@clients",
            "aud": plan.audience,
        }
        tail: dict[str, Any] = {"scope": plan.scope} if plan.scope else {}
        tail["gty"] = "client-credentials"
        tail["azp"] = plan.client_id
        frame = self._frame(plan)
        direct = frame is not None and frame[3] and self._claims_of_keys
        shape = (head, tail, settings.token_lifetime_s, settings.include_nbf, direct)
        if len(self._shapes) >= _MEMO_MAX:
            self._shapes.clear()
        self._shapes[plan] = shape
        return shape

    def _values(self, plan: TokenPlan, access_token: str) -> Mapping[str, str]:
        return {
            "access_token": access_token,
            "scope": plan.scope,
            "expires_in": str(self.provider.settings.token_lifetime_s),
        }

    def _frame(self, plan: TokenPlan) -> tuple[HttpResponse, bytes, bytes, bool] | None:
        """``plan``'s answer rendered once with a marker for the token (None: not splicable)."""
        if plan in self._frames:
            return self._frames[plan]
        probe = self.provider.responses[plan.response_name].render(self._values(plan, _MARK))
        parts = probe.body.split(_MARK.encode())
        marked = len(parts) == 2 and not any(_MARK in v for v in probe.headers.values())
        frame = (probe, parts[0], parts[-1], access_token_of(probe.json()) == _MARK)
        if len(self._frames) >= _MEMO_MAX:
            self._frames.clear()
        self._frames[plan] = frame if marked else None
        return self._frames[plan]

    def render(self, plan: TokenPlan, claims: dict[str, Any]) -> tuple[HttpResponse, str | None]:
        """The answer of a token signed for ``claims``, and the access token a client reads.

        A token that JSON would not escape (handles and JWTs are letters,
        digits, ``.``, ``-`` and ``_``) is spliced into the plan's frame; anything
        else renders as usual. The token a client reads (``parse_token``) is the
        one signed when the frame's ``access_token`` is the marker, else what
        parsing the answer finds (None: none a client would take).
        """
        token = self.provider.keys.sign(claims)
        frame = self._frame(plan)
        if frame is None or not _PLAIN_TOKEN.fullmatch(token):
            answer = self.provider.responses[plan.response_name].render(self._values(plan, token))
            return answer, access_token_of(answer.json())
        probe, before, after, carries = frame
        answer = HttpResponse(probe.status, probe.headers, before + token.encode() + after)
        return answer, token if carries else access_token_of(answer.json())


class BearerRequests:
    """The API request a scripted call sends with a token, made once per request
    object and token (bounded: full, it starts over)."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[tuple[int, str], HttpRequest] = {}

    def of(self, request: HttpRequest, access_token: str) -> HttpRequest:
        """``request`` with ``access_token`` as its bearer credential."""
        key = (id(request), access_token)
        made = self._made.get(key)
        if made is None or made.url != request.url:  # an id reused by another request
            made = with_bearer(request, access_token)
            if len(self._made) >= _BEARERS_MAX:
                self._made.clear()
            self._made[key] = made
        return made
