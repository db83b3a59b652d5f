"""`mlgate.yaml`: one-line errors for every way a section can be wrong, and the schema command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field

from mlgate import config
from mlgate.config import Section, check_config, json_schema, load_section
from mlgate.gate import GateInputError


class Thresholds(Section):
    recall: float = Field(0.7, ge=0, le=1, description="Minimum recall.")


class DemoSection(Section):
    """A stand-in gate section (registered for these tests only)."""

    enabled: bool = True
    max_rows: int = 1000
    thresholds: Thresholds = Thresholds()


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(config.SECTIONS, "demo", "tests.unit.test_config:DemoSection")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> GateInputError:
    with pytest.raises(GateInputError) as caught:
        load_section(path, "demo", DemoSection)
    message = caught.value.message
    assert "\n" not in message
    assert str(path) in message
    return caught.value


def test_missing_default_file_and_missing_section_give_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_section(Path("mlgate.yaml"), "demo", DemoSection) == DemoSection()
    assert load_section(write(tmp_path, "other: {}\n"), "demo", DemoSection).max_rows == 1000
    assert load_section(write(tmp_path, ""), "demo", DemoSection).enabled


def test_values_are_read(tmp_path: Path) -> None:
    loaded = load_section(
        write(tmp_path, "demo:\n  max_rows: 5\n  thresholds: {recall: 0.8}\n"), "demo", DemoSection
    )
    assert (loaded.max_rows, loaded.thresholds.recall) == (5, 0.8)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo:\n  max_rows: 5\n  thresholds: [1, 2\n"))
    assert error.line == 4
    assert "invalid YAML" in error.message
    assert error.reason == "invalid-input"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo:\n  max_row: 5\n"))
    assert error.field == "demo.max_row"
    assert "unknown key" in error.message


def test_wrong_type_quotes_the_value(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo:\n  thresholds:\n    recall: lots\n"))
    assert error.field == "demo.thresholds.recall"
    assert "'lots'" in error.message
    assert "mlgate config schema" in error.message


def test_several_problems_are_counted(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo:\n  max_rows: many\n  enabled: perhaps\n"))
    assert "(and 1 more problem(s))" in error.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "- demo\n- eval\n"))
    assert "must be a mapping of gate sections" in error.message


def test_section_must_be_a_mapping(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo: 3\n"))
    assert error.field == "demo"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "mlgate.yaml"
    path.write_bytes(b"demo:\n  max_rows: \xff\xfe\n")
    assert "UTF-8" in error_of(path).message


def test_check_rejects_unknown_sections_and_accepts_schema_key(tmp_path: Path, demo: None) -> None:
    assert check_config(write(tmp_path, "$schema: ./schema.json\ndemo: {max_rows: 3}\n")) == ["demo"]
    with pytest.raises(GateInputError, match="unknown section") as caught:
        check_config(write(tmp_path, "dmeo: {}\n"))
    assert caught.value.field == "dmeo"


def test_schema_describes_registered_sections(demo: None) -> None:
    schema = json_schema()
    assert schema["$id"] == config.SCHEMA_ID
    assert {"demo", "$schema"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    demo_def = schema["$defs"]["DemoSection"]
    assert demo_def["additionalProperties"] is False
    assert schema["$defs"]["Thresholds"]["properties"]["recall"]["maximum"] == 1


def test_schema_command_prints_and_writes(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    printed = subprocess.run(
        [sys.executable, "-m", "mlgate.cli", "config", "schema"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run([sys.executable, "-m", "mlgate.cli", "config", "schema", "--output", str(out)], check=True)
    assert json.loads(printed) == json.loads(out.read_text(encoding="utf-8")) == json_schema()


def test_check_command_reports_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "nonsense: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate.cli", "config", "check", "--config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "MLGATE_OUTPUT_DIR": str(tmp_path / "out")},
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"mlgate config: error: {bad}: nonsense: unknown section")


def test_missing_default_file_is_announced_and_a_named_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert load_section(Path("mlgate.yaml"), "demo", DemoSection) == DemoSection()
    assert "mlgate.yaml not found: section `demo` uses its defaults" in capsys.readouterr().err
    with pytest.raises(GateInputError, match=r"absent\.yaml: does not exist"):
        load_section(tmp_path / "absent.yaml", "demo", DemoSection)
    with pytest.raises(GateInputError, match="has no `demo` section"):
        load_section(write(tmp_path, "other: {}\n"), "demo", DemoSection, required=True)


def test_duplicate_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "demo:\n  max_rows: 5\n  enabled: true\n  max_rows: 6\n"))
    assert "duplicate key `max_rows` on line 4 (first given on line 2)" in error.message
    assert error.line == 4


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = "base: &base {max_rows: 5}\ndemo:\n  <<: *base\n  enabled: false\n"
    loaded = config.validate_section(
        config.read_config(write(tmp_path, text))["demo"], "demo", DemoSection, file=tmp_path
    )
    assert (loaded.max_rows, loaded.enabled) == (5, False)
