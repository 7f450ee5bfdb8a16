"""HS256 tokens without PyJWT's per-call overhead, for simulations with millions of tokens.

``FastHS256Keys`` is a ``SigningKeys`` whose ``sign`` produces the very bytes
the server's would (same header, same JSON, same HMAC) and whose ``verify`` checks
the HMAC directly; anything unusual (another header, a bad signature, a
malformed token) goes to ``SigningKeys.verify``, so every error reads the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from typing import Any

from quotalab.server.keys import SigningKeys


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class FastHS256Keys(SigningKeys):
    """HS256 keys from a seeded secret, with direct HMAC signing and verification."""

    def __init__(self, seed: int = 0) -> None:
        secret = random.Random(f"quotalab-sim-key:{seed}").randbytes(32)
        super().__init__("HS256", secret)
        self._hmac_key = secret
        self._header = self.header_segment

    def sign(self, claims: dict[str, Any]) -> str:
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signing_input = self._header + b"." + payload
        signature = hmac.new(self._hmac_key, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + _b64url(signature)).decode("ascii")

    def verify(self, token: str) -> dict[str, Any] | str:
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            return super().verify(token)
        parts = raw.split(b".")
        if len(parts) != 3 or parts[0] != self._header:
            return super().verify(token)
        header, payload, signature = parts
        expected = _b64url(
            hmac.new(self._hmac_key, header + b"." + payload, hashlib.sha256).digest()
        )
        if not hmac.compare_digest(expected, signature):
            return super().verify(token)
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except ValueError:
            return super().verify(token)
        if not isinstance(claims, dict):
            return super().verify(token)
        return claims
