"""Bad-input catalogue of the spark engine of `mlgate profile` and `mlgate drift`: a bad engine setting
and a missing Java fail closed before any Spark job (no JVM is started), one line naming the setting.
Bad data on the spark engine is in `test_spark_engine.py` (it needs Spark running)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bad_inputs import BadInput, check_bad_input

DATA = "x,label\n" + "".join(f"{i}.5,{'ab'[i % 2]}\n" for i in range(600))
NO_JAVA = {"PATH": "/nonexistent", "JAVA_HOME": ""}


def _profile(root: Path) -> None:
    """A real profile of the data, written by the arrow engine."""
    from mlgate.data.config import DriftSection
    from mlgate.data.profile_core import build_profile
    from mlgate.data.profile_format import write_profile

    write_profile(build_profile(root / "data.csv", DriftSection().profile_settings()), root / "ref.json")


CASES = [
    BadInput(
        id="profile: unknown drift.engine",
        argv=("profile", "--data", "data.csv", "--output", "out.json"),
        reason="invalid-input",
        names="drift.engine",
        files={"data.csv": DATA, "mlgate.yaml": "drift:\n  engine: dask\n"},
    ),
    BadInput(
        id="drift: unknown drift.engine",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json"),
        reason="invalid-input",
        names="drift.engine",
        files={"data.csv": DATA, "ref.json": "{}", "mlgate.yaml": "drift:\n  engine: pandas\n"},
    ),
    BadInput(
        id="profile: empty drift.spark_master",
        argv=("profile", "--data", "data.csv", "--output", "out.json"),
        reason="invalid-input",
        names="drift.spark_master",
        files={"data.csv": DATA, "mlgate.yaml": "drift:\n  engine: spark\n  spark_master: ''\n"},
    ),
    BadInput(
        id="profile: spark engine without Java",
        argv=("profile", "--engine", "spark", "--data", "data.csv", "--output", "out.json"),
        reason="engine-unavailable",
        names="drift.engine",
        files={"data.csv": DATA},
        env=NO_JAVA,
    ),
    BadInput(
        id="drift: spark engine from mlgate.yaml without Java",
        argv=("drift", "--data", "data.csv", "--profile", "ref.json"),
        reason="engine-unavailable",
        names="drift.engine",
        files={"mlgate.yaml": "drift:\n  engine: spark\n", "data.csv": DATA},
        env=NO_JAVA,
        setup=_profile,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_spark_engine(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (the `spark` extra)")
    run = check_bad_input(case, tmp_path, monkeypatch, capsys)
    if case.reason == "engine-unavailable":
        assert "Java" in run.error_line
