"""The training practices inside ganzoo train: defaults, records, exact resume, the EMA in grids and
exports, relativistic losses in the step, and one-line errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from helpers import tiny_mnist_root
from typer.testing import CliRunner

import ganzoo
from ganzoo.cards.folder import WEIGHTS_NAME, write_generator_weights
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, WeightsError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.practices.augment import LEAK_P

PRACTICES = {
    "ema": 200.0, "augment": "ada", "ada_speed": 500.0, "ada_target": 0.1, "r1_gamma": 1.0, "r2_gamma": 0.5,
    "reg_every": 2, "lr": 1e-3,  # a fast D becomes sure of the reals within these steps, so ADA raises p
}


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    return tiny_mnist_root(tmp_path_factory.mktemp("data"), count=64)


def dcgan(mnist, out, **fields) -> TrainConfig:
    settings = {"steps": 6, "batch_size": 16, "checkpoint_every": 3, "log_every": 2, "sample_every": 1000, **fields}
    return TrainConfig("dcgan-mnist", data_dir=mnist, out=out, device="cpu", quiet=True, **settings)


def test_resume_is_exact_with_ema_ada_and_lazy_r1_r2(mnist, tmp_path):
    whole = train(dcgan(mnist, tmp_path / "whole", steps=8, **PRACTICES))
    train(dcgan(mnist, tmp_path / "parts", steps=5, **PRACTICES))  # stops between two ADA adjustments
    resumed = train(TrainConfig("dcgan-mnist", data_dir=mnist, out=tmp_path / "parts", steps=8, resume=True,
                                quiet=True, device="cpu"))
    assert (whole.export_dir / WEIGHTS_NAME).read_bytes() == (resumed.export_dir / WEIGHTS_NAME).read_bytes()
    saved = [torch.load(r.checkpoint, weights_only=False)["parts"] for r in (whole, resumed)]
    assert saved[0]["augment"]["p"] == saved[1]["augment"]["p"] > 0  # ADA moved p, and identically
    assert saved[0]["ema"]["images"] == saved[1]["ema"]["images"] == 8 * 16
    records = [json.loads(line) for line in resumed.log.read_text().splitlines()]
    assert all("augment_p" in record for record in records)


def test_a_run_whose_p_reaches_the_leaking_strength_says_so_once(mnist, tmp_path):
    fast = {**PRACTICES, "ada_speed": 16.0}  # one adjustment (every 4 steps) can take p from 0 to 1
    first = train(dcgan(mnist, tmp_path / "run", steps=8, **fast))
    notices = json.loads((first.export_dir / "config.json").read_text())["training"]["notices"]
    assert [line for line in notices if "leak" in line] == [notices[0]]
    assert "augmentation's p reached 1.00" in notices[0]
    resumed = train(TrainConfig("dcgan-mnist", data_dir=mnist, out=tmp_path / "run", steps=10, resume=True,
                                quiet=True, device="cpu"))
    last = json.loads(resumed.log.read_text().splitlines()[-1])
    assert last["step"] == 10 and last["augment_p"] >= LEAK_P  # still that strong, and the run was told before
    assert "notices" not in json.loads((resumed.export_dir / "config.json").read_text())["training"]


def test_image_runs_keep_an_ema_by_default_and_record_the_practices(mnist, tmp_path):
    result = train(dcgan(mnist, tmp_path / "run", steps=2, augment="diffaug:translation", r1_gamma=2.0))
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["ema"] == {"half_life_images": 10000.0, "rampup": 0.05}
    assert training["augment"] == {"kind": "diffaug", "operations": ["translation"]}
    assert training["gradient_penalty"] == {"r1_gamma": 2.0, "r2_gamma": 0.0, "every": 1}
    card = (result.export_dir / "README.md").read_text()
    assert "| generator EMA | half-life 10,000 images" in card and "| D augmentation | diffaug: translation |" in card
    assert "| gradient penalty | R1 gamma 2 |" in card
    averaged, trained = ganzoo.load(result.export_dir), ganzoo.load(result.export_dir, ema=False)
    assert averaged.ema and not trained.ema
    z = torch.randn(4, averaged.latent_dim)
    assert not torch.equal(averaged.decode(z), trained.decode(z))


def test_ema_zero_and_point_data_train_without_an_average(mnist, tmp_path):
    off = Trainer(dcgan(mnist, tmp_path / "off", steps=1, ema=0))
    assert off.state.ema is None and off.state.sampler is off.state.generator
    off.run()
    ring = Trainer(TrainConfig("mlp-gan", dataset="ring-8", steps=1, out=tmp_path / "ring", quiet=True, device="cpu"))
    assert ring.state.ema is None and ring.state.practices.ema_half_life == 0
    ring.run()


def test_the_sample_grids_and_the_export_use_the_average(mnist, tmp_path):
    from ganzoo.io.imaging import save_samples

    trainer = Trainer(dcgan(mnist, tmp_path / "run", steps=2, ema=50.0))
    result = trainer.run()
    run = trainer.state
    with torch.no_grad():
        images = run.ema.module(run.fixed.noise, run.fixed.labels)
    again = save_samples(images.float(), tmp_path / "again.png", nrow=run.fixed.nrow, title=f"step {run.step}")
    assert again.read_bytes() == result.final_samples.read_bytes()
    loaded = ganzoo.load(result.export_dir)
    for key, value in loaded.generator.state_dict().items():
        assert torch.equal(value, run.ema.module.state_dict()[key])


def test_resume_refuses_changed_practices_and_inherits_unset_ones(mnist, tmp_path):
    train(dcgan(mnist, tmp_path / "run", steps=2, ema=300.0, r1_gamma=1.0))
    with pytest.raises(ConfigError, match=r"ema 300\.0 run, not 100\.0") as caught:
        train(dcgan(mnist, tmp_path / "run", steps=4, ema=100.0, resume=True))
    assert "\n" not in str(caught.value)
    resumed = Trainer(dcgan(mnist, tmp_path / "run", steps=4, resume=True))
    assert resumed.state.practices.ema_half_life == 300.0 and resumed.state.practices.penalty.r1_gamma == 1.0
    resumed.run()


def test_augmenting_point_data_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="works on images") as caught:
        train(TrainConfig("mlp-gan", dataset="ring-8", steps=1, out=tmp_path / "r", quiet=True, augment="diffaug"))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("flags", "message"), [
    (["--augment", "mixup"], "unknown kind 'mixup'"),
    (["--ema", "-1"], "--ema must be a finite number >= 0, got -1.0"),
    (["--reg-every", "0"], "--reg-every must be a whole number from 1 to 2**63 - 1, got 0"),
    (["--r1-gamma", "-2"], "--r1-gamma must be a number in [0, 1e6], got -2.0"),
    (["--ada-target", "0.5"], "need --augment ada"),
    (["--augment", "diffaug", "--augment-p", "0.5"], "with --augment diffaug use --augment fixed instead"),
    (["--schedule", "augment_p=0:0.3:100"], "give --augment fixed as well"),
])
def test_cli_practice_flags_are_checked_before_any_data_is_loaded(flags, message, tmp_path):
    result = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(tmp_path / "o"),
                                              *flags])
    assert result.exit_code != 0
    assert message in result.output and not (tmp_path / "o").exists()


FIXED = {"augment": "fixed:translation,cutout", "augment_p": 0.0, "schedule": ("augment_p=0:0.3:64:linear",)}
"""R3GAN's way on a small scale: p rises from 0 to 0.3 over the first 4 steps of 16 images, then holds."""


def test_a_scheduled_fixed_augmentation_is_logged_carded_and_resumes_exactly(mnist, tmp_path):
    whole = train(dcgan(mnist, tmp_path / "whole", steps=6, log_every=1, **FIXED))
    ps = [json.loads(line)["augment_p"] for line in whole.log.read_text().splitlines()]
    assert ps == pytest.approx([0.0, 0.075, 0.15, 0.225, 0.3, 0.3])  # the value each step trained with
    train(dcgan(mnist, tmp_path / "parts", steps=2, log_every=1, **FIXED))  # stops while p is moving
    resumed = train(TrainConfig("dcgan-mnist", data_dir=mnist, out=tmp_path / "parts", steps=6, resume=True,
                                quiet=True, device="cpu"))
    assert (whole.export_dir / WEIGHTS_NAME).read_bytes() == (resumed.export_dir / WEIGHTS_NAME).read_bytes()
    training = json.loads((whole.export_dir / "config.json").read_text())["training"]
    assert training["augment"] == {"kind": "fixed", "operations": ["translation", "cutout"], "p": 0.0}
    card = (whole.export_dir / "README.md").read_text()
    assert "fixed: translation, cutout (each with p = 0 unless a schedule moves it)" in card
    assert "schedule of augment_p" in card and "--augment-p 0 " in card  # the equivalent command keeps p = 0
    unaugmented = train(dcgan(mnist, tmp_path / "plain", steps=6))
    assert (unaugmented.export_dir / WEIGHTS_NAME).read_bytes() != (whole.export_dir / WEIGHTS_NAME).read_bytes()


@pytest.mark.parametrize("loss", ["relativistic", "relativistic-average", "wgan-gp"])
def test_ada_with_a_loss_that_leaves_ds_level_free_is_refused_for_a_new_run(mnist, tmp_path, loss):
    with pytest.raises(ConfigError, match=f"loss {loss!r} leaves the level of D's outputs free") as caught:
        train(dcgan(mnist, tmp_path / "run", loss=loss, augment="ada"))
    assert "--augment fixed" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()
    result = CliRunner().invoke(build_app(), ["train", "dcgan-mnist", "--data", str(mnist), "--loss", loss,
                                              "--augment", "ada", "--out", str(tmp_path / "cli")])
    assert result.exit_code != 0 and "--augment-p" in result.output and not (tmp_path / "cli").exists()


def test_a_run_from_before_the_refusal_resumes_and_is_told_what_its_p_means(mnist, tmp_path):
    spec = ganzoo.get_registry().losses.get("relativistic")
    object.__setattr__(spec, "undecided_logit", 0.0)  # as the loss was declared before (a frozen record)
    try:
        train(dcgan(mnist, tmp_path / "run", steps=2, loss="relativistic", augment="ada"))
    finally:
        object.__setattr__(spec, "undecided_logit", None)
    resumed = train(TrainConfig("dcgan-mnist", data_dir=mnist, out=tmp_path / "run", steps=4, resume=True,
                                quiet=True, device="cpu"))
    notices = json.loads((resumed.export_dir / "config.json").read_text())["training"]["notices"]
    assert any("follows no measure of overfitting" in line for line in notices)


def test_a_models_training_practices_fill_what_the_request_leaves_unset():
    from ganzoo.training.config import resolve, with_model_practices

    r3gan = ganzoo.get_model_spec("r3gan")
    request = resolve(TrainConfig("r3gan")).request
    assert (request.r1_gamma, request.r2_gamma, request.reg_every) == (0.1, 0.1, 4)  # R3GAN's own R1 and R2
    assert resolve(TrainConfig("r3gan", r1_gamma=0.0)).request.r1_gamma == 0.0  # a flag overrides, 0 included
    assert resolve(TrainConfig("dcgan-mnist")).request.r1_gamma is None
    scheduled = dataclasses.replace(r3gan, hyperparameters={
        "schedule": ("lr=1e-3:2e-4:1000", "r1_gamma=1:0.1:1000"), "ema": 500.0})
    assert with_model_practices(TrainConfig("r3gan"), scheduled).schedule == ("lr=1e-3:2e-4:1000",
                                                                               "r1_gamma=1:0.1:1000")
    # --lr given: the default lr schedule would overwrite it at every step, so it yields to the flag
    assert with_model_practices(TrainConfig("r3gan", lr=5e-4), scheduled).schedule == ("r1_gamma=1:0.1:1000",)
    assert with_model_practices(TrainConfig("r3gan", schedule=("ema=0:10:5",)), scheduled).schedule == \
        ("ema=0:10:5",)
    for bad in ({"r1_gamma": -1.0}, {"schedule": "lr=1e-3:2e-4:1000"}, {"schedule": 5}, {"schedule": ("lr=oops",)}):
        with pytest.raises(ConfigError, match="model 'r3gan'") as caught:
            with_model_practices(TrainConfig("r3gan"), dataclasses.replace(r3gan, hyperparameters=bad))
        assert "\n" not in str(caught.value)


def test_relativistic_losses_get_the_updated_discriminators_real_logits(mnist, tmp_path):
    """The G step's real logits come from D *after* its update, on the same real batch."""
    seen = {}

    class Spy:
        name = "spy"
        d_steps = 1

        def discriminator_loss(self, real_logits, fake_logits):
            seen["d_real"] = real_logits.detach().clone()
            return torch.nn.functional.softplus(-(real_logits - fake_logits)).mean()

        def generator_loss(self, fake_logits, real_logits):
            seen["g_real"] = real_logits.detach().clone()
            return torch.nn.functional.softplus(-(fake_logits - real_logits)).mean()

    trainer = Trainer(dcgan(mnist, tmp_path / "run", steps=1, ema=0))
    run = trainer.state
    step = run.train_step
    step.loss, step.relativistic = Spy(), True
    batches = run.batches
    state = batches.state_dict()
    real, labels = batches.next()
    batches.load_state_dict(state)
    step(0)
    run.discriminator.train()
    with torch.no_grad():
        expected = run.discriminator(real, labels).float().flatten()
    assert seen["g_real"].shape == seen["d_real"].shape
    assert torch.allclose(seen["g_real"].flatten(), expected, atol=1e-5)
    assert not torch.allclose(seen["g_real"], seen["d_real"])  # D moved between the two


def test_a_file_with_only_the_average_refuses_ema_false_in_one_line(tmp_path):
    gan = ganzoo.create("dcgan-mnist")
    path = write_generator_weights(tmp_path / "avg.safetensors", gan.generator, model="dcgan-mnist",
                                   config=gan.config, ema=True)
    assert ganzoo.load(path).ema
    with pytest.raises(WeightsError, match="only the generator's moving average") as caught:
        ganzoo.load(path, ema=False)
    assert "\n" not in str(caught.value)
