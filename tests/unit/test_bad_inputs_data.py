"""Bad-input catalogue of the data gates: `profile`, `drift`, `drift-check` and `validate-data`.

Every case runs the real CLI in a fresh directory (see `tests.support.bad_inputs`) and asserts exit
code 1, the documented `failure-reason`, a first error line naming the file or field, and no traceback.
The profile cases start from a profile `mlgate profile` really wrote and damage one field each.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.data import drift, drift_check, profile, validate
from mlgate.data.config import ProfileSettings
from tests.support.bad_inputs import BadInput, check_bad_input

CONFIG = "drift:\n  profile: ref.json\ndata:\n  dataset: data.csv\n"


def frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 15, n).round(3),
            "items": rng.integers(1, 9, n),
            "channel": rng.choice(["web", "pos", "atm"], n),
        }
    )


def csv_text(df: pd.DataFrame, sep: str = ",") -> str:
    return df.to_csv(index=False, sep=sep)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer)
    return buffer.getvalue()


GOOD = csv_text(frame())


@functools.cache
def good_profile() -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        data.write_text(GOOD, encoding="utf-8")
        return profile.build_profile(data, ProfileSettings())


def damaged(change: Callable[[dict[str, Any]], None]) -> str:
    """The good profile with one change applied, as JSON text."""
    doc = copy.deepcopy(good_profile())
    change(doc)
    return json.dumps(doc)


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value DELETE, delete) a dotted path in the profile."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


DELETE = object()


def with_data(**files: str | bytes) -> dict[str, str | bytes]:
    return {"mlgate.yaml": CONFIG, **files}


def profile_case(
    id: str, files: dict[str, str | bytes], reason: str, names: str, *extra: str, data: str = "data.csv"
) -> BadInput:
    return BadInput(
        id=f"profile: {id}",
        argv=("profile", "--data", data, "--output", "out.json", *extra),
        reason=reason,
        names=names,
        files=with_data(**files),
    )


def drift_profile_case(id: str, change: Callable[[dict[str, Any]], None] | str, names: str) -> BadInput:
    """drift with good data and a damaged profile (`invalid-profile`)."""
    text = change if isinstance(change, str) else damaged(change)
    return BadInput(
        id=f"drift: profile {id}",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json"),
        reason="invalid-profile",
        names=names,
        files=with_data(**{"data.csv": GOOD, "ref.json": text}),
    )


def drift_data_case(id: str, data: str | bytes, reason: str, names: str, name: str = "new.csv") -> BadInput:
    return BadInput(
        id=f"drift: data {id}",
        argv=("drift", "--data", name, "--profile", "ref.json"),
        reason=reason,
        names=names,
        files=with_data(**{name: data, "ref.json": json.dumps(good_profile())}),
    )


def _with_inf(value: float) -> str:
    df = frame()
    df["amount"] = df["amount"].astype(float)
    df.loc[5, "amount"] = value
    return csv_text(df)


def _duplicate_columns() -> str:
    return "amount,items,amount\n1.0,2,3.0\n2.0,3,4.0\n"


LATIN = "amount,items,channel\n1.5,2,caf\xe9\n".encode("latin-1")
UTF16 = "amount,items,channel\n1.5,2,web\n".encode("utf-16")
BINARY = bytes(range(256)) * 8
HUGE_OUTPUT_PARENT = {"blocker": "a file, not a directory"}

PROFILE_CASES = [
    profile_case("missing data", {}, "missing-file", "nope.csv", data="nope.csv"),
    profile_case("empty file", {"data.csv": ""}, "empty-data", "data.csv"),
    profile_case("header only", {"data.csv": "amount,items,channel\n"}, "empty-data", "data.csv"),
    profile_case("semicolon-delimited", {"data.csv": csv_text(frame(), ";")}, "schema-mismatch", "semicolon"),
    profile_case("pipe-delimited", {"data.csv": csv_text(frame(), "|")}, "schema-mismatch", "pipe"),
    profile_case("latin-1 text", {"data.csv": LATIN}, "unreadable-data", "UTF-8"),
    profile_case("UTF-16 text", {"data.csv": UTF16}, "unreadable-data", "UTF-16"),
    profile_case("binary bytes", {"data.csv": BINARY}, "unreadable-data", "binary"),
    profile_case("Parquet named .csv", {"data.csv": parquet_bytes(frame())}, "unreadable-data", "Parquet"),
    profile_case(
        "damaged Parquet",
        {"data.parquet": b"PAR1 not really"},
        "unreadable-data",
        "data.parquet",
        data="data.parquet",
    ),
    profile_case("duplicate column names", {"data.csv": _duplicate_columns()}, "schema-mismatch", "amount"),
    profile_case("inf in a numeric column", {"data.csv": _with_inf(np.inf)}, "infinite-value", "amount"),
    profile_case("-inf in a numeric column", {"data.csv": _with_inf(-np.inf)}, "infinite-value", "amount"),
    profile_case("all-null column", {"data.csv": "amount,items\n,1\n,2\n"}, "all-null-column", "amount"),
    profile_case("unsupported suffix", {"data.json": "{}"}, "unreadable-data", "data.json", data="data.json"),
    profile_case("data is a directory", {"dir/x.txt": "x"}, "unreadable-data", "dir", data="dir"),
    profile_case(
        "negative --chunk-rows", {"data.csv": GOOD}, "invalid-input", "--chunk-rows", "--chunk-rows", "-5"
    ),
    profile_case(
        "zero --chunk-rows", {"data.csv": GOOD}, "invalid-input", "--chunk-rows", "--chunk-rows", "0"
    ),
    BadInput(
        id="profile: --output is a directory",
        argv=("profile", "--data", "data.csv", "--output", "outdir"),
        reason="invalid-input",
        names="outdir",
        files=with_data(**{"data.csv": GOOD, "outdir/keep": ""}),
        exit_code=2,  # output paths are checked by the option itself: a usage error
    ),
    BadInput(
        id="profile: --output under a file",
        argv=("profile", "--data", "data.csv", "--output", "blocker/out.json"),
        reason="invalid-input",
        names="blocker/out.json",
        files=with_data(**{"data.csv": GOOD, **HUGE_OUTPUT_PARENT}),
        exit_code=2,  # output paths are checked by the option itself: a usage error
    ),
    BadInput(
        id="profile: excluded column not in the data",
        argv=("profile", "--data", "data.csv", "--output", "out.json"),
        reason="schema-mismatch",
        names="nope",
        files={"mlgate.yaml": "drift:\n  exclude: [nope]\n", "data.csv": GOOD},
    ),
    BadInput(
        id="profile: drift.bins out of range in mlgate.yaml",
        argv=("profile", "--data", "data.csv", "--output", "out.json"),
        reason="invalid-input",
        names="bins",
        files={"mlgate.yaml": "drift:\n  bins: 1\n", "data.csv": GOOD},
    ),
]

DRIFT_PROFILE_CASES = [
    BadInput(
        id="drift: profile missing",
        argv=("drift", "--data", "data.csv", "--profile", "nope.json"),
        reason="missing-file",
        names="nope.json",
        files=with_data(**{"data.csv": GOOD}),
    ),
    BadInput(
        id="drift: profile is a directory",
        argv=("drift", "--data", "data.csv", "--profile", "refdir"),
        reason="invalid-profile",
        names="refdir",
        files=with_data(**{"data.csv": GOOD, "refdir/x": ""}),
    ),
    drift_profile_case("not JSON", '{"columns": ', "ref.json"),
    drift_profile_case("empty file", "", "ref.json"),
    drift_profile_case("a JSON array", "[1, 2]", "ref.json"),
    drift_profile_case("without columns", '{"schema_version": 1}', "ref.json"),
    drift_profile_case("columns empty", setter("columns", {}), "columns"),
    drift_profile_case("columns a list", setter("columns", ["amount"]), "columns"),
    drift_profile_case(
        "numeric column without sketch", setter("columns.amount.sketch", DELETE), "columns.amount.sketch"
    ),
    drift_profile_case(
        "sketch values are strings",
        setter("columns.amount.sketch.values", ["a", "b"]),
        "columns.amount.sketch.values",
    ),
    drift_profile_case(
        "sketch values unsorted",
        lambda d: d["columns"]["amount"]["sketch"]["values"].reverse(),
        "columns.amount.sketch",
    ),
    drift_profile_case(
        "sketch weights shorter than values",
        lambda d: d["columns"]["amount"]["sketch"]["weights"].pop(),
        "columns.amount.sketch",
    ),
    drift_profile_case(
        "sketch weight zero", setter("columns.amount.sketch.weights.0", 0), "columns.amount.sketch.weights.0"
    ),
    drift_profile_case(
        "sketch error_bound above 1",
        setter("columns.amount.sketch.error_bound", 3.0),
        "columns.amount.sketch.error_bound",
    ),
    drift_profile_case(
        "exact sketch with an error bound",
        setter("columns.amount.sketch.error_bound", 0.01),
        "columns.amount.sketch",
    ),
    drift_profile_case(
        "sketch exact not a bool", setter("columns.amount.sketch.exact", "yes"), "columns.amount.sketch.exact"
    ),
    drift_profile_case(
        "histogram counts do not match bins",
        lambda d: d["columns"]["amount"]["histogram"]["counts"].append(0),
        "columns.amount.histogram",
    ),
    drift_profile_case(
        "histogram counts do not add up",
        lambda d: d["columns"]["amount"]["histogram"]["counts"].__setitem__(0, 10**6),
        "columns.amount",
    ),
    drift_profile_case(
        "histogram edges unsorted",
        lambda d: d["columns"]["amount"]["histogram"]["edges"].reverse(),
        "columns.amount.histogram",
    ),
    drift_profile_case(
        "histogram count negative",
        setter("columns.amount.histogram.counts.0", -1),
        "columns.amount.histogram.counts.0",
    ),
    drift_profile_case(
        "histogram missing", setter("columns.amount.histogram", DELETE), "columns.amount.histogram"
    ),
    drift_profile_case("count is a string", setter("columns.amount.count", "600"), "columns.amount.count"),
    drift_profile_case("count zero", setter("columns.amount.count", 0), "columns.amount.count"),
    drift_profile_case(
        "null_rate above 1", setter("columns.amount.null_rate", 1.5), "columns.amount.null_rate"
    ),
    drift_profile_case("kind unknown", setter("columns.amount.kind", "text"), "columns.amount"),
    drift_profile_case("kind missing", setter("columns.amount.kind", DELETE), "columns.amount"),
    drift_profile_case("mean NaN", setter("columns.amount.mean", float("nan")), "columns.amount.mean"),
    drift_profile_case("min above max", setter("columns.amount.min", 10**9), "columns.amount"),
    drift_profile_case("std negative", setter("columns.amount.std", -1.0), "columns.amount.std"),
    drift_profile_case("dtype a number", setter("columns.amount.dtype", 64), "columns.amount.dtype"),
    drift_profile_case(
        "quantiles a list", setter("columns.amount.quantiles", [1, 2]), "columns.amount.quantiles"
    ),
    drift_profile_case(
        "category count a string",
        setter("columns.channel.categories.web", "many"),
        "columns.channel.categories.web",
    ),
    drift_profile_case(
        "categories do not add up", setter("columns.channel.other_count", 5), "columns.channel"
    ),
    drift_profile_case(
        "id_like not a bool", setter("columns.channel.id_like", "no"), "columns.channel.id_like"
    ),
    drift_profile_case("rows do not match counts", setter("source.rows", 7), "ref.json"),
    drift_profile_case("source missing", setter("source", DELETE), "source"),
    drift_profile_case("source format unknown", setter("source.format", "xlsx"), "source.format"),
    BadInput(
        id="drift: profile schema version unknown",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json"),
        reason="unknown-profile-version",
        names="schema_version",
        setup=lambda d: (d / "ref.json").write_text(damaged(setter("schema_version", 99))),
        files=with_data(**{"data.csv": GOOD}),
    ),
    BadInput(
        id="drift: profile schema version a string",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json"),
        reason="unknown-profile-version",
        names="schema_version",
        setup=lambda d: (d / "ref.json").write_text(damaged(setter("schema_version", "1"))),
        files=with_data(**{"data.csv": GOOD}),
    ),
]

DRIFT_DATA_CASES = [
    drift_data_case(
        "missing a profiled column", csv_text(frame().drop(columns=["items"])), "schema-mismatch", "items"
    ),
    drift_data_case(
        "with a column not in the profile", csv_text(frame().assign(extra=1)), "schema-mismatch", "extra"
    ),
    drift_data_case("with inf", _with_inf(np.inf), "infinite-value", "amount"),
    drift_data_case("with duplicate columns", _duplicate_columns(), "schema-mismatch", "amount"),
    drift_data_case("semicolon-delimited", csv_text(frame(), ";"), "schema-mismatch", "semicolon"),
    drift_data_case("Parquet named .csv", parquet_bytes(frame()), "unreadable-data", "Parquet"),
    drift_data_case(
        "text in a numeric column", csv_text(frame().assign(amount="abc")), "schema-mismatch", "amount"
    ),
    drift_data_case("header only", "amount,items,channel\n", "empty-data", "new.csv"),
    drift_data_case("empty file", "", "empty-data", "new.csv"),
    drift_data_case(
        "all null in a column", csv_text(frame().assign(amount=np.nan)), "all-null-column", "amount"
    ),
]


def _parquet_with_duplicate_names() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["amount", "amount"]), buffer)
    return buffer.getvalue()


MORE_CASES = [
    profile_case(
        "Parquet with duplicate column names",
        {"data.parquet": _parquet_with_duplicate_names()},
        "schema-mismatch",
        "amount",
        data="data.parquet",
    ),
    drift_data_case(
        "Parquet with duplicate column names",
        _parquet_with_duplicate_names(),
        "schema-mismatch",
        "amount",
        name="new.parquet",
    ),
    BadInput(
        id="drift: data a directory without Parquet files",
        argv=("drift", "--data", "newdir", "--profile", "ref.json"),
        reason="unreadable-data",
        names="newdir",
        setup=lambda d: (d / "ref.json").write_text(json.dumps(good_profile())),
        files=with_data(**{"newdir/x.txt": "x"}),
    ),
    BadInput(
        id="drift: --reference missing",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json", "--reference", "gone.csv"),
        reason="missing-file",
        names="gone.csv",
        setup=lambda d: (d / "ref.json").write_text(json.dumps(good_profile())),
        files=with_data(**{"data.csv": GOOD}),
    ),
]

DRIFT_CHECK_CASES = [
    BadInput(
        id="drift-check: profile missing",
        argv=("drift-check", "--data", "data.csv", "--profile", "nope.json"),
        reason="missing-file",
        names="nope.json",
        files=with_data(**{"data.csv": GOOD}),
    ),
    BadInput(
        id="drift-check: data missing",
        argv=("drift-check", "--data", "nope.csv", "--profile", "ref.json"),
        reason="missing-file",
        names="nope.csv",
        setup=lambda d: (d / "ref.json").write_text(json.dumps(good_profile())),
        files=with_data(),
    ),
    BadInput(
        id="drift-check: sample URL unreachable",
        argv=("drift-check", "--data", "http://127.0.0.1:9/sample.csv", "--profile", "ref.json"),
        reason="download-failed",
        names="http://127.0.0.1:9/sample.csv",
        setup=lambda d: (d / "ref.json").write_text(json.dumps(good_profile())),
        files=with_data(),
    ),
    BadInput(
        id="drift-check: damaged profile",
        argv=("drift-check", "--data", "data.csv", "--profile", "ref.json"),
        reason="invalid-profile",
        names="columns.amount.histogram",
        setup=lambda d: (d / "ref.json").write_text(
            damaged(lambda doc: doc["columns"]["amount"]["histogram"]["counts"].append(1))
        ),
        files=with_data(**{"data.csv": GOOD}),
    ),
    BadInput(
        id="drift-check: semicolon-delimited sample",
        argv=("drift-check", "--data", "data.csv", "--profile", "ref.json"),
        reason="schema-mismatch",
        names="semicolon",
        setup=lambda d: (d / "ref.json").write_text(json.dumps(good_profile())),
        files=with_data(**{"data.csv": csv_text(frame(), ";")}),
    ),
]

CASES = [*PROFILE_CASES, *DRIFT_PROFILE_CASES, *DRIFT_DATA_CASES, *MORE_CASES, *DRIFT_CHECK_CASES]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = check_bad_input(case, tmp_path, monkeypatch, capsys)
    gate = case.argv[0]
    reasons = {
        "profile": profile.FAILURE_REASONS,
        "drift": drift.FAILURE_REASONS,
        "drift-check": drift_check.FAILURE_REASONS,
    }[gate]
    assert case.reason in reasons
    assert "\\x" not in run.error_line  # never bytes quoted back


# --- validate-data: the same checks against a real GX project ------------------------------------------

#: the GX project the validate-data cases copy (built once per module by `gx_template`)
_GX: dict[str, Path] = {}


@pytest.fixture(scope="module")
def gx_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.gx_project import build_gx_project

    root = tmp_path_factory.mktemp("gx-template")
    build_gx_project(root)
    shutil.rmtree(root / "gx" / "uncommitted", ignore_errors=True)
    _GX["root"] = root
    return root


def _suite_path(directory: Path) -> Path:
    return directory / "gx" / "expectations" / "transactions.json"


def with_gx(change: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    def setup(directory: Path) -> None:
        shutil.copytree(_GX["root"] / "gx", directory / "gx")
        if change is not None:
            change(directory)

    return setup


def suite_change(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        path = _suite_path(directory)
        suite = json.loads(path.read_text())
        change(suite["expectations"])
        path.write_text(json.dumps(suite))

    return with_gx(apply)


def _set(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(expectations: list[dict[str, Any]]) -> None:
        expectations[index][key] = value

    return change


def _kwarg(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(expectations: list[dict[str, Any]]) -> None:
        if value is DELETE:
            del expectations[index]["kwargs"][key]
        else:
            expectations[index]["kwargs"][key] = value

    return change


def _transactions(n: int = 200) -> pd.DataFrame:
    from tests.support.gx_project import good_frame

    return good_frame(n)


def vd_case(
    id: str,
    reason: str,
    names: str,
    setup: Callable[[Path], None] | None = None,
    *,
    data: str | bytes | None = None,
    data_name: str = "data.csv",
) -> BadInput:
    files: dict[str, str | bytes] = {"mlgate.yaml": CONFIG.replace("data.csv", data_name)}
    if data is not None:
        files[data_name] = data
    return BadInput(
        id=f"validate-data: {id}",
        argv=("validate-data", "--data", data_name),
        reason=reason,
        names=names,
        files=files,
        setup=setup or with_gx(),
    )


VD_GOOD = csv_text(_transactions())

VALIDATE_CASES = [
    vd_case(
        "unknown expectation type",
        "invalid-suite",
        "expectations[3] (expect_column_values_to_not_be_nul)",
        suite_change(_set(3, "type", "expect_column_values_to_not_be_nul")),
        data=VD_GOOD,
    ),
    vd_case(
        "expectation type of another library",
        "invalid-suite",
        "expectations[0]",
        suite_change(_set(0, "type", "expect_something_custom")),
        data=VD_GOOD,
    ),
    vd_case(
        "kwargs of the wrong type",
        "invalid-suite",
        "expectations[4]",
        suite_change(_kwarg(4, "min_value", "zero")),
        data=VD_GOOD,
    ),
    vd_case(
        "required kwarg missing",
        "invalid-suite",
        "expectations[3]",
        suite_change(_kwarg(3, "column", DELETE)),
        data=VD_GOOD,
    ),
    vd_case(
        "unknown kwarg",
        "invalid-suite",
        "expectations[2]",
        suite_change(_kwarg(2, "colum", "transaction_id")),
        data=VD_GOOD,
    ),
    vd_case(
        "kwargs not an object",
        "invalid-suite",
        "expectations[2]",
        suite_change(_set(2, "kwargs", "transaction_id")),
        data=VD_GOOD,
    ),
    vd_case(
        "severity unknown",
        "invalid-suite",
        "expectations[1]",
        suite_change(_set(1, "severity", "fatal")),
        data=VD_GOOD,
    ),
    vd_case(
        "unknown key in an expectation",
        "invalid-suite",
        "expectations[1]",
        suite_change(_set(1, "expectation_kind", "x")),
        data=VD_GOOD,
    ),
    vd_case(
        "expectation without a type",
        "invalid-suite",
        "expectations[2]",
        suite_change(lambda e: e[2].pop("type")),
        data=VD_GOOD,
    ),
    vd_case(
        "suite JSON syntax error",
        "invalid-suite",
        "transactions.json",
        with_gx(lambda d: _suite_path(d).write_text('{"expectations": [')),
        data=VD_GOOD,
    ),
    vd_case(
        "suite file missing",
        "invalid-suite",
        "transactions.json",
        with_gx(lambda d: _suite_path(d).unlink()),
        data=VD_GOOD,
    ),
    vd_case(
        "checkpoint missing",
        "invalid-suite",
        "data-contract.json",
        with_gx(lambda d: (d / "gx" / "checkpoints" / "data-contract.json").unlink()),
        data=VD_GOOD,
    ),
    vd_case("dataset missing", "missing-file", "data.csv"),
    vd_case(
        "duplicate column names",
        "schema-mismatch",
        "amount",
        data="transaction_id,amount,channel,email,amount\n1,2.0,web,a@b.io,3.0\n",
    ),
    vd_case(
        "semicolon-delimited dataset", "schema-mismatch", "semicolon", data=csv_text(_transactions(), ";")
    ),
    vd_case("Parquet named .csv", "unreadable-data", "Parquet", data=parquet_bytes(_transactions())),
    vd_case("binary dataset", "unreadable-data", "binary", data=BINARY),
    vd_case("header only", "empty-data", "data.csv", data="transaction_id,amount,channel,email\n"),
    vd_case(
        "column missing",
        "schema-mismatch",
        "channel",
        data=csv_text(_transactions().drop(columns=["channel"])),
    ),
]


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=lambda c: c.id)
def test_bad_input_validate_data(
    case: BadInput,
    gx_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = check_bad_input(case, tmp_path, monkeypatch, capsys)
    assert case.reason in validate.FAILURE_REASONS
    assert "Could not add expectation" not in run.stdout + run.stderr  # GX's own logged traceback


def test_catalogue_size() -> None:
    """Issue 11 asks for at least 55 distinct bad inputs across the data gates."""
    ids = [c.id for c in [*CASES, *VALIDATE_CASES]]
    assert len(ids) == len(set(ids)) and len(ids) >= 55
