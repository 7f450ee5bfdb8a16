"""Typed reading of merged profile tables into the frozen model.

Every bad value raises ``ConfigError`` naming the file that set the key, the
dotted key, and what would have been accepted.
"""

from __future__ import annotations

import re
from typing import Any

from quotalab.errors import ConfigError
from quotalab.limits import Algorithm, CounterQuota, FixedWindow, TokenBucket
from quotalab.limits.algorithms import MIN_PERIOD_S
from quotalab.profiles.fault_schema import (
    MAX_LATENCY_MS,
    MAX_RETRY_AFTER_S,
    MAX_SCHEDULE_S,
    fault_from_json,
)
from quotalab.profiles.ietf_fields import ietf_headers
from quotalab.profiles.placeholders import check_placeholders
from quotalab.profiles.profile_model import (
    ENDPOINT_KINDS,
    OAUTH2_TOKEN_ROLES,
    AudienceFrom,
    ClaimValue,
    ClientSpec,
    EndpointSpec,
    FaultSpec,
    IetfFields,
    KeyPart,
    LimitRule,
    ProfileSettings,
    ProviderConfig,
    ResponseSpec,
    Stage,
    TokenSigning,
)

__all__ = [
    "MAX_LATENCY_MS",
    "MAX_RETRY_AFTER_S",
    "MAX_SCHEDULE_S",
    "ConfigReader",
    "fault_from_json",
]

_KEY_PARTS = ("tenant", "client", "endpoint", "request")
ALGORITHM_KEYS = {
    "token_bucket": ("burst", "refill_rate", "refill", "interval_s"),
    "fixed_window": ("limit", "window_s", "align"),
    "counter_quota": ("limit", "period"),
}
"""The keys of a ``[limits.*]`` table that belong to its ``algorithm`` (``ConfigReader.algorithm``
reads them); the others (key, stage, reject, headers, ...) apply to any algorithm."""
MAX_NUMBER = 1e9
"""The largest number a profile may hold (seconds, rates): larger ones overflow the
dates and arithmetic they feed."""
MAX_INTEGER = 10**15
MAX_TOKEN_LIFETIME_S = 10 * 365 * 86_400
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
"""Headers that frame an answer on the wire: the HTTP server sets them, a response's
``headers`` may not (a second ``content-length`` breaks every client)."""
_CLIENT_AUTH = ("client_secret_post", "client_secret_basic")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An RFC 9110 token: h11 refuses to send any other header name."""
_HEADER_VALUE = re.compile(r"([\x21-\x7e]+([ \t]+[\x21-\x7e]+)*)?")
"""Visible ASCII with inner spaces and tabs, or nothing: what h11 sends (RFC 9110 field-value)."""


class ConfigReader:
    """Typed access to the merged tables, raising ``ConfigError`` on bad values."""

    def __init__(self, data: dict[str, Any], origins: dict[str, str], fallback: str) -> None:
        self.data = data
        self.origins = origins
        self.fallback = fallback
        self.read_values: set[str] = set()  # dotted keys read as a whole value
        self.read_tables: set[str] = set()  # dotted keys read as a table of further keys

    def fail(self, dotted: str, expected: str) -> ConfigError:
        source = self.origins.get(dotted)
        probe = dotted
        while source is None and "." in probe:
            probe = probe.rsplit(".", 1)[0]
            source = self.origins.get(probe)
        return ConfigError(source or self.fallback, dotted, expected)

    def table(self, table: dict[str, Any], key: str, dotted: str) -> dict[str, Any]:
        self.read_tables.add(dotted)
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(dotted, "a table")
        return value

    def string(self, table: dict[str, Any], key: str, dotted: str, default: str | None) -> str:
        self.read_values.add(dotted)
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(dotted, "a string" if key in table else "a string (missing)")
        return value

    def number(
        self,
        table: dict[str, Any],
        key: str,
        dotted: str,
        default: float | None,
        minimum: float,
        maximum: float = MAX_NUMBER,
    ) -> float:
        self.read_values.add(dotted)
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(dotted, f"a number >= {minimum:g}")
        if not value <= maximum:  # NaN, infinity, or too large to compute with
            raise self.fail(dotted, f"a finite number <= {maximum:g}")
        return float(value)

    def integer(
        self,
        table: dict[str, Any],
        key: str,
        dotted: str,
        default: int | None,
        minimum: int,
        maximum: int = MAX_INTEGER,
    ) -> int:
        self.read_values.add(dotted)
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(dotted, f"an integer >= {minimum}")
        if value > maximum:
            raise self.fail(dotted, f"an integer <= {maximum:,}")
        return value

    def boolean(self, table: dict[str, Any], key: str, dotted: str, default: bool) -> bool:
        self.read_values.add(dotted)
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(dotted, "true or false")
        return value

    def strings(
        self, table: dict[str, Any], key: str, dotted: str, default: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        self.read_values.add(dotted)
        value = table.get(key, list(default))
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(dotted, "a list of strings")
        return tuple(value)

    def choice(
        self, table: dict[str, Any], key: str, dotted: str, default: str, options: tuple[str, ...]
    ) -> str:
        self.read_values.add(dotted)
        value = table.get(key, default)
        if value not in options:
            raise self.fail(dotted, f"one of {', '.join(options)}")
        return str(value)

    def headers(self, table: dict[str, Any], key: str, dotted: str) -> tuple[tuple[str, str], ...]:
        self.read_values.add(dotted)  # header names are free-form
        value = self.table(table, key, dotted)
        out: list[tuple[str, str]] = []
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise self.fail(
                    f"{dotted}.{name}",
                    "a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                )
            if not isinstance(text, str) or not _HEADER_VALUE.fullmatch(text):
                raise self.fail(
                    f"{dotted}.{name}",
                    "a header value of visible ASCII, spaces and tabs inside it "
                    "(no control characters, no space or tab at either end)",
                )
            if name.lower() in FRAMING_HEADERS:
                raise self.fail(
                    f"{dotted}.{name}",
                    "a header the server does not set itself (it frames each answer: "
                    f"{', '.join(sorted(FRAMING_HEADERS))} are its own)",
                )
            out.append((name.lower(), text))
        return tuple(out)

    # -- sections ---------------------------------------------------------

    def settings(self) -> ProfileSettings:
        t = self.table(self.data, "provider", "provider")
        p = "provider"
        signing = self.choice(t, "token_signing", f"{p}.token_signing", "RS256", ("RS256", "HS256"))
        token_signing: TokenSigning = "RS256" if signing == "RS256" else "HS256"
        return ProfileSettings(
            name=self.string(t, "name", f"{p}.name", None),
            tenant=self.string(t, "tenant", f"{p}.tenant", "tenant"),
            issuer=self.string(t, "issuer", f"{p}.issuer", ""),
            issuer_path=self.issuer_path(t, p),
            token_signing=token_signing,
            token_lifetime_s=self.integer(
                t, "token_lifetime_s", f"{p}.token_lifetime_s", 86400, 1, MAX_TOKEN_LIFETIME_S
            ),
            include_nbf=self.boolean(t, "include_nbf", f"{p}.include_nbf", False),
            validation_leeway_s=self.number(
                t, "validation_leeway_s", f"{p}.validation_leeway_s", 0.0, 0.0
            ),
            clock_offset_s=self.number(
                t, "clock_offset_s", f"{p}.clock_offset_s", 0.0, -MAX_SCHEDULE_S, MAX_SCHEDULE_S
            ),
            max_body_bytes=self.integer(t, "max_body_bytes", f"{p}.max_body_bytes", 65536, 64),
            limits_enabled=self.boolean(t, "limits_enabled", f"{p}.limits_enabled", True),
            seed=self.integer(t, "seed", f"{p}.seed", 0, 0, 2**64 - 1),
            signing_key_file=self.string(t, "signing_key_file", f"{p}.signing_key_file", ""),
            client_retry_budget_s=self.number(
                t, "client_retry_budget_s", f"{p}.client_retry_budget_s", 120.0, 0.0
            ),
            client_cooldown_s=self.number(
                t, "client_cooldown_s", f"{p}.client_cooldown_s", 60.0, 0.0
            ),
        )

    def issuer_path(self, t: dict[str, Any], p: str) -> str:
        path = self.string(t, "issuer_path", f"{p}.issuer_path", "/")
        if not path.startswith("/"):
            raise self.fail(f"{p}.issuer_path", "a path starting with /")
        return path

    def claims(self, t: dict[str, Any], dotted: str) -> tuple[tuple[str, ClaimValue], ...]:
        self.read_values.add(dotted)  # claim names are free-form
        out: list[tuple[str, ClaimValue]] = []
        for name, value in self.table(t, "claims", dotted).items():
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                out.append((name, tuple(value)))
            elif isinstance(value, str | int | float | bool):
                out.append((name, value))
            else:
                raise self.fail(f"{dotted}.{name}", "a string, number, boolean or list of strings")
            if name in ("iat", "exp", "nbf"):
                raise self.fail(
                    f"{dotted}.{name}", "a claim other than iat, exp, nbf (set by the server)"
                )
        return tuple(out)

    def response(self, name: str, t: dict[str, Any]) -> ResponseSpec:
        p = f"responses.{name}"
        status = self.integer(t, "status", f"{p}.status", None, 100)
        if status > 599 or status < 200 or status in (204, 304):
            # An answer always carries its body and its length: 1xx, 204 and 304 cannot
            # (h11 refused to send them, httptools sent a broken frame).
            raise self.fail(f"{p}.status", "an HTTP status from 200 to 599 other than 204 and 304")
        return ResponseSpec(
            name=name,
            status=status,
            headers=self.headers(t, "headers", f"{p}.headers"),
            body=self.string(t, "body", f"{p}.body", ""),
        )

    def algorithm(self, t: dict[str, Any], p: str) -> Algorithm:
        kind = self.choice(
            t, "algorithm", f"{p}.algorithm", "", ("token_bucket", "fixed_window", "counter_quota")
        )
        if kind == "token_bucket":
            refill = self.choice(
                t, "refill", f"{p}.refill", "continuous", ("continuous", "interval")
            )
            return TokenBucket(
                burst=self.integer(t, "burst", f"{p}.burst", None, 1),
                refill_rate=self.number(t, "refill_rate", f"{p}.refill_rate", None, 1e-9),
                refill="interval" if refill == "interval" else "continuous",
                interval_s=self.number(t, "interval_s", f"{p}.interval_s", 1.0, MIN_PERIOD_S),
            )
        if kind == "fixed_window":
            align = self.choice(t, "align", f"{p}.align", "first_hit", ("first_hit", "epoch"))
            return FixedWindow(
                limit=self.integer(t, "limit", f"{p}.limit", None, 1),
                window_s=self.number(t, "window_s", f"{p}.window_s", None, MIN_PERIOD_S),
                align="epoch" if align == "epoch" else "first_hit",
            )
        period = self.choice(t, "period", f"{p}.period", "month", ("hour", "day", "month"))
        return CounterQuota(
            limit=self.integer(t, "limit", f"{p}.limit", None, 0),
            period="hour" if period == "hour" else "day" if period == "day" else "month",
        )

    def limit(self, name: str, t: dict[str, Any], responses: dict[str, ResponseSpec]) -> LimitRule:
        p = f"limits.{name}"
        key_parts = self.strings(t, "key", f"{p}.key", ("tenant",))
        if not key_parts or any(part not in _KEY_PARTS for part in key_parts):
            raise self.fail(f"{p}.key", "a list drawn from tenant, client, endpoint, request")
        stage_text = self.choice(t, "stage", f"{p}.stage", "request", ("request", "issue"))
        stage: Stage = "issue" if stage_text == "issue" else "request"
        reject = self.string(t, "reject", f"{p}.reject", None)
        if reject not in responses:
            raise self.fail(f"{p}.reject", "the name of a [responses.*] table")
        keys: tuple[KeyPart, ...] = tuple(_key_part(part) for part in key_parts)
        algorithm = self.algorithm(t, p)
        fields = self.choice(
            t, "ietf_fields", f"{p}.ietf_fields", "none", ("none", "structured", "legacy")
        )
        ietf: IetfFields = (
            "structured" if fields == "structured" else "legacy" if fields == "legacy" else "none"
        )
        headers = self.headers(t, "headers", f"{p}.headers") + ietf_headers(name, algorithm, ietf)
        return LimitRule(
            name=name,
            algorithm=algorithm,
            key=keys,
            stage=stage,
            enforce=self.boolean(t, "enforce", f"{p}.enforce", True),
            headers=headers,
            reject=reject,
            ietf_fields=ietf,
        )

    def endpoint(
        self,
        name: str,
        t: dict[str, Any],
        limits: dict[str, LimitRule],
        responses: dict[str, ResponseSpec],
    ) -> EndpointSpec:
        p = f"endpoints.{name}"
        path = self.string(t, "path", f"{p}.path", None)
        if not path.startswith("/"):
            raise self.fail(f"{p}.path", "a path starting with /")
        rules = self.strings(t, "limits", f"{p}.limits")
        for rule in rules:
            if rule not in limits:
                raise self.fail(f"{p}.limits", f"names of [limits.*] tables (no {rule!r})")
        roles = self.table(t, "responses", f"{p}.responses")
        self.read_values.add(f"{p}.responses")  # role names are free-form
        pairs: list[tuple[str, str]] = []
        for role, value in roles.items():
            if not isinstance(value, str) or value not in responses:
                raise self.fail(f"{p}.responses.{role}", "the name of a [responses.*] table")
            pairs.append((role, value))
        client_auth = self.strings(t, "client_auth", f"{p}.client_auth", _CLIENT_AUTH)
        if not client_auth or any(method not in _CLIENT_AUTH for method in client_auth):
            raise self.fail(f"{p}.client_auth", f"a list drawn from {', '.join(_CLIENT_AUTH)}")
        audience_from: AudienceFrom = (
            "endpoint"
            if self.choice(t, "audience_from", f"{p}.audience_from", "scope", ("scope", "endpoint"))
            == "endpoint"
            else "scope"
        )
        return EndpointSpec(
            name=name,
            method=self.string(t, "method", f"{p}.method", "GET").upper(),
            path=path,
            kind=self.choice(t, "kind", f"{p}.kind", "", ENDPOINT_KINDS),
            limits=rules,
            scope=self.string(t, "scope", f"{p}.scope", ""),
            audience=self.string(t, "audience", f"{p}.audience", ""),
            responses=tuple(pairs),
            client_auth=client_auth,
            audience_from=audience_from,
            scope_suffix=self.string(t, "scope_suffix", f"{p}.scope_suffix", ""),
            claims=self.claims(t, f"{p}.claims"),
            scope_claims=self.strings(t, "scope_claims", f"{p}.scope_claims", ("scope",)),
            client_claim=self.string(t, "client_claim", f"{p}.client_claim", "azp"),
        )

    def client(self, client_id: str, t: dict[str, Any]) -> ClientSpec:
        p = f"clients.{client_id}"
        return ClientSpec(
            client_id=client_id,
            secret=self.string(t, "secret", f"{p}.secret", None),
            grant_types=self.strings(t, "grant_types", f"{p}.grant_types", ("client_credentials",)),
            scopes=self.strings(t, "scopes", f"{p}.scopes"),
            audiences=self.strings(t, "audiences", f"{p}.audiences"),
        )

    def fault(self, name: str, t: dict[str, Any]) -> FaultSpec:
        self.read_values.add(f"faults.{name}")  # fault_from_json checks its own keys
        return fault_from_json(name, t, self.origins.get(f"faults.{name}", self.fallback), "faults")

    def build(self, sources: tuple[str, ...]) -> ProviderConfig:
        settings = self.settings()
        responses = {
            name: self.response(name, self.table(table_, name, f"responses.{name}"))
            for table_ in [self.table(self.data, "responses", "responses")]
            for name in table_
        }
        for required in ("not_found", "payload_too_large", "unavailable"):
            if required not in responses:
                raise self.fail(f"responses.{required}", "a response table (status, headers, body)")
        limits_table = self.table(self.data, "limits", "limits")
        limits: dict[str, LimitRule] = {}
        for name in limits_table:
            rule_table = self.table(limits_table, name, f"limits.{name}")
            try:
                limits[name] = self.limit(name, rule_table, responses)
            except ValueError as error:
                raise self.fail(f"limits.{name}", str(error)) from None
        endpoints_table = self.table(self.data, "endpoints", "endpoints")
        endpoints = tuple(
            self.endpoint(
                name, self.table(endpoints_table, name, f"endpoints.{name}"), limits, responses
            )
            for name in endpoints_table
        )
        seen: set[tuple[str, str]] = set()
        for endpoint in endpoints:
            roles = OAUTH2_TOKEN_ROLES if endpoint.kind == "oauth2_token" else ()
            for role in roles:
                if endpoint.response(role, role) not in responses:
                    raise self.fail(
                        f"endpoints.{endpoint.name}.responses",
                        f"a response for {role!r}: map it or add [responses.{role}]",
                    )
            route = (endpoint.method, endpoint.path)
            if route in seen:
                raise self.fail(
                    f"endpoints.{endpoint.name}.path", "a method and path no other endpoint uses"
                )
            seen.add(route)
        clients_table = self.table(self.data, "clients", "clients")
        clients = {
            cid: self.client(cid, self.table(clients_table, cid, f"clients.{cid}"))
            for cid in clients_table
        }
        audiences_table = self.table(self.data, "audiences", "audiences")
        audiences = {
            aud: self.strings(
                self.table(audiences_table, aud, f"audiences.{aud}"),
                "scopes",
                f"audiences.{aud}.scopes",
            )
            for aud in audiences_table
        }
        check_placeholders(responses, limits, endpoints, self.fail)
        faults_table = self.table(self.data, "faults", "faults")
        names = {endpoint.name for endpoint in endpoints}
        faults: dict[str, FaultSpec] = {}
        for name in faults_table:
            if name not in names:
                raise self.fail(f"faults.{name}", "the name of an [endpoints.*] table")
            faults[name] = self.fault(name, self.table(faults_table, name, f"faults.{name}"))
        plans_table = self.table(self.data, "plans", "plans")
        plans = {
            name: self.integer(
                self.table(plans_table, name, f"plans.{name}"),
                "monthly_m2m_tokens",
                f"plans.{name}.monthly_m2m_tokens",
                None,
                1,
            )
            for name in plans_table
        }
        self.reject_unknown(self.data, "")
        return ProviderConfig(
            settings=settings,
            endpoints=endpoints,
            limits=limits,
            responses=responses,
            clients=clients,
            audiences=audiences,
            faults=faults,
            sources=sources,
            plans=plans,
        )

    def reject_unknown(self, table: dict[str, Any], path: str) -> None:
        """Fail on a key nothing read: a typo must not silently keep the default."""
        prefix = f"{path}." if path else ""
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            if dotted in self.read_values:
                continue
            if isinstance(value, dict) and dotted in self.read_tables:
                self.reject_unknown(value, dotted)
                continue
            known = sorted(
                {
                    name[len(prefix) :]
                    for name in self.read_values | self.read_tables
                    if name.startswith(prefix) and "." not in name[len(prefix) :]
                }
            )
            raise self.fail(dotted, f"not a known key; expected one of {', '.join(known)}")


def _key_part(part: str) -> KeyPart:
    if part == "client":
        return "client"
    if part == "endpoint":
        return "endpoint"
    if part == "request":
        return "request"
    return "tenant"
