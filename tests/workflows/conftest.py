"""Fixtures for act runs: a clean copy of this checkout, once per worker (the wheel: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import act_bin, clean_copy
from tests.support.project import ROOT


@pytest.fixture(scope="session")
def mlgate_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a pinned `uses: <mlgate_repo>/actions/<name>@<ref>` fetches: the committed-to-be files."""
    act_bin()  # fail early with the install hint
    return clean_copy(ROOT, tmp_path_factory.mktemp("mlgate-src"))
