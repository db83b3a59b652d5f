"""`mlgate validate-data` against a real GX 1.x file project (GX imported once for the module)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate import cli
from mlgate.data import gx_patches
from mlgate.data import validate as validate_data
from tests.support.gx_project import build_gx_project, good_frame


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gxproject")
    build_gx_project(root)
    good_frame().to_csv(root / "good.csv", index=False)
    good_frame().to_parquet(root / "good.parquet")
    bad = good_frame()
    bad.loc[3, "amount"] = 5000.0
    bad.loc[7, "channel"] = "crypto"
    bad.loc[9, "transaction_id"] = 1
    bad.loc[11, "email"] = "leaked-secret-address"
    bad.to_csv(root / "bad.csv", index=False)
    (root / "mlgate.yaml").write_text("data:\n  sensitive_columns: [email]\n  unexpected_rows: 2\n")
    return root


@pytest.fixture
def env(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.chdir(project)
    return tmp_path


def outputs(tmp: Path) -> dict[str, str]:
    lines = (tmp / "out" / "outputs.env").read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition("=")
        found[key] = json.loads(value)
    return found


def run(env: Path, *args: str) -> int:
    return cli.main(["validate-data", "--report-dir", str(env / "reports"), *args])


def test_clean_data_passes_and_builds_data_docs(env: Path) -> None:
    assert run(env, "--data", "good.csv") == 0
    out = outputs(env)
    assert out["passed"] == "true" and out["failed-expectations"] == "0"
    docs = Path(out["data-docs-path"])
    assert (docs / "index.html").is_file()
    report = (env / "reports" / "validate-data.md").read_text()
    assert "all 8 expectations met" in report and "| ✅ | `amount` |" in report


def test_parquet_passes(env: Path) -> None:
    assert run(env, "--data", "good.parquet") == 0


def test_broken_contract_fails_with_rows_and_masks_sensitive_values(env: Path, project: Path) -> None:
    assert run(env, "--data", "bad.csv") == 1
    out = outputs(env)
    assert out["failure-reason"] == "contract-violated"
    assert out["failed-expectations"] == "4"
    assert set(out["failed-expectation-types"].split(",")) == {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_match_regex",
    }
    report = (env / "reports" / "validate-data.md").read_text()
    assert "4 of 8 expectations failed" in report
    assert "transaction_id=4, amount=5000.0" in report  # the offending row, by id, with its value
    assert "transaction_id=8, channel=crypto" in report
    assert "transaction_id=12, email=•••" in report and "leaked-secret-address" not in report
    result = (env / "reports" / "validate-data.json").read_text()
    assert "leaked-secret-address" not in result
    # Data Docs are rebuilt from masked results: the uploaded site holds no sensitive value either
    docs = Path(out["data-docs-path"])
    pages = [p.read_text(errors="ignore") for p in docs.rglob("*.html")]
    assert pages and not any("leaked-secret-address" in page for page in pages)
    stored = [p.read_text() for p in (project / "gx" / "uncommitted" / "validations").rglob("*.json")]
    assert not any("leaked-secret-address" in s for s in stored)


def test_an_extra_column_is_named_in_the_report(env: Path) -> None:
    good_frame().assign(note="free text").to_csv(env / "extra.csv", index=False)
    assert run(env, "--data", str(env / "extra.csv")) == 1
    assert outputs(env)["failed-expectation-types"] == "expect_table_columns_to_match_set"
    report = (env / "reports" / "validate-data.md").read_text()
    assert "extra columns: `note`" in report  # GX's observed value alone lists every column, cut short
    assert "Columns no expectation names (not checked beyond table-level expectations): `note`" in report


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_an_expectation_gx_cannot_use_fails_and_changes_nothing(env: Path, project: Path) -> None:
    """GX would drop the misspelt expectation and pass with the nulls present (issue 11): the gate fails
    with `invalid-suite` naming it, prints no GX traceback, and leaves gx/ and the last reports as they
    were."""
    broken = _copy_gx(env, project)
    suite_path = broken / "gx" / "expectations" / "transactions.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"][3]["type"] = "expect_column_values_to_not_be_nul"
    suite_path.write_text(json.dumps(suite))
    with_nulls = good_frame()
    with_nulls.loc[5, "amount"] = None
    with_nulls.to_csv(env / "nulls.csv", index=False)
    assert run(env, "--data", "good.csv") == 0  # a previous run's reports
    reports, gx_files = _digests(env / "reports"), _digests(broken / "gx")
    # a real process: GX logs its dropped-expectation traceback through logging's last-resort handler,
    # which pytest's log capture would hide in-process
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "mlgate"),
            "validate-data",
            *("--report-dir", str(env / "reports"), "--data", str(env / "nulls.csv")),
            *("--gx-root", str(broken)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stdout + proc.stderr
    assert outputs(env)["failure-reason"] == "invalid-suite"
    assert "expectations[3] (expect_column_values_to_not_be_nul)" in err and str(suite_path) in err
    assert "Traceback" not in err and "Could not add expectation" not in err
    assert _digests(env / "reports") == reports
    assert _digests(broken / "gx") == gx_files


def test_an_expectation_gx_dropped_while_loading_is_invalid_suite(project: Path) -> None:
    """The second line of defence: the suites GX loaded are compared with their files."""
    from mlgate.gate import GateInputError

    contract = validate_data.read_contract(project / "gx", "data-contract")
    _context, checkpoint = validate_data.open_checkpoint(project, "data-contract", engine="pandas")
    validate_data.check_all_expectations_loaded(checkpoint, contract)  # as loaded: nothing missing
    contract.suites["transactions"]["expectations"].append({"type": "expect_dropped_by_gx", "kwargs": {}})
    with pytest.raises(GateInputError) as caught:
        validate_data.check_all_expectations_loaded(checkpoint, contract)
    assert (
        caught.value.reason == "invalid-suite" and "GX loaded 8 of the 9 expectations" in caught.value.message
    )


def _copy_gx(env: Path, project: Path) -> Path:
    broken = env / "broken"
    shutil.copytree(project / "gx", broken / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    return broken


def _suite_without_type(env: Path, project: Path) -> list[str]:
    broken = _copy_gx(env, project)
    suite_path = broken / "gx" / "expectations" / "transactions.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"][2].pop("type")
    suite_path.write_text(json.dumps(suite))
    return ["--data", "good.csv", "--gx-root", str(broken)]


def _suite_not_json(env: Path, project: Path) -> list[str]:
    broken = _copy_gx(env, project)
    suite = broken / "gx" / "expectations" / "transactions.json"
    suite.write_text(suite.read_text().replace('"type":', '"type"', 1))
    return ["--data", "good.csv", "--gx-root", str(broken)]


def _data(env: Path, name: str, content: bytes) -> list[str]:
    (env / name).write_bytes(content)
    return ["--data", str(env / name)]


def _config(env: Path, text: str, data: str = "good.csv") -> list[str]:
    (env / "mlgate.yaml").write_text(text)
    return ["--data", data, "--config", str(env / "mlgate.yaml")]


def _too_large(env: Path, project: Path) -> list[str]:
    good_frame(40_000).to_csv(env / "big.csv", index=False)
    return _config(env, "data:\n  max_memory_mb: 1\n", str(env / "big.csv"))


LATIN = "transaction_id,amount,channel,email\n1,2.0,web,caf\xe9@x.fr\n".encode("latin-1")
NO_CHANNEL = good_frame().drop(columns=["channel"]).to_csv(index=False).encode()

#: case -> (prepare(env, project) -> CLI args, expected failure reason)
BAD = {
    "missing dataset": (lambda e, p: ["--data", "nope.csv"], "missing-file"),
    "empty file": (lambda e, p: _data(e, "empty.csv", b""), "empty-data"),
    "not utf-8": (lambda e, p: _data(e, "latin.csv", LATIN), "unreadable-data"),
    "missing column": (lambda e, p: _data(e, "nochannel.csv", NO_CHANNEL), "schema-mismatch"),
    "unsupported file type": (lambda e, p: _data(e, "data.json", b"{}"), "unreadable-data"),
    "unknown checkpoint": (lambda e, p: ["--data", "good.csv", "--checkpoint", "nope"], "invalid-suite"),
    "malformed suite": (_suite_not_json, "invalid-suite"),
    "suite entry without a type": (_suite_without_type, "invalid-suite"),
    "not a GX project": (lambda e, p: ["--data", "good.csv", "--gx-root", str(e)], "invalid-suite"),
    "larger than memory": (_too_large, "too-large"),
    "malformed mlgate.yaml": (lambda e, p: _config(e, "data: [unclosed\n"), "invalid-input"),
    "unknown engine in mlgate.yaml": (lambda e, p: _config(e, "data:\n  engine: dask\n"), "invalid-input"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_line(
    case: str, env: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare, reason = BAD[case]
    assert run(env, *prepare(env, project)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "error:" in line and " — " in line  # what is wrong, then the fix
    assert outputs(env)["failure-reason"] == reason
    assert reason in validate_data.FAILURE_REASONS


@pytest.mark.slow
def test_spark_engine_runs_the_same_suite(env: Path, project: Path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (the `spark` extra)")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17+ and `java` is not on PATH")
    assert run(env, "--data", "bad.csv", "--engine", "spark") == 1
    out = outputs(env)
    assert out["failure-reason"] == "contract-violated"
    assert set(out["failed-expectation-types"].split(",")) >= {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_unique",
    }
    report = (env / "reports" / "validate-data.md").read_text()
    assert "spark engine" in report and "leaked-secret-address" not in report
    assert (project / "gx" / "checkpoints" / "data-contract-spark.json").is_file()
    assert run(env, "--data", "good.parquet", "--engine", "spark") == 0


def test_data_docs_pages_are_the_ones_gx_builds(
    env: Path, project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """mlgate shares compiled jinja templates between the pages of a Data Docs build and across runs
    (an on-disk bytecode cache): the HTML must be GX's own (custom styles included), up to the
    timestamps and random element ids GX puts in — with a cold cache, a warm one and an unusable one."""
    import re

    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    cache = tmp_path / "cache"
    monkeypatch.setenv("MLGATE_CACHE_DIR", str(cache))
    assert run(env, "--data", "good.csv") == 0
    context = gx.get_context(mode="file", project_root_dir=str(project))
    key = sorted(context.validation_results_store.list_keys(), key=str)[-1]
    ids = [key, ExpectationSuiteIdentifier(name="transactions")]
    site = Path(outputs(env)["data-docs-path"])
    noise = re.compile(r"\d{8}T\d{6}\.\d+Z|\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)?|[0-9a-f]{8}-[0-9a-f-]{27}")

    def build() -> dict[str, str]:
        shutil.rmtree(site)
        context.build_data_docs(resource_identifiers=ids)
        return {str(p.relative_to(site)): noise.sub("…", p.read_text()) for p in sorted(site.rglob("*.html"))}

    plain = build()
    assert len(plain) == 3
    entries = sorted(cache.glob("__mlgate_gx*.cache"))
    assert len(entries) >= 15  # the run above compiled GX's templates once and kept them
    shutil.rmtree(cache)
    with gx_patches.compiled_templates():
        cold = build()
    assert sorted(p.name for p in cache.iterdir()) == [p.name for p in entries]
    stamps = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    with gx_patches.compiled_templates():
        warm = build()
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == stamps  # loaded, not compiled again
    for entry in cache.iterdir():  # damaged entries are compiled again, never fail the build
        entry.write_bytes(entry.read_bytes()[:40])
    with gx_patches.compiled_templates():
        damaged = build()
    monkeypatch.setenv("MLGATE_CACHE_DIR", str(project / "good.csv"))  # not a directory
    with gx_patches.compiled_templates():
        unusable = build()
    assert plain == cold == warm == damaged == unusable
    custom = project / "gx" / "plugins" / "custom_data_docs" / "styles" / "data_docs_custom_styles.css"
    first_rule = next(line for line in custom.read_text().splitlines() if line.strip())
    assert all(first_rule in page for page in warm.values())  # the project's custom styles are in


def test_decimal_scan_is_skipped_only_where_no_decimal_can_be() -> None:
    """GX's per-value Decimal scan before a column mean/sum/std is skipped for numeric arrays only: the
    answers are GX's own for every dtype, the results of a suite that needs them are identical (Decimal
    columns still converted), and GX's function is back once the validations are done."""
    from decimal import Decimal

    import great_expectations as gx
    import numpy as np
    import pandas as pd
    from great_expectations import expectations as gxe
    from great_expectations import util as gx_util

    frame = pd.DataFrame(
        {
            "floats": np.linspace(0.5, 9.5, 40),
            "ints": np.arange(40),
            "flags": np.arange(40) % 2 == 0,
            "when": pd.date_range("2026-01-01", periods=40, freq="D"),
            "decimals": [Decimal("1.25") * i for i in range(40)],
            "mixed": [1.5] * 39 + [Decimal("2.5")],
            "text": ["a"] * 40,
        }
    )
    scan = gx_util.does_ndarray_contain_decimal_dtype
    gx_answers = {c: scan(data=frame[c].to_numpy()) for c in frame}
    assert gx_answers["decimals"] and gx_answers["mixed"] and not gx_answers["floats"]
    with gx_patches.no_decimal_scan_of_numeric_arrays():
        patched = gx_util.does_ndarray_contain_decimal_dtype
        assert patched is not scan
        assert {c: patched(data=frame[c].to_numpy()) for c in frame} == gx_answers
        assert patched(data=[Decimal("1")]) is True  # not an array: GX's own scan
    assert gx_util.does_ndarray_contain_decimal_dtype is scan

    def results() -> list[dict[str, object]]:
        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_pandas(name="s")
            .add_dataframe_asset(name="a")
            .add_batch_definition_whole_dataframe(name="b")
        )
        suite = context.suites.add(gx.ExpectationSuite(name="s"))
        for column in ("floats", "ints", "decimals", "mixed"):
            suite.add_expectation(gxe.ExpectColumnMeanToBeBetween(column=column, min_value=0, max_value=30))
            suite.add_expectation(gxe.ExpectColumnSumToBeBetween(column=column, min_value=0, max_value=1000))
            suite.add_expectation(gxe.ExpectColumnStdevToBeBetween(column=column, min_value=0, max_value=10))
        definition = gx.ValidationDefinition(name="v", data=batch, suite=suite)
        outcome = definition.run(batch_parameters={"dataframe": frame.copy()})
        return [
            {
                "type": r.expectation_config.type,
                "column": r.expectation_config.kwargs["column"],
                "success": r.success,
                "observed": r.result.get("observed_value"),
            }
            for r in outcome.results
        ]

    plain = results()
    with gx_patches.no_decimal_scan_of_numeric_arrays():
        fast = results()
    assert fast == plain
    assert {r["success"] for r in plain} == {True, False}  # both verdicts are compared, not just passes
