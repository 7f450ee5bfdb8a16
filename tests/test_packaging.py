"""The wheel carries every file of the package: ``pip install .`` users get profiles and schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _package_files() -> set[str]:
    """Every file under simulator/ the package would load, as wheel member names."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "simulator").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_every_package_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "simulator", source / "simulator", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("quotalab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        members = {name for name in archive.namelist() if name.startswith("simulator/")}
    expected = _package_files()
    assert {name for name in expected if not name.endswith(".py")}, "no data files found"
    assert expected - members == set()
