"""Run folders in the gallery: one page per ``ganzoo train --out`` folder, and an index that sets them
side by side (final metrics in one table, final grids in one row).

A run page shows the fixed-noise grids over time (``samples/step_*.png`` in step order, then
``final.png``), the progress animation (``samples/progress.gif``) when the run wrote one, the
curves (``curves.png``), the last record of ``log.jsonl`` and the command that trained it (from
the export's ``config.json``, when the run got that far). Only what is there is shown; a folder
with neither a log nor samples is not a run folder and is refused in one line. Everything is read
through the run folder's :class:`~ganzoo.io.folderguard.FolderGuard`: a picture that is a link out of
the folder is refused, never copied into the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io.folderguard import FolderGuard
from .cardhtml import CardView, heading, image_copier, read_card
from .markdown import escape
from .pages import code_block, figure, format_value, metrics_table, page, table
from .site import Site, href

__all__ = ["RunFolder", "build_runs", "read_run"]

MAX_GRIDS = 12
"""Grids over time shown per run: evenly spaced over the saved ones, the last always included."""
"""The grids :class:`ganzoo.training.callbacks.SampleGrids` saves during training."""


@dataclass
class RunFolder:
    """What a run folder holds that the gallery shows."""

    path: Path
    grids: list[tuple[int, Path]] = field(default_factory=list)
    final: Path | None = None
    progress: Path | None = None
    curves: Path | None = None
    last_record: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    card: Path | None = None
    card_view: CardView | None = None
    """The card as read (and checked) with the folder, before any page is written."""

    @property
    def guard(self) -> FolderGuard:
        return FolderGuard(self.path, what="run folder")

    @property
    def name(self) -> str:
        return self.path.resolve().name or str(self.path)


LOG_TAIL_BYTES = 1 << 20
"""How much of the end of ``log.jsonl`` is read for its last record (a record is a few hundred bytes)."""


def _last_record(guard: FolderGuard, log: Path) -> dict[str, Any]:
    """The last complete JSON line of the log (a run killed mid-write can leave half a line after it), read
    from the log's last :data:`LOG_TAIL_BYTES` and parsed as untrusted JSON (bounded in depth)."""
    from ..io.untrusted import parse_json

    with guard.check(log).open("rb") as file:
        size = file.seek(0, 2)
        file.seek(max(0, size - LOG_TAIL_BYTES))
        lines = file.read(LOG_TAIL_BYTES).decode("utf-8", errors="replace").splitlines()
    if size > LOG_TAIL_BYTES:
        lines = lines[1:]  # the first line read is cut
    for line in reversed(lines):
        try:
            record = parse_json(line, source=str(log), error=ConfigError)
        except ConfigError:
            continue
        if isinstance(record, dict):
            return record
    return {}


def _command(guard: FolderGuard, export: Path) -> str:
    """The training command the export's ``config.json`` records; "" for a run without a readable export
    (one still training, or killed before it wrote one)."""
    from ..cards.folder import CONFIG_NAME
    from ..io.untrusted import MAX_JSON_BYTES, parse_json, read_text

    path = export / CONFIG_NAME
    if not path.is_file():
        return ""
    try:
        config = parse_json(read_text(guard.check(path), limit=MAX_JSON_BYTES, error=ConfigError),
                            source=str(path), error=ConfigError)
    except ConfigError:  # only the command is wanted here; ganzoo.load says what is wrong with the file
        return ""
    training = config.get("training") if isinstance(config, dict) else None
    command = training.get("command") if isinstance(training, dict) else None
    return command if isinstance(command, str) else ""


def read_run(path: str | Path) -> RunFolder:
    """The gallery's view of run folder ``path``; a ``ConfigError`` if it is not one.

    Where things are is the trainer's own :class:`~ganzoo.training.run.RunPaths` (which imports torch:
    a run gallery is not a start-up path), so the gallery follows the layout if it ever changes.
    """
    from ..cards.folder import CARD_NAME
    from ..cards.frontmatter import read_card_text
    from ..training.run import RunPaths

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"run folder {folder} does not exist (or is not a folder); give the --out folder of ganzoo train"
        )
    paths = RunPaths(folder)
    if not paths.log.is_file() and not paths.samples.is_dir():
        raise ConfigError(
            f"{folder} is not a ganzoo run folder: it has neither {paths.log.name} nor {paths.samples.name}/; "
            "give the --out folder of ganzoo train"
        )
    run = RunFolder(folder)
    guard = paths.guard
    if paths.samples.is_dir():
        run.grids = paths.sample_grids()
        run.final = guard.file(paths.final_samples)
        run.progress = guard.file(paths.progress)
    run.curves = guard.file(paths.curves)
    if guard.file(paths.log) is not None:
        run.last_record = _last_record(guard, paths.log)
    run.command = _command(guard, paths.export)
    run.card = guard.file(paths.export / CARD_NAME)
    if run.card is not None:
        run.card_view = read_card(read_card_text(guard.check(run.card)), source=str(run.card))
    return run


def _spread(grids: list[tuple[int, Path]]) -> list[tuple[int, Path]]:
    if len(grids) <= MAX_GRIDS:
        return grids
    last = len(grids) - 1
    picks = sorted({round(i * last / (MAX_GRIDS - 1)) for i in range(MAX_GRIDS)})
    return [grids[i] for i in picks]


def _run_page(run: RunFolder, site: Site, folder: str) -> str:
    step = run.last_record.get("step")
    summary = f"{run.path}" + (f", {step} steps logged" if step is not None else "")
    parts = [heading(run.name, summary)]
    shown = _spread(run.grids)
    parts.append("<h2>Grids over time</h2>")
    note = f" ({len(shown)} of {len(run.grids)} saved grids)" if len(shown) < len(run.grids) else ""
    read = run.guard.read_bytes
    pictures = [figure(site.copy(read(p), folder, p.name), f"step {s}", alt=f"step {s}") for s, p in shown]
    if run.final is not None:
        pictures.append(figure(site.copy(read(run.final), folder, "final.png"), "final", alt="final samples"))
    if pictures:
        parts.append(f'<p class="summary">The same fixed noise at every step{escape(note)}.</p>')
        parts.append(f'<div class="pictures">{"".join(pictures)}</div>')
    else:
        parts.append('<p class="note">The run saved no sample grids yet.</p>')
    if run.progress is not None or run.curves is not None:
        parts.append("<h2>Progress</h2>")
        extra = []
        if run.progress is not None:
            gif = site.copy(read(run.progress), folder, "progress.gif")
            extra.append(figure(gif, "samples/progress.gif", alt="progress"))
        if run.curves is not None:
            curves = site.copy(read(run.curves), folder, "curves.png")
            extra.append(figure(curves, "curves.png", alt="training curves"))
        parts.append(f'<div class="pictures">{"".join(extra)}</div>')
    parts.append("<h2>Final metrics</h2>")
    if run.last_record:
        parts.append("<p>The last record of <code>log.jsonl</code>:</p>")
        parts.append(metrics_table(run.last_record))
    else:
        parts.append('<p class="note">log.jsonl has no record yet.</p>')
    if run.command:
        parts.append("<h2>Training command</h2>")
        parts.append(code_block(run.command))
    if run.card is not None and run.card_view is not None:
        card = run.card_view
        parts.append("<h2>Model card (export/README.md)</h2>")
        parts.append(card.metrics_html())
        parts.append(card.body_html(image_copier(FolderGuard(run.card.parent, what="export folder"), site, folder)))
    return page(f"{run.name} - ganzoo gallery", "\n".join(parts), home="../index.html", subtitle=run.name)


def _index(runs: list[tuple[RunFolder, str]]) -> str:
    keys: list[str] = []
    for run, _ in runs:
        keys += [k for k in run.last_record if k not in keys]
    rows = [
        [f'<a class="run" href="{escape(href(folder, "index.html"))}">{escape(run.name)}</a>']
        + [escape(format_value(run.last_record[k])) if k in run.last_record else "" for k in keys]
        for run, folder in runs
    ]
    cards = []
    for run, folder in runs:
        last = run.final or (run.grids[-1][1] if run.grids else None)
        image = f'<img src="{escape(href(folder, last.name))}" alt="{escape(run.name)}">' if last else ""
        cards.append(f'<section class="card run" data-run="{escape(run.name)}">'
                     f'<h2><a href="{escape(href(folder, "index.html"))}">{escape(run.name)}</a></h2>{image}</section>')
    body = "\n".join([
        "<h1>Runs side by side</h1>",
        f'<p class="summary">{len(runs)} run folders: the last record of each log, then the latest grid of each.</p>',
        table(["run", *keys], rows, cells_are_html=True),
        f'<div class="cards">{"".join(cards)}</div>',
    ])
    return page("ganzoo gallery: runs", body)


def build_runs(site: Site, paths: list[str | Path]) -> list[RunFolder]:
    """Write a page per run folder and the comparison index into ``site``; every folder is read first,
    so one that is not a run folder stops the build before anything is written."""
    runs = [read_run(path) for path in paths]
    placed = [(run, site.folder(run.name)) for run in runs]
    for run, folder in placed:
        site.write_page(_run_page(run, site, folder), folder, "index.html")
    site.write_page(_index(placed), "index.html")
    return runs
