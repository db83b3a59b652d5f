"""The spark engine of `mlgate profile` and `mlgate drift` against the default (arrow) engine, on real
pyspark in local mode: the same profiles and the same decisions on the same data, and bad inputs failing
closed with the documented reasons.

Profiles are compared whole: every field equal, except mean and std, which are sums taken in another
order and may differ in the last of the 12 significant digits the profile keeps (`rel_tol` 1e-11). Where
the arrow engine reads the data in several chunks its sketch is a merge (error ≤ 2/size) and Spark's is
the one-pass sketch: then the quantiles agree within the two error bounds and the decisions are equal.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from mlgate.data import spark_engine
from mlgate.data.config import DriftSection
from mlgate.data.drift import drift_gate
from mlgate.data.profile_core import build_profile
from mlgate.errors import GateInputError

pytest.importorskip("pyspark", reason="pyspark is not installed (the `spark` extra)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17+ and `java` is not on PATH"),
]

ROWS = 20_000


def reference_table(n: int = ROWS, seed: int = 0, shift: float = 0.0) -> pa.Table:
    """Numeric columns with nulls, NaN, ties and few distinct values; categoricals with nulls, ties in
    their counts and booleans; a timestamp column the profile skips."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(50, 10, n) + shift
    normal[rng.random(n) < 0.03] = np.nan
    amount = np.round(rng.lognormal(3, 1, n), 2)  # ties
    items = rng.integers(0, 12, n).astype(float)  # few distinct values: an exact sketch
    channel = rng.choice(["web", "pos", "atm", "app"], n, p=[0.4, 0.3, 0.15, 0.15]).astype(object)
    channel[rng.random(n) < 0.05] = None
    return pa.table(
        {
            "normal": pa.array(normal, mask=rng.random(n) < 0.02),
            "amount": amount,
            "items": pa.array(items.astype(np.int64)),
            "channel": pa.array(channel, pa.string()),
            "tied": pa.array(np.array(["a", "b", "c", "d"])[np.arange(n) % 4]),  # equal counts
            "flag": pa.array(rng.random(n) < 0.3),
            "when": pa.array(np.arange(n).astype("datetime64[s]")),
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark-data")
    table = reference_table()
    pq.write_table(table, root / "ref.parquet", row_group_size=4_000)
    pacsv.write_csv(table.drop_columns(["when"]), root / "ref.csv")
    pq.write_table(reference_table(seed=1), root / "same.parquet")
    drifted = reference_table(seed=2, shift=8.0)
    channel = np.array(drifted.column("channel").to_pylist(), dtype=object)
    channel[channel == "web"] = "atm"
    drifted = drifted.set_column(3, "channel", pa.array(channel, pa.string()))
    pq.write_table(drifted, root / "drifted.parquet")
    pacsv.write_csv(drifted.drop_columns(["when"]), root / "drifted.csv")
    parts = root / "parts"
    parts.mkdir()
    for i in range(3):
        pq.write_table(table.slice(i * 7_000, 7_000), parts / f"part-{i}.parquet")
    return root


def settings(**changes: Any) -> DriftSection:
    return DriftSection(**changes)


def assert_same_profile(arrow: dict[str, Any], spark: dict[str, Any]) -> None:
    assert arrow.keys() == spark.keys()
    for key, value in arrow.items():
        if key != "columns":
            assert value == spark[key], key
    assert list(arrow["columns"]) == list(spark["columns"])
    for name, a in arrow["columns"].items():
        s = dict(spark["columns"][name])
        for moment in ("mean", "std"):
            if moment in a:
                assert math.isclose(a[moment], s[moment], rel_tol=1e-11), (name, moment)
                s[moment] = a[moment]
        assert a == s, name


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("ref.parquet", {}),
        ("ref.csv", {}),
        ("ref.parquet", {"sketch_size": 50, "bins": 7, "top_categories": 2, "exclude": ["amount"]}),
        ("parts", {}),
    ],
    ids=["parquet", "csv", "small-sketch-top-2-excluded", "parquet-directory"],
)
def test_the_same_profile_as_the_arrow_engine(data: Path, name: str, changes: dict[str, Any]) -> None:
    section = settings(**changes)
    arrow = build_profile(data / name, section.profile_settings())
    spark = spark_engine.build_profile(data / name, section.profile_settings(engine="spark"))
    columns = arrow["columns"]
    assert columns["when"]["kind"] == "skipped" if "when" in columns else name.endswith(".csv")
    assert columns["items"]["sketch"]["exact"]
    if changes:
        assert not columns["normal"]["sketch"]["exact"]  # ranks picked across Spark's partitions
        assert list(columns["tied"]["categories"]) == ["a", "b"]  # ties kept in order of appearance
    assert_same_profile(arrow, spark)


@pytest.mark.parametrize(("name", "chunk_rows"), [("ref.parquet", 4_000)])
def test_chunked_arrow_profile_agrees_within_the_error_bounds(data: Path, name: str, chunk_rows: int) -> None:
    """The arrow engine reading several chunks (5 here) merges their sketches; Spark's sketch is the
    one-pass one: exact fields equal, quantiles within both error bounds, and the same decisions."""
    section = settings(sketch_size=200)
    arrow = build_profile(data / name, section.profile_settings(chunk_rows=chunk_rows))
    spark = spark_engine.build_profile(data / name, section.profile_settings(engine="spark"))
    for column, a in arrow["columns"].items():
        s = spark["columns"][column]
        assert {k: v for k, v in a.items() if k in ("count", "nulls", "min", "max", "categories")} == {
            k: v for k, v in s.items() if k in ("count", "nulls", "min", "max", "categories")
        }
        if a["kind"] != "numeric" or a["sketch"]["exact"]:
            continue
        assert a["sketch"]["error_bound"] == pytest.approx(2 / 200)
        assert s["sketch"]["error_bound"] == pytest.approx(1 / 200)
        ordered = np.sort(pq.read_table(data / "ref.parquet").column(column).drop_null().to_numpy())
        ordered = ordered[~np.isnan(ordered)]
        for profile, bound in ((s, 1 / 200), (a, 2 / 200)):  # one-pass and merged sketch
            for q, x in profile["quantiles"].items():  # x's true rank brackets q within the bound
                slack = abs(x) * 1e-11  # quantiles are rounded to 12 digits in the profile
                n = len(ordered)
                assert np.searchsorted(ordered, x + slack, side="right") / n >= float(q)
                assert np.searchsorted(ordered, x - slack, side="left") / n < float(q) + bound
    for profile in (arrow, spark):
        (data / "p.json").write_text(json.dumps(profile))
        a = drift_gate(data / "drifted.parquet", data / "p.json", section)
        s = drift_gate(
            data / "drifted.parquet", data / "p.json", section.model_copy(update={"engine": "spark"})
        )
        assert a.data["drifted_columns"] == s.data["drifted_columns"] != []


def column_figures(result: Any) -> list[dict[str, Any]]:
    keep = ("name", "test", "drifted", "inconclusive", "psi", "ks_d", "ks_p", "chi2", "chi2_p", "reasons")
    rows = []
    for column in result.data["columns"]:
        figures = {k: column.get(k) for k in keep}
        figures["null_rate_current"] = column["null_rate_current"]
        rows.append(figures)
    return rows


@pytest.mark.parametrize("current", ["same.parquet", "drifted.parquet", "drifted.csv"])
@pytest.mark.parametrize(
    "changes",
    [{}, {"numeric_test": "ks", "categorical_test": "chi2", "fail_on": "column"}],
    ids=["psi", "ks-chi2"],
)
def test_the_same_drift_decisions(data: Path, current: str, changes: dict[str, Any]) -> None:
    section = settings(**changes)
    profile = data / f"profile-{len(changes)}.json"
    profile.write_text(json.dumps(build_profile(data / "ref.parquet", section.profile_settings())))
    arrow = drift_gate(data / current, profile, section)
    spark = drift_gate(data / current, profile, section.model_copy(update={"engine": "spark"}))
    assert arrow.passed == spark.passed
    assert arrow.failure_reason == spark.failure_reason
    assert arrow.outputs == spark.outputs
    assert column_figures(arrow) == column_figures(spark)
    if current != "same.parquet":
        assert {"normal", "channel"} <= set(spark.data["drifted_columns"])
        assert spark.passed == (changes.get("fail_on") != "column")  # 2 of 6 drifted: no dataset drift
    elif not changes:
        assert spark.passed and not spark.data["drifted_columns"]


def test_reference_data_makes_ks_exact_on_both_engines(data: Path) -> None:
    section = settings(numeric_test="ks")
    profile = data / "profile-ref.json"
    profile.write_text(json.dumps(build_profile(data / "ref.parquet", section.profile_settings())))
    spark_section = section.model_copy(update={"engine": "spark"})
    arrow = drift_gate(data / "same.parquet", profile, section, reference=data / "ref.parquet")
    spark = drift_gate(data / "same.parquet", profile, spark_section, reference=data / "ref.parquet")
    assert all(c["ks_exact"] for c in spark.data["columns"] if c["kind"] == "numeric")
    assert column_figures(arrow) == column_figures(spark)
    assert arrow.passed and spark.passed


def csv_with(tmp_path: Path, rows: list[str], header: str = "x,label") -> Path:
    path = tmp_path / "data.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def good_rows(n: int = 3_000) -> list[str]:
    return [f"{i % 97}.5,{'ab'[i % 2]}" for i in range(n)]


@pytest.mark.parametrize(
    ("rows", "reason", "field"),
    [
        ([*good_rows(), "inf,a"], "infinite-value", "x"),
        ([f",{'ab'[i % 2]}" for i in range(3_000)], "all-null-column", "x"),
        ([*good_rows(), "1.5,a,extra"], "unreadable-data", "data.csv"),
    ],
    ids=["infinity", "all-null", "row-with-extra-field"],
)
def test_bad_data_fails_closed_as_on_the_arrow_engine(
    tmp_path: Path, rows: list[str], reason: str, field: str
) -> None:
    path = csv_with(tmp_path, rows)
    for engine in ("arrow", "spark"):
        with pytest.raises(GateInputError) as caught:
            profile_settings = settings().profile_settings(engine=engine)
            if engine == "spark":
                spark_engine.build_profile(path, profile_settings)
            else:
                build_profile(path, profile_settings)
        assert caught.value.reason == reason, (engine, caught.value.message)
        assert field in caught.value.message, caught.value.message


def test_text_in_a_numeric_column_is_schema_mismatch_on_both_engines(tmp_path: Path) -> None:
    """A profiled numeric column read as text (a word in the first rows) is `schema-mismatch` naming the
    column on both engines; a word Spark meets in a column typed as a number from the first rows (past
    pyarrow's first block, 80 MB, in a real file) is too, naming the value."""
    profile = tmp_path / "ref.json"
    reference = csv_with(tmp_path, good_rows())
    profile.write_text(json.dumps(build_profile(reference, settings().profile_settings())))
    path = csv_with(tmp_path, [*good_rows(), "oops,a"])
    for engine in ("arrow", "spark"):
        with pytest.raises(GateInputError) as caught:
            drift_gate(path, profile, settings(engine=engine))
        assert caught.value.reason == "schema-mismatch", (engine, caught.value.message)
        assert "data.csv: x: column type changed" in caught.value.message
    typed = pa.schema([("x", pa.float64()), ("label", pa.string())])
    with pytest.raises(GateInputError) as caught:
        spark_engine._open(path, "local[2]", typed, ["x"], ["label"])
    assert caught.value.reason == "schema-mismatch"
    assert "data.csv: x: value 'oops' does not fit" in caught.value.message


def test_missing_java_is_engine_unavailable(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(data))  # no java here
    with pytest.raises(GateInputError) as caught:
        spark_engine.build_profile(data / "ref.parquet", settings().profile_settings(engine="spark"))
    assert caught.value.reason == "engine-unavailable"
    assert "drift.engine" in caught.value.message and "Java" in caught.value.message


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from mlgate.cli import main; raise SystemExit(main())", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_cli_profile_and_drift_on_spark_and_a_bad_master(data: Path, tmp_path: Path) -> None:
    """The commands as a CI step runs them: `drift.engine: spark` from mlgate.yaml (and `--engine`),
    and a master URL Spark cannot use failing closed, naming the setting, without a traceback."""
    config = "drift:\n  engine: spark\n  profile: ref.json\n  fail_on: column\n"
    (tmp_path / "mlgate.yaml").write_text(config, encoding="utf-8")
    made = run_cli(tmp_path, "profile", "--data", str(data / "ref.parquet"), "--report-dir", "r")
    assert made.returncode == 0, made.stderr[-2000:]
    assert "spark engine on `local[2]`" in (tmp_path / "r" / "profile.md").read_text()
    arrow = build_profile(data / "ref.parquet", settings().profile_settings())
    assert_same_profile(arrow, json.loads((tmp_path / "ref.json").read_text()))
    checked = run_cli(tmp_path, "drift", "--data", str(data / "drifted.parquet"), "--report-dir", "r")
    assert checked.returncode == 1 and "data-drift" in (tmp_path / "r" / "drift.json").read_text()

    (tmp_path / "mlgate.yaml").write_text("drift:\n  spark_master: nowhere://at-all\n", encoding="utf-8")
    bad = run_cli(tmp_path, "profile", "--engine", "spark", "--data", str(data / "ref.parquet"))
    assert bad.returncode == 1
    assert "drift.spark_master" in bad.stderr and "cannot start Spark" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout
