"""`mlgate.registry.models.file_digest` (the eval gate's and promote's data and lock-file digest) is the
sha256 of the file's bytes, whatever the file's size."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mlgate.registry.models import file_digest


@pytest.mark.parametrize("size", [0, 1, 65_535, 3 * 2**20 + 17])
def test_file_digest_is_the_sha256_of_the_bytes(tmp_path: Path, size: int) -> None:
    content = os.urandom(size)
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    assert file_digest(path) == hashlib.sha256(content).hexdigest()
    path.write_bytes(content + b"x")  # one byte more: another digest
    assert file_digest(path) != hashlib.sha256(content).hexdigest()
