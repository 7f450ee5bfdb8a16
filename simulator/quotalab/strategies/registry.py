"""The named strategies and ``make_strategy``, the one way to build them.

=================  ==========================  =================================
name               token policy                retry policy
=================  ==========================  =================================
``naive``          a token per API call        none
``cached``         cache, margin 300 s,        none
                   single-flight
``backoff``        a token per API call        exponential backoff, full jitter,
                                               honours server waits
``cached+backoff`` cache + single-flight       backoff (the recommended one)
``article``        the seed article's client: 60 s margin, no lock, token-only
                   retries of 429/503
=================  ==========================  =================================
"""

from __future__ import annotations

import dataclasses
import random

from quotalab.clock import Clock
from quotalab.errors import InputError
from quotalab.strategies.article import ArticleStrategy
from quotalab.strategies.backoff import DEFAULT_BACKOFF, NO_RETRY, RetryPolicy
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import Strategy
from quotalab.strategies.token_cache import TokenCache, TokenPolicy

NO_CACHE = TokenPolicy(cache=False, single_flight=False, refetch_on_invalid=False)
CACHE = TokenPolicy()

POLICIES: dict[str, tuple[TokenPolicy, RetryPolicy]] = {
    "naive": (NO_CACHE, NO_RETRY),
    "cached": (CACHE, NO_RETRY),
    "backoff": (NO_CACHE, DEFAULT_BACKOFF),
    "cached+backoff": (CACHE, DEFAULT_BACKOFF),
}
NAMES: tuple[str, ...] = (*POLICIES, "article")
RECOMMENDED = "cached+backoff"


def provider_fitted(retry: RetryPolicy, settings: ClientSettings) -> RetryPolicy:
    """``retry`` with the budget and cooldown the provider advises, for policies that retry.

    A 120 s budget gives up on Twitter's 15-minute windows although waiting
    for the reset would succeed; the profile knows its windows, so its
    ``client_retry_budget_s`` and ``client_cooldown_s`` win over the defaults.
    """
    if retry.max_attempts <= 1:
        return retry
    budget = retry.budget_s if settings.retry_budget_s is None else settings.retry_budget_s
    cooldown = retry.cooldown_s if settings.cooldown_s is None else settings.cooldown_s
    return dataclasses.replace(retry, budget_s=budget, cooldown_s=cooldown)


def make_strategy(
    name: str,
    settings: ClientSettings,
    *,
    clock: Clock,
    rng: random.Random,
    token_policy: TokenPolicy | None = None,
    retry_policy: RetryPolicy | None = None,
    cache: TokenCache | None = None,
) -> Strategy:
    """Build the named strategy; ``token_policy`` / ``retry_policy`` override its defaults.

    Pass one ``cache`` to several strategies to model one client process whose
    concurrent callers share a token. Without ``retry_policy``, a retrying
    strategy takes the budget and cooldown the provider advises (``settings``).
    """
    if name == "article":
        if token_policy is not None or retry_policy is not None or cache is not None:
            raise InputError("the 'article' strategy is fixed: it takes no policy or cache")
        return ArticleStrategy(settings, clock=clock)
    if name not in POLICIES:
        raise InputError(f"unknown strategy {name!r}; use one of {', '.join(NAMES)}")
    token, retry = POLICIES[name]
    if retry_policy is None:
        retry = provider_fitted(retry, settings)
    return ClientStrategy(
        name,
        settings,
        token=token_policy or token,
        retry=retry_policy or retry,
        clock=clock,
        rng=rng,
        cache=cache,
    )
