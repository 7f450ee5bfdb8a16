"""Profile responses filled per answer: JSON-escaped into bodies, in the profile's order."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from quotalab.profiles.profile_model import ResponseSpec
from quotalab.server.templates import CompiledResponse

ERROR = ResponseSpec(
    "error",
    400,
    (("content-type", "application/json"), ("x-id", "${id}"), ("cache-control", "no-store")),
    '{"error":"${error}","error_description":"${error} for ${id}","id":"${id}"}',
)


@given(error=st.text(), id=st.text())
def test_every_value_fills_a_body_as_valid_json_that_reads_it_back(error: str, id: str) -> None:
    """Whatever the text (quotes, backslashes, control characters, non-ASCII), the body
    is JSON that gives it back exactly, as ``json.dumps`` writes it."""
    body = CompiledResponse(ERROR).render({"error": error, "id": id}).body
    assert json.loads(body) == {"error": error, "error_description": f"{error} for {id}", "id": id}
    text = [json.dumps(v, ensure_ascii=False) for v in (error, f"{error} for {id}", id)]
    assert body == f'{{"error":{text[0]},"error_description":{text[1]},"id":{text[2]}}}'.encode()


def test_a_filled_header_keeps_its_place_and_an_unknown_name_stays_as_written() -> None:
    response = CompiledResponse(ERROR).render({"id": "abc-1"})
    assert list(response.headers.items()) == [
        ("content-type", "application/json"),
        ("x-id", "abc-1"),
        ("cache-control", "no-store"),
    ]
    assert json.loads(response.body)["error"] == "${error}"
