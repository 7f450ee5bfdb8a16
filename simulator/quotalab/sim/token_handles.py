"""Opaque token handles: what a simulated client needs of a token, without a signature.

A simulated client only carries its access token back to the API; nobody
reads its bytes. ``HandleKeys`` issues ``qlh.<template>.<iat>`` handles
instead of JWTs: the claims that never change for a client (issuer, subject,
audience, scope, lifetime) are interned once as a template, so a handle is
a few bytes and ``verify`` rebuilds the very claims ``sign`` was given.
Memory grows with the number of distinct templates (clients x audiences),
never with the number of tokens. Anything that is not a handle goes to
``FastHS256Keys`` (an HS256 JWT from elsewhere verifies as before).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from quotalab.sim.signing import FastHS256Keys

HANDLE_PREFIX = "qlh."
_TIME_CLAIMS = ("iat", "exp", "nbf")
_MEMO_SIZE = 4096


class HandleKeys(FastHS256Keys):
    """``SigningKeys`` whose tokens are opaque handles to interned claims."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._template_ids: dict[Hashable, int] = {}
        self._templates: list[tuple[dict[str, Any], int | None, bool]] = []
        self._claims_memo: dict[str, dict[str, Any]] = {}

    def sign(self, claims: dict[str, Any]) -> str:
        iat = claims.get("iat")
        exp = claims.get("exp")
        if type(iat) is not int or type(exp) is not int or claims.get("nbf", iat) != iat:
            return super().sign(claims)
        fixed = {k: v for k, v in claims.items() if k not in _TIME_CLAIMS}
        try:
            key: Hashable = (tuple(fixed.items()), exp - iat, "nbf" in claims)
            index = self._template_ids.get(key)
        except TypeError:  # a list-valued claim: not interned
            return super().sign(claims)
        if index is None:
            index = self._template_ids[key] = len(self._templates)
            self._templates.append((fixed, exp - iat, "nbf" in claims))
        return f"{HANDLE_PREFIX}{index}.{iat}"

    def verify(self, token: str) -> dict[str, Any] | str:
        if not token.startswith(HANDLE_PREFIX):
            return super().verify(token)
        claims = self._claims_memo.get(token)
        if claims is not None:
            return claims
        index_text, _, iat_text = token[len(HANDLE_PREFIX) :].partition(".")
        if not (index_text.isdigit() and iat_text.isdigit()) or not index_text.isascii():
            return "jwt malformed"
        index, iat = int(index_text), int(iat_text)
        if index >= len(self._templates) or not iat_text.isascii():
            return "jwt malformed"
        fixed, lifetime_s, nbf = self._templates[index]
        claims = dict(fixed)
        claims["iat"] = iat
        claims["exp"] = iat + (lifetime_s or 0)
        if nbf:
            claims["nbf"] = iat
        if len(self._claims_memo) >= _MEMO_SIZE:
            self._claims_memo.clear()
        self._claims_memo[token] = claims
        return claims

    def expires_at(self, token: str) -> float | None:
        """The ``exp`` claim of a handle (None: not a valid handle)."""
        claims = self.verify(token) if token.startswith(HANDLE_PREFIX) else None
        exp = claims.get("exp") if isinstance(claims, dict) else None
        return float(exp) if isinstance(exp, int) else None
