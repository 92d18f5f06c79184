"""Numbers from outside are held to declared ranges: the right kind, finite, within bounds, named in one line."""

from __future__ import annotations

import dataclasses
import json
import math
import typing

import pytest
import torch
from helpers import plugin_object
from torch import nn
from typer.testing import CliRunner

import ganzoo
from ganzoo.cards.folder import CONFIG_NAME, WEIGHTS_NAME, write_config
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.ranges import SEED, NumberRange
from ganzoo.registry.records import ModelSpec
from ganzoo.training import TrainConfig, train
from ganzoo.training.config import TRAIN_RANGES, resolve
from ganzoo.training.setup import check_batch_normalisation

runner = CliRunner()
BEYOND_TORCH_SEEDS = str(2**64)


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(("flags", "message"), [
    (["--seed", BEYOND_TORCH_SEEDS], f"--seed must be a whole number from 0 to 2**63 - 1, got {BEYOND_TORCH_SEEDS}"),
    (["--epochs", "inf"], "--epochs must be a number in (0, 1e9], got inf"),
    (["--ema", "inf"], "--ema must be a finite number >= 0, got inf"),
    (["--r1-gamma", "inf"], "--r1-gamma must be a number in [0, 1e6], got inf"),
    (["--r2-gamma", "nan"], "--r2-gamma must be a number in [0, 1e6], got nan"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--ema-rampup", "inf"], "--ema-rampup must be a finite number >= 0, got inf"),
    (["--dist-timeout", "inf"], "--dist-timeout must be a number in (0, 604800], got inf"),
    (["--steps", "0"], "--steps must be a whole number from 1 to 2**63 - 1, got 0"),
])
def test_train_refuses_a_number_outside_its_declared_range_in_one_line(flags, message, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(out), "-q", *flags])
    assert one_line_error(result) == f"error: {message}"
    assert not out.exists()  # refused before the run folder is made


def test_every_numeric_training_option_has_a_declared_range():
    hints = typing.get_type_hints(TrainConfig)
    numeric = {
        f.name for f in dataclasses.fields(TrainConfig)
        if {int, float} & set(typing.get_args(hints[f.name]) or (hints[f.name],))
        or f.name == "betas"
    }
    assert numeric == set(TRAIN_RANGES)


def test_a_request_is_held_to_the_ranges_however_it_is_set(tmp_path):
    with pytest.raises(ConfigError, match=r"--seed must be a whole number from 0 to 2\*\*63 - 1"):
        TrainConfig.from_dict({"model": "mlp-gan", "seed": 2**64})  # a checkpoint's run record
    config = TrainConfig("mlp-gan", dataset="ring-8", out=tmp_path / "run")
    with pytest.raises(ConfigError, match="--epochs must be a number in"):
        config.epochs = math.inf
    with pytest.raises(ConfigError, match=r"^betas must be 2 numbers, each in"):
        config.betas = (0.5, math.nan)
    assert TrainConfig("mlp-gan", seed=7.0).seed == 7 and type(TrainConfig("mlp-gan", seed=7.0).seed) is int


def test_a_models_default_hyperparameters_are_held_to_the_same_ranges(use_plugins):
    @ganzoo.hookimpl
    def register_models(register):
        register(ModelSpec(
            name="careless-gan", summary="test", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
            discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator", default_dataset="ring-8",
            hyperparameters={"lr": math.inf}))

    use_plugins(plugin_object(register_models=register_models))
    with pytest.raises(ConfigError, match="--lr must be a finite number > 0, got inf"):
        resolve(TrainConfig("careless-gan"))


def test_batch_size_one_is_refused_for_a_model_with_batchnorm_before_the_first_step(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(out), "-q",
                                         "--steps", "1", "--batch-size", "1"])
    assert one_line_error(result) == (
        "error: --batch-size 1 is too small for mlp-gan: its generator uses BatchNorm, which needs at least "
        "2 samples per batch; use --batch-size 2 or more"
    )
    assert not (out / "checkpoints").exists()


def test_the_batchnorm_rule_looks_at_the_networks_not_at_the_model_name():
    plain = {"generator": nn.Linear(2, 2), "discriminator": nn.Sequential(nn.Linear(2, 1))}
    check_batch_normalisation(1, "any", plain)  # nothing to normalise over a batch: one sample is fine
    normalised = {"generator": nn.Linear(2, 2), "discriminator": nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4))}
    with pytest.raises(ConfigError, match="its discriminator uses BatchNorm"):
        check_batch_normalisation(1, "any", normalised)
    check_batch_normalisation(2, "any", normalised)
    check_batch_normalisation(1, "any", normalised, processes=2)  # --sync-bn: statistics over both processes


def test_the_lightning_module_refuses_batch_size_one_for_a_batchnorm_model():
    from ganzoo.lightning import GANModule

    with pytest.raises(ConfigError, match="--batch-size 1 is too small for mlp-gan"):
        GANModule("mlp-gan", dataset="ring-8", batch_size=1)


def test_sample_refuses_a_seed_and_labels_beyond_their_ranges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app()
    result = runner.invoke(app, ["sample", "dcgan-mnist", "--offline", "-n", "4", "--seed", BEYOND_TORCH_SEEDS])
    assert one_line_error(result) == (
        f"error: --seed must be a whole number from 0 to 2**63 - 1, got {BEYOND_TORCH_SEEDS}"
    )
    result = runner.invoke(app, ["sample", "cgan-mnist", "--offline", "-n", "4", "--labels", BEYOND_TORCH_SEEDS])
    assert one_line_error(result) == f"error: --labels must be a whole number from 0 to 9, got {BEYOND_TORCH_SEEDS}"
    assert not (tmp_path / "samples.png").exists()


def test_the_sampler_refuses_a_seed_or_label_torch_cannot_hold():
    model = ganzoo.create("cgan-mnist")
    with pytest.raises(ConfigError, match=r"seed must be a whole number from 0 to 2\*\*63 - 1"):
        model.latents(2, seed=2**64)
    with pytest.raises(ConfigError, match=f"label {2**64} is out of range: cgan-mnist draws classes 0..9"):
        model.class_labels(2, [0, 2**64])
    assert model.latents(1, seed=SEED.high).shape == (1, model.latent_dim)  # the top of the range works


def test_eval_checks_its_numbers_before_loading_anything(tmp_path):
    result = runner.invoke(build_app(), ["eval", "no-such-model", "--seed", BEYOND_TORCH_SEEDS])
    assert one_line_error(result) == (
        f"error: --seed must be a whole number from 0 to 2**63 - 1, got {BEYOND_TORCH_SEEDS}"
    )
    result = runner.invoke(build_app(), ["eval", "no-such-model", "--truncation", "inf"])
    assert one_line_error(result).startswith("error: --truncation must be a finite number >= 0.04")


def test_a_model_option_must_be_finite(tmp_path):
    with pytest.raises(ConfigError, match="option bn_eps of mlp-gan must be a finite number > 0, got inf"):
        resolve(TrainConfig("mlp-gan", dataset="ring-8", options={"bn_eps": "inf"}))
    with pytest.raises(ConfigError, match="option gp_weight of loss 'wgan-gp' must be a finite number, got nan"):
        resolve(TrainConfig("mlp-gan", dataset="ring-8", loss="wgan-gp", loss_options={"gp_weight": "nan"}))


def test_config_json_never_holds_infinity_or_nan(tmp_path):
    with pytest.raises(ConfigError, match=r"config.json would hold inf at training.ema.half_life_images"):
        write_config(tmp_path, {"training": {"ema": {"half_life_images": math.inf}}})
    assert not (tmp_path / CONFIG_NAME).exists()
    model = ganzoo.create("mlp-gan")
    with pytest.raises(ConfigError, match=r"config.json would hold nan at metrics.fid, which is not JSON"):
        ganzoo.save(model, tmp_path / "export", metrics={"fid": math.nan}, samples=False)
    assert not (tmp_path / "export" / WEIGHTS_NAME).exists()  # refused before anything was written


def test_a_trained_runs_config_json_is_strict_json(tmp_path):
    result = train(TrainConfig("mlp-gan", dataset="ring-8", steps=2, batch_size=16, out=tmp_path / "run",
                               quiet=True, ema=1e30, num_samples=4))
    text = (result.export_dir / CONFIG_NAME).read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"config.json holds {name}"))


@pytest.mark.parametrize(("declared", "value", "expected"), [
    (NumberRange(low=0, high=1, high_open=True), 1.0, "x must be a number in [0, 1), got 1.0"),
    (NumberRange(low=0, low_open=True), True, "x must be a finite number > 0, got True"),
    (NumberRange(low=1, integer=True), "3", "x must be a whole number >= 1, got '3'"),
    (NumberRange(low=1, integer=True), 2.5, "x must be a whole number >= 1, got 2.5"),
    (NumberRange(), 10**400, f"x must be a finite number, got an integer of {(10**400).bit_length()} bits"),
])
def test_the_checker_refuses_the_wrong_kind_the_non_finite_and_the_out_of_range(declared, value, expected):
    with pytest.raises(ConfigError) as caught:
        declared.check("x", value)
    assert str(caught.value) == expected


def test_torch_takes_every_seed_in_the_declared_range():
    torch.Generator().manual_seed(SEED.high + 4 + 1_000_003 * 64)  # the largest seed plus the offsets ganzoo adds
