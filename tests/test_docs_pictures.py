"""Every picture under docs/ is what its declared command made from today's zoo (tools/docs_pictures.py).

The check compares hashes recorded when each picture was made (docs/pictures.json) with the file
and with its inputs read now; it never redraws (fonts and a CPU's last bits differ between
machines). The other tests make sure the check would catch what it is for: a picture edited
by hand, a retrained zoo, a new tool version, a picture nobody declared, and docs that show
other commands than the ones that made the pictures.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

import ganzoo

ROOT = Path(__file__).resolve().parent.parent


def load_tool():
    spec = importlib.util.spec_from_file_location("docs_pictures", ROOT / "tools" / "docs_pictures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_pictures"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def test_every_committed_picture_matches_its_record_and_todays_inputs():
    problems = tool.stale()
    assert not problems, "\n".join(problems)
    assert sorted(tool.read_manifest()["pictures"]) == sorted(tool.PICTURES) == tool.pictures_on_disk()


@pytest.fixture
def docs_copy(tmp_path, monkeypatch):
    """A copy of docs/ that the tool checks instead of the real one."""
    copy = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", copy)
    monkeypatch.setattr(tool, "DOCS", copy)
    monkeypatch.setattr(tool, "MANIFEST", copy / "pictures.json")
    assert tool.stale() == []
    return copy


def test_a_picture_changed_by_hand_is_stale_and_the_fix_is_named(docs_copy):
    (docs_copy / "walk.gif").write_bytes((docs_copy / "walk.gif").read_bytes() + b"\0")
    assert tool.stale() == [
        "docs/walk.gif is not the picture its command made (sha256 differs from docs/pictures.json): "
        "run python tools/docs_pictures.py walk.gif"
    ]
    (docs_copy / "progress.gif").unlink()
    assert "docs/progress.gif is missing: run python tools/docs_pictures.py progress.gif" in tool.stale()


def test_a_retrained_zoo_makes_the_pictures_it_shows_stale(docs_copy, monkeypatch):
    real = ganzoo.get_model_spec

    def retrained(name):
        spec = real(name)
        if name != "dcgan-mnist":
            return spec
        weights = [dataclasses.replace(w, sha256="0" * 64) for w in spec.weights]
        return dataclasses.replace(spec, weights=weights)

    monkeypatch.setattr(ganzoo, "get_model_spec", retrained)
    problems = tool.stale()
    assert len(problems) == 3, problems  # dcgan-mnist is in the gallery, the walk and the progress GIF
    for name in ("gallery.png", "walk.gif", "progress.gif"):
        assert any(p.startswith(f"docs/{name} was made from other inputs (") and "weights" in p
                   and p.endswith(f"run python tools/docs_pictures.py {name}") for p in problems), problems


def test_a_new_card_gif_a_new_tool_version_and_an_undeclared_picture_are_stale(docs_copy, monkeypatch):
    monkeypatch.setattr(tool, "sha256_file", lambda path, real=tool.sha256_file: (
        "f" * 64 if Path(path).name == "dcgan-mnist.mnist.gif" else real(path)))
    assert [p.split(" (")[0] for p in tool.stale()] == ["docs/progress.gif was made from other inputs"]
    monkeypatch.undo()
    monkeypatch.setattr(tool, "DOCS", docs_copy)
    monkeypatch.setattr(tool, "MANIFEST", docs_copy / "pictures.json")
    monkeypatch.setattr(tool, "TOOL_VERSION", tool.TOOL_VERSION + 1)
    assert len(tool.stale()) == len(tool.PICTURES)
    monkeypatch.setattr(tool, "TOOL_VERSION", tool.TOOL_VERSION - 1)
    (docs_copy / "extra").mkdir()
    (docs_copy / "extra" / "plot.png").write_bytes(b"\x89PNG")
    (docs_copy / "zoo" / "stray.png").write_bytes(b"\x89PNG")
    assert tool.stale() == [
        f"docs/{name} is made by no command of tools/docs_pictures.py (nor by tools/docs_pages.py): declare it "
        f"there (PICTURES) and run python tools/docs_pictures.py {name}" for name in ("extra/plot.png", "zoo/stray.png")
    ]


def test_the_zoo_pages_pictures_are_docs_pages_own():
    """docs/zoo/'s copies of the cards' grids are made (and checked byte for byte) by tools/docs_pages.py: this
    tool leaves each of them to it, and only them."""
    zoo = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs" / "zoo").glob("*.png"))
    assert zoo and sorted(tool.made_by_docs_pages()) == zoo
    assert not set(zoo) & set(tool.pictures_on_disk())


def shown_commands() -> set[str]:
    """The lines of the bash blocks and the inline code of the README and of the Markdown pages under docs/."""
    shown: set[str] = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
            shown.update(line.partition("  #")[0].strip() for line in block.splitlines())
        shown.update(re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text))
    return shown


def test_the_docs_show_each_picture_with_the_commands_that_made_it():
    shown = shown_commands()
    pages = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    for name, picture in tool.PICTURES.items():
        for line in picture.commands:
            assert line in shown, f"the docs do not show the command that made docs/{name}: {line}"
        assert re.search(rf"\]\((?:docs/)?{re.escape(name)}\)", pages), f"no page shows docs/{name}"
    assert "python tools/docs_pictures.py" in shown
