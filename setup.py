"""Builds quotalab, compiling the simulation's hot path with mypyc where it can.

Everything about the package is in pyproject.toml; this file only adds the
compiled modules listed in simulator/quotalab/compiled_core.toml. A wheel
(`pip install .`) gets them when mypyc and a C compiler are at hand; without
them, with QUOTALAB_PURE=1, or for an editable install (whose sources must
stay what runs), the same modules install as plain Python, which decides
exactly alike (.ci/compiled_core plays both and compares the reports).
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SOURCES = ROOT / "simulator"


def _say(message: str) -> None:
    print(f"quotalab: {message}", file=sys.stderr)


def _wants_compiled() -> bool:
    """Only a wheel or an explicit build_ext compiles: not metadata, not editable installs."""
    if os.environ.get("QUOTALAB_PURE", "") not in ("", "0"):
        return False
    return bool({"bdist_wheel", "build_ext"} & set(sys.argv[1:]))


def _forget_earlier_builds() -> None:
    """A wheel holds only what this build compiled: setuptools packs whatever build/lib*
    holds, so the compiled modules an earlier build left there go first."""
    for lib in (ROOT / "build").glob("lib*"):
        for pattern in ("quotalab/**/*.so", "quotalab/**/*.pyd", "*__mypyc*"):
            for built in lib.glob(pattern):
                built.unlink()


def _compiled_extensions() -> list[Any]:
    """mypyc's extensions for the listed modules, or none (and why, on stderr)."""
    listed = tomllib.loads((SOURCES / "quotalab" / "compiled_core.toml").read_text("utf-8"))
    paths = [str(Path("simulator") / module) for module in listed["modules"]]
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not installed: the simulation core stays plain Python")
        return []
    # The modules they import are read, not compiled: their own type errors (third-party
    # packages are absent from an isolated build) do not stop the build.
    flags = [
        "--config-file=",
        "--follow-imports=silent",
        "--ignore-missing-imports",
        "--python-version=3.11",
    ]
    try:
        return list(mypycify(flags + paths, group_name="quotalab", opt_level="3"))
    except (Exception, SystemExit) as error:  # a type error mypyc refuses: plain Python
        _say(f"mypyc could not translate the simulation core ({error}): it stays plain Python")
        return []


class BuildExtOrPure(build_ext):
    """build_ext that leaves the plain-Python modules in place when compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no C compiler, no Python headers
            _say(f"compiling the simulation core failed ({error}): it stays plain Python")
            for extension in self.extensions:
                built = Path(self.get_ext_fullpath(extension.name))
                built.unlink(missing_ok=True)


if "bdist_wheel" in sys.argv[1:]:
    _forget_earlier_builds()
setup(
    ext_modules=_compiled_extensions() if _wants_compiled() else [],
    cmdclass={"build_ext": BuildExtOrPure},
)
