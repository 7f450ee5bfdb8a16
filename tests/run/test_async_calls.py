"""``AsyncCalls``: async own clients' calls on one asyncio loop inside a gevent process.

gevent is monkey-patched in a process of its own (never in the pytest process), as
locust patches its own: the script below checks what a locust user relies on.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
from gevent import monkey

monkey.patch_all()

import asyncio
import gevent

from quotalab.locust.async_calls import AsyncCalls, CallStopped

calls = AsyncCalls()
results = {}


async def value(x):
    await asyncio.sleep(0.001)
    return x


async def raises():
    await asyncio.sleep(0)
    raise ValueError("boom")


async def exits():
    await asyncio.sleep(0)
    raise SystemExit(3)


class Fatal(BaseException):
    pass


async def fatal():
    await asyncio.sleep(0)
    raise Fatal


async def cancels_itself():
    raise asyncio.CancelledError


async def waits_forever():
    try:
        await asyncio.sleep(1000)
    except asyncio.CancelledError:
        results["cancelled"] = True
        raise


def caught(call):
    try:
        return ("value", calls.wait_for(call()))
    except CallStopped as stopped:
        return ("stopped", type(stopped.error).__name__)
    except Exception as error:
        return (type(error).__name__, str(error))


# Users overlap: each waits on the one loop while the others run.
users = [gevent.spawn(calls.wait_for, value(i)) for i in range(20)]
gevent.joinall(users, timeout=10)
results["overlapping"] = [u.value for u in users]
results["raises"] = caught(raises)
results["exits"] = caught(exits)
results["fatal"] = caught(fatal)
results["cancels_itself"] = caught(cancels_itself)
stuck = gevent.spawn(calls.wait_for, waits_forever())
gevent.sleep(0.05)
stuck.kill()  # locust ends a user whose call still runs
gevent.sleep(0.05)
results["after"] = caught(lambda: value("still served"))
results["a plain awaitable"] = calls.wait_for(asyncio.ensure_future(value(7), loop=calls._loop))
print(results)
"""


def test_async_calls_under_gevent() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    results = eval(done.stdout)  # the script's own dict of plain values
    assert results["overlapping"] == list(range(20))
    assert results["raises"] == ("ValueError", "boom")
    assert results["exits"] == ("stopped", "SystemExit")
    assert results["fatal"] == ("stopped", "Fatal")
    assert results["cancels_itself"] == (
        "RuntimeError",
        "the call was cancelled (asyncio.CancelledError)",
    )
    assert results["cancelled"] is True  # the ended user's call was cancelled on the loop
    assert results["after"] == ("value", "still served")
    assert results["a plain awaitable"] == 7
