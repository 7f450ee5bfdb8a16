"""Comparison runs: locust per strategy against fresh server state, then measurements."""
