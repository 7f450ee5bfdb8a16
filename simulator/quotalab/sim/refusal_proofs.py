"""Stretches in which a token endpoint's limit decides everybody alike, for the fast path.

A refusal writes no limiter state (``MemoryStore.rejected_until``), so once
the token endpoint's one request rule refuses, every token request of its
store key is refused the same way until the rule could admit again: a
``RefusalWindow``. A rule that does not enforce (Auth0's monthly quota, by
default) lets a request through when it refuses it, and writes nothing
either: once spent, it need not be asked again until its period ends. Both
are learnt from the limiter itself (``Limiter.rejected_until``) and kept
here, one per store key, moved on in place each time they are proven again.

A window's refusal is the same answer, headers included, throughout a
stretch of unchanged state when its texts say only numbers that stay put
while nobody is admitted (``limit``, ``remaining``, ``reset_at``,
``period``: a token bucket's moment of being full again and a fixed
window's end do not move) and the whole second ``reset_at`` names is far
from float rounding (``RefusalProofs.steady``, asked only by callers that read
the headers).
"""

from __future__ import annotations

import math

from quotalab.limits.algorithms import FixedWindow, TokenBucket
from quotalab.limits.decision import Decision
from quotalab.profiles.profile_model import LimitRule
from quotalab.server.mock_provider import MockProvider, refusal_counter
from quotalab.server.request_ids import GENERATED
from quotalab.server.templates import TextTemplate
from quotalab.server.throttle import template_values
from quotalab.sim.token_grants import TokenPlan
from quotalab.wire import HttpResponse

_MEMO_MAX = 4096
_STEADY_NAMES = frozenset({"limit", "remaining", "reset_at", "period"})
"""What a refusal's texts may say and still read the same through a stretch of refusals."""
_RESET_ULPS = 8
"""How many float spacings ``reset_at`` must be from its whole second: each instant
computes it anew (``TokenBucket.decide``), a rounding or two apart."""


def reset_second_holds(reset_at: float) -> bool:
    """Whether ``reset_at``, computed anew at another instant of its stretch (a rounding
    or two apart), names the same whole second (``math.ceil``)."""
    slack = _RESET_ULPS * math.ulp(reset_at)
    return math.ceil(reset_at - slack) == math.ceil(reset_at + slack)


class RefusalWindow:
    """A stretch in which the token endpoint's one request rule refuses everybody alike."""

    __slots__ = (
        "counter",
        "decided_at",
        "decision",
        "endpoint_name",
        "exact_response",
        "response",
        "rule",
        "steady",
        "until",
    )

    def __init__(
        self,
        until: float,
        response: HttpResponse,
        counter: str,
        rule: LimitRule,
        endpoint_name: str,
    ) -> None:
        self.endpoint_name = endpoint_name  # the token endpoint (no fault may be in force)
        self.until = until  # provider time: every token request before it is refused
        self.response = response  # the refusal that opened it: status and body hold throughout
        self.counter = counter  # the counter each refusal adds besides ``token_requests``
        self.rule = rule  # the rule refusing
        # Whether every refusal of this stretch (its state: ``note_refusal``) carries
        # the same headers too; None: not asked yet (``RefusalProofs.steady``). Then
        # that refusal is what the rule decided at ``decided_at`` (``decision``),
        # rendered when first asked for (``RefusalProofs.exact_refusal``).
        self.steady: bool | None = None
        self.decision: Decision | None = None
        self.decided_at = 0.0
        self.exact_response: HttpResponse | None = None


class QuotaWindow:
    """Until when the token endpoint's issue rule refuses everybody but lets them through."""

    __slots__ = ("until",)

    def __init__(self, until: float) -> None:
        self.until = until  # provider time


class RefusalProofs:
    """The windows proven so far for ``provider``'s token plans."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self._windows: dict[tuple[str, str], RefusalWindow] = {}  # by store key and endpoint
        self._quotas: dict[str, QuotaWindow] = {}  # by the issue rule's store key
        self.plan_windows: dict[TokenPlan, RefusalWindow] = {}  # a plan's, once known
        self.plan_quotas: dict[TokenPlan, QuotaWindow] = {}
        self._steady_rules: dict[str, bool] = {}  # by rule name: see ``_steady_texts``

    def note_refusal(self, plan: TokenPlan, now: float) -> None:
        """If ``plan``'s request rule refuses now, remember until when, and its refusal."""
        p = self.provider
        proof = p.limiter.rejected_until(plan.endpoint, "request", plan.client_id, now)
        if proof is None:
            return
        until, rule, key, decision = proof
        if not rule.enforce:
            return  # it lets the request through
        window = self._windows.get((key, plan.endpoint.name))
        if window is not None and window.rule is rule:
            window.until = until  # status and body never change
        else:
            reject = p.responses[rule.reject]
            if not reject.static_body or reject.names & GENERATED:
                return
            # Status and body are what every refusal of the rule carries; the
            # headers are this instant's (``FastProvider.proven_refusal`` says
            # who may rely on what).
            response = reject.render(template_values(rule, decision, now))
            counter = refusal_counter(response.status, "throttled_429")
            window = RefusalWindow(until, response, counter, rule, plan.endpoint.name)
            if len(self._windows) >= _MEMO_MAX:
                self._windows.clear()
            self._windows[(key, plan.endpoint.name)] = window
        window.steady = None
        window.decision, window.decided_at = decision, now
        window.exact_response = None
        if self.plan_windows.get(plan) is not window:
            if len(self.plan_windows) >= _MEMO_MAX:
                self.plan_windows.clear()
            self.plan_windows[plan] = window

    def steady(self, window: RefusalWindow) -> bool:
        """Whether every refusal of ``window``'s stretch reads the same, headers too."""
        steady = window.steady
        if steady is None:
            decision = window.decision
            assert decision is not None
            steady = window.steady = self._steady(window.rule, decision)
        return steady

    def exact_refusal(self, window: RefusalWindow) -> HttpResponse:
        """What ``MockProvider.limit`` answers every request of ``window``'s steady stretch
        (``steady``), headers and all: ``rule`` alone decides (``rejected_until``
        says so), as it decided when the stretch was proven."""
        exact = window.exact_response
        if exact is None:
            decision = window.decision
            assert decision is not None and window.steady
            p = self.provider
            values, headers = p.limiter.refusal_texts(window.rule, decision, window.decided_at)
            exact = window.exact_response = p.render_shared(window.rule.reject, values, headers)
        return exact

    def _steady(self, rule: LimitRule, decision: Decision) -> bool:
        """Whether ``rule``'s refusals read the same, headers too, until the state changes."""
        steady = self._steady_rules.get(rule.name)
        if steady is None:
            steady = self._steady_rules[rule.name] = self._steady_texts(rule)
        if not steady:
            return False
        if isinstance(rule.algorithm, FixedWindow):
            return True  # the window's end is stored, not computed
        return reset_second_holds(decision.reset_at)

    def _steady_texts(self, rule: LimitRule) -> bool:
        """Whether ``rule`` refuses with texts saying only numbers a stretch of refusals
        leaves alone, under an algorithm whose reset moment stays put meanwhile."""
        algorithm = rule.algorithm
        if not (
            isinstance(algorithm, TokenBucket) and algorithm.refill == "continuous"
        ) and not isinstance(algorithm, FixedWindow):
            return False
        names = set(self.provider.responses[rule.reject].names)
        for _, text in rule.headers:
            names.update(TextTemplate(text).names)
        return names <= _STEADY_NAMES

    def note_quota(self, plan: TokenPlan, now: float) -> None:
        """If ``plan``'s issue rule refuses now but does not enforce, remember until when:
        until then it lets every token through and writes nothing."""
        p = self.provider
        proof = p.limiter.rejected_until(plan.endpoint, "issue", plan.client_id, now)
        if proof is None or proof[1].enforce:
            return
        until, _, key, _ = proof
        window = self._quotas.get(key)
        if window is None:
            if len(self._quotas) >= _MEMO_MAX:
                self._quotas.clear()
            window = self._quotas[key] = QuotaWindow(until)
        window.until = until
        if self.plan_quotas.get(plan) is not window:
            if len(self.plan_quotas) >= _MEMO_MAX:
                self.plan_quotas.clear()
            self.plan_quotas[plan] = window
