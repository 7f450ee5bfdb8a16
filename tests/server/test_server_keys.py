"""Signing: memoised tokens are the very bytes a fresh signature gives, and stay bounded."""

from __future__ import annotations

import jwt
import pytest

from quotalab.server.keys import SIGN_MEMO_SIZE
from tests.server.conftest import shared_keys

CLAIMS = {
    "iss": "http://127.0.0.1:8000/",
    "sub": "demo-client@clients",
    "aud": "https://api.quotalab.test/",
    "iat": 1_800_000_000,
    "exp": 1_800_086_400,
    "gty": "client-credentials",
    "azp": "demo-client",
}


@pytest.mark.parametrize("algorithm", ["RS256", "HS256"])
def test_same_claims_in_one_second_give_the_bytes_of_a_fresh_signature(algorithm: str) -> None:
    keys = shared_keys(algorithm)
    first = keys.sign(dict(CLAIMS))
    again = keys.sign(dict(reversed(list(CLAIMS.items()))))  # same claims, other order
    fresh = jwt.encode(dict(CLAIMS), keys._sign_key, algorithm=algorithm, headers={"kid": keys.kid})
    assert first == again == fresh
    assert keys.verify(first) == CLAIMS


def test_a_new_second_or_another_client_gets_another_token() -> None:
    keys = shared_keys("RS256")
    base = keys.sign(dict(CLAIMS))
    assert keys.sign({**CLAIMS, "iat": CLAIMS["iat"] + 1}) != base
    assert keys.sign({**CLAIMS, "azp": "other"}) != base


def test_the_memo_is_bounded() -> None:
    keys = shared_keys("HS256")
    for i in range(SIGN_MEMO_SIZE * 2 + 5):
        keys.sign({**CLAIMS, "iat": i})
    assert len(keys._sign_memo) <= SIGN_MEMO_SIZE
