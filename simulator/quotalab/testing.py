"""``QuotalabServer``: the mock provider on a virtual clock, for your own tests.

The ``quotalab_server`` pytest fixture builds one; import it directly to use
the server outside pytest (a notebook, another test runner).
"""

from __future__ import annotations

import contextlib
import tempfile
from string import Template
from typing import Any

import httpx

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.limits import CounterQuota, Decision, FixedWindow, MemoryStore, TokenBucket
from quotalab.profiles import load_config
from quotalab.profiles.profile_model import LimitRule
from quotalab.server.auth0 import ANONYMOUS
from quotalab.server.mock_provider import MockProvider, ProviderReply
from quotalab.server.parsing import (
    Incoming,
    basic_credentials,
    bearer_token,
    parse_body_fields,
    read_request,
)
from quotalab.server.request_plans import RequestPlan
from quotalab.server.runner import serve_in_thread
from quotalab.server.throttle import template_values
from quotalab.server.tls import LocalCA, local_ca
from quotalab.wire import HttpRequest, HttpResponse

BASE_URL = "http://quotalab.test"
API_KINDS = frozenset({"jwt_api", "bearer_api"})
DEFAULT_STORM_RESPONSE = HttpResponse(
    429, {"content-type": "application/json"}, b'{"error":"too_many_requests"}'
)


class SteeredProvider(MockProvider):
    """The mock provider plus the test's steering (storms), in ``answer`` itself.

    Both routes to the server, the in-process transport (``respond``, which is
    ``answer(read(request))``) and the loopback server of ``live_url`` (the
    ASGI app, which keeps plans and calls ``answer``), end in ``answer``: a
    storm, a fault, a clock move or a count reaches every client the same way.
    """

    storm: tuple[str, float] | None = None
    """The throttled path and the virtual time the storm ends at."""

    def answer(self, plan: RequestPlan) -> ProviderReply:
        if self.storm is not None:
            path, until = self.storm
            if self.clock.now() < until and plan.incoming.path == path:
                return ProviderReply(self._storm_answer(plan.request, until))
        return super().answer(plan)

    def _storm_caller(self, incoming: Incoming, api: bool) -> str:
        """Who the server counts a stormed request for, as its own flows would."""
        if api:
            raw = bearer_token(incoming)
            if raw is None:
                return ANONYMOUS
            app = self.token_apps.get(raw)  # Twitter's opaque app tokens
            if app is not None:
                return app
            claims = self.keys.verify(raw)
            azp = claims.get("azp") if isinstance(claims, dict) else None
            return self.counted_id(azp if isinstance(azp, str) else "")
        fields = parse_body_fields(incoming)
        basic = basic_credentials(incoming, url_decode=True)
        body_id = fields.get("client_id", "") if isinstance(fields, dict) else ""
        return self.counted_id(basic[0] if basic else body_id)

    def _storm_answer(self, request: HttpRequest, until: float) -> HttpResponse:
        now = self.clock.now()
        incoming = read_request(request)
        spec = self.routes.get((incoming.method, incoming.path))
        api = spec is not None and spec.kind in API_KINDS
        who = self._storm_caller(incoming, api)
        # Counted under the names the endpoint's own flow uses (docs/server.md).
        sent, throttled = ("api_calls", "api_429") if api else ("token_requests", "throttled_429")
        self.counters.incr(who, sent)
        rules = [self.limiter.rules[name] for name in (spec.limits if spec else ())]
        if not rules:
            self.counters.incr(who, throttled)
            return DEFAULT_STORM_RESPONSE
        # The endpoint's throttle: its first rule answering 429 (Entra's loop
        # detector, a 400, comes first in its list), else its first rule.
        rule = next((r for r in rules if self.responses[r.reject].status == 429), rules[0])
        decision = Decision(False, _rule_limit(rule), 0, until, until - now)
        values = {**template_values(rule, decision, now), "transaction": "0" * 16}
        headers = {h: Template(t).safe_substitute(values) for h, t in rule.headers}
        answer = self.render(rule.reject, values, headers, now)
        self.counters.incr(who, "forbidden_403_99" if answer.status == 403 else throttled)
        return answer


def _rule_limit(rule: LimitRule) -> int:
    """The limit a rule's headers announce: a storm does not change the provider's plan."""
    algorithm = rule.algorithm
    if isinstance(algorithm, TokenBucket):
        return algorithm.burst
    assert isinstance(algorithm, FixedWindow | CounterQuota)
    return algorithm.limit


class QuotalabServer:
    """A mock provider on a virtual clock, reachable in-process and on loopback."""

    def __init__(
        self, profile: str = "auth0", config_path: str | None = None, *, tls: bool = False
    ) -> None:
        self.clock = VirtualClock()
        self.tls = tls
        self._ca: LocalCA | None = None
        self.config = load_config(profile, config_path)
        self.provider = SteeredProvider(
            self.config, self.clock, MemoryStore(), MemoryCounters(), base_url=BASE_URL
        )
        self.base_url = BASE_URL
        self.transport = httpx.MockTransport(self._handle_httpx)
        self._stack = contextlib.ExitStack()
        self._live_url: str | None = None

    # -- talking to it -----------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request at the virtual clock's time, as ``live_url`` would."""
        return self.provider.handle(request)

    def _handle_httpx(self, request: httpx.Request) -> httpx.Response:
        wire = HttpRequest(
            request.method,
            str(request.url),
            tuple((k.lower(), v) for k, v in request.headers.items()),
            request.read(),
        )
        answer = self.handle(wire)
        return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)

    @property
    def live_url(self) -> str:
        """``http(s)://127.0.0.1:<port>`` of a real server, started on first use.

        It serves the same provider as ``transport``: storms, faults, the
        clock and the counters are shared. With ``tls=True`` it is HTTPS,
        signed by a throwaway CA (trust ``ca_file``), and the issuer and
        discovery documents name this URL from then on.
        """
        if self._live_url is None:
            if self.tls:
                directory = self._stack.enter_context(tempfile.TemporaryDirectory())
                self._ca = local_ca(directory)
            self._live_url = self._stack.enter_context(serve_in_thread(self.provider, tls=self._ca))
            if self.tls:
                # SDKs follow discovery documents to the token endpoint: point them here.
                self.provider.base_url = self._live_url
                self.base_url = self._live_url
        return self._live_url

    @property
    def ca_file(self) -> str:
        """The CA certificate to trust for ``live_url`` (``tls=True`` only)."""
        if not self.tls:
            raise ValueError("ca_file needs QuotalabServer(tls=True)")
        if self._ca is None:
            self.live_url  # noqa: B018 (starts the server, which makes the CA)
        assert self._ca is not None
        return str(self._ca.ca_file)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` wired to the in-process provider."""
        return httpx.Client(transport=self.transport, base_url=self.base_url, **kwargs)

    # -- steering it -------------------------------------------------------

    def advance(self, seconds: float) -> float:
        """Move the virtual clock forward; returns the new time."""
        return self.clock.advance(seconds)

    def storm(self, seconds: float, endpoint: str = "token") -> None:
        """Throttle every request to ``endpoint`` for ``seconds`` of virtual time.

        The answer is exactly the profile's own throttle for that endpoint:
        its first limit answering 429, else its first limit (Auth0's 429,
        Twitter's 403 code 99, Okta's E0000047, Entra's 429), with that
        rule's status, body and headers. Where the rule's headers carry a
        reset or wait (``${reset_at}``, ``${retry_after}``, ...) they point at
        the storm's end; headers the profile writes as fixed text stay as
        written (Entra's ``Retry-After: 60``), and no header is added that the
        profile would not send (Okta sends no ``Retry-After``).
        """
        spec = self.provider.endpoints.get(endpoint)
        if spec is None:
            known = ", ".join(self.provider.endpoints)
            raise ValueError(f"unknown endpoint {endpoint!r}; the profile has {known}")
        self.provider.storm = (spec.path, self.clock.now() + seconds)

    def set_faults(self, document: dict[str, Any]) -> None:
        """Replace faults as ``PUT /_admin/faults`` does (503s, latency, clock skew)."""
        self.provider.set_faults(document)

    def client_stats(self, client_id: str) -> dict[str, int]:
        """The provider's counters of ``client_id`` (token_requests, tokens_issued, ...)."""
        return dict(self.provider.counters.snapshot().get(client_id, {}))

    def stats(self) -> dict[str, Any]:
        """The whole ``/_admin/stats`` document."""
        return self.provider.stats()

    def close(self) -> None:
        """Stop the loopback server if one was started."""
        self._stack.close()
