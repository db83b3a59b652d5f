"""One version everywhere: `tools/release.py` finds each place the version lives; `bump` moves them together.

The checkout itself must agree (a test fails when any two places disagree); `bump` is exercised on a copy
of the files it edits, then checked with the same `check` the release workflow runs.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate import __version__
from mlgate.config import SCHEMA_ID
from tools import release

ROOT = Path(__file__).resolve().parents[2]


def test_every_place_in_this_checkout_names_one_version() -> None:
    assert release.disagreements(ROOT) == []
    found = release.versions(ROOT)
    assert set(found.values()) == {__version__}
    # the places the issue names are all among those checked
    for place in ("pyproject.toml", "__init__.py", "mlgate_ref", "__mlgate_version", "$id", "CHANGELOG.md"):
        assert any(place in name for name in found), place
    # and the docs' usage examples are read too (they pin the release users copy)
    assert any(name.startswith("actions/") for name in found)
    assert any(name.startswith("terraform/modules/") for name in found)


def test_the_schema_id_names_the_release_tag_of_the_package() -> None:
    published = json.loads((ROOT / "schema" / "mlgate.schema.json").read_text(encoding="utf-8"))
    assert published["$id"] == SCHEMA_ID
    repo = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))["mlgate_repo"]
    expected = f"https://raw.githubusercontent.com/{repo}/v{__version__}/schema/mlgate.schema.json"
    assert expected == SCHEMA_ID


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The files `bump` reads and writes, copied from this checkout."""
    for rel in ("pyproject.toml", "cookiecutter.json", "CHANGELOG.md", "src/mlgate/__init__.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, tmp_path / rel)
    for folder in ("actions", "terraform/modules", "docs", "schema"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.tf", "*.py"))
    return tmp_path


def _regenerate_schema_id(root: Path, version: str) -> None:
    """What `make release` does with `mlgate config schema`: the `$id` follows the package version."""
    path = root / "schema" / "mlgate.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$id"] = schema["$id"].replace(f"/v{__version__}/", f"/v{version}/")
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def test_bump_moves_every_place_together_and_cuts_the_changelog(copy: Path) -> None:
    changed = release.bump("0.2.0", root=copy, today=dt.date(2026, 12, 6))
    assert {p.relative_to(copy).as_posix() for p in changed} >= {
        "pyproject.toml",
        "cookiecutter.json",
        "CHANGELOG.md",
        "src/mlgate/__init__.py",
        "actions/lint/README.md",
    }
    # only the schema is left, and check names exactly it
    assert [p.split(":")[0] for p in release.disagreements(copy)] == ["schema/mlgate.schema.json $id"]
    _regenerate_schema_id(copy, "0.2.0")
    assert release.disagreements(copy) == []
    changelog = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]\n\n## [0.2.0] — 2026-12-06\n" in changelog
    # the release notes are the section's body: what [Unreleased] listed, without headings of other versions
    notes = release.notes("0.2.0", copy)
    assert notes.startswith("### ") and "## [" not in notes
    cookiecutter = json.loads((copy / "cookiecutter.json").read_text(encoding="utf-8"))
    assert (cookiecutter["mlgate_ref"], cookiecutter["__mlgate_version"]) == ("v0.2.0", "0.2.0")
    # the rest of cookiecutter.json is untouched, byte for byte (no re-serialisation)
    original = (ROOT / "cookiecutter.json").read_text(encoding="utf-8")
    assert (copy / "cookiecutter.json").read_text(encoding="utf-8") == original.replace(
        '"v0.1.0"', '"v0.2.0"'
    ).replace('"__mlgate_version": "0.1.0"', '"__mlgate_version": "0.2.0"')
    # a second release with nothing new under [Unreleased] is refused
    with pytest.raises(SystemExit, match="lists no change"):
        release.bump("0.3.0", root=copy)


def test_check_names_the_place_that_disagrees(copy: Path) -> None:
    init = copy / "src" / "mlgate" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace(__version__, "9.9.9"), encoding="utf-8")
    readme = copy / "actions" / "lint" / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(f"# v{__version__}", "# v0.0.9", 1), encoding="utf-8"
    )
    problems = release.disagreements(copy)
    assert any(p.startswith("src/mlgate/__init__.py __version__: 9.9.9") for p in problems), problems
    assert any(p.startswith("actions/lint/README.md") and "0.0.9" in p for p in problems), problems
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "release.py"), "--root", str(copy), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "__version__: 9.9.9" in proc.stderr


@pytest.mark.parametrize(
    ("version", "message"),
    [("v0.2", "is not X.Y.Z"), ("0.2.0.1", "is not X.Y.Z"), ("latest", "is not X.Y.Z")],
)
def test_bump_refuses_what_is_not_a_version(copy: Path, version: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        release.bump(version, root=copy)


def test_notes_of_a_version_without_a_section_say_what_to_run(copy: Path) -> None:
    with pytest.raises(SystemExit, match=r"make release VERSION=4\.5\.6"):
        release.notes("4.5.6", copy)


def test_publish_completes_a_half_made_release_and_repeats_nothing(tmp_path: Path) -> None:
    from tests.support.fake_github import FakeGitHub
    from tests.support.project import git

    repo = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(repo))
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "x")
    git(work, "tag", "v0.1.0")
    git(work, "push", "-q", str(repo), "v0.1.0")
    assets = []
    for name in ("mlgate-0.1.0.tar.gz", "mlgate-0.1.0-py3-none-any.whl", "mlgate.schema.json"):
        assets.append(tmp_path / name)
        assets[-1].write_bytes(name.encode() * 3)
    with FakeGitHub(git_dir=repo) as fake:
        where = {"api_url": fake.url, "repository": "mlgate-dev/mlgate", "token": "t"}
        release.publish("v0.1.0", "notes\n", assets[:1], **where)  # a job that died after one upload
        release.publish("v0.1.0", "notes\n", assets, **where)  # re-run: the same release, the rest attached
        release.publish("v0.1.0", "notes\n", assets, **where)  # and again: nothing to do
        (made,) = fake.releases().values()
        assert sorted(a["name"] for a in made["assets"]) == sorted(p.name for p in assets)
        assert len([r for r in fake.requests if r.method == "POST" and r.path.endswith("/releases")]) == 1
        assert len([r for r in fake.requests if r.method == "POST" and "/assets" in r.path]) == 3
        assert fake.asset_content("v0.1.0", "mlgate.schema.json") == assets[2].read_bytes()
