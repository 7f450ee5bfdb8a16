from simulator.counters import MemoryCounters


def test_counts_per_client_and_resets() -> None:
    counters = MemoryCounters()
    counters.incr("a", "token_requests")
    counters.incr("a", "token_requests", 2)
    counters.incr("b", "throttled_429")
    assert counters.snapshot() == {"a": {"token_requests": 3}, "b": {"throttled_429": 1}}
    counters.reset()
    assert counters.snapshot() == {}
