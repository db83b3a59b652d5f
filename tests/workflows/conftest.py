"""Fixtures for act runs: mlgate's wheel and a clean copy of this checkout, built once per worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import act_bin, clean_copy
from tests.support.project import ROOT, build_mlgate_wheel


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_mlgate_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def mlgate_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a pinned `uses: <mlgate_repo>/actions/<name>@<ref>` fetches: the committed-to-be files."""
    act_bin()  # fail early with the install hint
    return clean_copy(ROOT, tmp_path_factory.mktemp("mlgate-src"))
