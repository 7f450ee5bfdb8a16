"""Command-line options every benchmark shares, so each runs with one command."""

from __future__ import annotations

import argparse


def parser(description: str, example: str) -> argparse.ArgumentParser:
    """An argument parser with the shared load options; ``example`` ends the --help."""
    p = argparse.ArgumentParser(
        description=description,
        epilog=f"example: {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=5.0, help="seconds of load per side per round")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds; the median counts")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (wrk -c)")
    p.add_argument("--workers", type=int, default=1, help="server worker processes, both sides")
    p.add_argument(
        "--store",
        default="memory://",
        help="quotalab's limiter store; --workers > 1 needs redis://127.0.0.1:6379/0",
    )
    p.add_argument(
        "--output",
        choices=("text", "markdown", "json"),
        default="text",
        help="table format (markdown is what bench/README.md holds)",
    )
    return p
