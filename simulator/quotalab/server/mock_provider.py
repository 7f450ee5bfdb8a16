"""The mock provider's pure core: one ``HttpRequest`` in, one ``HttpResponse`` out.

No sockets, no sleeping, no wall clock: time comes from the injected ``Clock``
(shifted by the configured skew), limiter state from the ``Store`` and
per-client counts go to ``Counters``. The ASGI app, the in-process runner and
the virtual-time simulation all call ``respond``/``handle``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from quotalab.clock import Clock, OffsetClock
from quotalab.counters import UNKNOWN_CLIENTS, Counters
from quotalab.errors import StoreUnavailable
from quotalab.limits import MemoryStore, Store
from quotalab.profiles.profile_model import EndpointSpec, FaultSpec, ProviderConfig
from quotalab.profiles.schema import MAX_SCHEDULE_S
from quotalab.server import admin_api as admin
from quotalab.server import auth0, oauth2, twitter
from quotalab.server.admission import Admission, ProviderReply, refusal_counter
from quotalab.server.faults import FaultPlan, fault_from_json
from quotalab.server.keys import SigningKeys
from quotalab.server.parsing import Incoming, declared_length, parse_body_fields, read_request
from quotalab.server.request_plans import RequestPlan, TokenAsk
from quotalab.server.templates import compile_responses
from quotalab.server.throttle import Limiter
from quotalab.wire import HttpRequest, HttpResponse

__all__ = ["STORE_RETRY_AFTER_S", "MockProvider", "ProviderReply", "refusal_counter"]

Flow = Callable[["MockProvider", EndpointSpec, Incoming, float], HttpResponse]
TokenReader = Callable[["MockProvider", EndpointSpec, Incoming], TokenAsk]
TokenFlow = Callable[["MockProvider", TokenAsk, dict[str, str], float], HttpResponse]

_FLOWS: dict[str, Flow] = {
    "jwt_api": auth0.jwt_api,
    "jwks": auth0.jwks,
    "discovery": auth0.discovery,
    "twitter_invalidate": twitter.invalidate,
    "bearer_api": twitter.bearer_api,
}
_TOKEN_FLOWS: dict[str, tuple[TokenReader, TokenFlow]] = {
    "auth0_token": (auth0.read_token, auth0.token),
    "twitter_token": (twitter.read_token, twitter.token),
    "oauth2_token": (oauth2.read_token, oauth2.token),
}
"""Token endpoints: read once (``read``), then admitted and answered (``answer``)."""

STORE_RETRY_AFTER_S = 1
"""``Retry-After`` on the 503 sent while the limiter store (Redis) is unreachable."""

_COUNTED_AS = {
    "auth0_token": "token_requests",
    "twitter_token": "token_requests",
    "oauth2_token": "token_requests",
    "jwt_api": "api_calls",
    "bearer_api": "api_calls",
}
"""What a request to each kind of endpoint counts as: an oversized one, for ``anonymous``,
and any one in ``purpose_of`` (kinds not here are counted nowhere)."""


class MockProvider(Admission):
    """A provider profile brought to life; see ``docs/server.md``.

    Faults, limits and their refusals (``limit``, ``fault``, ``render``) come from
    ``Admission``; this class reads requests and answers them through the flows.
    """

    def __init__(
        self,
        config: ProviderConfig,
        clock: Clock,
        store: Store,
        counters: Counters,
        *,
        keys: SigningKeys | None = None,
        base_url: str = "",
    ) -> None:
        settings = config.settings
        self.config = config
        self.settings = settings
        self.clock = OffsetClock(clock, settings.clock_offset_s)
        super().__init__(
            counters,
            store,
            compile_responses(config.responses),
            Limiter(config.limits, store, settings.tenant),
            FaultPlan(config.faults, settings.seed, clock.now()),  # unskewed, as it reads
            random.Random(settings.seed + 1),
        )
        self.limiter.enabled = settings.limits_enabled
        if keys is None:
            if settings.signing_key_file:
                keys = SigningKeys.from_file(settings.token_signing, settings.signing_key_file)
            else:
                keys = SigningKeys(settings.token_signing)
        self.keys = keys
        self.base_url = base_url.rstrip("/")
        self.admin_token = ""  # when set, /_admin/* needs "Authorization: Bearer <token>"
        self._client_ids = frozenset(config.clients)
        self.routes = {(e.method, e.path): e for e in config.endpoints}
        self.paths = {e.path for e in config.endpoints}
        self.endpoints = {e.name: e for e in config.endpoints}
        # Twitter-style opaque bearer tokens: one per app until invalidated.
        self.app_tokens: dict[str, str] = {}
        self.token_apps: dict[str, str] = {}
        self.revoked_tokens: dict[str, str] = {}  # so their 401s count for the right app
        self.token_lock = threading.Lock()
        self._fields_memo: dict[tuple[str, bytes], Mapping[str, str] | str] = {}

    # -- public API -------------------------------------------------------

    def purpose_of(self, request: HttpRequest) -> str | None:
        """What this provider counts ``request`` as, whatever the client that sent it calls
        it: "token" at a token endpoint, "api" at a protected API, None elsewhere (keys,
        discovery, a path or method it does not serve: counted nowhere)."""
        incoming = read_request(request)
        endpoint = self.routes.get((incoming.method, incoming.path))
        if endpoint is None:
            return None
        counter = _COUNTED_AS.get(endpoint.kind)
        return None if counter is None else ("token" if counter == "token_requests" else "api")

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request`` (absolute or path-only URL)."""
        return self.respond(request).response

    def respond(self, request: HttpRequest) -> ProviderReply:
        """Answer ``request`` and say how much latency to inject first."""
        return self.answer(self.read(request))

    def read(self, request: HttpRequest) -> RequestPlan:
        """What ``request`` is, from its bytes and the profile alone: equal requests, equal plans.

        Nothing is counted, limited or checked against a secret here, so a plan
        may be kept and answered again for every identical request.
        """
        incoming = read_request(request)
        endpoint = None
        if not incoming.path.startswith("/_admin/"):
            endpoint = self.routes.get((incoming.method, incoming.path))
        cap = self.settings.max_body_bytes
        oversized = len(incoming.body) > cap or (declared_length(incoming.headers) or 0) > cap
        ask = None
        if endpoint is not None and not oversized and endpoint.kind in _TOKEN_FLOWS:
            ask = _TOKEN_FLOWS[endpoint.kind][0](self, endpoint, incoming)
        return RequestPlan(request, incoming, endpoint, oversized, ask)

    def answer(self, plan: RequestPlan) -> ProviderReply:
        """Answer a request read by ``read``: faults, limits, counts and the flow, now."""
        incoming, endpoint = plan.incoming, plan.endpoint
        if endpoint is None:
            if incoming.path.startswith("/_admin/"):
                sent = plan.request.headers
                origins = [value for name, value in sent if name.lower() == "origin"]
                return ProviderReply(admin.handle(self, incoming, origins))
            name = "not_found"
            if incoming.path in self.paths and "method_not_allowed" in self.responses:
                name = "method_not_allowed"  # Okta's 405 E0000022
            return ProviderReply(self.render(name, now=self.clock.now()))
        spec = self.faults.faults.get(endpoint.name)  # None: no fault set, the usual case
        latency_s = 0.0 if spec is None else spec.latency_ms / 1000.0
        if plan.oversized:
            # Counted, not lost: the body (and so the client id) was never read.
            counter = _COUNTED_AS.get(endpoint.kind)
            if counter is not None:
                self.counters.incr(auth0.ANONYMOUS, counter)
            reply = self.render("payload_too_large", now=self.clock.now())
            return ProviderReply(reply, latency_s)
        now = self.clock.now()
        ask = plan.ask
        try:
            if ask is None:
                response = _FLOWS[endpoint.kind](self, endpoint, incoming, now)
            else:
                # ``admit_token_request``, inline: one call less on every token request.
                if spec is None and self._count_with_limit:
                    rejected, headers = self.limit(
                        endpoint,
                        "request",
                        ask.who,
                        now,
                        "throttled_429",
                        ask.request_key,
                        "token_requests",
                    )
                else:
                    rejected, headers = self.admit_token_request(
                        endpoint, ask.who, now, ask.request_key
                    )
                if rejected is not None:
                    # The reply of a shared (``render_shared``) refusal is shared too.
                    shared = self._replies.get(id(rejected)) if latency_s == 0.0 else None
                    if shared is not None and shared.response is rejected:
                        return shared
                    return ProviderReply(rejected, latency_s)
                response = _TOKEN_FLOWS[endpoint.kind][1](self, ask, headers, now)
        except StoreUnavailable:
            return ProviderReply(self.store_unavailable(), latency_s)
        return ProviderReply(response, latency_s)

    def store_unavailable(self) -> HttpResponse:
        """The profile's 503, sent when the store cannot decide: never admit blindly."""
        extra = {"retry-after": str(STORE_RETRY_AFTER_S)}
        return self.responses["unavailable"].render(None, extra)

    def stats(self) -> dict[str, Any]:
        """The ``/_admin/stats`` document; counts still show while the store is down."""
        clients = self.counters.snapshot()
        try:
            limits = self.limiter.snapshot(self.clock.now())
            store = "ok"
        except StoreUnavailable as error:
            limits, store = {}, str(error)
        return {
            "provider": self.settings.name,
            "clients": clients,
            "limits": limits,
            "store": store,
            "limits_enabled": self.limiter.enabled,
            "clock_offset_s": self.clock.offset_s,
            "bearer_tokens": len(self.app_tokens),
        }

    def reset(self) -> None:
        """Refill every limit, zero the counters and restart fault schedules.

        All or nothing where it can be: the limits are reset first and, if their
        store fails, nothing else is (``StoreUnavailable``). Counters kept in a
        second store that fails afterwards are named in the error.
        """
        self.limiter.reset()
        try:
            self.counters.reset()
        except StoreUnavailable as error:
            raise StoreUnavailable(f"limits were reset, counters were not: {error}") from None
        self._fields_memo = {}  # the memory of many distinct bodies goes back too
        self.faults.restart(self.clock.base.now())

    def faults_json(self) -> dict[str, Any]:
        """Faults in force, as ``GET /_admin/faults`` shows them."""
        return {"clock_offset_s": self.clock.offset_s, "endpoints": self.faults.to_json()}

    def set_faults(self, data: Any) -> None:
        """Replace faults from a ``PUT /_admin/faults`` document (raises ``ConfigError``)."""
        from quotalab.errors import ConfigError

        source = "PUT /_admin/faults"
        if not isinstance(data, dict):
            raise ConfigError(source, "", "a JSON object with endpoints and/or clock_offset_s")
        unknown = set(data) - {"endpoints", "clock_offset_s"}
        if unknown:
            raise ConfigError(source, sorted(unknown)[0], "endpoints or clock_offset_s")
        offset = data.get("clock_offset_s", self.clock.offset_s)
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int | float)
            # A comparison, not math.isfinite: it also refuses NaN and infinity,
            # and a JSON integer too large for a float without OverflowError.
            or not -MAX_SCHEDULE_S <= offset <= MAX_SCHEDULE_S
        ):
            raise ConfigError(
                source,
                "clock_offset_s",
                f"a number of seconds from -{MAX_SCHEDULE_S:,.0f} to {MAX_SCHEDULE_S:,.0f}",
            )
        endpoints = data.get("endpoints")
        faults: dict[str, FaultSpec] | None = None
        if endpoints is not None:
            if not isinstance(endpoints, dict):
                raise ConfigError(source, "endpoints", "an object keyed by endpoint name")
            faults = {}
            for name, spec in endpoints.items():
                if name not in self.endpoints:
                    raise ConfigError(
                        source, f"endpoints.{name}", f"one of {', '.join(self.endpoints)}"
                    )
                faults[name] = fault_from_json(name, spec, source)
        # The limits' stored times move with the clock, before anything else changes.
        if float(offset) != self.clock.offset_s:
            if not isinstance(self.limiter.store, MemoryStore):
                # Shared: requests decided on other threads (and workers) between the
                # move and the new clock would store times in the future and freeze a
                # bucket for as long as the change.
                raise ConfigError(
                    source,
                    "clock_offset_s",
                    f"{self.clock.offset_s:g}, as set at start: with a shared store, give "
                    "the offset with --config (clock_offset_s in [provider])",
                )
            self.limiter.shift(float(offset) - self.clock.offset_s)
        if faults is not None:
            self.faults.faults = faults
        self.clock.offset_s = float(offset)

    # -- helpers the flows share -----------------------------------------

    def public_base(self, incoming: Incoming) -> str:
        """``http(s)://<host>:<port>`` of this server as clients reach it."""
        return self.base_url or f"http://{incoming.host or 'localhost'}"

    def issuer(self, incoming: Incoming) -> str:
        """The configured issuer, else ``served_issuer``."""
        if self.settings.issuer:
            return self.settings.issuer
        return self.served_issuer(incoming)

    def served_issuer(self, incoming: Incoming) -> str:
        """This server's base URL + ``provider.issuer_path``: where the issuer's endpoints
        are served, whatever the configured issuer names."""
        return self.public_base(incoming) + self.settings.issuer_path

    def counted_id(self, client_id: str) -> str:
        """The name counts and limits are kept under for a presented client id.

        A configured id is itself; any other id, of any length, is
        ``UNKNOWN_CLIENTS`` and an empty one ``anonymous``: invented or junk ids
        then cost no memory and never take a tracked place from a real client.
        """
        if client_id in self._client_ids:
            return client_id
        return UNKNOWN_CLIENTS if client_id else auth0.ANONYMOUS

    def body_fields(self, incoming: Incoming) -> Mapping[str, str] | str:
        """Parsed JSON/form fields; clients resend identical bodies, so answers are memoised."""
        key = (incoming.headers.get("content-type", ""), incoming.body)
        fields = self._fields_memo.get(key)
        if fields is None:
            fields = parse_body_fields(incoming)
            if len(incoming.body) <= 4096:
                if len(self._fields_memo) >= 1024:
                    self._fields_memo.clear()
                self._fields_memo[key] = fields
        return fields

    def transaction_id(self) -> str:
        """A random hex id for ``x-transaction`` (seeded)."""
        return f"{self.rng.getrandbits(64):016x}"
