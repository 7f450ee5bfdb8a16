"""When a live run's tokens were issued: the server's count, sampled while locust runs.

The server counts tokens per client but not when; the run reads that count at
every progress tick (five times a second) and places each new token at the
sample that first saw it. This works for every client, own clients doing
their own HTTP included. Without an admin API the client's tally (per second)
stands in.
"""

from __future__ import annotations

from collections.abc import Callable

from quotalab.run.live_tally import Tally

# Reads the server's count of tokens issued to the run's client; None when it cannot.
ReadCount = Callable[[], int | None]


class IssuanceSampler:
    """Turn successive readings of a growing count into one time per token."""

    def __init__(self, read: ReadCount) -> None:
        self.read = read
        self.seen = 0
        self.times: list[float] = []
        self.failed = False

    def sample(self, elapsed_s: float) -> None:
        """Read the count now; tokens issued since the last reading happened by ``elapsed_s``."""
        if self.failed:
            return
        count = self.read()
        if count is None:
            self.failed = True
            return
        self.record(elapsed_s, count)

    def record(self, elapsed_s: float, count: int) -> None:
        """Place ``count - seen`` new tokens at ``elapsed_s``."""
        if count > self.seen:
            self.times.extend([elapsed_s] * (count - self.seen))
            self.seen = count

    def timeline(self, final_count: int, end_s: float) -> tuple[float, ...] | None:
        """One time per token, the last tokens at ``end_s``; None when sampling failed."""
        if self.failed or final_count < self.seen:
            return None
        self.record(end_s, final_count)
        return tuple(self.times)


def tally_timeline(tally: Tally) -> tuple[float, ...]:
    """One time (its second) per token the client saw issued, for runs without an admin API."""
    times: list[float] = []
    for (second, purpose, outcome), n in sorted(tally.exchanges.items()):
        if purpose == "token" and outcome == "ok":
            times.extend([float(second)] * n)
    return tuple(times)
