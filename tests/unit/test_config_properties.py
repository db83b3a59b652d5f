"""Property tests of the mlgate.yaml reader: for any document it either accepts it or gives one clear
error (a `GateInputError`: one line naming the file), never another exception, never a silent default."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.config import SECTIONS, check_config, json_schema, load_section
from mlgate.gate import GateInputError


def _field_names(node: Any) -> set[str]:
    """Every property name in the published schema: keys the generator uses so documents get deep."""
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _field_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _field_names(value)
    return names


FIELDS = sorted(_field_names(json_schema()) - {"$schema"})
KEYS = st.one_of(
    st.sampled_from(FIELDS), st.sampled_from(["pr_auc", "recall@10", "cost"]), st.text(max_size=8)
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["psi", "ks", "pandas", "classification", "local", "fail", "5m"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(
    st.one_of(st.sampled_from([*SECTIONS, "$schema"]), st.text(max_size=8)), VALUES, max_size=4
)


def outcome(text: str | bytes) -> list[str] | GateInputError:
    """check_config on a file holding `text`: the sections it accepted, or the error it gave."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mlgate.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        try:
            return check_config(path)
        except GateInputError as error:
            assert "\n" not in error.message and "\r" not in error.message, error.message
            assert error.message.startswith(str(path)), error.message
            assert error.reason == "invalid-input"
            return error


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=200))
def test_any_text_is_accepted_or_one_clear_error(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.binary(max_size=100))
def test_any_bytes_are_accepted_or_one_clear_error(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(DOCUMENTS)
def test_any_yaml_document_is_accepted_or_one_clear_error(document: dict[Any, Any]) -> None:
    result = outcome(yaml.safe_dump(document, allow_unicode=True))
    if isinstance(result, list):
        # accepted: every section present loads, with finite numbers only
        for name in result:
            module, _, attr = SECTIONS[name].partition(":")
            model = getattr(__import__(module, fromlist=[attr]), attr)
            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / "mlgate.yaml"
                path.write_text(yaml.safe_dump(document), encoding="utf-8")
                loaded = load_section(path, name, model)
            assert all(math.isfinite(v) for v in _floats(loaded.model_dump()))


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list | tuple):
        return [f for v in value for f in _floats(v)]
    return []


@FUZZ
@given(st.sampled_from(["eval", "drift", "canary"]), st.text(min_size=1, max_size=8), VALUES, VALUES)
def test_a_key_given_twice_is_always_refused_naming_it(
    section: str, key: str, first: Any, second: Any
) -> None:
    body = yaml.safe_dump({key: first}, allow_unicode=True) + yaml.safe_dump(
        {key: second}, allow_unicode=True
    )
    text = f"{section}:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    result = outcome(text)
    assert isinstance(result, GateInputError)
    assert "duplicate key" in result.message


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "-.Inf"])
def test_non_finite_numbers_are_refused_everywhere_a_float_is(value: str) -> None:
    for text in (
        f"drift:\n  psi_threshold: {value}\n",
        f"canary:\n  bake_seconds: {value}\n",
        f"eval:\n  latency: {{max_seconds: {value}}}\n",
        f"eval:\n  metrics:\n    cost: {{function: 'a.b:c', greater_is_better: false, threshold: {value}}}\n",
    ):
        result = outcome(text)
        assert isinstance(result, GateInputError) and "finite" in result.message, (text, result)
