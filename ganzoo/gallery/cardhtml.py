"""A model card as gallery HTML: its front matter's results as a table of metrics with their protocol,
then its Markdown body, with the pictures it shows copied next to the page.

The protocol of each metric comes from the card itself, where ganzoo writes it: the
"how it was measured" column of the training metrics table, and the protocol block that
``ganzoo eval --write-card`` puts under "Evaluation" for the measured ones. A metric the card
does not explain gets ganzoo's own note (:data:`ganzoo.cards.card.METRIC_NOTES`), or none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cards.card import EVALUATION_HEADING, METRIC_NOTES
from ..cards.frontmatter import parse_front_matter, split_front_matter
from ..io.folderguard import FolderGuard
from .markdown import escape, render_inline, render_markdown
from .pages import metrics_table
from .site import Site

__all__ = ["CardView", "read_card"]

_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)


@dataclass
class CardView:
    """What the gallery shows of one card."""

    metrics: dict[str, Any]
    protocols: dict[str, str] = field(default_factory=dict)
    evaluation_protocol: str = ""
    body: str = ""

    def metrics_html(self) -> str:
        if not self.metrics:
            return '<p class="note">The card states no metrics.</p>'
        html = metrics_table(self.metrics, self.protocols)
        if self.evaluation_protocol:
            html += (
                "<p>Evaluation protocol (as printed by <code>ganzoo eval</code>):</p>\n"
                f"<blockquote><p>{render_inline(self.evaluation_protocol)}</p></blockquote>"
            )
        return html

    def body_html(self, image: Callable[[str], str | None] | None) -> str:
        return f'<div class="card-body">\n{render_markdown(self.body, image=image)}\n</div>'


def _sections(body: str) -> dict[str, str]:
    """Level-2 sections of the body by title."""
    matches = list(_SECTION.finditer(body))
    return {
        m.group(1).strip(): body[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(body)]
        for i, m in enumerate(matches)
    }


def _rows(section: str) -> list[list[str]]:
    """The data rows of the pipe tables in ``section`` whose first column is a metric's name."""
    rows = []
    for line in section.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("metric", "") or set(cells[0]) <= set("-: "):
            continue  # the header or the rule under it
        rows.append(cells)
    return rows


def _quote(section: str) -> str:
    return " ".join(line.lstrip()[1:].strip() for line in section.splitlines() if line.lstrip().startswith(">"))


def read_card(text: str, *, source: str) -> CardView:
    """The parts of a card the gallery shows; a card whose front matter is broken is a ``CardError``."""
    front = parse_front_matter(text, source=source)
    _, body = split_front_matter(text)
    block = front.get("ganzoo") if isinstance(front.get("ganzoo"), dict) else {}
    results = block.get("results") if isinstance(block.get("results"), dict) else {}
    sections = _sections(body)
    protocols = {name: note for name, note in METRIC_NOTES.items() if name in results}
    protocols.update({row[0]: row[2] for row in _rows(sections.get("Metrics", "")) if len(row) > 2 and row[2]})
    evaluation = sections.get(EVALUATION_HEADING[3:], "")
    protocol_text = _quote(evaluation)
    for name in (row[0] for row in _rows(evaluation)):
        protocols[name] = "ganzoo eval (protocol below)" if protocol_text else "ganzoo eval"
    return CardView(metrics=dict(results), protocols=protocols, evaluation_protocol=protocol_text, body=body)


def image_copier(base: Any, site: Site, folder: str) -> Callable[[str], str | None]:
    """Resolve a card's image address against ``base`` and copy the file into the entry's ``folder``.

    ``base`` is the card's folder: a :class:`~ganzoo.io.folderguard.FolderGuard` (a run's export folder, an
    installed card's folder), which refuses a picture that is a link out of it in one line, or an
    ``importlib.resources`` folder of a zipped package (which holds no links). An address that is not a
    file below ``base`` (a URL, an absolute path, one that climbs with ``..``) is None: not ours to copy."""
    copied: dict[str, str] = {}

    def resolve(src: str) -> str | None:
        if src in copied:
            return copied[src]
        parts = src.split("/")
        if ":" in src or src.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return None  # a URL, an absolute path or one leaving the card's folder: not ours to copy
        if isinstance(base, FolderGuard):
            found = base.file(base.root.joinpath(*parts))
            if found is None:
                return None
            data = base.read_bytes(found)
        else:
            candidate = base.joinpath(*parts)
            if not candidate.is_file():
                return None
            data = candidate.read_bytes()
        copied[src] = site.copy(data, folder, "card-" + "-".join(parts))
        return copied[src]

    return resolve


def heading(title: str, summary: str) -> str:
    return f"<h1>{escape(title)}</h1>\n<p class=\"summary\">{escape(summary)}</p>"
