"""What a loaded model does: sampling, ``create`` and ``save``, ``ganzoo sample``, and every registered model.

Most tests use the toy plugin of tests/toyhub.py; the registry-wide tests at the end run every installed model.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from toyhub import ToyGenerator
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, UnknownNameError, WeightsError
from ganzoo.models.sampling import slerp

runner = CliRunner()


# ---------------------------------------------------------------------------------------------
# Sampling


def test_sampling_is_reproducible_and_leaves_the_global_rng_alone(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert not loaded.generator.training
    torch.manual_seed(123)
    first = loaded.sample(10, seed=7)
    after = torch.rand(3)
    torch.manual_seed(123)
    second = loaded.sample(10, seed=7)
    assert torch.equal(first, second) and torch.equal(after, torch.rand(3))
    torch.testing.assert_close(loaded.sample(10, seed=7, batch_size=3), first)  # same latents, other batching
    assert first.shape == (10, 1, 4, 4) and first.abs().max() <= 1
    assert not torch.equal(first, loaded.sample(10, seed=8))
    assert not torch.equal(loaded.sample(4), loaded.sample(4))  # no seed: fresh samples
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        loaded.sample(0)
    with pytest.raises(ConfigError, match="unconditional"):
        loaded.sample(2, labels=[0, 1])


def test_truncation_redraws_large_latents(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    z = loaded.latents(500, seed=0, truncation=0.5)
    assert z.abs().max() <= 0.5 and z.abs().max() > 0.45
    assert torch.equal(z, loaded.latents(500, seed=0, truncation=0.5))
    assert loaded.sample(4, seed=0, truncation=1.0).shape == (4, 1, 4, 4)
    for bad in (0, -1.0, "1"):
        with pytest.raises(ConfigError, match="truncation"):
            loaded.latents(2, truncation=bad)


def test_conditional_labels_are_respected_and_validated(toy):
    gan = ganzoo.create("toy-cgan", seed=0)
    assert gan.num_classes == 3
    twos = gan.sample(4, seed=0, labels=2)
    assert twos.shape == (4, 1, 4, 4)
    assert not torch.equal(twos, gan.sample(4, seed=0, labels=1))
    mixed = gan.sample(4, seed=0, labels=[2, 2, 1, 1])
    assert torch.equal(mixed[:2], twos[:2])
    assert torch.equal(mixed, gan.sample(4, seed=0, labels=torch.tensor([2, 2, 1, 1])))
    assert gan.class_labels(7).tolist() == [0, 1, 2, 0, 1, 2, 0]  # None: every class in turn
    for labels, message in [(3, "label 3 is out of range"), ([0, -1], "label -1 is out of range"),
                            ([0, 1, 2], "got 3 labels for 2 samples"), ([0.5, 1], "integer class"),
                            (torch.tensor([0.0, 1.0]), "integer class"), ("01", "labels must be")]:
        with pytest.raises(ConfigError, match=message):
            gan.sample(2, labels=labels)


def test_interpolation_runs_between_the_seeds_latents(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    path = loaded.interpolate(3, 4, steps=6)
    assert path.shape == (6, 1, 4, 4)
    torch.testing.assert_close(path[0], loaded.sample(1, seed=3)[0])
    torch.testing.assert_close(path[-1], loaded.sample(1, seed=4)[0])
    a, b = torch.randn(8), torch.randn(8)
    arc = slerp(a, b, 5)
    torch.testing.assert_close(arc[0], a)
    torch.testing.assert_close(arc[-1], b)
    assert arc[2].norm() > ((a + b) / 2).norm()  # the arc keeps away from the low-norm interior
    assert loaded.interpolate(a, b, steps=3).shape == (3, 1, 4, 4)
    with pytest.raises(ConfigError, match="latent vector of 8 values"):
        loaded.interpolate(torch.zeros(5), 1)
    gan = ganzoo.create("toy-cgan")
    with pytest.raises(ConfigError, match="conditional"):
        gan.interpolate(0, 1)
    assert gan.interpolate(0, 1, steps=4, labels=2).shape == (4, 1, 4, 4)


def test_wrapper_facts_and_repr(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert (loaded.latent_dim, loaded.num_classes, loaded.sample_shape) == (8, None, (1, 4, 4))
    assert loaded.spec.name == "toy-gan" and loaded.weights.tag == "packaged"
    assert loaded.config["width"] == 16 and loaded.card is None
    assert isinstance(loaded.generator, ToyGenerator)
    assert loaded.to("cpu") is loaded and loaded.device.type == "cpu"
    assert repr(loaded).startswith("PretrainedGenerator('toy-gan.packaged', latent_dim=8")
    with pytest.raises(ConfigError, match="device"):
        loaded.to("tpu")


# ---------------------------------------------------------------------------------------------
# create and save


def test_create_builds_untrained_models_from_the_registry():
    gan = ganzoo.create("dcgan-mnist", width=8, seed=0)
    assert gan.generator.training and gan.config["width"] == 8 and gan.dataset == "mnist"
    assert torch.equal(gan.sample(2, seed=1), ganzoo.create("dcgan-mnist", width=8, seed=0).sample(2, seed=1))
    assert gan.generator.training  # sampling switched to eval mode only while drawing
    assert gan.discriminator(gan.sample(2, seed=0)).shape == (2,)
    assert ganzoo.create("dcgan-mnist", width="8").config["width"] == 8  # command-line strings are converted
    with pytest.raises(ConfigError, match="accepts: latent_dim, width"):
        ganzoo.create("dcgan-mnist", widht=8)
    big = ganzoo.create("dcgan-faces", image_size=128, ngf=4, ndf=4)
    assert big.config["latent_dim"] == 200 and big.sample_shape == (3, 128, 128)  # the image_size=128 preset
    with pytest.raises(ConfigError, match="one of 64, 128"):
        ganzoo.create("dcgan-faces", image_size=96)
    with pytest.raises(ConfigError):
        ganzoo.create("dcgan-mnist", dataset="ring-8")
    points = ganzoo.create("mlp-gan", dataset="ring-8")
    assert points.sample_shape == (2,) and points.sample(5, seed=0).shape == (5, 2)
    with pytest.raises(UnknownNameError, match="Did you mean 'dcgan-mnist'"):
        ganzoo.create("dcgan-mnst")


def test_save_and_load_round_trip(tmp_path):
    gan = ganzoo.create("cgan-mnist", seed=0)
    folder = ganzoo.save(gan, tmp_path / "run" / "export")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    assert any(key.startswith("discriminator.") for key in load_file(str(folder / "model.safetensors")))
    loaded = ganzoo.load(tmp_path / "run")  # a training output folder holding export/
    assert loaded.card.startswith("---") and loaded.config == gan.config
    assert torch.equal(loaded.sample(10, seed=0), gan.sample(10, seed=0))

    again = ganzoo.save(loaded, tmp_path / "generator-only")
    assert not any(key.startswith("discriminator.") for key in load_file(str(again / "model.safetensors")))
    assert json.loads((again / "config.json").read_text())["model"] == "cgan-mnist"
    assert torch.equal(ganzoo.load(again).sample(10, seed=0), gan.sample(10, seed=0))
    with pytest.raises(WeightsError, match="not an export folder"):
        ganzoo.load(tmp_path)
    with pytest.raises(WeightsError, match="no such file or folder"):
        ganzoo.load(tmp_path / "nowhere")
    with pytest.raises(ConfigError):
        ganzoo.save(gan.generator, tmp_path / "x")
    with pytest.raises(ConfigError, match="already holds an export"):
        ganzoo.save(gan, folder)
    ganzoo.save(ganzoo.create("cgan-mnist", seed=1), folder, overwrite=True, samples=False)
    assert not torch.equal(ganzoo.load(folder).sample(2, seed=0), gan.sample(2, seed=0))


# ---------------------------------------------------------------------------------------------
# ganzoo sample


def test_sample_command_writes_grid_tensor_and_individual_images(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app()
    result = runner.invoke(app, ["sample", "toy-gan.packaged", "-n", "6", "-o", "grid.png", "--seed", "3",
                                 "--tensor", "out.safetensors", "--save-individual", "each"])
    assert result.exit_code == 0, result.output
    assert "wrote 6 images from toy-gan.packaged (seed 3) to grid.png" in result.output
    assert Image.open("grid.png").size == (2 * (3 * 6 + 2), 2 * (2 * 6 + 2))  # 3 per row, 4x4 + padding, x2
    saved = load_file("out.safetensors")
    assert torch.equal(saved["samples"], ganzoo.load("toy-gan.packaged").sample(6, seed=3))
    assert sorted(p.name for p in Path("each").iterdir())[:2] == ["0000.png", "0001.png"]
    assert Image.open("each/0000.png").size == (4, 4)

    ganzoo.save(ganzoo.create("toy-cgan", seed=0), "toy-cgan")
    result = runner.invoke(app, ["sample", "./toy-cgan", "-n", "4", "--labels", "2,0", "-o", "c.png", "--seed",
                                 "0", "--tensor", "c.safetensors"])
    assert result.exit_code == 0, result.output
    assert load_file("c.safetensors")["labels"].tolist() == [2, 0, 2, 0]
    result = runner.invoke(app, ["sample", "path:toy-cgan", "--interpolate", "-n", "8", "--nrow", "4",
                                 "--tensor", "i.safetensors", "-o", "i.png"])
    assert result.exit_code == 0, result.output
    assert load_file("i.safetensors")["labels"].tolist() == [0] * 4 + [1] * 4  # one class per row

    ganzoo.save(ganzoo.create("mlp-gan", dataset="ring-8", seed=0), "ring", samples=False)
    result = runner.invoke(app, ["sample", "./ring", "-n", "50", "-o", "ring.png", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert Image.open("ring.png").size[0] > 100  # a scatter plot of the points, not a grid of 1-pixel images
    result = runner.invoke(app, ["sample", "./ring", "--save-individual", "each-point"])
    assert result.exit_code == 1 and "needs an image model" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["toy-gn"], "unknown model 'toy-gn'"),
        (["toy-cgan"], "has no pretrained weights yet"),
        (["toy-gan.packaged", "--labels", "1"], "unconditional"),
        (["toy-gan.packaged", "--labels", "x"], "--labels takes comma-separated"),
        (["toy-gan.packaged", "--truncation", "-1"], "--truncation must be a finite number >= 0.04"),
        (["./missing"], "no such file or folder"),
    ],
)
def test_sample_command_errors_are_one_line(toy, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(build_app(), ["sample", *args, "-o", "x.png"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not Path("x.png").exists()


def test_sample_console_script_writes_a_png_without_torchvision_or_the_trainer(tmp_path):
    ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "run" / "export", samples=False)
    script = Path(sys.executable).parent / "ganzoo"
    done = subprocess.run([str(script), "sample", str(tmp_path / "run"), "-n", "9", "-o",
                           str(tmp_path / "digits.png"), "--seed", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "digits.png").size == (2 * (3 * 30 + 2),) * 2
    probe = (
        "import sys\nfrom ganzoo.cli.app import main\n"
        f"try:\n    main(['sample', {str(tmp_path / 'run')!r}, '-n', '4', '-o', {str(tmp_path / 'p.png')!r}])\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('torchvision', 'ganzoo.training.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # the CLI declares `train` from the table of training options (torch-free modules); nothing of the
    # trainer itself, and no torchvision, is loaded to sample
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    declarations = {"ganzoo.training.optiontable", "ganzoo.training.option_declaration", "ganzoo.training.parallel",
                    "ganzoo.training.threads"}
    assert loaded <= declarations, loaded - declarations


# ---------------------------------------------------------------------------------------------
# Every model in the registry


def _check_sampling(model, name: str) -> None:
    first = model.sample(4, seed=0)
    assert torch.equal(first, model.sample(4, seed=0)), name
    assert first.shape == (4, *model.sample_shape), name
    assert torch.isfinite(first).all() and first.abs().max() <= 1, name
    if model.num_classes:
        labelled = model.sample(3, seed=0, labels=[model.num_classes - 1] * 3)
        assert labelled.shape == (3, *model.sample_shape)
        with pytest.raises(ConfigError):
            model.sample(2, labels=model.num_classes)


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_every_registered_model_loads_or_builds_and_samples(name):
    spec = ganzoo.get_model_spec(name)
    if not spec.weights:  # no pretrained weights (yet): the same wrapper over an untrained model
        _check_sampling(ganzoo.create(name, seed=0), name)
        return
    for weights in spec.weights:
        loaded = ganzoo.load(f"{name}.{weights.tag}", download=False)
        assert weights.filename and loaded.source == f"{weights.package}/{weights.filename}", "not packaged"
        assert loaded.weights == weights and loaded.spec == spec
        _check_sampling(loaded, f"{name}.{weights.tag}")
