"""The zoo's gallery: an index of every registered model and a page per pretrained weights entry.

A weights page shows a sample grid, an interpolation GIF and (for conditional models) a
sample-per-class row, all drawn here from ``ganzoo.load(NAME)`` with fixed seeds, so the
same weights always give the same pictures (``download=False``, ``--offline``: only packaged
or cached weights are used); the exact training command (the record's ``recipe``); the card's
metrics with their protocol; and the whole card. Weights that cannot be loaded (not
downloaded with ``--offline``, a failed download) get a one-line note on their page (and in
the command's output) instead of pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from ..io.folderguard import FolderGuard
from ..registry.catalog import get_registry
from ..registry.records import DEFAULT_CARD_PACKAGE, ModelSpec, WeightsSpec
from .cardhtml import CardView, heading, image_copier, read_card
from .markdown import escape
from .pages import code_block, format_value, page, table
from .pictures import Pictures, draw_pictures
from .site import Site, href

__all__ = ["ZooEntry", "build_zoo"]

HEADLINE = ("fid", "precision", "recall")
"""The metrics the index shows beside each weights entry, when its record has them."""


@dataclass
class ZooEntry:
    """One weights entry as built: its folder in the site, its pictures, and what could not be drawn."""

    spec: ModelSpec
    weights: WeightsSpec
    folder: str
    pictures: Pictures | None = None
    notes: list[str] = field(default_factory=list)
    card: CardView | None = None
    """The installed card, read and checked before the pictures are drawn; None when there is none."""
    card_folder: Any = None

    @property
    def name(self) -> str:
        return f"{self.spec.name}.{self.weights.tag}"


def _card(weights: WeightsSpec) -> tuple[str | None, Any]:
    """The card's text and the resources folder it lives in (for its pictures)."""
    from importlib import resources

    from ..models.sampling import packaged_card

    if not weights.card:
        return None, None
    package = weights.card_package or DEFAULT_CARD_PACKAGE
    text = packaged_card(package, weights.card)
    if text is None:
        return None, None
    folder = resources.files(package)  # a folder on disk (the usual install) is read through its guard
    return text, (FolderGuard(folder, what="card folder") if isinstance(folder, Path) else folder)


def _entry_page(entry: ZooEntry, site: Site) -> str:
    spec, weights = entry.spec, entry.weights
    parts = [heading(entry.name, spec.summary)]
    facts = [
        ("model", spec.name), ("kind", spec.kind), ("dataset", weights.dataset), ("plugin", spec.plugin),
        ("licence", weights.license or "not stated"), ("sha256", weights.sha256),
        ("load", f'ganzoo.load("{entry.name}")'),
    ]
    parts.append(table(None, facts))
    parts.append("<h2>Samples</h2>")
    if entry.pictures is not None:
        parts.append(f'<div class="pictures">{entry.pictures.html()}</div>')
    parts.extend(f'<p class="note">{escape(note)}</p>' for note in entry.notes)
    parts.append("<h2>Training command</h2>")
    parts.append(code_block(weights.recipe) if weights.recipe else '<p class="note">The record states none.</p>')
    parts.append("<h2>Metrics</h2>")
    if entry.card is None:
        parts.append('<p class="note">No model card is installed for these weights.</p>')
        if weights.metrics:
            parts.append(CardView(metrics=dict(weights.metrics)).metrics_html())
    else:
        parts.append(entry.card.metrics_html())
        parts.append("<h2>Model card</h2>")
        parts.append(entry.card.body_html(image_copier(entry.card_folder, site, entry.folder)))
    return page(f"{entry.name} - ganzoo gallery", "\n".join(parts), home="../index.html", subtitle=entry.name)


def _index(specs: list[ModelSpec], entries: dict[tuple[str, str], ZooEntry]) -> str:
    parts = [
        "<h1>The ganzoo model zoo</h1>",
        f'<p class="summary">{len(specs)} registered models; each pretrained weights entry links to its page '
        "with samples, an interpolation, the training command, its metrics and its model card.</p>",
        '<div class="cards">',
    ]
    for spec in specs:
        parts.append(f'<section class="card model" data-model="{escape(spec.name)}">')
        parts.append(f"<h2>{escape(spec.name)}</h2><span class=\"kind\">{escape(spec.kind)}</span>")
        parts.append(f"<p>{escape(spec.summary)}</p>")
        if not spec.weights:
            parts.append('<p class="note">No pretrained weights.</p>')
        for weights in spec.weights:
            entry = entries[(spec.name, weights.tag)]
            link = href(entry.folder, "index.html")
            if entry.pictures is not None:
                parts.append(f'<a href="{escape(link)}"><img src="{escape(href(entry.folder, entry.pictures.grid))}" '
                             f'alt="{escape("samples of " + entry.name)}"></a>')
            metrics = ", ".join(f"{k} {format_value(weights.metrics[k])}" for k in HEADLINE if k in weights.metrics)
            parts.append(f'<p><a class="weights" href="{escape(link)}">{escape(entry.name)}</a>'
                         f"{escape(' (' + metrics + ')') if metrics else ''}</p>")
        parts.append("</section>")
    parts.append("</div>")
    return page("ganzoo gallery", "\n".join(parts))


def build_zoo(
    site: Site,
    *,
    download: bool = True,
    say: Callable[[str], None] = print,
) -> list[ZooEntry]:
    """Write the index and every weights page of the process's registry into ``site`` (the registry
    ``ganzoo.load`` reads); returns the entries, with their notes."""
    import ganzoo

    registry = get_registry()
    specs = [registry.models.records[name] for name in registry.models.names()]
    entries: dict[tuple[str, str], ZooEntry] = {}
    for spec in specs:  # every card is read and checked first: one that cannot be read stops the build early
        for weights in spec.weights:
            entry = ZooEntry(spec, weights, site.folder(f"{spec.name}.{weights.tag}"))
            text, entry.card_folder = _card(weights)
            entry.card = None if text is None else read_card(text, source=f"the card {weights.card}")
            entries[(spec.name, weights.tag)] = entry
    for entry in entries.values():
        try:
            model = ganzoo.load(entry.name, download=download)
        except GanzooError as failure:  # weights not there: said on the page and here; the rest goes on
            entry.notes.append(f"Samples not drawn: {failure}")
            say(f"ganzoo: warning: {entry.name}: samples not drawn: {failure}")
        else:  # a picture that cannot be written (a full disk) stops the build, like any other write
            entry.pictures = draw_pictures(model, site, entry.folder)
        site.write_page(_entry_page(entry, site), entry.folder, "index.html")
    site.write_page(_index(specs, entries), "index.html")
    return list(entries.values())
