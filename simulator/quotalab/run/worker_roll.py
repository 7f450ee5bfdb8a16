"""Which workers a master's test started with, and which of them sent a whole tally.

A gathering master (``quotalab.locust.gather``) writes the ids of the workers
its test started with to ``STARTED_WORKERS_FILE`` in the tally directory, and
one ``tally-<worker>.json`` for each worker that answers at the end. A worker
lost mid-run (its locust died) answers nothing, and ``quotalab worker`` may
start a replacement that joins the running test and answers with a tally of
part of it: counting files would take one for the other. Pure: the run reads
the files and fails with ``WorkerRoll.problem``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

TALLY_PREFIX = "tally-"
STARTED_WORKERS_FILE = "started-workers"
"""``{"started": [worker id, ...]}``: the workers the master's test started with (JSON,
named apart from the ``*.json`` tallies)."""


def worker_file_stem(worker_id: str) -> str:
    """The tally file name, without ``.json``, of a locust worker id (``host_hexuuid``)."""
    return TALLY_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", worker_id)


@dataclass(frozen=True, slots=True)
class WorkerRoll:
    """Workers that started the test but sent no tally (``lost``), and tallies of workers
    that were not there when it started (``joined``: named by their file stem's id)."""

    lost: tuple[str, ...] = ()
    joined: tuple[str, ...] = ()

    @property
    def problem(self) -> str:
        """What happened, in words; empty when every worker ran the whole test."""
        parts = []
        if self.lost:
            parts.append(
                f"{_workers(self.lost)} started the test and sent no results (lost mid-run)"
            )
        if self.joined:
            parts.append(
                f"{_workers(self.joined)} joined after it started and ran only part of it "
                "(a restarted worker?)"
            )
        return ", and ".join(parts)


def worker_roll(started: Iterable[str], tally_stems: Iterable[str]) -> WorkerRoll:
    """Compare the workers a test ``started`` with by the tally files left (their stems)."""
    started_ids = sorted(set(started))
    sent = set(tally_stems)
    expected = {worker_file_stem(worker) for worker in started_ids}
    lost = tuple(worker for worker in started_ids if worker_file_stem(worker) not in sent)
    joined = tuple(sorted(stem.removeprefix(TALLY_PREFIX) for stem in sent - expected))
    return WorkerRoll(lost, joined)


def _workers(ids: tuple[str, ...]) -> str:
    """``worker a`` or ``workers a, b``."""
    return ("worker " if len(ids) == 1 else "workers ") + ", ".join(ids)
