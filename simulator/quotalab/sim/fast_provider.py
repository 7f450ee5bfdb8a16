"""The simulation's fast path to the mock provider: same decisions, no wire work.

A simulated client sends the same token request object every time and API
requests that differ only by their bearer token. ``FastProvider`` reads
each distinct request once with the full provider's own parsing and
validation (``quotalab.sim.token_grants``), and then answers each call
through the provider's own counters, fault plan and limiter
(``MockProvider.limit``), rendering with the profile's own responses. Tokens
are opaque handles (``quotalab.sim.token_handles``), so issuing and checking
one is a lookup. This module decides the token endpoint and dispatches; the
API side is ``quotalab.sim.fast_api`` and the counts added in bulk
``quotalab.sim.deferred_counts``, both built on by ``FastProvider``.

Everything else (an invalid or unknown request, an endpoint with a fault in
force, a token that is not ours, a refused token or scope, answers carrying
per-answer ids, other providers' flows) goes to the full
``MockProvider.respond``, which decides as always. The simulation's store is
in memory, so the limiter never raises ``StoreUnavailable`` here. One source of truth:
``tests/sim/test_fast_path.py`` plays random scenarios both ways and
requires identical reports.
"""

from __future__ import annotations

from collections.abc import Iterable

from quotalab.server import auth0
from quotalab.server.mock_provider import MockProvider, ProviderReply
from quotalab.server.request_plans import PlanMemo, RequestPlan
from quotalab.server.throttle import UNLIMITED, merged_headers
from quotalab.sim.deferred_counts import LATER_AT, PLANS_MAX
from quotalab.sim.fast_api import FastApi
from quotalab.sim.refusal_proofs import RefusalProofs, RefusalWindow
from quotalab.sim.token_grants import Issued, TokenIssuer, TokenPlan, plan_token
from quotalab.wire import HttpRequest, HttpResponse

__all__ = ["FastProvider", "Issued", "RefusalWindow"]


class FastProvider(FastApi):
    """Answers the simulation's requests as ``provider`` would, without parsing them."""

    def __init__(self, provider: MockProvider) -> None:
        super().__init__(provider)
        self._issuer = TokenIssuer(provider)
        self._token_plans: dict[int, tuple[HttpRequest, TokenPlan | None]] = {}
        self._replies: dict[int, ProviderReply] = {}  # id(response) -> its reply
        self._reads: PlanMemo[int, RequestPlan] = PlanMemo(PLANS_MAX)  # id(request) -> read
        self._proofs = RefusalProofs(provider)
        self._plan_windows = self._proofs.plan_windows  # read on every proven refusal
        self._plan_quotas = self._proofs.plan_quotas
        self.proves_refusals = False  # whether ``grant`` proves refusals (it costs a little)
        # ``grant_exact``'s refusals: a window's at an instant (and the window's ``until``
        # then: its stretch), and the last one given.
        self._refused_now: dict[RefusalWindow, tuple[float, HttpResponse, float]] = {}
        self._last_refused: tuple[RefusalWindow, float, HttpResponse] | None = None
        self._quota_refuses: dict[TokenPlan, bool] = {}  # may an issue-stage rule refuse?
        self.delegated = 0  # requests handed to the full provider path

    def handle(self, request: HttpRequest) -> HttpResponse:
        return self.respond(request).response

    def purpose_of(self, request: HttpRequest) -> str | None:
        """``MockProvider.purpose_of``: what the provider counts ``request`` as."""
        return self.provider.purpose_of(request)

    def respond(self, request: HttpRequest) -> ProviderReply:
        """Answer ``request`` and say how much latency to inject first."""
        entry = self._token_plans.get(id(request))
        if entry is not None and entry[0] is request:
            plan = entry[1]
            if plan is None or plan.endpoint.name in self.provider.faults.faults:
                self.delegated += 1
                return self._delegate(request)
            self.answered += 1
            response = self._token(plan, answer=True)
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
            return self._delegate(request)
        if len(self._token_plans) >= PLANS_MAX:
            self._token_plans.clear()
        self._token_plans[id(request)] = (request, plan_token(self.provider, request))
        return self.respond(request)

    def _delegate(self, request: HttpRequest) -> ProviderReply:
        """``MockProvider.respond`` of ``request``, its reading (``MockProvider.read``:
        bytes and profile alone) kept for the same request object sent again, as the
        server keeps it for the same bytes: other providers' token requests and API
        requests with a token not decided here are read once, not once a call."""
        read = self._reads.get(id(request))
        if read is None or read.request is not request:
            read = self.provider.read(request)
            self._reads.put(id(request), read)  # keeps ``request`` alive: its id stays its own
        return self.provider.answer(read)

    def _known_plan(self, request: HttpRequest) -> TokenPlan | None:
        """The plan of token request ``request`` when it is known here and no fault is in force."""
        entry = self._token_plans.get(id(request))
        if entry is None or entry[0] is not request or entry[1] is None:
            return None
        plan = entry[1]
        return None if plan.endpoint.name in self.provider.faults.faults else plan

    def _reply(self, response: HttpResponse) -> ProviderReply:
        """``response`` with no added latency; shared answers share their reply."""
        reply = self._replies.get(id(response))
        if reply is None or reply.response is not response:
            reply = ProviderReply(response)  # keeps ``response`` alive: its id stays its own
            if len(self._replies) >= PLANS_MAX:
                self._replies.clear()
            self._replies[id(response)] = reply
        return reply

    # -- token endpoint ---------------------------------------------------

    def proven_refusal(self, request: HttpRequest) -> RefusalWindow | None:
        """The refusal token request ``request`` is proven to get now, not counted; or None.

        Proven after a real refusal by the endpoint's one request rule: until
        that rule could admit again (``Limiter.rejected_until``) every token
        request it decides is refused with the same status and body and
        changes no limiter state, so the provider's only effect is its
        counters: ``count_refused`` adds them, at once or for many at a time.
        The headers of the window's response are those of the refusal that
        opened it: their numbers (remaining, reset) are not this request's,
        so only a caller that reads status and body may use it.
        """
        entry = self._token_plans.get(id(request))
        if entry is None or entry[0] is not request:
            return None
        window = self._plan_windows.get(entry[1])  # type: ignore[arg-type]
        if window is None:
            return None
        p = self.provider
        if p.clock.now() >= window.until or window.endpoint_name in p.faults.faults:
            return None
        return window

    def counted_id(self, request: HttpRequest) -> str:
        """Whom the provider counts token request ``request`` for: one ``proven_refusal``
        has just answered (the plans known here are forgotten when too many)."""
        entry = self._token_plans.get(id(request))
        assert entry is not None and entry[0] is request and entry[1] is not None
        return entry[1].client_id

    def count_refused(self, counted_id: str, counter: str, calls: int) -> None:
        """Count ``calls`` proven refusals of ``counted_id`` (``counter``: their window's)."""
        counters = self.provider.counters
        client_id = counted_id
        if calls == 1:
            counters.incr_pair(client_id, "token_requests", counter)
        else:
            counters.incr(client_id, "token_requests", calls)
            counters.incr(client_id, counter, calls)
        self.answered += calls

    def grant(self, request: HttpRequest) -> Issued | HttpResponse | None:
        """Token request ``request`` decided for a caller that reads little of the answer.

        The token issued (its answer, rendered when read, carries no rate-limit
        headers: a flow reads only the body), or the refusal (status and body
        exact). None: not a request known here, or a fault is in force:
        ``respond`` decides. The provider's counters and limits change exactly
        as for ``respond``. The limiter is asked: a caller looks for a proven
        refusal first (``proven_refusal``), where it need not be.
        """
        plan = self._known_plan(request)
        if plan is None:
            return None
        self.answered += 1
        return self._token(plan, answer=False)

    def grant_exact(self, request: HttpRequest) -> Issued | HttpResponse | None:
        """``grant`` for a caller that reads a refusal's headers too (a retrying client
        reads its wait there): every refusal exactly as ``respond`` renders it now.

        Inside a proven refusal the limiter is asked once per instant and window
        (nothing changes its key at that instant: a refusal writes nothing), or
        once per stretch where its answer is proven to read the same throughout
        (``RefusalProofs.steady``); later requests refused in the same
        window then get the same answer (``refuse_alike`` counts many at once).
        A quota that may refuse an issued token is decided by the full limits,
        whose refusal carries every rule's headers.
        """
        plan = self._known_plan(request)
        if plan is None:
            return None
        self.answered += 1
        p = self.provider
        now = p.clock.now()
        window = self._plan_windows.get(plan)
        if window is not None and now < window.until:
            same = self._refused_now.get(window)
            steady = window.steady
            if steady is None:
                steady = self._proofs.steady(window)
            if same is not None and not (same[0] == now or (same[2] == window.until and steady)):
                same = None  # neither this instant's refusal nor this steady stretch's
            if same is None and steady:  # one refusal all stretch long
                refusal = self._proofs.exact_refusal(window)
                self._refused_at(window, now, refusal)
                same = (now, refusal, window.until)
            if same is not None:
                who = plan.client_id
                later = self._later.get(who)
                if later is None:
                    self._count_now(who, "token_requests", window.counter)
                else:
                    later[0] += 1
                    later[LATER_AT[window.counter]] += 1
                self._last_refused = (window, now, same[1])
                return same[1]
            p.counters.incr(plan.client_id, "token_requests")
            rejected, _ = p.limit(plan.endpoint, "request", plan.client_id, now, "throttled_429")
            assert rejected is not None, "a proven refusal was admitted"
            self._refused_at(window, now, rejected)
            return rejected
        full = self._quota_refuses.get(plan)
        if full is None:
            if len(self._quota_refuses) >= PLANS_MAX:
                self._quota_refuses.clear()
            rules = p.limiter.rules
            full = self._quota_refuses[plan] = any(
                rules[name].stage == "issue" and rules[name].enforce
                for name in plan.endpoint.limits
                if name in rules
            )
        if full:
            response = self._token(plan, answer=True)
            assert isinstance(response, HttpResponse)
            if 200 <= response.status < 300:
                return self._issuer.issue(plan, int(now))  # the token just issued
            return response
        answer = self._token(plan, answer=False)
        if isinstance(answer, HttpResponse):  # refused: by a rule now proven to refuse?
            window = self._plan_windows.get(plan)
            if window is not None and now < window.until:
                self._refused_at(window, now, answer)
        return answer

    def _refused_at(self, window: RefusalWindow, now: float, refusal: HttpResponse) -> None:
        """``refusal`` is what every request of ``window`` gets at ``now``."""
        if len(self._refused_now) >= PLANS_MAX:
            self._refused_now.clear()
        self._refused_now[window] = (now, refusal, window.until)
        self._last_refused = (window, now, refusal)

    def refuse_alike(self, requests: Iterable[HttpRequest], refusal: HttpResponse) -> int:
        """How many of ``requests`` (token requests sent now, in order) are refused
        with ``refusal``, the proven refusal ``grant_exact`` gave just before them
        at this instant; those are counted as ``grant_exact`` counts them.
        ``requests`` is read no further than the first one that is not.

        They are, up to the first one whose plan is refused in another window
        (or is not known here, or has a fault in force): nothing can change a
        window's key at this instant (a refusal writes nothing).
        """
        last = self._last_refused
        p = self.provider
        if last is None or last[2] is not refusal or last[1] != p.clock.now():
            return 0
        window = last[0]
        plans, windows, laters = self._token_plans, self._plan_windows, self._later
        faults = p.faults.faults
        counter = window.counter
        at = LATER_AT[counter]
        n = 0
        for request in requests:
            entry = plans.get(id(request))
            if entry is None or entry[0] is not request:
                break
            plan = entry[1]
            if plan is None or windows.get(plan) is not window:
                break
            if faults and plan.endpoint.name in faults:
                break
            later = laters.get(plan.client_id)  # counted as ``grant_exact`` counts it
            if later is None:
                self._count_now(plan.client_id, "token_requests", counter)
            else:
                later[0] += 1
                later[at] += 1
            n += 1
        self.answered += n
        return n

    def _token(self, plan: TokenPlan, *, answer: bool) -> HttpResponse | Issued:
        """``auth0.token`` for a request known to be valid (see ``plan_token``).

        ``answer`` False: return the token issued instead of the 2xx, and
        skip the rate-limit texts where no answer needs them (see ``grant``).
        """
        p = self.provider
        now = p.clock.now()
        who, endpoint, limiter, counters = plan.client_id, plan.endpoint, p.limiter, p.counters
        # ``admit_token_request`` without its fault check: no fault is in force here.
        headers: dict[str, str] = {}
        counted = False
        # ``admit`` applies nothing unless one rule decides, and a refusal writes
        # nothing: when it says no, ``limit`` decides the same and says why.
        decision = None if answer else limiter.admit(endpoint, "request", who, now)
        if decision is None or not decision.allowed:
            counters.incr(who, "token_requests")
            counted = True
            rejected, headers = p.limit(endpoint, "request", who, now, "throttled_429")
            if rejected is not None:
                self._note_refusal(plan, now)
                return rejected
        quota = None
        if not answer:
            unchanged = self._plan_quotas.get(plan)
            if unchanged is not None and now < unchanged.until:
                quota = UNLIMITED  # what ``admit`` says, and it would write nothing
            else:
                quota = limiter.admit(endpoint, "issue", who, now)
                if quota is not None and quota.allowed and not quota.remaining:
                    self._proofs.note_quota(plan, now)
        if quota is None or not quota.allowed:
            if not counted:
                counters.incr(who, "token_requests")
                counted = True
            quota_rejected, quota_headers = p.limit(endpoint, "issue", who, now, "throttled_429")
            if quota_headers:
                headers = merged_headers(headers, quota_headers)
            if quota_rejected is not None:
                return auth0.with_headers(quota_rejected, headers)
        if counted:
            counters.incr(who, "tokens_issued")
        else:
            later = self._later.get(who)
            if later is None:
                self._count_now(who, "token_requests", "tokens_issued")
            else:
                later[0] += 1
                later[1] += 1
        issued = self._issuer.issue(plan, int(now))
        # This token may have emptied the bucket (when ``remaining`` says a
        # request now would be admitted, nothing can be proven).
        if decision is None or not decision.remaining:
            self._note_refusal(plan, now)
        if not answer:
            return issued
        # What ``render(values, headers)`` gives: the rendered headers, then these.
        return auth0.with_headers(issued.answer, headers)

    def _note_refusal(self, plan: TokenPlan, now: float) -> None:
        """If the token endpoint's rule refuses now, remember until when, and its refusal."""
        if self.proves_refusals:
            self._proofs.note_refusal(plan, now)
