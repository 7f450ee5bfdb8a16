"""Own clients and custom strategies that misbehave, as users' code does."""

import contextlib
import sys
import time

import requests

from quotalab import make_strategy


class Raiser:
    name = "raiser"

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def call(self, request):
        self.calls += 1
        if self.calls % 2 == 0:
            raise RuntimeError("policy bug")
        return self.inner.call(request)


def raiser(settings, *, clock, rng):
    return Raiser(make_strategy("naive", settings, clock=clock, rng=rng))


class Exiting(Raiser):
    """A custom strategy whose policy calls ``sys.exit(0)`` on its third call."""

    name = "exiting"

    def call(self, request):
        self.calls += 1
        if self.calls == 3:
            sys.exit(0)
        return self.inner.call(request)


def exiting(settings, *, clock, rng):
    return Exiting(make_strategy("naive", settings, clock=clock, rng=rng))


class Own:
    def __init__(self, settings, name, answer=None):
        self.s, self.name, self.answer = settings, name, answer
        self.http = requests.Session()

    def token(self, secret):
        body = {
            "client_id": self.s.client_id,
            "client_secret": secret,
            "audience": self.s.audience,
            "grant_type": "client_credentials",
        }
        answer = self.http.post(self.s.token_url, json=body, timeout=5)
        answer.raise_for_status()
        return answer.json()["access_token"]


class NoToken(Own):
    def call_api(self, path):
        return self.http.get(self.s.api_base_url + path, timeout=5).status_code


class BadSecret(Own):
    def call_api(self, path):
        self.token("WRONG")
        return 200


class NoHttp(Own):
    def call_api(self, path):
        return 200


class Returns(Own):
    def call_api(self, path):
        return self.answer


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")


class RaisesUnprintable(Own):
    def call_api(self, path):
        raise Unprintable()


class Sleeper(Own):
    def call_api(self, path):
        time.sleep(10**6)
        return 200


class Interrupted(Own):
    def call_api(self, path):
        raise KeyboardInterrupt


def no_token(settings, *, clock, rng):
    return NoToken(settings, "no-token")


def bad_secret(settings, *, clock, rng):
    return BadSecret(settings, "bad-secret")


def no_http(settings, *, clock, rng):
    return NoHttp(settings, "no-http")


def returns_none(settings, *, clock, rng):
    return Returns(settings, "none", None)


def unprintable(settings, *, clock, rng):
    return RaisesUnprintable(settings, "unprintable")


def sleeper(settings, *, clock, rng):
    return Sleeper(settings, "sleeper")


def interrupted(settings, *, clock, rng):
    return Interrupted(settings, "interrupted")


class Fatal(BaseException):
    """An exception of the client's own that is no ``Exception``."""


class RaisesFatal(Own):
    """Works for 3 calls, then raises ``Fatal``: its user must not just vanish."""

    calls = 0

    def call_api(self, path):
        self.calls += 1
        if self.calls > 3:
            raise Fatal("shutting down")
        return 200


def fatal(settings, *, clock, rng):
    return RaisesFatal(settings, "fatal")


class FatalStrategy(Raiser):
    name = "fatal-strategy"

    def call(self, request):
        self.calls += 1
        if self.calls == 3:
            raise Fatal("shutting down")
        return self.inner.call(request)


def fatal_strategy(settings, *, clock, rng):
    return FatalStrategy(make_strategy("naive", settings, clock=clock, rng=rng))


class Busy(Own):
    def call_api(self, path):
        started = time.perf_counter()
        while time.perf_counter() - started < 40:  # never yields to gevent, ignores SIGTERM
            pass
        return 200


def busy(settings, *, clock, rng):
    return Busy(settings, "busy")


class Deadlocking(Own):
    """A token cache whose lock is never released once a refresh fails: every call after
    the fourth blocks for good (a common bug)."""

    def __init__(self, settings, name):
        super().__init__(settings, name)
        import threading

        self.lock, self.calls, self.bearer = threading.Lock(), 0, None

    def call_api(self, path):
        self.lock.acquire()
        self.calls += 1
        if self.bearer is None or self.calls > 4:
            token = self.token(self.s.client_secret)
            if self.calls > 4:
                raise RuntimeError("refresh failed")  # the lock stays held
            self.bearer = token
        self.lock.release()
        headers = {"authorization": "Bearer " + self.bearer}
        return self.http.get(self.s.api_base_url + path, headers=headers, timeout=5).status_code


def deadlocking(settings, *, clock, rng):
    return Deadlocking(settings, "deadlocking")


class Swallower(Own):
    """Says 200 whatever happened: every other call's token request fails, unseen."""

    calls = 0

    def call_api(self, path):
        self.calls += 1
        try:
            secret = self.s.client_secret if self.calls % 2 else "WRONG"
            headers = {"authorization": "Bearer " + self.token(secret)}
            self.http.get(self.s.api_base_url + path, headers=headers, timeout=5)
        except Exception:
            pass
        return 200


def swallower(settings, *, clock, rng):
    return Swallower(settings, "swallower")


class Refresher(Own):
    """Starts a token refresher in its constructor, on a non-daemon timer thread."""

    def __init__(self, settings, name):
        super().__init__(settings, name)
        self.bearer = None
        self._refresh()

    def _refresh(self):
        import threading

        with contextlib.suppress(Exception):
            self.bearer = self.token(self.s.client_secret)
        timer = threading.Timer(0.2, self._refresh)
        timer.start()

    def call_api(self, path):
        headers = {"authorization": f"Bearer {self.bearer}"}
        return self.http.get(self.s.api_base_url + path, headers=headers, timeout=5).status_code


def refresher(settings, *, clock, rng):
    return Refresher(settings, "refresher")


class Lingering(Own):
    """Starts a thread that is no daemon and never ends: its process cannot exit."""

    def __init__(self, settings, name):
        super().__init__(settings, name)
        import threading

        threading.Thread(target=threading.Event().wait, daemon=False).start()

    def call_api(self, path):
        bearer = self.token(self.s.client_secret)
        headers = {"authorization": f"Bearer {bearer}"}
        return self.http.get(self.s.api_base_url + path, headers=headers, timeout=5).status_code


def lingering(settings, *, clock, rng):
    return Lingering(settings, "lingering")


class OtherIdCache(Own):
    """Caches its token, fetched with a client id of its own (``other-client``), until 1 s
    before it expires."""

    def __init__(self, settings, name):
        super().__init__(settings, name)
        self.bearer, self.until = None, 0.0

    def call_api(self, path):
        import time

        if self.bearer is None or time.monotonic() >= self.until:
            body = {
                "client_id": "other-client",
                "client_secret": "other-secret",
                "audience": self.s.audience,
                "grant_type": "client_credentials",
            }
            answer = self.http.post(self.s.token_url, json=body, timeout=5)
            answer.raise_for_status()
            fields = answer.json()
            self.bearer = fields["access_token"]
            self.until = time.monotonic() + fields["expires_in"] - 1
        headers = {"authorization": f"Bearer {self.bearer}"}
        return self.http.get(self.s.api_base_url + path, headers=headers, timeout=5).status_code


def other_id_cache(settings, *, clock, rng):
    return OtherIdCache(settings, "other_id_cache")
