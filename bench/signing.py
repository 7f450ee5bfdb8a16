"""The cost of RS256 signing alone: the ceiling for a server that signs every token.

The key is generated once with the server's key size and reused, and the claims have
the Auth0 access-token shape, so the loop does exactly the signing work one token
costs and nothing else.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.processes import HOST

JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True, slots=True)
class SignCost:
    """Seconds per signature: ``jwt.encode`` as a whole and the RSA signature alone."""

    jwt_encode_s: float
    raw_sign_s: float
    key_bits: int

    @property
    def ceiling_rps(self) -> float:
        """Tokens per second one core could sign and do nothing else: 1 / jwt.encode time."""
        return 1.0 / self.jwt_encode_s


def server_key_bits(port: int, path: str = JWKS_PATH) -> int:
    """Modulus size of the first RSA key the server publishes in its JWKS at ``path``."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        keys = json.loads(conn.getresponse().read())["keys"]
    finally:
        conn.close()
    for key in keys:
        if key.get("kty") == "RSA":
            n = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
            return len(n) * 8
    raise RuntimeError("the server publishes no RSA key")


def auth0_claims(now: int) -> dict[str, object]:
    """Claims shaped like the mock's Auth0 access token."""
    return {
        "iss": "http://127.0.0.1:8000/",
        "sub": "demo-client@clients",
        "aud": "https://api.quotalab.test/",
        "iat": now,
        "exp": now + 86400,
        "scope": "read:data read:clients",
        "gty": "client-credentials",
        "azp": "demo-client",
    }


def _mean_seconds(call: Callable[[], object], duration_s: float) -> float:
    """Seconds per ``call()`` averaged over about ``duration_s``.

    An average, like wrk's requests per second, so both sides of the ratio see the
    machine's noise the same way.
    """
    count = 0
    start = time.perf_counter()
    deadline = start + duration_s
    while time.perf_counter() < deadline:
        call()
        count += 1
    return (time.perf_counter() - start) / count


def measure_signing(key_bits: int, duration_s: float) -> SignCost:
    """Time ``jwt.encode`` (RS256) and the bare RSA signature for about ``duration_s``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    headers = {"kid": "bench"}

    def encode() -> str:
        return jwt.encode(auth0_claims(int(time.time())), key, algorithm="RS256", headers=headers)

    def raw_sign() -> bytes:
        return key.sign(b"x" * 300, padding.PKCS1v15(), hashes.SHA256())

    encode()  # warm up
    return SignCost(
        jwt_encode_s=_mean_seconds(encode, duration_s / 2),
        raw_sign_s=_mean_seconds(raw_sign, duration_s / 2),
        key_bits=key_bits,
    )
