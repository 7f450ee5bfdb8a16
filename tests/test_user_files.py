"""Files a user hands quotalab are read up to a bound, never on until memory runs out."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from quotalab import user_files
from quotalab.user_files import read_bytes, read_text


def test_a_file_at_the_bound_is_read_whole_and_one_byte_more_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_files, "MAX_FILE_BYTES", 2**20)
    path = tmp_path / "f.json"
    path.write_bytes(b"7" * 2**20)
    assert read_bytes(path) == b"7" * 2**20
    assert read_text(path) == "7" * 2**20
    path.write_bytes(b"7" * (2**20 + 1))
    with pytest.raises(OSError) as caught:
        read_bytes(path)
    assert caught.value.errno == errno.EFBIG
    assert caught.value.strerror == "larger than 1 MiB"


def test_an_endless_device_is_refused_in_one_line() -> None:
    with pytest.raises(OSError, match=r"larger than 16 MiB") as caught:
        read_text("/dev/zero")
    assert "\n" not in str(caught.value)


def test_text_that_is_not_utf8_is_a_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(UnicodeDecodeError):
        read_text(path)
