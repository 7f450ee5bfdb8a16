"""The mock token server: a pure provider core and thin ASGI / thread adapters."""

from simulator.server.provider import MockProvider, Outcome

__all__ = ["MockProvider", "Outcome"]
