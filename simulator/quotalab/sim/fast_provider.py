"""The simulation's fast path to the mock provider: same decisions, no wire work.

A simulated client sends the same token request object every time and API
requests that differ only by their bearer token. ``FastProvider`` reads
each distinct request once with the full provider's own parsing and
validation, keeps what never changes (endpoint, client, audience, granted
scopes, issuer) as a plan, and then answers each call through the
provider's own counters, fault plan and limiter (``MockProvider.limit``),
rendering with the profile's own responses. Tokens are opaque handles
(``quotalab.sim.token_handles``), so issuing and checking one is a lookup.

Everything else (an invalid or unknown request, an endpoint with a fault in
force, a token that is not ours, a refused token or scope, answers carrying
per-answer ids, other providers' flows) goes to the full
``MockProvider.respond``, which decides as always. The simulation's store is
in memory, so the limiter never raises ``StoreUnavailable`` here. One source of truth:
``tests/sim/test_fast_path.py`` plays random scenarios both ways and
requires identical reports.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server import auth0
from quotalab.server.mock_provider import MockProvider, ProviderReply
from quotalab.server.parsing import basic_credentials, declared_length, read_request
from quotalab.server.request_ids import GENERATED
from quotalab.wire import HttpRequest, HttpResponse

_MARK = "qlmark7f3a"  # stands for the access token while a token answer's frame is made
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]+")
_PLANS_MAX = 4096  # distinct request objects remembered (strategies reuse a handful)


@dataclass(frozen=True, slots=True)
class _TokenPlan:
    """A client-credentials request the provider accepts, but for limits and faults."""

    endpoint: EndpointSpec
    client_id: str
    audience: str
    scope: str  # granted scopes, space-separated ("" when none)
    issuer: str
    response_name: str


@dataclass(frozen=True, slots=True)
class _ApiPlan:
    """A JWT-protected endpoint reached by one method and URL."""

    endpoint: EndpointSpec
    issuer: str
    ok_name: str


class FastProvider:
    """Answers the simulation's requests as ``provider`` would, without parsing them."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self._token_plans: dict[int, tuple[HttpRequest, _TokenPlan | None]] = {}
        self._api_plans: dict[tuple[str, str], _ApiPlan | None] = {}
        self._client_values: dict[str, Mapping[str, str]] = {}
        self._replies: dict[int, ProviderReply] = {}  # id(response) -> its reply
        # Per plan: the second of its last token and that token's answer without
        # rate-limit headers (those change with every request; the body does not).
        self._issued: dict[_TokenPlan, tuple[int, HttpResponse]] = {}
        self._frames: dict[_TokenPlan, tuple[HttpResponse, bytes, bytes] | None] = {}
        self.answered = 0  # requests answered on the fast path
        self.delegated = 0  # requests handed to the full provider path

    def handle(self, request: HttpRequest) -> HttpResponse:
        return self.respond(request).response

    def respond(self, request: HttpRequest) -> ProviderReply:
        """Answer ``request`` and say how much latency to inject first."""
        entry = self._token_plans.get(id(request))
        if entry is not None and entry[0] is request:
            plan = entry[1]
            if plan is None or plan.endpoint.name in self.provider.faults.faults:
                self.delegated += 1
                return self.provider.respond(request)
            self.answered += 1
            return self._reply(self._token(plan))
        headers = request.headers
        if len(headers) == 1 and headers[0][0] == "authorization" and not request.body:
            key = (request.method, request.url)
            api = self._api_plans.get(key)
            if api is None and key not in self._api_plans:
                api = self._api_plans[key] = self._plan_api(request)
            if api is not None:
                response = self._api(api, headers[0][1])
                if response is not None:
                    self.answered += 1
                    return self._reply(response)
            self.delegated += 1
            return self.provider.respond(request)
        if len(self._token_plans) >= _PLANS_MAX:
            self._token_plans.clear()
        self._token_plans[id(request)] = (request, self._plan_token(request))
        return self.respond(request)

    def _reply(self, response: HttpResponse) -> ProviderReply:
        """``response`` with no added latency; shared answers share their reply."""
        reply = self._replies.get(id(response))
        if reply is None or reply.response is not response:
            reply = ProviderReply(response)  # keeps ``response`` alive: its id stays its own
            if len(self._replies) >= _PLANS_MAX:
                self._replies.clear()
            self._replies[id(response)] = reply
        return reply

    # -- token endpoint ---------------------------------------------------

    def _plan_token(self, request: HttpRequest) -> _TokenPlan | None:
        """The plan of a token request the provider accepts as is; None: anything else."""
        p = self.provider
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
        return _TokenPlan(
            endpoint, client_id, audience, " ".join(granted), p.issuer(incoming), response_name
        )

    def _token(self, plan: _TokenPlan) -> HttpResponse:
        """``auth0.token`` for a request known to be valid (see ``_plan_token``)."""
        p = self.provider
        now = p.clock.now()
        who, endpoint = plan.client_id, plan.endpoint
        # ``admit_token_request`` without its fault check: no fault is in force here.
        p.counters.incr(who, "token_requests")
        rejected, headers = p.limit(endpoint, "request", who, now, "throttled_429")
        if rejected is not None:
            return rejected
        quota_rejected, quota_headers = p.limit(endpoint, "issue", who, now, "throttled_429")
        if quota_headers:
            headers = {**headers, **quota_headers}
        if quota_rejected is not None:
            return auth0.with_headers(quota_rejected, headers)
        issued_at = int(now)
        issued = self._issued.get(plan)
        if issued is None or issued[0] != issued_at:
            # Every token of one second carries the same claims: issue once, reuse.
            values = self._token_values(plan, issued_at)
            issued = self._issued[plan] = (issued_at, self._token_answer(plan, values))
        p.counters.incr(who, "tokens_issued")
        # What ``render(values, headers)`` gives: the rendered headers, then these.
        return auth0.with_headers(issued[1], headers)

    def _token_answer(self, plan: _TokenPlan, values: Mapping[str, str]) -> HttpResponse:
        """``render(values)`` of the token answer; the body around the token is filled once.

        The answer is rendered once per plan with a marker for the token, and the
        bytes around the marker are kept; a token that JSON would not escape
        (handles and JWTs are letters, digits, ``.``, ``-`` and ``_``) is then
        spliced in. Anything else renders as usual.
        """
        token = values["access_token"]
        frame = self._frames.get(plan)
        if frame is None:
            probe = self.provider.responses[plan.response_name].render(
                {**values, "access_token": _MARK}
            )
            parts = probe.body.split(_MARK.encode())
            marked = len(parts) == 2 and not any(_MARK in v for v in probe.headers.values())
            frame = self._frames[plan] = (probe, parts[0], parts[-1]) if marked else None
        if frame is None or not _PLAIN_TOKEN.fullmatch(token):
            return self.provider.responses[plan.response_name].render(values)
        probe, before, after = frame
        return HttpResponse(probe.status, probe.headers, before + token.encode() + after)

    def _token_values(self, plan: _TokenPlan, issued_at: int) -> Mapping[str, str]:
        """The token response's values for a token issued at ``issued_at``."""
        p = self.provider
        lifetime_s = p.settings.token_lifetime_s
        claims: dict[str, Any] = {
            "iss": plan.issuer,
            "sub": f"{plan.client_id}@clients",
            "aud": plan.audience,
            "iat": issued_at,
            "exp": issued_at + lifetime_s,
        }
        if p.settings.include_nbf:
            claims["nbf"] = issued_at
        if plan.scope:
            claims["scope"] = plan.scope
        claims["gty"] = "client-credentials"
        claims["azp"] = plan.client_id
        return {
            "access_token": p.keys.sign(claims),
            "scope": plan.scope,
            "expires_in": str(lifetime_s),
        }

    # -- JWT-protected API ------------------------------------------------

    def _plan_api(self, request: HttpRequest) -> _ApiPlan | None:
        p = self.provider
        incoming = read_request(request)
        if incoming.path.startswith("/_admin/"):
            return None
        endpoint = p.routes.get((incoming.method, incoming.path))
        if endpoint is None or endpoint.kind != "jwt_api":
            return None
        ok_name = endpoint.response("ok", "api_data_ok")
        if p.responses[ok_name].names & GENERATED:
            return None  # a fresh id in every answer: nothing to share
        return _ApiPlan(endpoint, p.issuer(incoming), ok_name)

    def _api(self, plan: _ApiPlan, authorization: str) -> HttpResponse | None:
        """``auth0.jwt_api`` for a good token of ours; None: let the full path answer."""
        p = self.provider
        endpoint = plan.endpoint
        if not authorization.startswith("Bearer ") or endpoint.name in p.faults.faults:
            return None
        claims = p.keys.verify(authorization[7:])
        if not isinstance(claims, dict):
            return None
        who = claims.get("azp")
        if not isinstance(who, str) or not who:
            return None
        now = p.clock.now()
        if auth0.token_problem(p, claims, endpoint.audience, plan.issuer, now):
            return None
        scope = claims.get("scope")
        if endpoint.scope and endpoint.scope not in (
            scope.split() if isinstance(scope, str) else ()
        ):
            return None
        p.counters.incr(who, "api_calls")
        rejected, headers = p.limit(endpoint, "request", who, now, "api_429")
        if rejected is not None:
            return rejected
        p.counters.incr(who, "api_ok")
        values = self._client_values.get(who)
        if values is None:
            if len(self._client_values) >= _PLANS_MAX:
                self._client_values.clear()
            values = self._client_values[who] = {"client_id": who}
        return p.render_shared(plan.ok_name, values, headers)
