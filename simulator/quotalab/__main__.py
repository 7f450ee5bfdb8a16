"""``python -m quotalab`` is the ``quotalab`` command."""

from quotalab.command import main

main()
