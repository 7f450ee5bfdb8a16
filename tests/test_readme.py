"""The README's httpx example runs against the demo server that `quotalab serve` starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quotalab.server import runner
from quotalab.server.runner import serve_in_thread

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python() -> str:
    """The README's one Python example."""
    (code,) = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
    return code


@pytest.mark.live
def test_the_httpx_example_gets_one_token_and_one_api_answer() -> None:
    code = readme_python()
    provider = runner.build_provider("auth0")  # what `quotalab serve` builds, demo config included
    with serve_in_thread(provider) as base_url:
        # The README's placeholders, filled in with the demo server's URLs and credentials.
        for placeholder, value in (
            ("https://TENANT", base_url),
            ('"ID"', '"demo-client"'),
            ('"SECRET"', '"demo-secret"'),
            ("https://api.example/v1/users", f"{base_url}/api/data"),
            ("https://api.example/", "https://api.quotalab.test/"),
        ):
            assert placeholder in code, f"the README example no longer has {placeholder}"
            code = code.replace(placeholder, value)
        exec(compile(code, str(README), "exec"), {})
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["token_requests"] == 1
    assert counts["api_ok"] == 1
