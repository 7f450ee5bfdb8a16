"""Benchmarks: each measures quotalab side by side with a baseline in one run on loopback.

Run one with ``python -m bench.<name>`` from the repository root; see bench/README.md.
"""
