"""``ganzoo gallery``: the zoo's site and the run folders' site, as files (the browser test reads them rendered)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import Dom, browse, install_registry
from PIL import Image, ImageStat
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.gallery.runs import MAX_GRIDS, build_runs
from ganzoo.gallery.site import Site
from ganzoo.gallery.zoo import build_zoo
from ganzoo.io.imaging import make_grid
from ganzoo.registry.catalog import Registry

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def addresses(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


@pytest.fixture(scope="module")
def zoo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gallery of the installed zoo, built once through the command."""
    ganzoo.reset_registry()
    root = tmp_path_factory.mktemp("zoo") / "site"
    result = runner.invoke(build_app(), ["gallery", "-o", str(root), "--offline"])
    assert result.exit_code == 0, result.output
    assert f"wrote a gallery of {sum(len(ganzoo.get_model_spec(n).weights) for n in ganzoo.list_models())}" in (
        result.output
    )
    return root


def test_the_index_lists_every_model_and_links_every_weights_page(zoo_site: Path):
    index = (zoo_site / "index.html").read_text(encoding="utf-8")
    for name in ganzoo.list_models():
        spec = ganzoo.get_model_spec(name)
        assert f'data-model="{name}"' in index
        for weights in spec.weights:
            assert f'href="{name}.{weights.tag}/index.html"' in index
            assert (zoo_site / f"{name}.{weights.tag}" / "index.html").is_file()
    for address in addresses(index):  # relative, and every one of them there
        assert "://" not in address and not address.startswith("/")
        assert (zoo_site / address.split("#")[0]).is_file(), address


def test_a_weights_page_shows_samples_walk_command_metrics_and_card(zoo_site: Path):
    for name in ganzoo.list_models():
        spec = ganzoo.get_model_spec(name)
        for weights in spec.weights:
            folder = zoo_site / f"{name}.{weights.tag}"
            page = (folder / "index.html").read_text(encoding="utf-8")
            for address in addresses(page):
                if "://" not in address and not address.startswith("mailto:"):
                    assert (folder / address.split("#")[0]).resolve().is_file(), (name, address)
            assert re.findall(r'<img src="([^"]+)"', page)[:2] == ["samples.png", "walk.gif"]
            with Image.open(folder / "samples.png") as grid:
                assert grid.width == grid.height and grid.width > 8 * 28  # 8 x 8 samples
            with Image.open(folder / "walk.gif") as walk:
                assert walk.is_animated and walk.n_frames == 4 * 12 and walk.info["loop"] == 0
                assert 3 * walk.height < walk.width < 5 * walk.height  # four walks side by side
            # the exact training command, escaped as text
            recipe = weights.recipe.replace("&", "&amp;").replace("'", "&#x27;").replace('"', "&quot;")
            assert f'<pre><code class="language-bash">{recipe}</code></pre>' in page
            # the front matter's results, each with how it was measured
            for metric, value in weights.metrics.items():
                row = re.search(rf"<tr><td>{metric}</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
                assert row is not None, (name, metric)
                assert float(row.group(1)) == pytest.approx(value, rel=1e-3) and row.group(2), (name, metric)
            assert "Evaluation protocol" in page and "features: " in page
            # the card, rendered, with its picture copied next to the page
            assert '<div class="card-body">' in page and ">How it was trained</h2>" in page
            assert f'<img src="card-{name}.{weights.tag}.png"' in page
            assert (folder / f"card-{name}.{weights.tag}.png").is_file()


def test_conditional_models_get_one_sample_per_class(zoo_site: Path):
    for name in ganzoo.list_models():
        spec = ganzoo.get_model_spec(name)
        for weights in spec.weights:
            folder = zoo_site / f"{name}.{weights.tag}"
            page = (folder / "index.html").read_text(encoding="utf-8")
            if not spec.conditional:
                assert not (folder / "classes.png").exists() and "classes.png" not in page
                continue
            model = ganzoo.load(f"{name}.{weights.tag}")
            classes = model.num_classes
            expected = make_grid(model.sample(classes, seed=0, labels=list(range(classes))), nrow=classes)
            with Image.open(folder / "classes.png") as row:
                pixels = np.asarray(row)
            scale = pixels.shape[1] // expected.shape[1]  # enlarged with nearest-neighbour
            assert scale >= 1 and pixels.shape[:2] == (expected.shape[0] * scale, expected.shape[1] * scale)
            assert np.array_equal(pixels[::scale, ::scale].reshape(expected.shape), expected)  # class i in cell i
            assert f"classes 0 to {classes - 1} left to right" in page


HOSTILE = '<script>document.title="pwned"</script> "double" \'single\' & <b>bold</b>'


@pytest.fixture
def hostile_zoo(tmp_path: Path, plugin_module, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry of one plugin whose summary, command, metric names and card are full of markup."""
    package = tmp_path / "hostile_cards"
    package.mkdir()
    (package / "__init__.py").write_text("")
    Image.new("RGB", (12, 10), (200, 30, 30)).save(package / "pic.png")
    (tmp_path / "outside.png").write_bytes((package / "pic.png").read_bytes())
    front = {"ganzoo": {"results": {'fid"><script>x</script>': 1.5, "precision": 0.5}}}
    (package / "evil.md").write_text(
        "---\n" + json.dumps(front) + "\n---\n"
        f"# {HOSTILE}\n\n{HOSTILE}\n\n| a | b |\n|---|---|\n| {HOSTILE} | x |\n\n"
        "![picture](pic.png) ![outside](../outside.png) [click](javascript:alert%281%29)\n\n"
        "## Evaluation\n\n| metric | value |\n|---|---|\n| precision | 0.5 |\n\n"
        f"Protocol:\n\n> measured <i>somehow</i> {HOSTILE}\n",
        encoding="utf-8",
    )
    name = plugin_module(
        f"""
        import ganzoo

        @ganzoo.hookimpl
        def register_models(register):
            register(ganzoo.ModelSpec(
                name="hostile",
                summary={HOSTILE!r},
                generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
                discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
                config={{"latent_dim": 4, "sample_shape": (1, 8, 8)}},
                weights=(ganzoo.WeightsSpec(
                    tag="evil", dataset="mnist", sha256="0" * 64, url="https://example.invalid/evil.safetensors",
                    recipe={HOSTILE!r}, card="evil.md", card_package="hostile_cards", license={HOSTILE!r},
                ),),
            ))
            register(ganzoo.ModelSpec(
                name="bare", summary="no weights", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
                discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
            ))
        """
    )
    registry = Registry.from_plugins(builtins=(name,), entry_points=False)
    install_registry(registry)
    lines: list[str] = []
    root = tmp_path / "site"
    build_zoo(Site(root), download=False, say=lines.append)
    assert len(lines) == 1 and lines[0].startswith("ganzoo: warning: hostile.evil: samples not drawn: ")
    yield root
    install_registry(None)


def test_markup_in_names_summaries_cards_and_commands_renders_as_text(hostile_zoo: Path):
    escaped = "&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &quot;double&quot; &#x27;single&#x27;"
    for page in (hostile_zoo / "index.html", hostile_zoo / "hostile.evil" / "index.html"):
        html = page.read_text(encoding="utf-8")
        assert escaped in html
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts == ["<script>"]  # only the page's own image check
        assert "<b>" not in html and "<i>" not in html and "javascript:" not in html
    index = (hostile_zoo / "index.html").read_text(encoding="utf-8")
    bare = index[index.index('data-model="bare"') : index.index('data-model="hostile"')]
    assert "No pretrained weights." in bare and "<a " not in bare  # listed, with nothing to link to
    html = (hostile_zoo / "hostile.evil" / "index.html").read_text(encoding="utf-8")
    assert "<td>fid&quot;&gt;&lt;script&gt;x&lt;/script&gt;</td>" in html
    assert "<td>precision</td><td>0.5</td><td>ganzoo eval (protocol below)</td>" in html
    assert "measured &lt;i&gt;somehow&lt;/i&gt;" in html
    assert f'<pre><code class="language-bash">{escaped} &amp; &lt;b&gt;bold&lt;/b&gt;</code></pre>' in html
    assert '<img src="card-pic.png" alt="picture">' in html and (hostile_zoo / "hostile.evil" / "card-pic.png").exists()
    assert "outside.png" not in "".join(addresses(html)) and " outside " in html  # not from outside the card
    assert 'class="note">Samples not drawn: ' in html


# ---------------------------------------------------------------- run folders


def fake_run(out: Path, *, grids: int, final_loss: float, progress: bool = True) -> Path:
    """A run folder laid out where the trainer puts things (its own ``RunPaths``), with pictures and a log."""
    from ganzoo.training.run import RunPaths

    paths = RunPaths(out)
    paths.samples.mkdir(parents=True)
    for index in range(1, grids + 1):
        Image.new("RGB", (20, 20), (index * 10, 80, 120)).save(paths.samples / f"step_{index * 100:06d}.png")
    Image.new("RGB", (20, 20), (250, 250, 0)).save(paths.final_samples)
    Image.new("RGB", (40, 20), (0, 90, 0)).save(paths.curves)
    if progress:
        frames = [Image.new("L", (20, 20), shade) for shade in (0, 128, 255)]
        frames[0].save(paths.samples / "progress.gif", save_all=True, append_images=frames[1:], loop=0)
    records = [{"step": 100 * i, "loss_d": 1.0 + i, "loss_g": final_loss if i == grids else 9.0} for i in (1, grids)]
    paths.log.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 99', encoding="utf-8")
    paths.export.mkdir()
    (paths.export / "config.json").write_text(json.dumps({"training": {"command": "ganzoo train mlp-gan --out x"}}))
    Image.new("RGB", (8, 8), (1, 2, 3)).save(paths.export / "samples.png")
    (paths.export / "README.md").write_text(
        '---\nganzoo:\n  results:\n    loss_d: 1.25\n---\n# card\n\n![Samples](samples.png)\n', encoding="utf-8"
    )
    return out


def test_run_folders_side_by_side(tmp_path: Path):
    first = fake_run(tmp_path / "a" / "run", grids=15, final_loss=0.5)
    second = fake_run(tmp_path / "b" / "run", grids=3, final_loss=0.25, progress=False)
    root = tmp_path / "site"
    result = runner.invoke(build_app(), ["gallery", str(first), str(second), "-o", str(root)])
    assert result.exit_code == 0, result.output
    assert f"wrote a gallery of 2 runs to {root / 'index.html'}" in result.output
    index = (root / "index.html").read_text(encoding="utf-8")
    assert '<a class="run" href="run/index.html">run</a>' in index
    assert '<a class="run" href="run-2/index.html">run</a>' in index  # same folder name, its own page
    assert "<td>1500</td><td>16</td><td>0.5</td>" in index and "<td>300</td><td>4</td><td>0.25</td>" in index
    assert '<img src="run/final.png"' in index and '<img src="run-2/final.png"' in index

    page = (root / "run" / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="(step_\d+\.png)"', page)
    assert len(shown) == MAX_GRIDS and shown[0] == "step_000100.png" and shown[-1] == "step_001500.png"
    assert shown == sorted(shown) and f"({MAX_GRIDS} of 15 saved grids)" in page
    for picture in (*shown, "final.png", "progress.gif", "curves.png", "card-samples.png"):
        assert f'src="{picture}"' in page and (root / "run" / picture).is_file(), picture
    with Image.open(root / "run" / "progress.gif") as gif:
        assert gif.n_frames == 3
    assert '<pre><code class="language-bash">ganzoo train mlp-gan --out x</code></pre>' in page
    assert "<tr><td>loss_g</td><td>0.5</td><td></td></tr>" in page  # the last complete record of the log
    assert "<tr><td>loss_d</td><td>1.25</td>" in page  # and the export card's results
    other = (root / "run-2" / "index.html").read_text(encoding="utf-8")
    assert "progress.gif" not in other and re.findall(r'<img src="(step_\d+\.png)"', other) == [
        "step_000100.png", "step_000200.png", "step_000300.png"
    ]


def test_a_folder_that_is_not_a_run_is_refused_before_anything_is_written(tmp_path: Path):
    run = fake_run(tmp_path / "run", grids=1, final_loss=0.1)
    (tmp_path / "empty").mkdir()
    root = tmp_path / "site"
    for bad, message in ((tmp_path / "empty", "is not a ganzoo run folder"), (tmp_path / "nope", "does not exist")):
        result = runner.invoke(build_app(), ["gallery", str(run), str(bad), "-o", str(root)])
        assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1
        assert not root.exists()
    with pytest.raises(ganzoo.errors.ConfigError, match="not a ganzoo run folder"):
        build_runs(Site(root), [tmp_path / "empty"])


def test_the_output_folder_is_checked(tmp_path: Path):
    run = fake_run(tmp_path / "run", grids=1, final_loss=0.1)
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(mine)])
    assert result.exit_code == 1 and "holds files and is not a ganzoo gallery" in result.output
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(blocker / "site")])
    assert result.exit_code == 1 and f"{blocker} is a file, not a folder" in result.output
    site = tmp_path / "site"  # an earlier gallery is written over
    for _ in range(2):
        result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(site)])
        assert result.exit_code == 0, result.output


def test_a_grid_or_card_picture_that_links_out_of_the_run_is_refused_not_published(tmp_path: Path):
    private = tmp_path / "private.png"
    Image.new("RGB", (6, 6), (9, 9, 9)).save(private)
    secret = private.read_bytes()
    for entry in ("samples/step_000200.png", "export/samples.png"):  # a sample grid, then the card's picture
        run = fake_run(tmp_path / entry.replace("/", "-") / "run", grids=3, final_loss=0.1)
        (run / entry).unlink()
        (run / entry).symlink_to(private)
        root = tmp_path / entry.replace("/", "-") / "site"
        result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(root)])
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
        assert f"{run / entry} is a symbolic link to {private}, outside the" in result.output
        published = [p.read_bytes() for p in root.rglob("*") if p.is_file()] if root.exists() else []
        assert secret not in published


def test_a_link_that_stays_inside_the_run_is_followed(tmp_path: Path):
    run = fake_run(tmp_path / "run", grids=3, final_loss=0.1)
    (run / "samples" / "final.png").unlink()
    (run / "samples" / "final.png").symlink_to("step_000300.png")
    root = tmp_path / "site"
    result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "run" / "final.png").read_bytes() == (run / "samples" / "step_000300.png").read_bytes()


def test_an_interrupted_gallery_is_taken_by_the_rerun(tmp_path: Path, monkeypatch):
    import ganzoo.gallery.runs as runs_module

    run = fake_run(tmp_path / "run", grids=2, final_loss=0.1)
    root = tmp_path / "site"

    def interrupted(_):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(runs_module, "_index", interrupted)  # the run's page is written, the index never
        with pytest.raises(KeyboardInterrupt):
            build_runs(Site(root), [run])
    assert (root / "run" / "index.html").is_file() and not (root / "index.html").exists()
    result = runner.invoke(build_app(), ["gallery", str(run), "-o", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "index.html").is_file()


def test_a_picture_that_cannot_be_written_stops_the_build_in_one_line(tmp_path: Path, monkeypatch):
    import ganzoo.gallery.site as site_module
    from ganzoo.errors import DiskFullError

    def full(path, write, **_):
        raise DiskFullError(f"cannot write {path}: no space left on the device; free some space and run again")

    monkeypatch.setattr(site_module, "write_atomic", full)
    result = runner.invoke(build_app(), ["gallery", "-o", str(tmp_path / "site"), "--offline"])
    assert result.exit_code == 1 and "samples.png: no space left on the device" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "warning" not in result.output


def test_entry_folders_never_take_the_index_name(tmp_path: Path):
    site = Site(tmp_path / "site")
    assert [site.folder(n) for n in ("index.html", "Index.HTML", "a b/c", "a-b-c")] == [
        "index.html-2", "Index.HTML-3", "a-b-c", "a-b-c-2"
    ]


def test_the_gallery_page_shows_the_screenshot_its_commands_make():
    section = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    assert "ganzoo gallery -o site/\n" in section
    size = re.search(r"--window-size=(\d+),(\d+) --screenshot=docs/gallery.png site/index.html", section)
    assert size is not None and "![The gallery's index" in section and "(gallery.png)" in section
    shot = ROOT / "docs" / "gallery.png"
    with Image.open(shot) as image:
        assert image.size == (int(size.group(1)), int(size.group(2))) and image.mode == "P"
    assert shot.stat().st_size < 150_000


def test_gallery_help_is_there():
    result = runner.invoke(build_app(), ["gallery", "--help"])
    assert result.exit_code == 0 and "RUN_DIR" in result.output and "--output" in result.output


# ---------------------------------------------------------------- in a real browser


def loaded(page: Path) -> Dom:
    """The rendered DOM of ``page``, checked: every picture loaded with a non-zero natural width."""
    dom = Dom(browse(page, "--dump-dom"))
    widths = [int(image.get("data-natural-width") or 0) for image in dom.images]
    assert dom.images and all(widths), (page, [(i.get("src"), i.get("data-natural-width")) for i in dom.images])
    assert dom.body.get("data-images") == f"{len(dom.images)}/{len(dom.images)}", page
    return dom


def test_in_chromium_every_model_is_listed_and_every_picture_loads(zoo_site: Path):
    dom = loaded(zoo_site / "index.html")
    assert dom.models == ganzoo.list_models() and dom.title == "ganzoo gallery"
    for name in ganzoo.list_models():
        for weights in ganzoo.get_model_spec(name).weights:
            page = loaded(zoo_site / f"{name}.{weights.tag}" / "index.html")
            assert {"samples.png", "walk.gif", f"card-{name}.{weights.tag}.png"} <= {i["src"] for i in page.images}


def test_in_chromium_a_missing_picture_is_seen(zoo_site: Path, tmp_path: Path):
    copy = tmp_path / "site"
    shutil.copytree(zoo_site, copy)
    first = ganzoo.list_models()[0]
    folder = f"{first}.{ganzoo.get_model_spec(first).weights[0].tag}"
    (copy / folder / "samples.png").unlink()
    dom = Dom(browse(copy / "index.html", "--dump-dom"))
    broken = [i for i in dom.images if i.get("data-natural-width") == "0"]
    assert [i["src"] for i in broken] == [f"{folder}/samples.png"]
    assert dom.body.get("data-images") == f"{len(dom.images) - 1}/{len(dom.images)}"


def test_in_chromium_the_index_screenshot_is_not_blank(zoo_site: Path, tmp_path: Path):
    shot = tmp_path / "index.png"
    browse(zoo_site / "index.html", f"--screenshot={shot}", "--window-size=1200,800")
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
    assert rgb.size == (1200, 800)
    colours = rgb.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 200  # text, grids and faces, not one flat colour
    commonest = max(count for count, _ in colours)
    assert commonest < 0.8 * rgb.width * rgb.height
    assert sum(ImageStat.Stat(rgb).stddev) > 30


def test_in_chromium_markup_from_a_card_does_not_run(hostile_zoo: Path):
    for page in (hostile_zoo / "index.html", hostile_zoo / "hostile.evil" / "index.html"):
        text = browse(page, "--dump-dom")
        dom = Dom(text)
        assert dom.title in ("ganzoo gallery", "hostile.evil - ganzoo gallery")  # the card's script set no title
        assert "&lt;script&gt;document.title=\"pwned\"&lt;/script&gt;" in text  # shown as text
        assert dom.body.get("data-images") is not None  # the page's own script did run


def test_in_chromium_the_runs_gallery_loads(tmp_path: Path):
    runs = [fake_run(tmp_path / name, grids=4, final_loss=0.5) for name in ("first", "second")]
    build_runs(Site(tmp_path / "site"), runs)
    loaded(tmp_path / "site" / "index.html")
    page = loaded(tmp_path / "site" / "first" / "index.html")
    assert {"progress.gif", "curves.png", "final.png", "step_000400.png"} <= {i["src"] for i in page.images}
