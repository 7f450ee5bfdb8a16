"""The fast path's JWT-protected API side: a good token of ours answered without the wire.

An API request that differs from the last only by its bearer token is
planned once per method and URL (``_plan_api``, by the full provider's own
parsing); a token is then checked the way ``auth0.jwt_api`` checks it
(expiry, leeway, ``nbf``, audience, issuer, client and scopes under the
endpoint's claim names) and the same limiter decides. Anything else returns
None or False, and ``MockProvider.respond`` decides as always.
``FastProvider`` (``quotalab.sim.fast_provider``) builds on this class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server import auth0
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import read_request
from quotalab.server.request_ids import GENERATED
from quotalab.sim.deferred_counts import PLANS_MAX, DeferredCounts
from quotalab.sim.token_grants import Issued, TokenPlan
from quotalab.wire import HttpRequest, HttpResponse

__all__ = ["FastApi"]


class _ApiPlan:
    """A JWT-protected endpoint reached by one method and URL."""

    __slots__ = ("endpoint", "issuer", "ok_name")

    def __init__(self, endpoint: EndpointSpec, issuer: str, ok_name: str) -> None:
        self.endpoint = endpoint
        self.issuer = issuer
        self.ok_name = ok_name


class FastApi(DeferredCounts):
    """Answers API requests carrying a token of ours as ``provider`` would."""

    def __init__(self, provider: MockProvider) -> None:
        super().__init__(provider)
        self._api_plans: dict[tuple[str, str], _ApiPlan | None] = {}
        self._client_values: dict[str, Mapping[str, str]] = {}
        self._issued_clients: dict[tuple[_ApiPlan, TokenPlan], str | None] = {}

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

    def api_ok(self, request: HttpRequest) -> bool:
        """Answer API request ``request`` with its 2xx if that is proven cheaply; else nothing.

        True: the provider counted and limited it exactly as for its 2xx answer,
        which is not built (for callers that read only the status). False:
        nothing happened (a refusal writes no limiter state); ``respond`` answers.
        """
        headers = request.headers
        if len(headers) != 1 or headers[0][0] != "authorization" or request.body:
            return False
        plan = self._api_plans.get((request.method, request.url))
        if plan is None:
            return False
        claims = self._bearer_claims(plan, headers[0][1])
        if claims is None:
            return False
        return self._admit_api(plan, claims, self._claims_client(plan, claims))

    def api_ok_issued(self, request: HttpRequest, issued: Issued) -> bool:
        """``api_ok`` of ``request`` (no headers, no body) with ``issued``'s token as bearer.

        Decided on the token's claims, without its bytes: only for a token a
        client reads as issued (``Issued.direct``). False, too, for anything
        else ``api_ok`` would not answer.
        """
        if request.headers or request.body or not issued.direct:
            return False
        plan = self._api_plans.get((request.method, request.url))
        if plan is None or plan.endpoint.name in self.provider.faults.faults:
            return False
        # Client and scopes come from the token plan's own claims: one look per pair.
        key = (plan, issued.plan)
        if key in self._issued_clients:
            who = self._issued_clients[key]
        else:
            who = self._claims_client(plan, issued.claims)
            if len(self._issued_clients) >= PLANS_MAX:
                self._issued_clients.clear()
            self._issued_clients[key] = who
        return self._admit_api(plan, issued.claims, who)

    def _admit_api(self, plan: _ApiPlan, claims: dict[str, Any], who: str | None) -> bool:
        """The 2xx of ``plan`` for a verified token with ``claims`` of client ``who``
        (``_claims_client``), counted and limited."""
        p = self.provider
        now = p.clock.now()
        endpoint = plan.endpoint
        if who is None or auth0.token_problem(p, claims, endpoint.audience, plan.issuer, now):
            return False
        decision = p.limiter.admit(endpoint, "request", who, now)
        if decision is None or not decision.allowed:
            return False
        later = self._later.get(who)
        if later is None:
            self._count_now(who, "api_calls", "api_ok")
        else:
            later[2] += 1
            later[3] += 1
        self.answered += 1
        return True

    def _bearer_claims(self, plan: _ApiPlan, authorization: str) -> dict[str, Any] | None:
        """The claims of a bearer token our keys signed, if no fault is in force; else None."""
        p = self.provider
        if not authorization.startswith("Bearer ") or plan.endpoint.name in p.faults.faults:
            return None
        claims = p.keys.verify(authorization[7:])
        return claims if isinstance(claims, dict) else None

    def _claims_client(self, plan: _ApiPlan, claims: dict[str, Any]) -> str | None:
        """The client of a verified token with the scope ``plan`` wants, as ``auth0.jwt_api``
        reads them; None: the full path must decide (an unnamed client, a missing scope).
        Time claims are not looked at here (``auth0.token_problem``)."""
        endpoint = plan.endpoint
        who = claims.get(endpoint.client_claim)
        if not isinstance(who, str) or not who:
            return None
        if endpoint.scope:
            scopes: list[str] = []
            for name in endpoint.scope_claims:  # as ``jwt_api`` collects them
                granted = claims.get(name)
                if isinstance(granted, str):
                    scopes.extend(granted.split())
                elif isinstance(granted, list):
                    scopes.extend(item for item in granted if isinstance(item, str))
            if endpoint.scope not in scopes:
                return None
        return who

    def _api(self, plan: _ApiPlan, authorization: str) -> HttpResponse | None:
        """``auth0.jwt_api`` for a good token of ours; None: let the full path answer."""
        claims = self._bearer_claims(plan, authorization)
        if claims is None:
            return None
        who = self._claims_client(plan, claims)
        p = self.provider
        endpoint = plan.endpoint
        now = p.clock.now()
        if who is None or auth0.token_problem(p, claims, endpoint.audience, plan.issuer, now):
            return None
        p.counters.incr(who, "api_calls")
        rejected, headers = p.limit(endpoint, "request", who, now, "api_429")
        if rejected is not None:
            return rejected
        p.counters.incr(who, "api_ok")
        values = self._client_values.get(who)
        if values is None:
            if len(self._client_values) >= PLANS_MAX:
                self._client_values.clear()
            values = self._client_values[who] = {"client_id": who}
        return p.render_shared(plan.ok_name, values, headers)
