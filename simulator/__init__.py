"""quotalab: rate-limit simulation harness for OAuth client-credentials token traffic.

The package is organised as a pure core with thin adapters:

- ``simulator.clock``: the injected ``Clock`` (system and virtual).
- ``simulator.limits``: rate-limit algorithms, decisions and stores.
- ``simulator.profiles``: providers described as data (TOML).
- ``simulator.server``: the ASGI mock token server.
- ``simulator.strategies``: sans-I/O client strategies and their drivers.
- ``simulator.cli``: the ``quotalab`` command.
"""

__version__ = "0.1.0"
