"""Which build of the simulation core is running: compiled by mypyc, or plain Python.

``pip install .`` compiles the modules listed in ``quotalab/compiled_core.toml``
where it can (setup.py); both builds decide alike, the compiled one about
twice as fast. The benchmarks and ``quotalab simulate`` say which one ran.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import tomllib
from importlib import resources


def core_modules() -> list[str]:
    """The dotted names of the modules a wheel compiles."""
    listed = tomllib.loads(resources.files("quotalab").joinpath("compiled_core.toml").read_text())
    return [path.removesuffix(".py").replace("/", ".") for path in listed["modules"]]


def compiled_modules() -> list[str]:
    """Those of ``core_modules`` that were loaded from a compiled extension."""
    return [
        name
        for name in core_modules()
        if isinstance(
            importlib.import_module(name).__spec__.loader,  # type: ignore[union-attr]
            importlib.machinery.ExtensionFileLoader,
        )
    ]


@functools.cache
def core_build() -> str:
    """``compiled``, ``plain Python``, or ``partly compiled (a of n modules)``."""
    compiled, listed = len(compiled_modules()), len(core_modules())
    if compiled == listed:
        return "compiled"
    if compiled == 0:
        return "plain Python"
    return f"partly compiled ({compiled} of {listed} modules)"
