"""Remake every picture under docs/ from the current zoo, and record how each was made in docs/pictures.json.

    python tools/docs_pictures.py                  # every picture (needs Chromium for gallery.png)
    python tools/docs_pictures.py walk.gif         # only the ones named
    python tools/docs_pictures.py --check          # say which pictures are stale; exit 1 if any

A picture in the docs is only worth showing if it is what its documented command makes today: the
README's gallery screenshot once showed four models and the FIDs of weights retrained since. So
each picture here is declared once, with the shell commands that make it (the very lines the docs
show, run here in a scratch folder) and the inputs it is made from, read cheaply from the registry
and the checkout: the zoo weights' sha256, the seeds, this tool's version. The manifest records
those inputs and the sha256 of the picture made from them; ``tests/test_docs_pictures.py`` fails,
naming the command to run, when a committed picture differs from its record or its inputs changed
(the zoo was retrained, a card's GIF was replaced). Remaking is not part of the test: Chromium's
fonts and the CPU's last bits differ between machines, while the hashes do not.

Bump ``TOOL_VERSION`` when a command or the drawing code behind it changes what a picture shows
(the gallery's page style, the walk's frame count): the test then asks for the pictures again.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ganzoo
from ganzoo.io.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MANIFEST = DOCS / "pictures.json"
TOOL_VERSION = 1
REMAKE = "python tools/docs_pictures.py"
PICTURE_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".svg", ".webp")

PROGRESS_SOURCE = "model_cards/dcgan-mnist.mnist.gif"
"""The progress GIF of the run that trained the shipped dcgan-mnist.mnist weights, as its card shows it."""


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def zoo_weights(*names: str) -> dict[str, str]:
    """``{"MODEL.TAG": sha256}`` of the named models' weights entries (every model's when none is named)."""
    found = {}
    for name in names or tuple(ganzoo.list_models()):
        for weights in ganzoo.get_model_spec(name).weights:
            found[f"{name}.{weights.tag}"] = weights.sha256
    return found


def zoo_index() -> list[dict[str, Any]]:
    """What the gallery's index shows of every registered model: name, kind, summary, weights and metrics."""
    shown = []
    for name in ganzoo.list_models():
        spec = ganzoo.get_model_spec(name)
        shown.append({
            "name": name, "kind": spec.kind, "summary": spec.summary,
            "weights": [{"tag": w.tag, "sha256": w.sha256, "metrics": dict(w.metrics)} for w in spec.weights],
        })
    return shown


@dataclass(frozen=True)
class Picture:
    """One picture under docs/: the commands that make it and what it is made from."""

    name: str
    commands: tuple[str, ...]
    """Shell lines run in order from a scratch folder that holds ``docs/`` and the checkout's ``model_cards/``;
    ``ganzoo`` and ``python`` are this interpreter's. The docs show these lines as they are."""
    inputs: Callable[[], dict[str, Any]]
    """What the picture is made from, read without drawing it (a test calls this)."""


GALLERY_WINDOW = "1000,1160"  # the whole index of six models at a width that reads on GitHub

PICTURES: dict[str, Picture] = {
    picture.name: picture
    for picture in (
        Picture(
            "gallery.png",
            (
                "ganzoo gallery -o site/",
                f"chromium --headless --no-sandbox --hide-scrollbars --window-size={GALLERY_WINDOW} "
                "--screenshot=docs/gallery.png site/index.html",
                "python -c \"from PIL import Image; "
                "Image.open('docs/gallery.png').quantize(64).save('docs/gallery.png', optimize=True)\"",
            ),
            lambda: {"zoo_index_sha256": sha256_json(zoo_index()), "weights": zoo_weights(),
                     "window": GALLERY_WINDOW},
        ),
        Picture(
            "walk.gif",
            ("ganzoo sample dcgan-mnist --interpolate --gif docs/walk.gif -n 4 --seed 0",),
            lambda: {"weights": zoo_weights("dcgan-mnist"), "seed": 0, "walks": 4},
        ),
        Picture(
            "progress.gif",
            (
                "python -c \"from PIL import Image, ImageSequence as S; "
                f"g = Image.open('{PROGRESS_SOURCE}'); "
                "f = [x.convert('RGB').resize((x.width // 2, x.height // 2), Image.LANCZOS).quantize(32) "
                "for x in S.Iterator(g)]; "
                f"d = [x.info['duration'] for x in S.Iterator(Image.open('{PROGRESS_SOURCE}'))]; "
                "f[0].save('docs/progress.gif', save_all=True, append_images=f[1:], duration=d, loop=0, "
                "optimize=True)\"",
            ),
            lambda: {"weights": zoo_weights("dcgan-mnist"), "source": PROGRESS_SOURCE,
                     "source_sha256": sha256_file(ROOT / PROGRESS_SOURCE)},
        ),
    )
}


def inputs_of(picture: Picture) -> dict[str, Any]:
    return {**picture.inputs(), "tool_version": TOOL_VERSION}


def _argv(line: str) -> list[str]:
    """A documented line as this interpreter runs it: ``ganzoo`` and ``python`` are the ones of this environment."""
    words = shlex.split(line)
    if words[0] == "ganzoo":
        return [sys.executable, "-m", "ganzoo", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    if words[0] == "chromium":
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise SystemExit("docs pictures: the gallery's screenshot needs Chromium (apt-get install chromium)")
        return [browser, *words[1:]]
    return words


def make(picture: Picture) -> Path:
    """Run the picture's commands in a scratch folder and put the picture into docs/; its path."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-docs-pictures-") as folder:
        scratch = Path(folder)
        (scratch / "docs").mkdir()
        (scratch / "model_cards").symlink_to(ROOT / "model_cards", target_is_directory=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HOME": str(scratch), "COLUMNS": "200"}  # HOME: Chromium's profile
        for line in picture.commands:
            done = subprocess.run(_argv(line), cwd=scratch, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"docs pictures: {picture.name}: `{line}` failed:\n{done.stdout}{done.stderr[-3000:]}")
        made = scratch / "docs" / picture.name
        if not made.is_file():
            raise SystemExit(f"docs pictures: {picture.name}: its commands wrote no docs/{picture.name}")
        data = made.read_bytes()
    return write_atomic(DOCS / picture.name, lambda file: file.write(data))


def read_manifest() -> dict[str, Any]:
    if not MANIFEST.is_file():
        return {"pictures": {}}
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def record(picture: Picture) -> dict[str, Any]:
    """The manifest entry of a picture just made: how, from what, and its hash."""
    import PIL
    import torch

    inputs = inputs_of(picture)
    return {
        "remake": f"{REMAKE} {picture.name}",
        "commands": list(picture.commands),
        "inputs": inputs,
        "inputs_sha256": sha256_json(inputs),
        "sha256": sha256_file(DOCS / picture.name),
        "made_with": {"ganzoo": ganzoo.__version__, "torch": torch.__version__, "pillow": PIL.__version__},
    }


def write_manifest(entries: dict[str, Any]) -> None:
    manifest = {
        "about": f"How every picture under docs/ was made; {REMAKE} remakes them and this file, "
                 "tests/test_docs_pictures.py checks it.",
        "pictures": dict(sorted(entries.items())),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(MANIFEST, lambda file: file.write(text.encode("utf-8")))


def made_by_docs_pages() -> set[str]:
    """The pictures ``python tools/docs_pages.py`` writes under docs/, relative to docs/: the zoo pages' copies
    of the sample grids the model cards show (``docs/zoo/``). They are that tool's to make, from the cards this
    tool's inputs already cover, and ``tests/test_docs_pages.py`` holds each to its card's picture byte for byte;
    asking it which files it writes (rather than skipping a folder) keeps a stray picture there undeclared."""
    spec = importlib.util.spec_from_file_location("docs_pages", Path(__file__).with_name("docs_pages.py"))
    pages = sys.modules.setdefault("docs_pages", importlib.util.module_from_spec(spec))  # its dataclass looks it up
    if not hasattr(pages, "zoo_pictures"):
        spec.loader.exec_module(pages)
    return {path.relative_to(pages.DOCS).as_posix() for path in pages.zoo_pictures()}


def pictures_on_disk() -> list[str]:
    """Every picture file under docs/ that this tool makes, as a path relative to docs/ (every picture but
    those ``tools/docs_pages.py`` makes)."""
    theirs = made_by_docs_pages()
    return sorted(name for name in (p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*")
                                    if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)
                  if name not in theirs)


def stale() -> list[str]:
    """One line per problem: a picture that differs from its record, was made from other inputs, or has none."""
    recorded = read_manifest()["pictures"]
    problems = []
    for name in pictures_on_disk():
        if name not in PICTURES:
            problems.append(f"docs/{name} is made by no command of tools/docs_pictures.py (nor by "
                            f"tools/docs_pages.py): declare it there (PICTURES) and run {REMAKE} {name}")
    for name, picture in PICTURES.items():
        fix = f"run {REMAKE} {name}"
        entry, path = recorded.get(name), DOCS / name
        if entry is None:
            problems.append(f"docs/{name} has no record in docs/pictures.json: {fix}")
        elif not path.is_file():
            problems.append(f"docs/{name} is missing: {fix}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"docs/{name} is not the picture its command made (sha256 differs from "
                            f"docs/pictures.json): {fix}")
        elif list(picture.commands) != entry["commands"]:
            problems.append(f"docs/{name} was made by other commands than tools/docs_pictures.py declares: {fix}")
        else:
            now = inputs_of(picture)
            changed = sorted(key for key in {*now, *entry["inputs"]} if now.get(key) != entry["inputs"].get(key))
            if changed:
                problems.append(f"docs/{name} was made from other inputs ({', '.join(changed)} changed, e.g. the "
                                f"zoo was retrained): {fix}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="PICTURE", help=f"pictures to remake: {', '.join(PICTURES)}")
    parser.add_argument("--check", action="store_true", help="only say which pictures are stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        print("\n".join(problems) if problems else f"all {len(PICTURES)} pictures under docs/ are up to date")
        return 1 if problems else 0
    unknown = [name for name in args.names if name not in PICTURES]
    if unknown:
        parser.error(f"unknown picture {unknown[0]!r}; choose from {', '.join(PICTURES)}")
    entries = read_manifest()["pictures"]
    entries = {name: entry for name, entry in entries.items() if name in PICTURES}
    for name in args.names or list(PICTURES):
        picture = PICTURES[name]
        path = make(picture)
        entries[name] = record(picture)
        write_manifest(entries)  # after each picture, so an interrupted run keeps what it made
        print(f"made {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes), sha256 {entries[name]['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
