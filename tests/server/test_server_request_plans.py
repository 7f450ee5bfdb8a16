"""Requests read once into plans: the ASGI adapter's memo by exact bytes, bounded.

The memo must change nothing on the wire: every request is still counted,
limited and checked against its secret, and a plan is only ever reused for
the very same bytes (credentials included).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from quotalab.clock import VirtualClock
from quotalab.server import MockProvider
from quotalab.server.asgi import ProviderApp, create_app
from quotalab.server.request_plans import PlanMemo, RequestPlan
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import AUDIENCE, asgi_exchange, basic
from server.conftest import MakeProvider

TWO_CLIENTS = """\
[limits.oauth_token]
burst = 2
refill_rate = 1

[clients.demo-client]
secret = "demo-secret"
grant_types = ["client_credentials"]
scopes = ["read:data"]

[clients.other-client]
secret = "other-secret"
grant_types = ["client_credentials"]
scopes = ["read:data"]
"""


def token_body(client_id: str = "demo-client", secret: str = "demo-secret") -> bytes:
    fields = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "audience": AUDIENCE,
    }
    return json.dumps(fields).encode()


HEADERS = (("host", "127.0.0.1:8000"), ("content-type", "application/json"))


def counting_reads(provider: MockProvider) -> list[HttpRequest]:
    """Record every request the provider reads (the memo's misses)."""
    reads: list[HttpRequest] = []
    read = provider.read

    def recording(request: HttpRequest) -> RequestPlan:
        reads.append(request)
        return read(request)

    provider.read = recording  # type: ignore[method-assign]
    return reads


Headers = tuple[tuple[str, str], ...]


async def post(app: ProviderApp, body: bytes, headers: Headers = HEADERS) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        return await client.post("/oauth/token", content=body, headers=dict(headers))


def wire(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.items() if k != "content-length"]
    return response.status_code, headers, response.content


def core(response: HttpResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status, list(response.headers.items()), response.body


@pytest.mark.anyio
async def test_memoised_answers_match_the_core_step_by_step(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    # Two providers on one clock: one behind the memoising adapter, one asked directly.
    served, direct = make_provider(toml=TWO_CLIENTS), make_provider(toml=TWO_CLIENTS)
    app = create_app(served)
    steps: list[tuple[bytes, float]] = [
        (token_body(), 0.0),
        (token_body(), 0.0),
        (token_body(), 0.0),  # 429: the bucket of two is spent
        (token_body(), 0.3),  # 429 with other reset / retry numbers
        (token_body(secret="demo-secreX"), 0.0),  # 429 too: limits come before secrets
        (token_body(), 0.8),  # refilled: 200
        (token_body(secret="demo-secreX"), 2.0),  # 401, not the right secret's 200
        (token_body("other-client", "other-secret"), 0.0),
        (token_body("other-client", "demo-secret"), 1.0),  # 401: demo's secret is not its
        (token_body(), 0.0),
    ]
    statuses = []
    for body, advance_s in steps:
        clock.advance(advance_s)
        answered = await post(app, body)
        expected = direct.handle(HttpRequest("POST", "/oauth/token", HEADERS, body))
        assert wire(answered) == core(expected)
        statuses.append(answered.status_code)
    assert statuses == [200, 200, 429, 429, 429, 200, 401, 200, 401, 429]
    assert served.counters.snapshot() == direct.counters.snapshot()


@pytest.mark.anyio
async def test_identical_requests_are_read_once_and_answered_every_time(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider(toml=TWO_CLIENTS)
    reads = counting_reads(provider)
    app = create_app(provider)
    answers = [await post(app, token_body()) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429]
    assert len(reads) == 1
    counts = provider.counters.snapshot()["demo-client"]
    assert counts["token_requests"] == 5
    assert counts["throttled_429"] == 3
    assert counts["tokens_issued"] == 2


@pytest.mark.anyio
async def test_a_wrong_secret_or_another_client_is_read_as_itself(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider(toml=TWO_CLIENTS)
    reads = counting_reads(provider)
    app = create_app(provider)
    assert (await post(app, token_body())).status_code == 200
    refused = await post(app, token_body(secret="demo-secreT"))
    assert refused.status_code == 401
    assert refused.json()["error"] == "access_denied"
    other = await post(app, token_body("other-client", "other-secret"))
    assert other.status_code == 429  # the tenant's bucket of two is spent
    assert len(reads) == 3
    counts = provider.counters.snapshot()
    assert counts["demo-client"]["token_401"] == 1
    assert counts["other-client"] == {"token_requests": 1, "throttled_429": 1}
    # Basic credentials are bytes of the request too: another secret is another plan.
    clock.advance(10)
    basic_right = (*HEADERS[:1], basic("demo-client", "demo-secret"), HEADERS[1])
    basic_wrong = (*HEADERS[:1], basic("demo-client", "wrong"), HEADERS[1])
    body = json.dumps({"grant_type": "client_credentials", "audience": AUDIENCE}).encode()
    assert (await post(app, body, basic_right)).status_code == 200
    assert (await post(app, body, basic_wrong)).status_code == 401
    clock.advance(10)
    assert (await post(app, body, basic_right)).status_code == 200
    assert len(reads) == 5


@pytest.mark.anyio
async def test_the_adapters_memos_stay_within_their_bounds(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider(toml=TWO_CLIENTS)
    reads = counting_reads(provider)
    app = create_app(provider)
    app.heads, app.plans = PlanMemo(3), PlanMemo(4)
    for n in range(12):  # distinct headers and bodies: every one a miss
        headers = (*HEADERS, ("x-request-id", str(n)))
        answered = await post(app, token_body(secret=f"wrong-{n}"), headers)
        assert answered.status_code in (401, 429)
        assert len(app.heads) <= 3
        assert len(app.plans) <= 4
    assert len(reads) == 12
    # A body too long to keep is read every time and never kept.
    long_body = token_body(secret="x" * 3000)
    kept = len(app.plans)
    for _ in range(2):
        await post(app, long_body)
    assert len(reads) == 14
    assert len(app.plans) == kept


def test_plan_memo_starts_over_when_full() -> None:
    memo: PlanMemo[str, int] = PlanMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("b", 3)  # a key it holds: replaced, nothing forgotten
    assert dict(memo) == {"a": 1, "b": 3}
    memo.put("c", 4)
    assert dict(memo) == {"c": 4}
    with pytest.raises(ValueError, match="max_entries"):
        PlanMemo(0)


def test_headers_given_as_lists_are_answered_without_a_memo(make_provider: MakeProvider) -> None:
    provider = make_provider(toml=TWO_CLIENTS)
    app = create_app(provider)
    body = token_body()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/oauth/token",
        "query_string": b"",
        "headers": [[b"host", b"127.0.0.1:8000"], [b"content-type", b"application/json"]],
    }
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses = []
    for _ in range(3):
        sent = asyncio.run(asgi_exchange(app, scope, [message]))
        statuses.append(sent[0]["status"])
    assert statuses == [200, 200, 429]
    assert len(app.plans) == 0


def test_a_request_like_the_last_one_but_in_one_part_is_read_as_itself(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    # The adapter compares each request with the one before; any part that differs is
    # another head, even when a server hands over the very same header list, changed.
    provider = make_provider(toml=TWO_CLIENTS)
    reads = counting_reads(provider)
    app = create_app(provider)
    raw = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    message = {"type": "http.request", "body": token_body(), "more_body": False}

    def status(method: str = "POST", path: str = "/oauth/token", query: bytes = b"") -> int:
        clock.advance(10)  # a full bucket each time: the status is the request's own
        scope = {"type": "http", "method": method, "path": path, "query_string": query}
        sent = asyncio.run(asgi_exchange(app, {**scope, "headers": raw}, [message]))
        return int(sent[0]["status"])

    assert status() == 200
    assert status() == 200
    assert len(reads) == 1  # the same head and body: read once
    assert status(path="/oauth/tokens") == 404
    assert status() == 200
    assert status(method="PUT") == 404  # Auth0 has no 405 for it
    assert status() == 200
    assert status(query=b"x=1") == 200  # another URL, read again
    assert status() == 200
    raw[1] = (b"content-type", b"text/plain")  # the same list, changed in place
    assert status() == 400
    assert len(reads) == 5
