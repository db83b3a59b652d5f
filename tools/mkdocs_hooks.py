"""MkDocs hooks: one reference page per composite action, and a nav that finds new pages by itself.

- Every `actions/<name>/action.yml` becomes the page `actions/<name>.md`: the action's README.md (prose,
  then the inputs/outputs table generated from action.yml), or -- when there is no README yet -- a page
  rendered from action.yml itself. Relative links in a README point at the repository on GitHub.
- `<!-- mlgate:actions-table -->` in a page is replaced by a table of every action and its description.

Every table is rendered by tools/docgen.py (`render_action_page`, `render_actions_index`): one
implementation for the READMEs, the docs pages and this site.
- Pages missing from `nav` in mkdocs.yml are appended: actions under "Actions", `guides/*.md` under
  "Guides", other top-level pages at the end. Adding an action or a guide needs no edit here.

A hand-written `docs/actions/<name>.md` wins over the generated page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docgen  # tools/docgen.py: MkDocs puts a hook's folder on sys.path while it loads the hook
import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ACTIONS_TABLE_MARKER = "<!-- mlgate:actions-table -->"
LINK_RE = re.compile(r"(?<!!)\]\((?P<target>[^)\s]+)\)")


def repo_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def discover_actions(root: Path) -> dict[str, dict[str, Any]]:
    """{name: parsed action.yml} for every actions/<name>/action.yml, by name."""
    actions: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "actions").glob("*/action.y*ml")):
        actions[path.parent.name] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return actions


def absolutise_links(markdown: str, base_url: str) -> str:
    """Relative links in an action README point into the repository, which the site does not contain."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
            return match[0]
        return f"]({base_url}/{target})"

    return LINK_RE.sub(replace, markdown)


def action_page(root: Path, name: str, action: dict[str, Any], repo_url: str) -> str:
    readme = root / "actions" / name / "README.md"
    if readme.is_file():
        base = f"{repo_url.rstrip('/')}/blob/main/actions/{name}" if repo_url else f"actions/{name}"
        return absolutise_links(readme.read_text(encoding="utf-8"), base)
    return docgen.render_action_page(name, action)


# ------------------------------------------------------------------------------------------ the hooks


def nav_paths(nav: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= nav_paths(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= nav_paths(value)
    return found


def section(nav: list[Any], title: str) -> list[Any]:
    for item in nav:
        if isinstance(item, dict) and title in item and isinstance(item[title], list):
            return item[title]  # type: ignore[no-any-return]
    new: list[Any] = []
    nav.append({title: new})
    return new


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    nav = config.nav
    if not isinstance(nav, list):
        return config
    root = repo_root(config)
    docs = Path(config.docs_dir)
    listed = nav_paths(nav)
    actions = [f"actions/{name}.md" for name in discover_actions(root)]
    missing_actions = [page for page in actions if page not in listed]
    if missing_actions:
        section(nav, "Actions").extend(missing_actions)
    guides = sorted(p.relative_to(docs).as_posix() for p in (docs / "guides").glob("*.md"))
    missing_guides = [page for page in guides if page not in listed]
    if missing_guides:
        section(nav, "Guides").extend(missing_guides)
    top = sorted(p.name for p in docs.glob("*.md"))
    nav.extend(page for page in top if page not in listed)
    nav[:] = [item for item in nav if not (isinstance(item, dict) and list(item.values()) == [[]])]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = repo_root(config)
    for name, action in discover_actions(root).items():
        uri = f"actions/{name}.md"
        if files.get_file_from_path(uri) is None:
            content = action_page(root, name, action, config.repo_url or "")
            files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if ACTIONS_TABLE_MARKER in markdown:
        table = docgen.render_actions_index(discover_actions(repo_root(config)))
        markdown = markdown.replace(ACTIONS_TABLE_MARKER, table)
    return markdown
