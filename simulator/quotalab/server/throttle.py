"""Applying a profile's limit rules to a request through the shared ``Store``.

A rule is keyed on tenant, client and/or endpoint; the store key is
``"<rule>:<key>"``, which is also how ``/_admin/stats`` names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from quotalab.limits import CounterQuota, Decision, Store
from quotalab.profiles.ietf_fields import LIST_FIELDS
from quotalab.profiles.profile_model import EndpointSpec, LimitRule, Stage
from quotalab.server.templates import TextTemplate

MAX_TRACKED_KEYS = 10_000
"""Stats list at most this many limit keys, so millions of clients cost no memory."""


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    """The outcome of every rule of one stage for one request."""

    allowed: bool
    headers: dict[str, str]
    rule: LimitRule | None = None
    """The rule that refused the request (``None`` when allowed)."""
    values: Mapping[str, str] | None = None
    """The refusing rule's template values, for its reject response."""


ALLOWED = ThrottleVerdict(True, {})
UNLIMITED = Decision(True, 0, 0, 0.0, 0.0)
"""What ``Limiter.admit`` answers where no rule applies: let through, nothing counted."""
Memo = tuple[dict[str, str], dict[str, str], "ThrottleVerdict", "ThrottleVerdict"]
"""Template values, filled headers, and the verdicts letting a request through with them
or refusing it by the memo's rule: one set of numbers, one set of shared objects."""
Lane = tuple[str, LimitRule, str, tuple[tuple[str, TextTemplate], ...], tuple[str, str] | None]
"""One rule as ``Limiter.check`` applies it to one client: name, rule, store key, header
templates, and the ``(rule, key)`` to list in ``snapshot`` once ``check`` first reaches it
(None: listed already)."""


Numbers = tuple[int, int, int, int, int, bool]
"""limit, remaining, reset_at, reset_in, retry_after (whole seconds) and allowed."""
MemoKey = tuple[str, int, int, int, int, int, bool]
"""A rule's name and the ``Numbers`` its texts say (one flat tuple: hashed per request)."""


def _numbers(decision: Decision, now: float) -> Numbers:
    """What a rule's texts say of ``decision`` at ``now``; ``Limiter.check`` inlines it."""
    retry = math.ceil(decision.retry_after_s) if decision.retry_after_s > 0 else 0
    return (
        decision.limit,
        decision.remaining,
        math.ceil(decision.reset_at),
        max(0, math.ceil(decision.reset_at - now)),
        retry if decision.allowed else max(1, retry),
        decision.allowed,
    )


def _values(rule: LimitRule, numbers: Numbers) -> dict[str, str]:
    limit, remaining, reset_at, reset_in, retry_after, _ = numbers
    return {
        "limit": str(limit),
        "remaining": str(remaining),
        "reset_at": str(reset_at),
        "reset_in": str(reset_in),
        "retry_after": str(retry_after),
        "period": rule.algorithm.period if isinstance(rule.algorithm, CounterQuota) else "",
    }


def template_values(rule: LimitRule, decision: Decision, now: float) -> dict[str, str]:
    """The ``${...}`` values a rule's headers and reject response may use."""
    return _values(rule, _numbers(decision, now))


def merged_headers(headers: Mapping[str, str], more: Mapping[str, str]) -> dict[str, str]:
    """``headers`` then ``more``; a list field both carry gets one item per rule."""
    out = dict(headers)
    for header, value in more.items():
        if header in LIST_FIELDS and header in out:
            out[header] = f"{out[header]}, {value}"
        else:
            out[header] = value
    return out


class Limiter:
    """Runs the rules named by an endpoint, in order, stopping at the first refusal."""

    def __init__(self, rules: Mapping[str, LimitRule], store: Store, tenant: str) -> None:
        self.rules = dict(rules)
        self.store = store
        self.tenant = tenant
        self.enabled = True
        self._headers = {
            name: tuple((h, TextTemplate(v)) for h, v in rule.headers)
            for name, rule in rules.items()
        }
        self._tracked: dict[tuple[str, str], None] = {}
        self._fixed_keys: dict[tuple[str, str], str] = {}
        self._store_keys: dict[tuple[str, str, str, str], str] = {}
        self._memo: dict[MemoKey, Memo] = {}
        self._stages: dict[tuple[str, str], tuple[str, ...]] = {}
        self._one_rules: dict[tuple[str, str, str], tuple[LimitRule, str] | bool] = {}
        self._lanes: dict[tuple[str, str, str, str], tuple[Lane, ...]] = {}

    def _key(
        self, rule: LimitRule, endpoint: EndpointSpec, client_id: str, request_key: str
    ) -> str:
        """``<key parts>``; keys without client or request parts are built once and reused."""
        fixed = self._fixed_keys.get((rule.name, endpoint.name))
        if fixed is not None:
            return fixed
        parts = []
        for part in rule.key:
            if part == "tenant":
                parts.append(self.tenant)
            elif part == "client":
                parts.append(client_id)
            elif part == "request":
                parts.append(request_key)
            else:
                parts.append(endpoint.name)
        key = ":".join(parts)
        if "client" not in rule.key and "request" not in rule.key:
            self._fixed_keys[(rule.name, endpoint.name)] = key
        return key

    def check(
        self,
        endpoint: EndpointSpec,
        stage: Stage,
        client_id: str,
        now: float,
        request_key: str = "",
    ) -> ThrottleVerdict:
        """Consume one request from each rule of ``stage``; the headers to send back.

        ``request_key`` stands for what a token request asks for (see ``LimitRule``).
        The verdict's ``headers`` may be shared between verdicts: read, never change it.
        """
        if not self.enabled or not endpoint.limits:
            return ALLOWED
        lanes_key = (endpoint.name, stage, client_id, request_key)
        lanes = self._lanes.get(lanes_key)
        if lanes is None:
            lanes = self._lanes_of(endpoint, stage, client_id, request_key)
        apply = self.store.apply
        headers: dict[str, str] | None = None  # a memo's own dict until two rules merge
        allowed: ThrottleVerdict | None = None  # that memo's verdict, while it is
        for name, rule, store_key, templates, unlisted in lanes:
            if unlisted is not None:  # a later rule, reached for the first time
                self._reached(lanes_key, name, unlisted)
            decision = apply(rule.algorithm, store_key, now)
            admitted, limit, remaining, reset_at, retry_after_s = decision
            if templates or not admitted:
                # While throttled, consecutive answers share their numbers: reuse the text.
                # The key holds ``template_values``' numbers, computed inline (every
                # refusal comes here): equal keys, equal texts.
                retry = math.ceil(retry_after_s) if retry_after_s > 0 else 0
                reset_in = math.ceil(reset_at - now)
                memo_key = (
                    name,
                    limit,
                    remaining,
                    math.ceil(reset_at),
                    reset_in if reset_in > 0 else 0,
                    retry if admitted or retry > 1 else 1,
                    admitted,
                )
                memo = self._memo.get(memo_key)
                if memo is None:
                    memo = self._remember(memo_key, rule, templates)
                if headers is None:
                    headers, allowed = memo[1], memo[2]
                elif memo[1]:
                    headers, allowed = merged_headers(headers, memo[1]), None
                if not admitted and rule.enforce:
                    if headers is memo[1]:  # this memo's own headers: share its verdict
                        return memo[3]
                    return ThrottleVerdict(False, headers, rule, memo[0])
        if headers is None:
            return ALLOWED
        return allowed if allowed is not None else ThrottleVerdict(True, headers)

    def refusal_texts(
        self, rule: LimitRule, decision: Decision, now: float
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The values and headers ``check`` refuses with when ``rule`` alone decides a stage
        and says ``decision`` at ``now``: the very objects it shares (read, never change)."""
        memo_key = (rule.name, *_numbers(decision, now))
        memo = self._memo.get(memo_key)
        if memo is None:
            memo = self._remember(memo_key, rule, self._headers[rule.name])
        return memo[0], memo[1]

    def _remember(
        self, memo_key: MemoKey, rule: LimitRule, templates: tuple[tuple[str, TextTemplate], ...]
    ) -> Memo:
        """The texts and verdicts of ``memo_key``: a rule's name and ``Numbers`` (kept, bounded)."""
        values = _values(rule, memo_key[1:])
        filled = {header: template.fill(values) for header, template in templates}
        if len(self._memo) >= 4096:
            self._memo.clear()
        memo = self._memo[memo_key] = (
            values,
            filled,
            ThrottleVerdict(True, filled),
            ThrottleVerdict(False, filled, rule, values),
        )
        return memo

    def _lanes_of(
        self, endpoint: EndpointSpec, stage: Stage, client_id: str, request_key: str
    ) -> tuple[Lane, ...]:
        """What ``check`` applies for one client and request key: each rule of ``stage``
        with its store key and header templates, found once (bounded).

        The first rule's key is listed in ``snapshot`` now, as ``check`` always
        reaches it; a later rule's when ``check`` first reaches it (``_reached``):
        a rule after a refusal, or after a store that failed, is not applied.
        """
        found: list[Lane] = []
        for name in self._stage_rules(endpoint, stage):
            rule = self.rules[name]
            first = not found
            store_key = self._store_key(name, rule, endpoint, client_id, request_key, first)
            unlisted = None if first else (name, store_key[len(name) + 1 :])
            found.append((name, rule, store_key, self._headers[name], unlisted))
        lanes = tuple(found)
        if len(self._lanes) >= MAX_TRACKED_KEYS:
            self._lanes.clear()
        self._lanes[(endpoint.name, stage, client_id, request_key)] = lanes
        return lanes

    def _reached(
        self, lanes_key: tuple[str, str, str, str], name: str, listed: tuple[str, str]
    ) -> None:
        """``check`` reaches rule ``name`` of ``lanes_key`` for the first time: list its key."""
        lanes = self._lanes.get(lanes_key)
        if lanes is not None:  # remembered as listed first: a reset meanwhile lists it again
            self._lanes[lanes_key] = tuple(
                (*lane[:4], None) if lane[0] == name else lane for lane in lanes
            )
        if len(self._tracked) < MAX_TRACKED_KEYS:
            self._tracked[listed] = None

    def _store_key(
        self,
        name: str,
        rule: LimitRule,
        endpoint: EndpointSpec,
        client_id: str,
        request_key: str,
        listed: bool = True,
    ) -> str:
        """``<rule>:<key parts>``, remembered (bounded) and, if ``listed``, listed in
        ``snapshot``."""
        memo_key = (name, endpoint.name, client_id, request_key)
        store_key = self._store_keys.get(memo_key)
        if store_key is None:
            key = self._key(rule, endpoint, client_id, request_key)
            store_key = f"{name}:{key}"
            if len(self._store_keys) >= MAX_TRACKED_KEYS:
                self._store_keys.clear()
            self._store_keys[memo_key] = store_key
        if listed and len(self._tracked) < MAX_TRACKED_KEYS:
            self._tracked[(name, store_key[len(name) + 1 :])] = None
        return store_key

    def _stage_rules(self, endpoint: EndpointSpec, stage: Stage) -> tuple[str, ...]:
        """The names of ``endpoint``'s rules of ``stage``, in order (found once)."""
        key = (endpoint.name, stage)
        found = self._stages.get(key)
        if found is None:
            found = tuple(n for n in endpoint.limits if self.rules[n].stage == stage)
            if len(self._stages) >= MAX_TRACKED_KEYS:
                self._stages.clear()
            self._stages[key] = found
        return found

    def _one_rule(
        self, endpoint: EndpointSpec, stage: Stage, client_id: str
    ) -> tuple[LimitRule, str] | bool:
        """The rule deciding ``stage`` alone and its store key for ``client_id`` (found once);
        True: no rule applies; False: several do."""
        key = (endpoint.name, stage, client_id)
        found = self._one_rules.get(key)
        if found is not None:
            return found
        ours = self._stage_rules(endpoint, stage) if endpoint.limits else ()
        if len(ours) == 1:
            rule = self.rules[ours[0]]
            found = (rule, self._store_key(ours[0], rule, endpoint, client_id, ""))
        else:
            found = not ours
        if len(self._one_rules) >= MAX_TRACKED_KEYS:
            self._one_rules.clear()
        self._one_rules[key] = found
        return found

    def admit(
        self, endpoint: EndpointSpec, stage: Stage, client_id: str, now: float
    ) -> Decision | None:
        """``check`` for a caller that needs no headers: the decision of the stage's one rule.

        Its ``allowed`` says whether the request gets through (always, for a
        rule that does not enforce; ``UNLIMITED`` where no rule applies), and
        its numbers are the rule's, so a caller may tell from ``remaining``
        whether a request at the same instant would be admitted too. None:
        several rules decide the stage, and nothing was applied. A refusal
        writes no state, so after one ``check`` may decide the same request
        again and give the same verdict with its texts.
        """
        if not self.enabled:
            return UNLIMITED
        one = self._one_rules.get((endpoint.name, stage, client_id))
        if one is None:
            one = self._one_rule(endpoint, stage, client_id)
        if one is True:
            return UNLIMITED
        if one is False:
            return None
        rule, store_key = one
        decision = self.store.apply(rule.algorithm, store_key, now)
        if decision.allowed or rule.enforce:
            return decision
        return Decision(True, decision[1], decision[2], decision[3], decision[4])

    def rejected_until(
        self, endpoint: EndpointSpec, stage: Stage, client_id: str, now: float
    ) -> tuple[float, LimitRule, str, Decision] | None:
        """Before the instant returned, the stage's rule refuses every request like this one.

        Such a refusal writes nothing: ``check`` refuses the request if the
        rule enforces (``LimitRule.enforce``) and lets it through unchanged
        otherwise. Returns that instant, the refusing rule, its store key
        (requests of other clients with the same store key are refused alike)
        and the decision a request would get now.

        Proven only where one rule decides the stage and the store can tell
        (``MemoryStore.rejected_until``: a refusal writes nothing, so it holds
        until the rule could admit again). None: no such proof now.
        """
        rejected_until = getattr(self.store, "rejected_until", None)
        if not self.enabled or rejected_until is None:
            return None
        one = self._one_rules.get((endpoint.name, stage, client_id))
        if one is None:
            one = self._one_rule(endpoint, stage, client_id)
        if one is True or one is False:
            return None
        rule, store_key = one
        found = rejected_until(rule.algorithm, store_key, now)
        return None if found is None else (found[0], rule, store_key, found[1])

    def snapshot(self, now: float) -> dict[str, dict[str, float]]:
        """Every tracked key: limit, remaining and reset_at (epoch seconds)."""
        out: dict[str, dict[str, float]] = {}
        for name, key in list(self._tracked):
            rule = self.rules[name]
            decision = self.store.peek(rule.algorithm, f"{name}:{key}", now)
            out[f"{name}:{key}"] = {
                "limit": decision.limit,
                "remaining": decision.remaining,
                "reset_at": math.ceil(decision.reset_at),
            }
        return out

    def shift(self, by_s: float) -> None:
        """The server's clock was set ``by_s`` seconds ahead (back, when negative): move
        every limit's stored times with it (``Store.shift``), so a clock set back refills
        and resets on time instead of waiting for the old time to come round again."""
        self.store.shift([rule.algorithm for rule in self.rules.values()], by_s)

    def reset(self) -> None:
        """Clear the store, then forget every key; a store that fails changes nothing."""
        self.store.reset()
        self._tracked = {}
        self._store_keys = {}
        self._memo = {}
        self._one_rules = {}
        self._lanes = {}
