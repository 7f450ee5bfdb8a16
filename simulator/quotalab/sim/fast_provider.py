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
from typing import Any, NamedTuple

from quotalab.profiles.profile_model import EndpointSpec, LimitRule
from quotalab.server import auth0
from quotalab.server.mock_provider import MockProvider, ProviderReply, refusal_counter
from quotalab.server.parsing import basic_credentials, declared_length, read_request
from quotalab.server.request_ids import GENERATED
from quotalab.server.throttle import template_values
from quotalab.strategies.client_settings import access_token_of
from quotalab.wire import HttpRequest, HttpResponse

_MARK = "qlmark7f3a"  # stands for the access token while a token answer's frame is made
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]+")
_PLANS_MAX = 4096  # distinct request objects remembered (strategies reuse a handful)


@dataclass(frozen=True, slots=True, eq=False)
class _TokenPlan:
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


class Issued(NamedTuple):
    """The token a plan got in one second: its answer without rate-limit headers, and
    the access token a client reads in it (None: a client finds none there)."""

    issued_at: int
    answer: HttpResponse
    access_token: str | None


def _access_token(answer: HttpResponse) -> str | None:
    """What ``parse_token`` reads as the access token of ``answer`` (None: it would raise)."""
    return access_token_of(answer.json())


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A stretch in which the token endpoint's one request rule refuses everybody alike."""

    until: float  # provider time: every token request before it is refused
    response: HttpResponse  # the refusal that opened it: status and body hold throughout
    counter: str  # the counter each refusal adds besides ``token_requests``
    rule: LimitRule  # the rule refusing


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
        self._issued: dict[_TokenPlan, Issued] = {}
        self._frames: dict[_TokenPlan, tuple[HttpResponse, bytes, bytes, bool] | None] = {}
        self._refusals: dict[str, _Refusal] = {}  # by the refusing rule's store key
        self._refusal_keys: dict[_TokenPlan, str] = {}  # a plan's key there, once known
        self.proves_refusals = False  # whether ``grant`` proves refusals (it costs a little)
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
            response = self._token(plan)
            assert isinstance(response, HttpResponse)
            return self._reply(response)
        headers = request.headers
        if len(headers) == 1 and headers[0][0] == "authorization" and not request.body:
            key = (request.method, request.url)
            api = self._api_plans.get(key)
            if api is None and key not in self._api_plans:
                api = self._api_plans[key] = self._plan_api(request)
            if api is not None:
                api_answer = self._api(api, headers[0][1])
                if api_answer is not None:
                    self.answered += 1
                    return self._reply(api_answer)
            self.delegated += 1
            return self.provider.respond(request)
        if len(self._token_plans) >= _PLANS_MAX:
            self._token_plans.clear()
        self._token_plans[id(request)] = (request, self._plan_token(request))
        return self.respond(request)

    def _known_plan(self, request: HttpRequest) -> _TokenPlan | None:
        """The plan of token request ``request`` when it is known here and no fault is in force."""
        entry = self._token_plans.get(id(request))
        if entry is None or entry[0] is not request or entry[1] is None:
            return None
        plan = entry[1]
        return None if plan.endpoint.name in self.provider.faults.faults else plan

    def _proven_refusal(self, plan: _TokenPlan) -> HttpResponse | None:
        """The refusal ``plan``'s token request is proven to get now, counted; or None.

        Proven after a real refusal by the endpoint's one request rule: until
        that rule could admit again (``Limiter.rejected_until``) every token
        request it decides is refused with the same status and body and
        changes no limiter state, so the provider's only effect is its
        counters, added here. The headers of the response returned are those
        of the opening refusal: their numbers (remaining, reset) are not this
        request's, so only a caller that reads status and body may use it.
        """
        key = self._refusal_keys.get(plan)
        refusal = None if key is None else self._refusals.get(key)
        if refusal is None or self.provider.clock.now() >= refusal.until:
            return None
        self.provider.counters.incr_pair(plan.client_id, "token_requests", refusal.counter)
        return refusal.response

    def _note_refusal(self, plan: _TokenPlan, now: float) -> None:
        """If the token endpoint's rule refuses now, remember until when, and its refusal."""
        if not self.proves_refusals:
            return
        p = self.provider
        proof = p.limiter.rejected_until(plan.endpoint, "request", plan.client_id, now)
        if proof is None:
            return
        until, rule, key, decision = proof
        known = self._refusals.get(key)
        if known is not None and known.rule is rule:
            response, counter = known.response, known.counter  # status and body never change
        else:
            reject = p.responses[rule.reject]
            if not reject.static_body or reject.names & GENERATED:
                return
            # Status and body are what every refusal of the rule carries; the
            # headers are this instant's (``refused`` says who may rely on what).
            response = reject.render(template_values(rule, decision, now))
            counter = refusal_counter(response.status, "throttled_429")
        if len(self._refusal_keys) >= _PLANS_MAX:
            self._refusal_keys.clear()
        self._refusal_keys[plan] = key
        if len(self._refusals) >= _PLANS_MAX:
            self._refusals.clear()
        self._refusals[key] = _Refusal(until, response, counter, rule)

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

    def grant(self, request: HttpRequest) -> Issued | HttpResponse | None:
        """Token request ``request`` decided for a caller that reads little of the answer.

        The token issued (its answer without the rate-limit headers: a flow
        reads only the body), or the refusal (status and body exact; its
        headers may be another instant's: inside a proven refusal the limiter
        is not asked at all, see ``_proven_refusal``). None: not a request
        known here, or a fault is in force: ``respond`` decides. The provider's
        counters and limits change exactly as for ``respond``.
        """
        plan = self._known_plan(request)
        if plan is None:
            return None
        self.answered += 1
        refused = self._proven_refusal(plan)
        return refused if refused is not None else self._token(plan, answer=False)

    def _token(self, plan: _TokenPlan, *, answer: bool = True) -> HttpResponse | Issued:
        """``auth0.token`` for a request known to be valid (see ``_plan_token``).

        ``answer`` False: return the token issued instead of the 2xx, and
        skip the rate-limit texts where no answer needs them (see ``grant``).
        """
        p = self.provider
        now = p.clock.now()
        who, endpoint, limiter = plan.client_id, plan.endpoint, p.limiter
        # ``admit_token_request`` without its fault check: no fault is in force here.
        p.counters.incr(who, "token_requests")
        headers: dict[str, str] = {}
        # ``admit`` applies nothing unless one rule decides, and a refusal writes
        # nothing: when it says no, ``limit`` decides the same and says why.
        if answer or not limiter.admit(endpoint, "request", who, now):
            rejected, headers = p.limit(endpoint, "request", who, now, "throttled_429")
            if rejected is not None:
                self._note_refusal(plan, now)
                return rejected
        if answer or not limiter.admit(endpoint, "issue", who, now):
            quota_rejected, quota_headers = p.limit(endpoint, "issue", who, now, "throttled_429")
            if quota_headers:
                headers = {**headers, **quota_headers}
            if quota_rejected is not None:
                return auth0.with_headers(quota_rejected, headers)
        issued_at = int(now)
        issued = self._issued.get(plan)
        if issued is None or issued[0] != issued_at:
            # Every token of one second carries the same claims: issue once, reuse.
            made, token = self._token_answer(plan, self._token_values(plan, issued_at))
            issued = self._issued[plan] = Issued(issued_at, made, token)
        p.counters.incr(who, "tokens_issued")
        self._note_refusal(plan, now)  # this token may have emptied the bucket
        if not answer:
            return issued
        # What ``render(values, headers)`` gives: the rendered headers, then these.
        return auth0.with_headers(issued[1], headers)

    def _token_answer(
        self, plan: _TokenPlan, values: Mapping[str, str]
    ) -> tuple[HttpResponse, str | None]:
        """``render(values)`` of the token answer, and the access token a client reads in it.

        The answer is rendered once per plan with a marker for the token, and the
        bytes around the marker are kept; a token that JSON would not escape
        (handles and JWTs are letters, digits, ``.``, ``-`` and ``_``) is then
        spliced in. Anything else renders as usual. The token a client reads
        (``parse_token``) is the one given when the marked answer's
        ``access_token`` is the marker, else what parsing the answer finds
        (None: the answer has none a client would take).
        """
        token = values["access_token"]
        if plan not in self._frames:
            probe = self.provider.responses[plan.response_name].render(
                {**values, "access_token": _MARK}
            )
            parts = probe.body.split(_MARK.encode())
            marked = len(parts) == 2 and not any(_MARK in v for v in probe.headers.values())
            self._frames[plan] = (
                (probe, parts[0], parts[-1], _access_token(probe) == _MARK) if marked else None
            )
        frame = self._frames[plan]
        if frame is None or not _PLAIN_TOKEN.fullmatch(token):
            answer = self.provider.responses[plan.response_name].render(values)
            return answer, _access_token(answer)
        probe, before, after, carries = frame
        answer = HttpResponse(probe.status, probe.headers, before + token.encode() + after)
        return answer, token if carries else _access_token(answer)

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
        who = self._api_client(plan, headers[0][1])
        p = self.provider
        if who is None or not p.limiter.admit(plan.endpoint, "request", who, p.clock.now()):
            return False
        p.counters.incr(who, "api_calls")
        p.counters.incr(who, "api_ok")
        self.answered += 1
        return True

    def _api_client(self, plan: _ApiPlan, authorization: str) -> str | None:
        """The client of a good token of ours for ``plan``; None: the full path must decide."""
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
        if auth0.token_problem(p, claims, endpoint.audience, plan.issuer, p.clock.now()):
            return None
        scope = claims.get("scope")
        if endpoint.scope and endpoint.scope not in (
            scope.split() if isinstance(scope, str) else ()
        ):
            return None
        return who

    def _api(self, plan: _ApiPlan, authorization: str) -> HttpResponse | None:
        """``auth0.jwt_api`` for a good token of ours; None: let the full path answer."""
        who = self._api_client(plan, authorization)
        if who is None:
            return None
        p = self.provider
        endpoint = plan.endpoint
        now = p.clock.now()
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
