"""Token signing keys, loaded once at start-up, and JWT signing and checking.

RS256 (the default, like Auth0) publishes its public key in the JWKS; HS256
is offered because it is far cheaper when the simulation issues millions of
tokens. The key pair can be shared between server workers through a PEM file.
Tokens are signed here rather than by ``jwt.encode``, which sorts the header's
keys: the reference gives Auth0's as ``{"alg":"RS256","typ":"JWT","kid":"..."}``
and no other order for Entra or Okta, so every profile's tokens use that one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from quotalab.errors import ConfigError
from quotalab.user_files import read_bytes


def b64url(data: bytes) -> bytes:
    """Base64url without padding, as JWS writes every segment."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return b64url(raw).decode("ascii")


def jwt_header_segment(algorithm: str, kid: str) -> bytes:
    """The encoded JWS header, keys in the reference's order: alg, typ, kid."""
    header = {"alg": algorithm, "typ": "JWT", "kid": kid}
    return b64url(json.dumps(header, separators=(",", ":")).encode("ascii"))


def generate_private_pem() -> bytes:
    """A fresh 2048-bit RSA private key as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


SIGN_MEMO_SIZE = 1024


class SigningKeys:
    """One signing key: signs claims, verifies tokens, publishes the JWKS."""

    def __init__(self, algorithm: str = "RS256", private_pem: bytes | None = None) -> None:
        self.algorithm = algorithm
        self._verify_cache: dict[str, dict[str, Any]] = {}
        self._sign_memo: dict[str, str] = {}
        if algorithm == "HS256":
            self._secret = private_pem or secrets.token_bytes(32)
            self.kid = hashlib.sha256(self._secret).hexdigest()[:16]
            self.header_segment = jwt_header_segment(algorithm, self.kid)
            self._sign_key: Any = self._secret
            self._verify_key: Any = self._secret
            self.jwks: dict[str, Any] = {"keys": []}
            return
        pem = private_pem or generate_private_pem()
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        public = private.public_key()
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:15]).decode("ascii")
        self.header_segment = jwt_header_segment(algorithm, self.kid)
        self._sign_key = private
        self._verify_key = public
        numbers = public.public_numbers()
        self.jwks = {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    @classmethod
    def from_file(cls, algorithm: str, path: str) -> SigningKeys:
        """Keys from a PEM file (RS256) or a raw secret file (HS256)."""
        try:
            data = read_bytes(path)
        except OSError as error:
            raise ConfigError(
                path, "provider.signing_key_file", f"a readable key file ({error.strerror})"
            ) from None
        try:
            return cls(algorithm, data)
        except ValueError:
            raise ConfigError(
                path, "provider.signing_key_file", "an RSA private key in PEM"
            ) from None

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS of ``claims`` with ``kid`` in the header.

        RS256 and HS256 signatures are deterministic and the claims change once
        a second (``iat``, no ``jti``), so every token a client gets within one
        second is the same bytes: sign once, answer the rest from a bounded memo.
        The claims are compact JSON in their given order, as PyJWT writes them.
        """
        memo_key = json.dumps(claims, sort_keys=True, separators=(",", ":"))
        token = self._sign_memo.get(memo_key)
        if token is None:
            token = self.compact(claims)
            if len(self._sign_memo) >= SIGN_MEMO_SIZE:
                self._sign_memo.clear()
            self._sign_memo[memo_key] = token
        return token

    def compact(self, claims: dict[str, Any]) -> str:
        """The compact JWS of ``claims``, signed now (``sign`` remembers it)."""
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signing_input = self.header_segment + b"." + payload
        return (signing_input + b"." + b64url(self._signature(signing_input))).decode("ascii")

    def _signature(self, signing_input: bytes) -> bytes:
        """The JWS signature with the key loaded at start-up (never re-parsed per token)."""
        if self.algorithm == "HS256":
            return hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        private: rsa.RSAPrivateKey = self._sign_key
        return private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, token: str) -> dict[str, Any] | str:
        """The claims of ``token`` if its signature is ours, else why not.

        Time claims are checked by the caller against the provider's clock;
        verified tokens are remembered (bounded) since clients reuse them.
        """
        cached = self._verify_cache.get(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            return "invalid signature"
        except jwt.InvalidAlgorithmError:
            return "invalid algorithm"
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return "jwt malformed"
        if not isinstance(claims, dict):
            return "jwt malformed"
        if len(self._verify_cache) >= 4096:
            self._verify_cache.clear()
        self._verify_cache[token] = claims
        return claims

    def jwks_bytes(self) -> bytes:
        """The JWKS document as JSON bytes."""
        return json.dumps(self.jwks, separators=(",", ":")).encode("utf-8")
