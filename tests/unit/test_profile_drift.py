"""`mlgate profile` and `mlgate drift` end to end: real files, the real CLI, outputs and reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlgate import cli
from mlgate.data import drift, profile, profile_format
from mlgate.data.config import DriftSection, ProfileSettings
from mlgate.data.profile_core import build_profile
from mlgate.gate import GateInputError


def frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3 + shift, 1, n).round(2),
            "age": rng.integers(18, 90, n),
            "score": rng.normal(shift, 1, n),
            "channel": rng.choice(
                ["web", "pos", "atm"], n, p=[0.5, 0.3, 0.2] if not shift else [0.2, 0.3, 0.5]
            ),
        }
    )
    df.loc[rng.random(n) < 0.02, "score"] = np.nan
    return df


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def outputs(tmp: Path) -> dict[str, str]:
    lines = (tmp / "out" / "outputs.env").read_text(encoding="utf-8").splitlines()
    return {k: json.loads(v) for k, _, v in (line.partition("=") for line in lines)}


@pytest.fixture
def reference(env: Path) -> Path:
    path = env / "reference.csv"
    frame(20_000).to_csv(path, index=False)
    return path


def run(*args: str) -> int:
    return cli.main(list(args))


def test_profile_figures_match_pandas(reference: Path, env: Path) -> None:
    assert run("profile", "--data", str(reference), "--output", "profile.json") == 0
    prof = json.loads((env / "profile.json").read_text())
    df = pd.read_csv(reference)
    assert prof["schema_version"] == profile_format.SCHEMA_VERSION and prof["source"]["rows"] == 20_000
    score = prof["columns"]["score"]
    assert score["null_rate"] == pytest.approx(df["score"].isna().mean())
    assert score["mean"] == pytest.approx(df["score"].mean(), rel=1e-9)
    assert score["std"] == pytest.approx(df["score"].std(), rel=1e-9)
    assert (score["min"], score["max"]) == pytest.approx((df["score"].min(), df["score"].max()))
    # quantiles from the sketch are within its rank error of pandas' quantiles
    for q, value in score["quantiles"].items():
        rank = (df["score"].dropna() <= value).mean()
        assert abs(rank - float(q)) <= score["sketch"]["error_bound"] + 1e-4
    # PSI histogram: counts on the stored edges, right-closed bins, open ends
    edges = score["histogram"]["edges"]
    expected = np.histogram(df["score"].dropna(), bins=[-np.inf, *edges, np.inf])[0]
    assert sum(score["histogram"]["counts"]) == df["score"].notna().sum()
    assert np.abs(np.array(score["histogram"]["counts"]) - expected).sum() <= 2 * len(edges)  # ties at edges
    channel = prof["columns"]["channel"]
    assert channel["categories"] == df["channel"].value_counts().to_dict()
    assert outputs(env)["profile-path"] == "profile.json"


def test_chunked_profile_equals_one_pass_where_exact(env: Path) -> None:
    df = frame(12_000, seed=5)
    df.to_parquet(env / "ref.parquet", row_group_size=1000)
    whole = build_profile(env / "ref.parquet", ProfileSettings())
    chunked = build_profile(env / "ref.parquet", ProfileSettings(chunk_rows=1000))
    for name in ("amount", "score", "age"):
        a, b = whole["columns"][name], chunked["columns"][name]
        assert a["count"] == b["count"] and a["min"] == b["min"] and a["max"] == b["max"]
        assert a["mean"] == pytest.approx(b["mean"], rel=1e-12) and a["std"] == pytest.approx(
            b["std"], rel=1e-12
        )
        assert sum(b["histogram"]["counts"]) == b["count"]
    assert chunked["columns"]["age"]["sketch"]["exact"]  # 72 distinct ages: every value kept
    assert chunked["columns"]["score"]["sketch"]["error_bound"] == pytest.approx(2 / 5000)
    assert whole["columns"]["score"]["sketch"]["error_bound"] == pytest.approx(1 / 5000)


def test_drift_figures_agree_with_scipy_and_direct_computation(reference: Path, env: Path) -> None:
    current = env / "current.csv"
    frame(6000, shift=0.5, seed=1).to_csv(current, index=False)
    assert run("profile", "--data", str(reference), "--output", "p.json") == 0
    assert run("drift", "--data", str(current), "--profile", "p.json") == 1
    result = json.loads((env / ".mlgate/reports/drift.json").read_text())["data"]
    cols = {c["name"]: c for c in result["columns"]}
    prof = json.loads((env / "p.json").read_text())
    ref_df, cur_df = pd.read_csv(reference), pd.read_csv(current)
    for name in ("amount", "score", "age"):
        ref, cur = ref_df[name].dropna().to_numpy(), cur_df[name].dropna().to_numpy()
        edges = [-np.inf, *prof["columns"][name]["histogram"]["edges"], np.inf]
        # PSI on the stored bins, computed directly (right-closed bins, 0.0001 floor)
        p = np.histogram(-ref, bins=sorted(-np.array(edges)))[0][::-1] / len(ref)
        q = np.histogram(-cur, bins=sorted(-np.array(edges)))[0][::-1] / len(cur)
        p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
        assert cols[name]["psi"] == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-9)
        exact = stats.ks_2samp(ref, cur)
        sketch = prof["columns"][name]["sketch"]
        if sketch["exact"]:
            assert cols[name]["ks_d"] == pytest.approx(exact.statistic, abs=1e-12)
            assert cols[name]["ks_p"] == pytest.approx(exact.pvalue, rel=1e-9)
        else:
            assert abs(cols[name]["ks_d"] - exact.statistic) <= sketch["error_bound"] / 2 + 1e-12
    chan_ref = ref_df["channel"].value_counts()
    chan_cur = cur_df["channel"].value_counts().reindex(chan_ref.index)
    chi = stats.chisquare(chan_cur, chan_ref / chan_ref.sum() * chan_cur.sum())
    assert cols["channel"]["chi2_p"] == pytest.approx(chi.pvalue, rel=1e-9, abs=1e-300)
    assert set(result["drifted_columns"]) >= {"score", "channel"} and result["dataset_drift"]
    out = outputs(env)
    assert out["failure-reason"] == "data-drift" and out["dataset-drift"] == "true"
    report = (env / ".mlgate/reports/drift.md").read_text()
    assert "dataset drift" in report and "<details>" in report and "█" in report and "![" not in report


def test_drift_exact_ks_with_reference(reference: Path, env: Path) -> None:
    current = env / "current.csv"
    frame(3000, shift=0.0, seed=2).to_csv(current, index=False)
    assert run("profile", "--data", str(reference), "--output", "p.json") == 0
    assert run("drift", "--data", str(current), "--profile", "p.json", "--reference", str(reference)) == 0
    cols = {
        c["name"]: c for c in json.loads((env / ".mlgate/reports/drift.json").read_text())["data"]["columns"]
    }
    ref_df, cur_df = pd.read_csv(reference), pd.read_csv(current)
    for name in ("amount", "score"):
        exact = stats.ks_2samp(ref_df[name].dropna(), cur_df[name].dropna())
        assert cols[name]["ks_exact"] and cols[name]["ks_d"] == pytest.approx(exact.statistic, abs=1e-12)
        assert cols[name]["ks_p"] == pytest.approx(exact.pvalue, rel=1e-9)
    assert outputs(env)["passed"] == "true" and outputs(env)["drifted-columns"] == ""


def test_thresholds_come_from_mlgate_yaml(reference: Path, env: Path) -> None:
    current = env / "current.csv"
    frame(6000, shift=0.5, seed=1).to_csv(current, index=False)
    (env / "mlgate.yaml").write_text(
        "drift:\n  profile: p.json\n  psi_threshold: 5\n  categorical_test: chi2\n  chi2_p_value: 1.0e-300\n"
    )
    assert run("profile", "--data", str(reference)) == 0
    assert (env / "p.json").exists()
    assert run("drift", "--data", str(current)) == 0  # nothing reaches PSI 5 or chi² p 1e-300
    (env / "mlgate.yaml").write_text("drift:\n  profile: p.json\n  numeric_test: ks\n  fail_on: column\n")
    assert run("drift", "--data", str(current)) == 1
    assert "amount" in outputs(env)["drifted-columns"].split(",")


def test_null_rate_increase_drifts(reference: Path, env: Path) -> None:
    df = frame(4000, seed=3)
    df.loc[: len(df) // 2, "age"] = np.nan
    df.to_csv(env / "nulls.csv", index=False)
    assert run("profile", "--data", str(reference), "--output", "p.json") == 0
    assert run("drift", "--data", "nulls.csv", "--profile", "p.json") == 0  # 1 of 4 columns < 50 %
    cols = {
        c["name"]: c for c in json.loads((env / ".mlgate/reports/drift.json").read_text())["data"]["columns"]
    }
    assert cols["age"]["drifted"] and "null rate" in cols["age"]["reasons"][0]


# --- bad input: one line, a documented reason, exit 1, never a traceback ---------------------------------


def _write(env: Path, name: str, content: bytes) -> str:
    (env / name).write_bytes(content)
    return name


BAD_DRIFT_INPUTS = {
    "missing data file": (lambda e: "nope.csv", None, "missing-file", "not found"),
    "empty data file": (lambda e: _write(e, "empty.csv", b""), None, "empty-data", "empty file"),
    "header only": (
        lambda e: _write(e, "hdr.csv", b"amount,age,score,channel\n"),
        None,
        "empty-data",
        "no rows",
    ),
    "not utf-8": (
        lambda e: _write(e, "latin.csv", "amount,age,score,channel\n1,20,0.1,caf\xe9\n".encode("latin-1")),
        None,
        "unreadable-data",
        "UTF-8",
    ),
    "missing column": (
        lambda e: _write(e, "m.csv", b"amount,age,score\n1,20,0.1\n"),
        None,
        "schema-mismatch",
        "channel",
    ),
    "extra column": (
        lambda e: _write(e, "x.csv", b"amount,age,score,channel,new\n1,20,0.1,web,1\n"),
        None,
        "schema-mismatch",
        "new",
    ),
    "mistyped column": (
        lambda e: _write(e, "t.csv", b"amount,age,score,channel\nlots,20,0.1,web\n"),
        None,
        "schema-mismatch",
        "amount",
    ),
    "all-null column": (
        lambda e: _write(e, "n.csv", b"amount,age,score,channel\n1,20,,web\n2,30,,pos\n"),
        None,
        "all-null-column",
        "score",
    ),
    "unknown profile version": (lambda e: "ok.csv", {"schema_version": 99}, "unknown-profile-version", "99"),
    "malformed profile": (lambda e: "ok.csv", "{not json", "invalid-profile", "not valid JSON"),
    "malformed mlgate.yaml": (lambda e: "ok.csv", "yaml:drift: [", "invalid-input", "mlgate.yaml"),
    "unknown key in mlgate.yaml": (
        lambda e: "ok.csv",
        "yaml:drift:\n  psi_treshold: 0.2\n",
        "invalid-input",
        "psi_treshold",
    ),
    "bad threshold type": (
        lambda e: "ok.csv",
        "yaml:drift:\n  psi_threshold: high\n",
        "invalid-input",
        "psi_threshold",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DRIFT_INPUTS))
def test_bad_drift_input(case: str, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_data, profile_change, reason, words = BAD_DRIFT_INPUTS[case]
    frame(3000).to_csv(env / "ref.csv", index=False)
    frame(500, seed=8).to_csv(env / "ok.csv", index=False)
    assert run("profile", "--data", "ref.csv", "--output", "p.json") == 0
    capsys.readouterr()
    if isinstance(profile_change, dict):
        prof = json.loads((env / "p.json").read_text())
        prof.update(profile_change)
        (env / "p.json").write_text(json.dumps(prof))
    elif isinstance(profile_change, str) and profile_change.startswith("yaml:"):
        (env / "mlgate.yaml").write_text(profile_change.removeprefix("yaml:"))
    elif isinstance(profile_change, str):
        (env / "p.json").write_text(profile_change)
    (env / "out" / "outputs.env").unlink()
    assert run("drift", "--data", make_data(env), "--profile", "p.json") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert words in err.strip().splitlines()[-1]
    assert outputs(env)["failure-reason"] == reason
    assert reason in drift.FAILURE_REASONS


BAD_PROFILE_INPUTS = {
    "missing file": ("gone.parquet", None, "missing-file"),
    "unsupported type": ("data.xlsx", b"PK", "unreadable-data"),
    "damaged parquet": ("bad.parquet", b"PAR1 garbage", "unreadable-data"),
    "all-null column": ("n.csv", b"a,b\n1,\n2,\n", "all-null-column"),
    "excluded column absent": ("ok.csv", b"a,b\n1,2\n", "schema-mismatch"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILE_INPUTS))
def test_bad_profile_input(case: str, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name, content, reason = BAD_PROFILE_INPUTS[case]
    if content is not None:
        (env / name).write_bytes(content)
    if case == "excluded column absent":
        (env / "mlgate.yaml").write_text("drift:\n  exclude: [zzz]\n")
    assert run("profile", "--data", name, "--output", "p.json") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and name in err.strip().splitlines()[-1], err
    assert outputs(env)["failure-reason"] == reason and reason in profile.FAILURE_REASONS


def test_value_that_breaks_a_later_csv_block_names_the_column(env: Path) -> None:
    # the first block reads `amount` as numbers; a later block holds text: a one-line schema error
    rows = ["amount,channel"] + [f"{i}.5,web" for i in range(200_000)] + ["oops,web"]
    (env / "big.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(GateInputError) as info:
        build_profile(env / "big.csv", ProfileSettings(chunk_rows=1000))
    assert (
        info.value.reason == "schema-mismatch"
        and info.value.field == "amount"
        and "oops" in info.value.message
    )


def test_drift_section_defaults_match_the_documented_ones() -> None:
    section = DriftSection()
    assert (section.psi_threshold, section.ks_p_value, section.dataset_drift_share) == (0.1, 0.05, 0.5)
