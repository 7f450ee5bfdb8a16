"""A master's tallies are expected by worker identity, not by their number."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from quotalab.errors import QuotalabError
from quotalab.run.live_tally import Tally
from quotalab.run.locust_process import LocustJob, read_tallies
from quotalab.run.settings import MasterSettings
from quotalab.run.worker_roll import STARTED_WORKERS_FILE, worker_file_stem, worker_roll
from tests.run.run_settings import locust_job

FIRST, SECOND, REPLACEMENT = "vm_aaa111", "vm_bbb222", "vm_ccc333"


def master_job(tmp_path: Path, workers: int = 2) -> LocustJob:
    return locust_job(
        tmp_path, strategy="naive", rate=3.0, duration_s=12.0, master=MasterSettings(workers)
    )


def leave(job: LocustJob, started: list[str] | None, sent: dict[str, int]) -> None:
    """What a master leaves: the workers its test started with, and one tally per answer."""
    job.tally_dir.mkdir(parents=True, exist_ok=True)
    if started is not None:
        (job.tally_dir / STARTED_WORKERS_FILE).write_text(json.dumps({"started": started}))
    for worker, calls in sent.items():
        tally = Tally()
        for second in range(calls):
            tally.record_exchange(1_700_000_000 + second, "api", "ok", 3.0)
        path = job.tally_dir / f"{worker_file_stem(worker)}.json"
        path.write_text(json.dumps(tally.to_json()))


def test_every_worker_the_test_started_with_sent_its_tally(tmp_path: Path) -> None:
    job = master_job(tmp_path)
    leave(job, [FIRST, SECOND], {FIRST: 3, SECOND: 4})
    assert read_tallies(job, 0).total("api") == 7


def test_a_replacement_does_not_stand_in_for_a_worker_lost_mid_run(tmp_path: Path) -> None:
    """Two tallies for two expected workers, but one is a restarted worker's, which joined
    the running test: the lost worker's calls are missing from the client's counts."""
    job = master_job(tmp_path)
    leave(job, [FIRST, SECOND], {FIRST: 5, REPLACEMENT: 1})
    with pytest.raises(QuotalabError) as raised:
        read_tallies(job, 0)
    message = str(raised.value)
    assert message == (
        f"locust for 'naive': worker {SECOND} started the test and sent no results (lost "
        f"mid-run), and worker {REPLACEMENT} joined after it started and ran only part of it "
        "(a restarted worker?), so the workers' counts are not the whole run's; see "
        f"{job.log_file}"
    )


def test_a_worker_lost_without_replacement_is_named(tmp_path: Path) -> None:
    job = master_job(tmp_path)
    leave(job, [FIRST, SECOND], {FIRST: 5})
    with pytest.raises(QuotalabError, match=f"worker {SECOND} started the test and sent no"):
        read_tallies(job, 0)


def test_a_worker_joining_a_running_test_fails_it(tmp_path: Path) -> None:
    """Its tally is of part of the run, and its cache's warm-up lands mid-run."""
    job = master_job(tmp_path, workers=1)
    leave(job, [FIRST], {FIRST: 5, REPLACEMENT: 2})
    with pytest.raises(QuotalabError, match=f"worker {REPLACEMENT} joined after it started"):
        read_tallies(job, 0)


def test_without_the_list_of_workers_the_tallies_are_counted(tmp_path: Path) -> None:
    """A master that never started its test wrote no list: the count names the shortfall."""
    job = master_job(tmp_path)
    job.tally_dir.mkdir(parents=True)
    with pytest.raises(QuotalabError, match="0 of 2 workers sent results"):
        read_tallies(job, 1)


def test_an_unreadable_list_of_workers_is_one_error(tmp_path: Path) -> None:
    job = master_job(tmp_path)
    job.tally_dir.mkdir(parents=True)
    (job.tally_dir / STARTED_WORKERS_FILE).write_text('{"started": "vm_aaa111"}')
    with pytest.raises(QuotalabError, match="unreadable list of workers"):
        read_tallies(job, 0)


def test_local_processes_are_still_counted(tmp_path: Path) -> None:
    """``--processes N`` has no master that gathers: each process writes its own file."""
    job = dataclasses.replace(master_job(tmp_path), master=None, processes=2)
    leave(job, None, {"host-101": 2, "host-102": 3})
    assert read_tallies(job, 0).total("api") == 5


def test_the_roll_compares_ids_through_their_file_names() -> None:
    odd = "host name/1"  # sanitized in the file name, named as itself
    roll = worker_roll([odd, FIRST], [worker_file_stem(odd), worker_file_stem(REPLACEMENT)])
    assert (roll.lost, roll.joined) == ((FIRST,), (REPLACEMENT,))
    assert worker_roll([FIRST, SECOND], map(worker_file_stem, [SECOND, FIRST])).problem == ""
    assert worker_roll([FIRST, SECOND], []).problem == (
        f"workers {FIRST}, {SECOND} started the test and sent no results (lost mid-run)"
    )
