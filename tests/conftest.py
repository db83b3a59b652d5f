"""Shared test configuration: quick mode, the `slow` marker and the mlgate wheel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MLGATE_QUICK") != "1":
        return
    skip = pytest.mark.skip(reason="MLGATE_QUICK=1: slow tests run in `make test`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _give_xdist_workers_a_main_file() -> None:
    """pyspark (pulled in by Great Expectations when installed) calls `sys.exit(0)` on import when
    `__main__` has neither `__spec__` nor `__file__` — it takes that for a doctest run. pytest-xdist's
    workers run with exactly such a `__main__`; give it a file name so importing GX behaves as it does
    under the `mlgate` command."""
    import __main__

    if getattr(__main__, "__spec__", None) is None and not hasattr(__main__, "__file__"):
        __main__.__file__ = "pytest-xdist-worker"


_give_xdist_workers_a_main_file()


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlgate built from this checkout (standing in for PyPI), once per worker."""
    from tests.support.project import build_mlgate_wheel

    return build_mlgate_wheel(tmp_path_factory.mktemp("wheel"))
