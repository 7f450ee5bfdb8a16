"""Client strategies: sans-I/O token and retry policies, and their drivers."""

from quotalab.strategies.answers import AnswerKind, AnswerVerdict, classify, server_wait_s
from quotalab.strategies.article import ArticleStrategy
from quotalab.strategies.backoff import RetryPolicy, compute_backoff, plan_retry
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import ClientSettings, Token, parse_token, token_request
from quotalab.strategies.messages import AwaitRefresh, Flow, Send, Sleep, Strategy
from quotalab.strategies.own_client import (
    OwnClient,
    StrategyFactory,
    build_strategy,
    load_strategy,
)
from quotalab.strategies.registry import NAMES, RECOMMENDED, make_strategy
from quotalab.strategies.token_cache import TokenCache, TokenPolicy

__all__ = [
    "NAMES",
    "RECOMMENDED",
    "AnswerKind",
    "AnswerVerdict",
    "ArticleStrategy",
    "AwaitRefresh",
    "ClientSettings",
    "ClientStrategy",
    "Flow",
    "OwnClient",
    "RetryPolicy",
    "Send",
    "Sleep",
    "Strategy",
    "StrategyFactory",
    "Token",
    "TokenCache",
    "TokenPolicy",
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
