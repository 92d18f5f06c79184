"""MkDocs hook (mkdocs.yml ``hooks:``): links from docs/ to the repository's other files.

The pages under ``docs/`` are written to read well on GitHub, so they link the repository's files by
their relative path (``../CONTRIBUTING.md``, ``../bench/gpu_speed.py``, ``../../model_cards/x.md``).
Those files are not part of the site, and MkDocs would report such a link as broken. This hook turns
each one into its address on the repository's site (``repo_url``/blob/main/PATH), and reports a link
whose file does not exist as a warning, which ``mkdocs build --strict`` makes an error: a link to a
file that was moved or removed fails the docs build (tests/test_docs_site.py) instead of rotting.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.ganzoo")

# a Markdown link or image target: ](target) or ](target "title"); fenced code is left alone below
LINK = re.compile(r"(\]\()(?P<target>[^)\s]+)(?P<rest>(?:\s+\"[^\"]*\")?\))")
FENCE = re.compile(r"^(```|~~~)")


def _outside_target(target: str, page_src: str, docs_dir: Path, root: Path) -> str | None:
    """The repository path a relative link leads to when it leaves ``docs/``; None for every other link."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    path, _, anchor = target.partition("#")
    joined = posixpath.normpath(posixpath.join("docs", posixpath.dirname(page_src), path))
    if joined == "docs" or joined.startswith("docs/"):
        return None
    return joined + (f"#{anchor}" if anchor else "")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Rewrite the links that leave docs/ into repository addresses, warning about missing files."""
    docs_dir = Path(config["docs_dir"])
    root = docs_dir.parent
    repo = str(config.get("repo_url") or "").rstrip("/")
    out, fenced = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        if not fenced:
            line = LINK.sub(lambda m: _rewrite(m, page, docs_dir, root, repo), line)
        out.append(line)
    return "\n".join(out)


def _rewrite(match: re.Match[str], page: Any, docs_dir: Path, root: Path, repo: str) -> str:
    target = _outside_target(match["target"], page.file.src_uri, docs_dir, root)
    if target is None:
        return match.group(0)
    path = target.partition("#")[0]
    if path.startswith("../") or not (root / path).exists():
        log.warning("%s links to %s, which is not a file of the repository", page.file.src_uri, match["target"])
        return match.group(0)
    kind = "tree" if (root / path).is_dir() else "blob"
    return f"{match[1]}{repo}/{kind}/main/{target}{match['rest']}"
