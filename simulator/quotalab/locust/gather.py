"""Master/worker runs: the master stops the test itself and gathers every worker's tally.

locust's headless master quits at ``-t`` and waits only half a second for the
workers' last reports, so anything they send at quit can be lost. With
``--stop-after SECONDS`` (set on the master, forwarded to its workers) the
master instead asks each worker to stop its users; a worker answers with its
whole tally once its users have stopped, and the master writes one
``tally-<worker>.json`` per worker into ``--tally-dir`` on its own machine
before it quits. At the test's start it writes the ids of the workers the
test started with there too (``quotalab.run.worker_roll``): a worker that
never answers (lost mid-run, or not within the stop timeout plus
``GATHER_GRACE_S``) has no file, and one that joined the running test (a
restarted worker) has a file of part of the run; the reader compares the
files with the workers the test started with, not their number.
A worker whose run must stop (its strategy cannot be built there, or raised
``SystemExit``) sends its tally, which says why, at once; the master then
stops and gathers every worker without waiting for ``--stop-after``.
Imported only inside the locust process.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from gevent.event import Event
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from quotalab.locust.recorder import Recorder, write_json_file, write_tally_file
from quotalab.run.worker_roll import STARTED_WORKERS_FILE, worker_file_stem

STOP_MESSAGE = "quotalab_stop"
TALLY_MESSAGE = "quotalab_tally"
GATHER_GRACE_S = 20.0

logger = logging.getLogger(__name__)


def gathering(environment: Any) -> bool:
    """True when this run's master stops the test and gathers tallies (``--stop-after``)."""
    options = environment.parsed_options
    return bool(options is not None and getattr(options, "stop_after", 0) > 0)


class Gatherer:
    """The master's view of which workers have sent their tally."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.received: dict[str, dict[str, Any]] = {}
        self.started = False
        self.started_with: tuple[str, ...] = ()  # the workers the test started with
        self.cut_short = Event()  # set when a worker's tally says its run must stop

    def install(self) -> None:
        """Register the listeners on locust's events (once, at import)."""
        events.init.add_listener(self._on_init)  # type: ignore[no-untyped-call]
        events.test_start.add_listener(self._on_test_start)  # type: ignore[no-untyped-call]

    def _on_init(self, environment: Any, **_: Any) -> None:
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            runner.register_message(TALLY_MESSAGE, self._on_tally)
        elif isinstance(runner, WorkerRunner):
            runner.register_message(STOP_MESSAGE, self._on_stop_request, concurrent=True)

    def _on_test_start(self, environment: Any, **_: Any) -> None:
        master = isinstance(environment.runner, MasterRunner)
        if master and gathering(environment) and not self.started:
            self.started = True
            clients = environment.runner.clients
            # The workers locust spreads the users over as the test starts.
            active = [*clients.ready, *clients.spawning, *clients.running]
            self.started_with = tuple(sorted(client.id for client in active))
            directory = getattr(environment.parsed_options, "tally_dir", "")
            if directory:
                started = {"started": list(self.started_with)}
                write_json_file(directory, STARTED_WORKERS_FILE, started)
            gevent.spawn(self._stop_and_gather, environment)

    def send_fatal(self, environment: Any) -> bool:
        """Worker of a gathering master: send the tally, whose ``fatal`` says why the run
        must stop, now; the master then stops every worker and gathers them. False in
        any other process, which stops the run itself."""
        runner = environment.runner
        if not (isinstance(runner, WorkerRunner) and gathering(environment)):
            return False
        runner.send_message(TALLY_MESSAGE, self.recorder.tally.to_json())
        return True

    def _on_tally(self, environment: Any, msg: Any, **_: Any) -> None:
        """Master: one worker's whole tally."""
        self.received[str(msg.node_id)] = msg.data
        if isinstance(msg.data, dict) and msg.data.get("fatal"):
            self.cut_short.set()

    def _on_stop_request(self, environment: Any, msg: Any, **_: Any) -> None:
        """Worker: stop the users, then send what this process counted."""
        runner = environment.runner
        runner.stop()
        runner.send_message(TALLY_MESSAGE, self.recorder.tally.to_json())

    def _stop_and_gather(self, environment: Any) -> None:
        """Master: after ``--stop-after`` seconds stop every worker, write their tallies, quit."""
        options = environment.parsed_options
        self.cut_short.wait(float(options.stop_after))
        runner = environment.runner
        expected = [client.id for client in runner.clients.all]
        runner.send_message(STOP_MESSAGE)
        wait_s = float(environment.stop_timeout or 0) + GATHER_GRACE_S
        with gevent.Timeout(wait_s, False):
            while not all(worker in self.received for worker in expected):
                gevent.sleep(0.1)
        directory = getattr(options, "tally_dir", "")
        for worker, data in self.received.items():
            if directory:
                write_tally_file(directory, worker_file_stem(worker), data)
        missing = [worker for worker in expected if worker not in self.received]
        if missing:
            logger.error("no tally from worker(s) %s within %.0fs", ", ".join(missing), wait_s)
        lost = [w for w in self.started_with if w not in expected and w not in self.received]
        if lost:
            logger.error("worker(s) %s left the running test and sent no tally", ", ".join(lost))
        runner.quit()
