"""JSON and TOML from files a user hands quotalab: reports, baselines, thresholds,
profiles' overrides, fault plans.

Python's parsers take more than these files may hold, and some of it fails
later with a traceback: JSON's ``NaN`` and ``Infinity`` (and ``1e400``, read
as infinity) would slip a baseline's figure past every comparison; nesting a
few thousand deep overflows the recursion of the parser or of the checks
after it; an integer of thousands of digits is refused by ``int``. Here each
is one ``UnusableText`` with a one-line reason, which the caller names its
file in.
"""

from __future__ import annotations

import errno
import json
import math
import tomllib
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INTEGER",
    "UnusableText",
    "read_bytes",
    "read_json",
    "read_text",
    "read_toml",
]

MAX_DEPTH = 64
"""How deep a document may nest (quotalab's own reports nest 6 deep)."""
MAX_INTEGER = 2**64
"""The largest integer (in size) a document may hold: no count, seed or bound is larger,
and far larger ones overflow the floats the checks compare them as."""


MAX_FILE_BYTES = 16 * 2**20
"""The largest file quotalab reads (its own reports are a few kB): a path to a device
such as ``/dev/zero`` or to a file far past any real document is refused, not read on
until memory runs out."""


class UnusableText(ValueError):
    """The text is not a document quotalab can read; ``str()`` says why, in one line."""


def read_bytes(path: str | Path) -> bytes:
    """The bytes of the file at ``path``, at most ``MAX_FILE_BYTES``; ``OSError`` when it
    cannot be read or is larger (its ``strerror`` says why, in one line)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        limit = f"larger than {MAX_FILE_BYTES // 2**20} MiB"
        raise OSError(errno.EFBIG, limit, str(path))
    return data


def read_text(path: str | Path) -> str:
    """``read_bytes`` of ``path`` as UTF-8; ``UnicodeDecodeError`` when it is not."""
    return read_bytes(path).decode("utf-8")


def read_json(text: str | bytes) -> Any:
    """The JSON value of ``text``: finite numbers only, nested at most ``MAX_DEPTH`` deep."""
    try:
        value = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique_keys
        )
    except json.JSONDecodeError as error:
        raise UnusableText(f"{error.msg} at line {error.lineno}") from None
    except RecursionError:
        raise UnusableText(f"nested more than {MAX_DEPTH} deep") from None
    except ValueError as error:  # a non-finite number, an integer too long for ``int``
        raise UnusableText(_first_line(error)) from None
    _check_depth(value)
    return value


def read_toml(text: str) -> dict[str, Any]:
    """The table of TOML ``text``, nested at most ``MAX_DEPTH`` deep."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UnusableText(_first_line(error)) from None
    except RecursionError:
        raise UnusableText(f"nested more than {MAX_DEPTH} deep") from None
    except ValueError as error:  # an integer too long for ``int``
        raise UnusableText(_first_line(error)) from None
    _check_depth(table)
    return table


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: where one repeats, JSON readers disagree
    on which value counts (Python keeps the last), so no reading is the file's."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number quotalab accepts (finite numbers only)")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _check_depth(value: object) -> None:
    """``UnusableText`` when ``value`` nests lists and tables more than ``MAX_DEPTH`` deep
    (checked without recursion: the checks after this one recurse) or holds an integer
    larger than ``MAX_INTEGER``."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int) and abs(item) > MAX_INTEGER:
                raise UnusableText(f"the integer {str(item)[:12]}... is past 64 bits")
            continue
        if depth > MAX_DEPTH:
            raise UnusableText(f"nested more than {MAX_DEPTH} deep")
        stack.extend((child, depth + 1) for child in children)
