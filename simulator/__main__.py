"""``python -m simulator`` is the ``quotalab`` command."""

from simulator.cli import main

main()
