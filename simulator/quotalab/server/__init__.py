"""The mock token server: a pure provider core and thin ASGI / thread adapters."""

from quotalab.server.mock_provider import MockProvider, ProviderReply

__all__ = ["MockProvider", "ProviderReply"]
