"""Every ``${name}`` a profile writes must be one the server fills where it is used.

A response is rendered in a known context: as an ``oauth2_token`` role, as a
limit rule's reject, as a ``discovery`` document, or as one of the answers
any endpoint may give (``not_found``, the optional ``method_not_allowed``,
``payload_too_large``, ``unavailable``). Each context fills a known set of names; a placeholder
outside that set would reach the client as the literal ``${name}``, so the
loader refuses it, naming the file and key.

Responses used only by the Auth0 and Twitter flows are filled by code that
names them directly; those are not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from quotalab.errors import ConfigError
from quotalab.profiles.profile_model import (
    DISCOVERY_VALUES,
    LIMIT_VALUES,
    OAUTH2_CLAIM_VALUES,
    OAUTH2_TOKEN_ROLE_VALUES,
    PER_ANSWER_VALUES,
    EndpointSpec,
    LimitRule,
    ResponseSpec,
)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_ENDPOINT = ("not_found", "method_not_allowed", "payload_too_large", "unavailable")

Fail = Callable[[str, str], ConfigError]


def placeholder_names(text: str) -> list[str]:
    """The ``${name}`` names ``text`` uses, in order."""
    return _PLACEHOLDER.findall(text)


def _check_text(text: str, known: frozenset[str], dotted: str, context: str, fail: Fail) -> None:
    for name in placeholder_names(text):
        if name not in known:
            shown = ", ".join(sorted(known)) or "none"
            raise fail(dotted, f"no ${{{name}}} here: {context} fills only {shown}")


def _check_response(spec: ResponseSpec, known: frozenset[str], context: str, fail: Fail) -> None:
    known = known | PER_ANSWER_VALUES
    for header, value in spec.headers:
        _check_text(value, known, f"responses.{spec.name}.headers.{header}", context, fail)
    _check_text(spec.body, known, f"responses.{spec.name}.body", context, fail)


def check_placeholders(
    responses: Mapping[str, ResponseSpec],
    limits: Mapping[str, LimitRule],
    endpoints: Iterable[EndpointSpec],
    fail: Fail,
) -> None:
    """Raise ``ConfigError`` (through ``fail``) at the first placeholder nothing fills."""
    for name in _ANY_ENDPOINT:
        if name in responses:  # method_not_allowed is optional
            _check_response(responses[name], frozenset(), f"the {name} answer", fail)
    for rule in limits.values():
        for header, value in rule.headers:
            _check_text(
                value, LIMIT_VALUES, f"limits.{rule.name}.headers.{header}", "a limit", fail
            )
        context = f"the reject of [limits.{rule.name}]"
        _check_response(responses[rule.reject], LIMIT_VALUES, context, fail)
    for endpoint in endpoints:
        if endpoint.kind == "oauth2_token":
            for role, values in OAUTH2_TOKEN_ROLE_VALUES.items():
                spec = responses[endpoint.response(role, role)]
                context = f"role {role!r} of [endpoints.{endpoint.name}]"
                _check_response(spec, values, context, fail)
            for claim, claim_value in endpoint.claims:
                if isinstance(claim_value, str):
                    dotted = f"endpoints.{endpoint.name}.claims.{claim}"
                    _check_text(claim_value, OAUTH2_CLAIM_VALUES, dotted, "a token claim", fail)
        elif endpoint.kind == "discovery":
            for role, response in endpoint.responses:
                if role == "ok":
                    context = f"the document of [endpoints.{endpoint.name}]"
                    _check_response(responses[response], DISCOVERY_VALUES, context, fail)
