"""``lack_of_evidence``: the one rule by which the run and the gate refuse figures."""

from __future__ import annotations

import pytest

from quotalab.evidence import lack_of_evidence


@pytest.mark.parametrize(
    ("counts", "lack"),
    [
        ((0, 0, 5, 5, 5), "no_call"),  # the server saw requests, but no call ended
        ((40, 40, 0, 0, 40), "unseen"),
        ((380, 380, 135, 135, 380), "swallowed"),
        ((10, 9, 10, 8, 10), "swallowed"),  # one success too many is one too many
        ((14, 0, 0, 0, 0), "uncounted"),
        ((10, 8, 10, 8, 10), None),  # as many successes as the server gave
        ((10, 0, 0, 0, 10), None),  # every token request refused: measured, and failed
        ((10, 0, 10, 0, 0), None),  # API requests without tokens: measured, and failed
    ],
)
def test_each_lack_is_told_apart(counts: tuple[int, int, int, int, int], lack: str | None) -> None:
    found = lack_of_evidence(*counts)
    assert (found and found[0]) == lack


def test_the_reason_gives_the_counts() -> None:
    found = lack_of_evidence(380, 380, 135, 135, 380)
    assert found is not None
    assert "380 calls succeeded" in found[1] and "only 135 API requests" in found[1]
