"""Shared test configuration: quick mode and the `slow` marker."""

from __future__ import annotations

import os

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
