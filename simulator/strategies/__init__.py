"""Client strategies: sans-I/O token and retry policies, and their drivers."""

from simulator.strategies.article import ArticleStrategy
from simulator.strategies.backoff import RetryPolicy, compute_backoff, plan_retry
from simulator.strategies.client import ClientStrategy
from simulator.strategies.messages import AwaitRefresh, Flow, Send, Sleep, Strategy
from simulator.strategies.own_client import (
    OwnClient,
    StrategyFactory,
    build_strategy,
    load_strategy,
)
from simulator.strategies.provider import ProviderSettings, Token, parse_token, token_request
from simulator.strategies.registry import NAMES, RECOMMENDED, make_strategy
from simulator.strategies.token_cache import TokenCache, TokenPolicy
from simulator.strategies.verdict import Outcome, Verdict, classify, server_wait_s

__all__ = [
    "NAMES",
    "RECOMMENDED",
    "ArticleStrategy",
    "AwaitRefresh",
    "ClientStrategy",
    "Flow",
    "Outcome",
    "OwnClient",
    "ProviderSettings",
    "RetryPolicy",
    "Send",
    "Sleep",
    "Strategy",
    "StrategyFactory",
    "Token",
    "TokenCache",
    "TokenPolicy",
    "Verdict",
    "build_strategy",
    "classify",
    "compute_backoff",
    "load_strategy",
    "make_strategy",
    "parse_token",
    "plan_retry",
    "server_wait_s",
    "token_request",
]
