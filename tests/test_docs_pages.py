"""The generated docs are what ``python tools/docs_pages.py`` makes from the code today, and say so.

The zoo's pages come from the registry and the model cards, the options table from the one declaration of
training options, the field reference from the records, the list of examples not run from the pages' markers.
A change to any of them without rerunning the command fails here, naming it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import ganzoo
from ganzoo.training.optiontable import TRAIN_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_pages", ROOT / "tools" / "docs_pages.py")
docs_pages = sys.modules.setdefault("docs_pages", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(docs_pages)


def test_no_generated_page_is_stale():
    stale = docs_pages.stale()
    assert stale == [], f"stale generated docs: {', '.join(stale)}; run: {docs_pages.COMMAND}"


def test_every_builtin_model_has_its_page_and_each_weights_entry_its_picture():
    pages = sorted(p.stem for p in (ROOT / "docs" / "zoo").glob("*.md") if p.stem != "index")
    assert pages == sorted(docs_pages.builtin_models()) and "dcgan-mnist" in pages
    for name in pages:
        text = (ROOT / "docs" / "zoo" / f"{name}.md").read_text(encoding="utf-8")
        assert text.startswith(docs_pages.BANNER) and f"# {name}\n" in text
        for weights in ganzoo.get_model_spec(name).weights:
            assert weights.sha256 in text and f"({name}.{weights.tag}.png)" in text
            assert (ROOT / "docs" / "zoo" / f"{name}.{weights.tag}.png").is_file()


def test_the_options_table_shows_every_flag_of_ganzoo_train():
    table = (ROOT / "docs" / "training-options.md").read_text(encoding="utf-8")
    flags = [flag.split("/")[0] for option in TRAIN_OPTIONS for cli in option.cli for flag in cli.flags]
    assert len(flags) > 40
    for flag in flags:
        assert f"`{flag}`" in table, flag


def test_a_stale_part_is_found(tmp_path, monkeypatch):
    """The check would notice a hand edit: a page whose generated part differs is reported."""
    page = ROOT / "docs" / "training-options.md"
    edited = page.read_text(encoding="utf-8").replace("| `--seed` |", "| `--seed` (edited) |")
    real_text, real_bytes = Path.read_text, Path.read_bytes
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: edited if self == page else real_text(self, *a, **k))
    monkeypatch.setattr(Path, "read_bytes", lambda self: edited.encode() if self == page else real_bytes(self))
    assert "docs/training-options.md" in docs_pages.stale()


def test_the_not_run_page_lists_every_marked_example_with_its_reason():
    listing = (ROOT / "docs" / "examples-not-run.md").read_text(encoding="utf-8")
    marked = [b for b in docs_pages.all_blocks() if b.marker in ("not-run", "run-by")]
    assert marked
    for block in marked:
        assert f"`{block.where}`" in listing, block.where
