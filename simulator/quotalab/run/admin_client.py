"""The mock server's admin API as the run uses it: reset between strategies, read counts."""

from __future__ import annotations

import os
from typing import Any

import httpx

from quotalab.errors import InputError
from quotalab.wire import is_bearer_token

TIMEOUT_S = 10.0
ENV_ADMIN_TOKEN = "QUOTALAB_ADMIN_TOKEN"


def _headers() -> dict[str, str]:
    """The admin token a server beyond loopback requires, from ``QUOTALAB_ADMIN_TOKEN``."""
    token = os.environ.get(ENV_ADMIN_TOKEN, "")
    if not is_bearer_token(token):  # a header carries it: httpx would raise mid-run
        raise InputError(f"{ENV_ADMIN_TOKEN} must be printable ASCII without spaces")
    return {"authorization": f"Bearer {token}"} if token else {}


def _fail(base_url: str, what: str, error: Exception | str) -> InputError:
    if error in ("HTTP 401", "HTTP 403"):  # a server beyond loopback asks for the admin token
        hint = f"set {ENV_ADMIN_TOKEN} to the token the server was started with"
        if os.environ.get(ENV_ADMIN_TOKEN):
            hint = f"{ENV_ADMIN_TOKEN} is not the token the server was started with"
        return InputError(f"{base_url}: cannot {what} ({error}); {hint}")
    return InputError(f"{base_url}: cannot {what} ({error}); is it a quotalab mock server?")


def reset(base_url: str) -> None:
    """``POST /_admin/reset``: zero the counters and refill every limit.

    Before each strategy: a target that is no quotalab server (one answering
    ``200 {}`` to everything) fails here, before any load, not in counts of 0.
    """
    try:
        response = httpx.post(f"{base_url}/_admin/reset", headers=_headers(), timeout=TIMEOUT_S)
    except httpx.HTTPError as error:
        raise _fail(base_url, "reset the server", error) from None
    if response.status_code != 200:
        raise _fail(base_url, "reset the server", f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if answer != {"reset": True}:
        raise _fail(base_url, "reset the server", 'the answer is not {"reset": true}')


def stats(base_url: str) -> dict[str, Any]:
    """``GET /_admin/stats``: the server's per-client counters."""
    try:
        response = httpx.get(f"{base_url}/_admin/stats", headers=_headers(), timeout=TIMEOUT_S)
        document = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise _fail(base_url, "read /_admin/stats", error) from None
    if response.status_code != 200 or not isinstance(document, dict):
        raise _fail(base_url, "read /_admin/stats", f"HTTP {response.status_code}")
    if not isinstance(document.get("clients"), dict):
        raise _fail(base_url, "read /_admin/stats", "the answer has no per-client counts")
    return document
