"""``quotalab worker`` and the master's locust command line, without running locust."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from quotalab.errors import InputError
from quotalab.run.locust_process import LocustJob, locust_command
from quotalab.run.settings import MasterSettings
from quotalab.run.workers import check_worker, worker_command
from tests.cli_process import quotalab
from tests.run.run_settings import locust_job


def job(tmp_path: Path, master: MasterSettings | None) -> LocustJob:
    return locust_job(tmp_path, tally_dir=tmp_path, master=master)


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_a_master_stops_and_gathers_itself_instead_of_a_run_time(tmp_path: Path) -> None:
    command = locust_command(job(tmp_path, MasterSettings(2, "0.0.0.0", 6001)))
    assert "--master" in command and "-t" not in command
    assert option(command, "--stop-after") == "7"
    assert option(command, "--expect-workers") == "2"
    assert option(command, "--master-bind-port") == "6001"
    assert option(command, "--master-bind-host") == "0.0.0.0"
    assert job(tmp_path, MasterSettings(2)).tally_sources == 2


def test_a_local_run_keeps_locusts_run_time(tmp_path: Path) -> None:
    command = locust_command(job(tmp_path, None))
    assert option(command, "-t") == "7s"
    assert "--master" not in command and "--stop-after" not in command


def test_local_processes_find_their_master_on_loopback_at_a_free_port(tmp_path: Path) -> None:
    command = locust_command(dataclasses.replace(job(tmp_path, None), processes=2))
    assert option(command, "--processes") == "2"
    # locust's implicit master would otherwise listen on every interface at 5557
    assert option(command, "--master-bind-host") == "127.0.0.1"
    port = option(command, "--master-bind-port")
    assert port == option(command, "--master-port") and port != "5557"


def test_worker_command_points_at_the_master() -> None:
    command = worker_command(check_worker(" 10.0.0.2 ", 6001, 2))
    assert "--worker" in command
    assert option(command, "--master-host") == "10.0.0.2"
    assert option(command, "--master-port") == "6001"
    assert option(command, "-f").endswith("locustfile.py")


@pytest.mark.parametrize(
    ("host", "port", "runs", "message"),
    [("", 5557, 0, "--master-host"), ("h", 0, 0, "--master-port 0"), ("h", 5557, -1, "--runs")],
)
def test_impossible_worker_options(host: str, port: int, runs: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_worker(host, port, runs)


def test_worker_cli_refuses_a_bad_port_with_one_line() -> None:
    done = quotalab("worker", "--master-host", "h", "--master-port", "0")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--master-port 0" in lines[0], done.stderr


def test_worker_help_shows_an_example() -> None:
    done = quotalab("worker", "--help")
    assert done.returncode == 0
    assert "Example: quotalab worker --master-host" in done.stdout
