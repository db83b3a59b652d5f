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
