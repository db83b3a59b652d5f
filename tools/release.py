"""One version for the package, the actions, the template and the schema: read, check, bump, notes.

A release tag `vX.Y.Z` of this repository is at once the `mlgate` package version, the ref generated
workflows pin, the template version and the schema's version. The number lives in these places, and
`check` fails when any two disagree:

- `pyproject.toml` (`[project] version`) and `src/mlgate/__init__.py` (`__version__`);
- `cookiecutter.json`: `mlgate_ref` (`vX.Y.Z`) and `__mlgate_version` (the package pin of generated projects);
- `schema/mlgate.schema.json`: its `$id` names the tag (regenerated from `mlgate.config.SCHEMA_ID`);
- `CHANGELOG.md`: the newest released section `## [X.Y.Z] — YYYY-MM-DD` (before the first release there is
  only `## [Unreleased]`, and the version is the initial one);
- user-facing examples that pin mlgate (`…/actions/<name>@<sha> # vX.Y.Z`, `?ref=vX.Y.Z`,
  `--checkout vX.Y.Z`) in the action READMEs, the Terraform module READMEs and `docs/`.

    python tools/release.py check           # exit 1 and list the disagreements
    python tools/release.py bump 0.2.0      # rewrite every place; CHANGELOG: [Unreleased] -> [0.2.0] — today
    python tools/release.py notes 0.2.0     # the CHANGELOG section of 0.2.0 (the GitHub release's body)
    python tools/release.py version         # the version pyproject.toml names
    python tools/release.py publish v0.2.0 ASSET... --notes FILE   # create (or complete) the GitHub release

`publish` is what the release workflow's last job runs: it talks to `$GITHUB_API_URL` with `$GITHUB_TOKEN`
for `$GITHUB_REPOSITORY`, and is safe to re-run: an existing release for the tag is reused and assets it
already has are skipped, so a job that failed half-way is finished by running it again.

`make release VERSION=0.2.0` runs `bump`, re-locks, regenerates the schema and the generated docs, checks,
and prints the commit and tag commands; nothing is pushed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INITIAL_VERSION = "0.1.0"
VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-(?:rc|alpha|beta)\.\d+)?$")
_V = r"\d+\.\d+\.\d+(?:-(?:rc|alpha|beta)\.\d+)?"

_PYPROJECT = re.compile(r'(?m)^(version = ")(' + _V + r')(")')
_INIT = re.compile(r'(?m)^(__version__ = ")(' + _V + r')(")')
_REF = re.compile(r'("mlgate_ref": "v)(' + _V + r')(")')
_PIN = re.compile(r'("__mlgate_version": ")(' + _V + r')(")')
_RELEASED = re.compile(r"(?m)^## \[(" + _V + r")\]")
_UNRELEASED = re.compile(r"(?m)^## \[Unreleased\][^\n]*\n")
#: how docs pin a release of mlgate: `@<sha> # v1.2.3`, `@v1.2.3`, `?ref=v1.2.3`, `--checkout v1.2.3`
_DOC_REF = re.compile(
    r"(mlgate/actions/[a-z0-9-]+@(?:<sha> # )?v|mlgate\.git//[\w/-]+\?ref=v|--checkout v)(" + _V + r")\b"
)


def doc_files(root: Path = ROOT) -> Iterator[Path]:
    """User-facing pages whose examples pin a release of mlgate."""
    yield from sorted(root.glob("actions/*/README.md"))
    yield from sorted(root.glob("terraform/modules/*/README.md"))
    yield from sorted(p for p in (root / "docs").rglob("*.md") if p.name != "benchmarks.md")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def versions(root: Path = ROOT) -> dict[str, str]:
    """Every place -> the version it names (a place that names none maps to '')."""

    def first(pattern: re.Pattern[str], text: str) -> str:
        match = pattern.search(text)
        return match.group(2) if match else ""

    cookiecutter = _read(root / "cookiecutter.json")
    found = {
        "pyproject.toml [project] version": first(_PYPROJECT, _read(root / "pyproject.toml")),
        "src/mlgate/__init__.py __version__": first(_INIT, _read(root / "src" / "mlgate" / "__init__.py")),
        "cookiecutter.json mlgate_ref": first(_REF, cookiecutter),
        "cookiecutter.json __mlgate_version": first(_PIN, cookiecutter),
    }
    schema_id = json.loads(_read(root / "schema" / "mlgate.schema.json")).get("$id", "")
    match = re.search(r"/v(" + _V + r")/", schema_id)
    found["schema/mlgate.schema.json $id"] = match.group(1) if match else ""
    released = _RELEASED.search(_read(root / "CHANGELOG.md"))
    found["CHANGELOG.md newest release"] = released.group(1) if released else INITIAL_VERSION
    for path in doc_files(root):
        for match in _DOC_REF.finditer(_read(path)):
            found[f"{path.relative_to(root).as_posix()} `{match.group(0)}`"] = match.group(2)
    return found


def disagreements(root: Path = ROOT) -> list[str]:
    """One line per place whose version differs from pyproject.toml's."""
    found = versions(root)
    expected = found["pyproject.toml [project] version"]
    return [
        f"{place}: {version or 'none'} (expected {expected})"
        for place, version in found.items()
        if version != expected
    ]


def bump(version: str, *, root: Path = ROOT, today: dt.date | None = None) -> list[Path]:
    """Rewrite every place to `version`; [Unreleased] becomes its CHANGELOG section. Returns the files."""
    if not VERSION.match(version):
        raise SystemExit(
            f"release: version {version!r} is not X.Y.Z (e.g. 0.2.0): type the number without the v"
        )
    changelog = root / "CHANGELOG.md"
    text = _read(changelog)
    unreleased = _UNRELEASED.search(text)
    if unreleased is None:
        raise SystemExit(
            "release: CHANGELOG.md has no `## [Unreleased]` section: write what changed there first"
        )
    newest = _RELEASED.search(text, unreleased.end())
    if not re.search(r"(?m)^- ", text[unreleased.end() : newest.start() if newest else len(text)]):
        raise SystemExit("release: CHANGELOG.md's [Unreleased] section lists no change: nothing to release")
    if newest and newest.group(1) == version:
        raise SystemExit(f"release: CHANGELOG.md already has a section for {version}")
    date = (today or dt.date.today()).isoformat()
    edits: dict[Path, str] = {
        changelog: text[: unreleased.start()]
        + f"## [Unreleased]\n\n## [{version}] — {date}\n"
        + text[unreleased.end() :]
    }
    substitutions = [
        (root / "pyproject.toml", _PYPROJECT, 1),
        (root / "src" / "mlgate" / "__init__.py", _INIT, 1),
        (root / "cookiecutter.json", _REF, 1),
        (root / "cookiecutter.json", _PIN, 1),
    ]
    for path, pattern, count in substitutions:
        current = edits.get(path, _read(path))
        edits[path] = pattern.sub(lambda m: m.group(1) + version + m.group(3), current, count=count)
    for path in doc_files(root):
        current = _read(path)
        edits[path] = _DOC_REF.sub(lambda m: m.group(1) + version, current)
    changed = []
    for path, new in edits.items():
        if new != _read(path):
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def notes(version: str, root: Path = ROOT) -> str:
    """The CHANGELOG section of `version`, without its heading: the body of the GitHub release."""
    text = _read(root / "CHANGELOG.md")
    heading = re.search(r"(?m)^## \[" + re.escape(version) + r"\][^\n]*\n", text)
    if heading is None:
        raise SystemExit(
            f"release: CHANGELOG.md has no `## [{version}]` section: run `make release VERSION={version}`"
        )
    following = re.compile(r"(?m)^## \[").search(text, heading.end())
    body = text[heading.end() : following.start() if following else len(text)].strip()
    if not body:
        raise SystemExit(f"release: CHANGELOG.md's section for {version} is empty")
    return body + "\n"


def _request(method: str, url: str, token: str, body: bytes | None = None, content_type: str = "") -> Any:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - the API URL is configured
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        payload = response.read()
    return json.loads(payload) if payload else None


def publish(
    tag: str, notes_text: str, assets: list[Path], *, api_url: str, repository: str, token: str
) -> dict[str, Any]:
    """Create the GitHub release of `tag` (or reuse it) and upload the assets it does not have yet."""
    base = f"{api_url.rstrip('/')}/repos/{repository}/releases"
    try:
        release = _request("GET", f"{base}/tags/{urllib.parse.quote(tag)}", token)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise SystemExit(
                f"release: GitHub answered {exc.code} when looking up the release of {tag}"
            ) from None
        body = {"tag_name": tag, "name": tag, "body": notes_text, "draft": False, "prerelease": "-" in tag}
        release = _request("POST", base, token, json.dumps(body).encode(), "application/json")
    have = {asset["name"] for asset in release.get("assets", [])}
    upload = release["upload_url"].split("{", 1)[0]
    for path in assets:
        if path.name in have:
            print(f"release: {path.name} is already attached to {tag}")
            continue
        url = f"{upload}?{urllib.parse.urlencode({'name': path.name})}"
        _request("POST", url, token, path.read_bytes(), "application/octet-stream")
        print(f"release: attached {path.name} to {tag}")
    return release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="exit 1 when any two places name different versions")
    sub.add_parser("version", help="print the version pyproject.toml names")
    for name, text in (
        ("bump", "rewrite every place to VERSION"),
        ("notes", "print VERSION's CHANGELOG section"),
    ):
        sub.add_parser(name, help=text).add_argument("version")
    publish_parser = sub.add_parser("publish", help="create or complete the GitHub release of TAG")
    publish_parser.add_argument("tag")
    publish_parser.add_argument("--notes", type=Path, required=True, help="Markdown file: the release body")
    publish_parser.add_argument("assets", nargs="*", type=Path, help="files to attach")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = disagreements(args.root)
        for problem in problems:
            print(f"release: {problem}", file=sys.stderr)
        if not problems:
            print(f"release: every place names {versions(args.root)['pyproject.toml [project] version']}")
        return 1 if problems else 0
    if args.command == "version":
        print(versions(args.root)["pyproject.toml [project] version"])
        return 0
    if args.command == "publish":
        missing = [str(p) for p in [args.notes, *args.assets] if not p.is_file()]
        if missing:
            raise SystemExit(f"release: {', '.join(missing)}: no such file")
        env = {
            name: os.environ.get(name, "") for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN")
        }
        unset = [name for name, value in env.items() if not value]
        if unset:
            raise SystemExit(f"release: set {', '.join(unset)} (the workflow passes them through env:)")
        publish(
            args.tag,
            args.notes.read_text(encoding="utf-8"),
            list(args.assets),
            api_url=env["GITHUB_API_URL"],
            repository=env["GITHUB_REPOSITORY"],
            token=env["GITHUB_TOKEN"],
        )
        return 0
    if args.command == "bump":
        for path in bump(args.version.removeprefix("v"), root=args.root):
            print(f"updated {path.relative_to(args.root)}")
        return 0
    sys.stdout.write(notes(args.version.removeprefix("v"), args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
