"""Signing: memoised tokens are the very bytes a fresh signature gives, and stay bounded."""

from __future__ import annotations

import jwt
import pytest

from quotalab.server.keys import SIGN_MEMO_SIZE
from tests.server.builders import jwt_header_json
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
    keys._sign_memo.clear()
    fresh = keys.sign(dict(CLAIMS))
    assert first == again == fresh
    assert keys.verify(first) == CLAIMS


@pytest.mark.parametrize("algorithm", ["RS256", "HS256"])
def test_tokens_have_the_references_header_and_pyjwts_claims_and_signature(
    algorithm: str,
) -> None:
    keys = shared_keys(algorithm)
    token = keys.sign(dict(CLAIMS))
    payload = token.split(".")[1]
    expected = f'{{"alg":"{algorithm}","typ":"JWT","kid":"{keys.kid}"}}'
    assert jwt_header_json(token) == expected.encode()
    pyjwt = jwt.encode(dict(CLAIMS), keys._sign_key, algorithm=algorithm, headers={"kid": keys.kid})
    assert payload == pyjwt.split(".")[1]  # the claims' bytes are PyJWT's
    no_clock = {"verify_exp": False, "verify_iat": False, "verify_aud": False}
    assert jwt.decode(token, keys._verify_key, algorithms=[algorithm], options=no_clock) == CLAIMS
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "JWT", "kid": keys.kid}


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
