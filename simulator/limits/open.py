"""Open a ``Store`` from a URL given on the command line or in config."""

from __future__ import annotations

from simulator.errors import InputError
from simulator.limits.store import MemoryStore, Store


def open_store(url: str = "memory://") -> Store:
    """``memory://`` is the in-process default; other schemes name real stores."""
    if url in ("memory://", "memory", ""):
        return MemoryStore()
    raise InputError(f"unsupported store URL {url!r}: expected memory://")
