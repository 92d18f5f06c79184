"""The documentation site builds with ``mkdocs build --strict``, and its pages show their pictures in a browser.

Strict mode turns every warning into a failure: a link to a page or an anchor that does not exist, a page left out
of the nav, a link from docs/ to a repository file that is gone (tools/mkdocs_hooks.py), an API reference name that
no longer resolves. The site is built into a temporary folder (the built HTML is never committed) and opened from
file:// in headless Chromium, as the gallery's pages are (tests/test_gallery.py): the home page and a model page
must render with every picture loaded (docs/assets/images.js marks them), and a screenshot must show a page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Dom, browse
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs-site") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=280, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return folder


def test_the_site_builds_strict_with_every_page(site: Path):
    for page in ("index.html", "api.html", "training-options.html", "zoo/dcgan-mnist.html", "plugins/tutorial.html",
                 "examples-not-run.html"):
        assert (site / page).is_file(), page
    api = (site / "api.html").read_text(encoding="utf-8")
    for name in ("ganzoo.load", "ganzoo.ModelSpec", "ganzoo.plugin_api.write_generator_weights",
                 "ganzoo.testing.contract_tests"):
        assert f'id="{name}"' in api, name


@pytest.mark.parametrize("page", ["index.html", "zoo/dcgan-mnist.html"])
def test_in_chromium_the_page_renders_with_its_pictures(site: Path, page: str, tmp_path: Path):
    dom = Dom(browse(site / page, "--virtual-time-budget=5000", "--dump-dom"))
    pictures = [image for image in dom.images if not str(image.get("src", "")).startswith("data:")]
    assert pictures, f"{page} shows no picture"
    assert all(int(image.get("data-natural-width") or 0) > 0 for image in pictures), (
        page, [(image.get("src"), image.get("data-natural-width")) for image in pictures])
    assert dom.body.get("data-images") == f"{len(dom.images)}/{len(dom.images)}", (page, dom.body)

    shot = tmp_path / "shot.png"
    browse(site / page, "--virtual-time-budget=5000", "--window-size=1200,900", f"--screenshot={shot}")
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, f"{page}: the screenshot looks blank"
