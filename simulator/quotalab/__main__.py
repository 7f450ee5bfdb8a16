"""``python -m quotalab`` is the ``quotalab`` command."""

from quotalab.cli import main

main()
