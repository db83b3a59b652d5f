"""Property tests of the profile parser (issue 11): for any input, `load_profile` either accepts it or
raises one clear `GateInputError` naming the file — and a profile it accepts can be used by `drift`
without any other error.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.data.config import DriftSection, ProfileSettings
from mlgate.data.drift_core import compare
from mlgate.data.profile_core import build_profile
from mlgate.data.profile_format import load_profile
from mlgate.gate import GateInputError

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,  # no .hypothesis/ directory in the checkout
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@functools.cache
def workspace() -> Path:
    """A directory with a small dataset and its real profile (built once per session)."""
    root = Path(tempfile.mkdtemp(prefix="mlgate-profile-props-"))
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "amount": rng.normal(50, 10, 500).round(2),
            "items": rng.integers(0, 4, 500),
            "channel": rng.choice(["web", "pos"], 500),
        }
    ).to_csv(root / "data.csv", index=False)
    return root


@functools.cache
def good_profile() -> dict[str, Any]:
    return build_profile(workspace() / "data.csv", ProfileSettings())


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


PROFILE_PATHS = None


def all_paths() -> list[tuple[Any, ...]]:
    global PROFILE_PATHS  # noqa: PLW0603 - computed once, after the profile is built
    if PROFILE_PATHS is None:
        PROFILE_PATHS = paths(good_profile())
    return PROFILE_PATHS


def assert_accepted_or_one_clear_error(text: str | bytes, name: str) -> dict[str, Any] | None:
    path = workspace() / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        return load_profile(path)
    except GateInputError as exc:
        assert str(path) in exc.message
        assert "\n" not in exc.message
        assert exc.reason in {"invalid-profile", "unknown-profile-version", "missing-file"}
        return None


@SETTINGS
@given(json_values)
def test_any_json_document_is_accepted_or_one_clear_error(document: Any) -> None:
    assert_accepted_or_one_clear_error(json.dumps(document), "any.json")


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_are_accepted_or_one_clear_error(content: bytes) -> None:
    assert_accepted_or_one_clear_error(content, "bytes.json")


@SETTINGS
@given(st.data())
def test_a_profile_with_one_field_replaced_is_refused_clearly_or_usable(data: st.DataObject) -> None:
    doc = copy.deepcopy(good_profile())
    where = data.draw(st.sampled_from(all_paths()))
    node: Any = doc
    for part in where[:-1]:
        node = node[part]
    replacement = data.draw(json_values | st.just(None) | st.just("DELETE"))
    if replacement == "DELETE" and isinstance(node, dict):
        del node[where[-1]]
    else:
        node[where[-1]] = replacement
    loaded = assert_accepted_or_one_clear_error(json.dumps(doc), "mutated.json")
    if loaded is None:
        return
    # accepted: drift on the data must give a verdict or a clear input error, nothing else
    try:
        compare(loaded, workspace() / "data.csv", DriftSection())
    except GateInputError as exc:
        assert "\n" not in exc.message


def test_the_real_profile_is_accepted() -> None:
    path = workspace() / "good.json"
    path.write_text(json.dumps(good_profile()), encoding="utf-8")
    assert load_profile(path) == good_profile()
