"""Values a provider makes up for each answer: trace ids, timestamps, error ids.

A response template that names one of ``GENERATED`` gets a fresh value per
answer, drawn from the provider's seeded generator (replayable) and its
clock: Entra's ``trace_id`` / ``correlation_id`` / ``timestamp``, Okta's
``error_id``, Twitter's ``transaction``, a token's ``jti``.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Iterable

from quotalab.profiles.profile_model import PER_ANSWER_VALUES

GENERATED = PER_ANSWER_VALUES
_ID_ALPHABET = string.ascii_letters + string.digits


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _token(rng: random.Random, length: int) -> str:
    # ``choices``: one ``random()`` a letter, not ``choice``'s rejection sampling through
    # ``getrandbits`` (a simulated Okta day makes millions of error ids)
    return "".join(rng.choices(_ID_ALPHABET, k=length))


def generated_values(names: Iterable[str], rng: random.Random, now: float) -> dict[str, str]:
    """A value for each name of ``names`` found in ``GENERATED``."""
    out: dict[str, str] = {}
    for name in sorted(names):  # one order whatever the set's: the same seed, the same values
        if name == "transaction":
            out[name] = f"{rng.getrandbits(64):016x}"
        elif name in ("trace_id", "correlation_id"):
            out[name] = _uuid4(rng)
        elif name == "timestamp":  # Entra's "2016-01-09 02:02:12Z"
            out[name] = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(now))
        elif name == "error_id":  # Okta's errorId, e.g. "oaeXXXXXXXXXXXXXXXXXXXXXXX"
            out[name] = "oae" + _token(rng, 22)
        elif name == "jti":  # Okta's access token id, "AT.<43 chars>"
            out[name] = "AT." + _token(rng, 43)
    return out
