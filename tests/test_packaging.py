"""The wheel as users get it: `import quotalab`, its public names, py.typed, a light plugin.

The wheel is built from a copy of the package sources (plain Python, as
``QUOTALAB_PURE=1`` asks: ``.ci/compiled_core`` checks the compiled one) and installed without
dependencies into a fresh virtual environment that borrows this environment's
third-party packages (not its editable quotalab), then checked from an
unrelated folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulator" / "quotalab"
HEAVY = ("uvicorn", "jwt", "cryptography", "locust", "gevent", "redis")


def _package_files() -> set[str]:
    """Every file of the package, as wheel member names (``quotalab/...``)."""
    return {
        "quotalab/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        PACKAGE,
        source / "simulator" / "quotalab",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "QUOTALAB_PURE": "1"},
    )
    assert built.returncode == 0, built.stderr
    (made,) = tmp.glob("quotalab-*.whl")
    return made


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; third-party packages come from this environment."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # A path line in a .pth file adds this environment's packages, but the
    # .pth files there (the editable quotalab's finder among them) do not run.
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _run(python: Path, code: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [str(python), "-I", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_wheel_holds_every_package_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    members = {name for name in names if name.startswith("quotalab/")}
    expected = _package_files()
    assert {name for name in expected if not name.endswith(".py")}, "no data files found"
    assert "quotalab/py.typed" in members
    assert expected - members == set()
    assert not [name for name in names if name.startswith("simulator")]
    assert not [name for name in names if name.endswith((".so", ".pyd"))]  # QUOTALAB_PURE=1


def test_installed_package_imports_as_quotalab_only(installed: Path, tmp_path: Path) -> None:
    result = _run(
        installed,
        """
        import importlib.util, inspect, json, types
        from importlib.metadata import version
        import quotalab
        undocumented = []
        for name in quotalab.__all__:
            value = getattr(quotalab, name)
            if isinstance(value, type):
                if not (vars(value).get("__doc__") or "").strip():
                    undocumented.append(name)
            elif isinstance(value, types.FunctionType):
                if not (value.__doc__ or "").strip():
                    undocumented.append(name)
            elif name != "__version__" and name not in quotalab.__doc__:
                undocumented.append(name)
        print(json.dumps({
            "file": quotalab.__file__,
            "version": quotalab.__version__,
            "metadata": version("quotalab"),
            "simulator": importlib.util.find_spec("simulator") is not None,
            "undocumented": undocumented,
            "count": len(quotalab.__all__),
        }))
        """,
        tmp_path,
    )
    assert "site-packages" in str(result["file"])
    assert result["version"] == result["metadata"] != "0+unknown"
    assert result["simulator"] is False
    assert result["undocumented"] == []
    assert isinstance(result["count"], int) and result["count"] >= 12


def test_loading_the_plugin_imports_nothing_heavy(installed: Path, tmp_path: Path) -> None:
    result = _run(
        installed,
        f"""
        import json, sys
        import quotalab.pytest_plugin
        print(json.dumps({{"heavy": sorted(
            m for m in sys.modules if m.split(".")[0] in {HEAVY!r}
        )}}))
        """,
        tmp_path,
    )
    assert result["heavy"] == []


def test_the_fixture_still_imports_what_it_needs(installed: Path, tmp_path: Path) -> None:
    result = _run(
        installed,
        """
        import json
        from quotalab import QuotalabServer
        server = QuotalabServer()
        with server.client() as client:
            status = client.post(
                "/oauth/token",
                json={"client_id": "x", "client_secret": "y", "grant_type": "client_credentials"},
            ).status_code
        print(json.dumps({"status": status}))
        """,
        tmp_path,
    )
    assert result["status"] in {200, 401, 403}
