"""The simulation's HS256 keys sign and verify exactly as the server's keys do."""

from __future__ import annotations

import jwt
import pytest

from quotalab.server.keys import SigningKeys
from quotalab.sim.signing import FastHS256Keys

CLAIMS = {
    "iss": "http://quotalab.sim/",
    "sub": "sim-client-0001@clients",
    "aud": "https://api.quotalab.test/",
    "iat": 1800000000,
    "exp": 1800086400,
    "scope": "read:data",
    "gty": "client-credentials",
    "azp": "sim-client-0001",
}


def test_tokens_are_the_bytes_the_server_would_sign() -> None:
    keys = FastHS256Keys(seed=1)
    expected = SigningKeys("HS256", keys._secret).sign(CLAIMS)
    assert keys.sign(CLAIMS) == expected
    assert keys.verify(expected) == CLAIMS


def test_same_seed_same_key_other_seed_other_key() -> None:
    assert FastHS256Keys(3).sign(CLAIMS) == FastHS256Keys(3).sign(CLAIMS)
    assert FastHS256Keys(3).verify(FastHS256Keys(4).sign(CLAIMS)) == "invalid signature"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.split(".")[0] + ".e30." + t.split(".")[2],
        lambda t: "not-a-token",
        lambda t: "",
        lambda t: t + "é",
        lambda t: jwt.encode(CLAIMS, "another-secret-of-at-least-32-bytes!", algorithm="HS256"),
    ],
)
def test_bad_tokens_get_the_servers_own_verdict(mangle: object) -> None:
    keys = FastHS256Keys(seed=2)
    token = mangle(keys.sign(CLAIMS))  # type: ignore[operator]
    reference = SigningKeys("HS256", keys._secret)
    assert isinstance(keys.verify(token), str)
    assert keys.verify(token) == reference.verify(token)
