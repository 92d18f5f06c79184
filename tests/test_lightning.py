"""ganzoo.lightning: any registered model trained by a real ``lightning.Trainer`` (CPU, tiny data, few steps).

The central check: from one seed, a Lightning fit and ``ganzoo train`` compute the same losses step for
step and end with the same weights, because the module calls the trainer's own step, builders, optimiser
and streams (:mod:`ganzoo.lightning.module`).
"""

from __future__ import annotations

import json
import subprocess
import sys

import lightning as L
import pytest
import torch
from helpers import tiny_mnist_root
from torch.utils.data import DataLoader, TensorDataset

import ganzoo
from ganzoo.cards.folder import read_export
from ganzoo.errors import ConfigError
from ganzoo.lightning import GANDataModule, GANModule
from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.window import METRICS

QUIET = {"accelerator": "cpu", "devices": 1, "logger": False, "enable_checkpointing": False,
         "enable_progress_bar": False, "enable_model_summary": False}


class Curves(L.Callback):
    """Each step's logged losses and D outputs, as Lightning's loggers see them."""

    def __init__(self) -> None:
        self.rows: list[list[float]] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.rows.append([float(trainer.callback_metrics[name]) for name in METRICS])


def close(rows: list[list[float]], expected: list[list[float]], atol: float = 0.0) -> None:
    torch.testing.assert_close(torch.tensor(rows), torch.tensor(expected), rtol=1e-5, atol=atol)


def fit(gan: GANModule, data, steps: int, **settings) -> Curves:
    curves = Curves()
    L.Trainer(max_steps=steps * (gan.d_steps + 1), callbacks=[curves], **{**QUIET, **settings}).fit(gan, data)
    return curves


CASES = [
    # dropout in D: the networks and the dropout masks draw from torch's global generator in the same order
    pytest.param("cnn-gan", "non-saturating", {}, {}, id="cnn-gan"),
    # BatchNorm in D (real and fake apart), a gradient penalty drawing from the global generator, 2 D updates
    pytest.param("dcgan-mnist", "wgan-gp", {"width": 4}, {"d_steps": 2}, id="dcgan-mnist-wgan-gp"),
    # labels: the real batches' labels and the noise stream's fake labels
    pytest.param("cgan-mnist", "hinge", {}, {}, id="cgan-mnist"),
]


@pytest.mark.parametrize(("model", "loss", "options", "loss_options"), CASES)
def test_a_lightning_fit_computes_what_ganzoo_train_computes(model, loss, options, loss_options, tmp_path):
    root = tiny_mnist_root(tmp_path / "data", count=40)
    steps = 7  # 40 samples in batches of 8: five batches an epoch, so the data wraps into a second epoch
    trainer = Trainer(TrainConfig(
        model, dataset="mnist", data_dir=root, loss=loss, options=options, loss_options=loss_options, steps=steps,
        batch_size=8, seed=3, device="cpu", quiet=True, out=tmp_path / "run", log_every=1, sample_every=1000,
        checkpoint_every=1000,
    ))
    result = trainer.run()
    assert f"trained with ganzoo's own trainer for {steps} steps" in result.card.read_text()  # the card's default
    expected = [[record[name] for name in METRICS] for record in trainer.state.counters.history]

    gan = GANModule(model, loss, seed=3, batch_size=8, loss_options=loss_options, **options)
    curves = fit(gan, gan.datamodule(data_dir=root), steps)

    assert len(curves.rows) == len(expected) == steps
    close(curves.rows, expected, atol=1e-6)  # the log rounds to 6 decimals
    for name, network in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        theirs = getattr(trainer.state, name).state_dict()
        for key, value in network.state_dict().items():
            assert torch.equal(value, theirs[key]), f"{name}.{key}"
    assert torch.equal(gan.fixed.noise, trainer.state.fixed.noise)  # the grids show the same latents


def images(count: int = 24) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_batches_may_be_image_tensors_or_image_label_tuples():
    data = images()
    runs = []
    for loader in (DataLoader(data, batch_size=8), DataLoader(TensorDataset(data, torch.zeros(24)), batch_size=8),
                   DataLoader(TensorDataset(data), batch_size=8)):
        gan = GANModule("cnn-gan", batch_size=8)
        runs.append(fit(gan, loader, 3).rows)
    assert runs[0] == runs[1] == runs[2] and len(runs[0]) == 3
    assert runs[0][0] != runs[0][2]  # it trains: the losses move


def test_defaults_come_from_the_registry():
    gan = GANModule("cnn-gan")
    assert (gan.config.batch_size, gan.config.lr, gan.config.betas) == (128, 2e-4, (0.5, 0.999))
    assert gan.config.loss == "non-saturating" and gan.config.dataset == "mnist"
    g_optimizer, d_optimizer = gan.configure_optimizers()
    assert g_optimizer.defaults["lr"] == 2e-4 and d_optimizer.defaults["betas"] == (0.5, 0.999)
    assert {id(p) for group in g_optimizer.param_groups for p in group["params"]} == {
        id(p) for p in gan.generator.parameters()}
    small = GANModule("dcgan-mnist", "least-squares", lr=1e-3, width=8)
    assert small.model_config["width"] == 8 and small.config.lr == 1e-3
    assert small.datamodule().batch_size == 128


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: GANModule("cnn-gna"), "Did you mean 'cnn-gan'"),
        (lambda: GANModule("cnn-gan", width=3), "width"),
        (lambda: GANModule("cnn-gan", dataset="ring-8"), "does not train on dataset 'ring-8'"),
        (lambda: GANModule("cnn-gan").datamodule(dataset="grid-25"), "does not train on dataset 'grid-25'"),
        (lambda: GANDataModule("mnist", batch_size=0), "batch_size must be a positive integer"),
    ],
)
def test_mistakes_are_one_line_errors(call, message):
    with pytest.raises(ganzoo.errors.GanzooError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_a_conditional_model_needs_labels_and_a_batch_must_split_into_the_d_updates():
    with pytest.raises(ConfigError, match="cgan-mnist is conditional and needs"):
        fit(GANModule("cgan-mnist", batch_size=8), DataLoader(images(), batch_size=8), 1)
    gan = GANModule("dcgan-mnist", "wgan-gp", loss_options={"d_steps": 2}, width=4)
    with pytest.raises(ConfigError, match="a batch of 9 cannot be shared by the loss's 2 discriminator updates"):
        fit(gan, DataLoader(images(), batch_size=9), 1)
    with pytest.raises(ConfigError, match=r"cnn-gan takes samples of shape \(1, 28, 28\), the batch has samples of "
                                          r"shape \(3, 28, 28\)"):
        fit(GANModule("cnn-gan", batch_size=8), DataLoader(torch.zeros(8, 3, 28, 28), batch_size=8), 1)


def test_grids_and_curves_reach_the_loggers(tmp_path):
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gan = GANModule("cnn-gan", batch_size=8, sample_every=2, num_samples=4)
    loggers = [TensorBoardLogger(tmp_path, name="tb"), CSVLogger(tmp_path, name="csv")]
    fit(gan, DataLoader(images(), batch_size=8), 5, logger=loggers, log_every_n_steps=1)

    events = EventAccumulator(loggers[0].log_dir, size_guidance={"images": 0})
    events.Reload()
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(events.Tags()["scalars"])
    grids = events.Images("samples")
    assert [grid.step for grid in grids] == [4, 8]  # GAN steps 2 and 4, at Lightning's optimiser-step count
    assert (grids[0].width, grids[0].height) == (2 + 2 * 30, 2 + 2 * 30)  # 2x2 grid of 28x28 with padding 2
    pngs = sorted(p.name for p in (tmp_path / "csv" / "version_0" / "samples").iterdir())
    assert pngs == ["step_000004.png", "step_000008.png"]
    header = (tmp_path / "csv" / "version_0" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(header)


def test_export_is_a_ganzoo_folder_that_loads(tmp_path):
    root = tiny_mnist_root(tmp_path / "data", count=24)
    gan = GANModule("cnn-gan", batch_size=8, num_samples=4)
    fit(gan, gan.datamodule(data_dir=root), 3)
    folder = gan.export(tmp_path / "export", command="python train.py")

    document, g_state, d_state = read_export(folder)
    assert document["model"] == "cnn-gan" and document["dataset"] == "mnist"
    training = document["training"]
    assert training["trainer"] == "a Lightning Trainer (ganzoo.lightning.GANModule)"
    assert (training["steps"], training["images_seen"], training["samples"], training["epochs"]) == (3, 24, 24, 1.0)
    assert training["command"] == "python train.py" and training["precision"] == "32-true"
    assert set(document["metrics"]) == set(METRICS)
    for key, value in gan.generator.state_dict().items():
        assert torch.equal(g_state[key], value)
    assert d_state.keys() == gan.discriminator.state_dict().keys()
    card = (folder / "README.md").read_text()
    assert "trained with a Lightning Trainer (ganzoo.lightning.GANModule) for 3 steps on `mnist`" in card
    assert "python train.py" in card and (folder / "samples.png").is_file()

    loaded = ganzoo.load(folder)
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    gan.generator.eval()
    with torch.no_grad():
        assert torch.allclose(loaded.generator(z), gan.generator(z))


def test_a_resumed_fit_goes_on_as_an_uninterrupted_one(tmp_path):
    root = tiny_mnist_root(tmp_path / "data", count=24)
    whole = GANModule("cnn-gan", batch_size=8)
    expected = fit(whole, whole.datamodule(data_dir=root), 5).rows

    first = GANModule("cnn-gan", batch_size=8)
    head = fit(first, first.datamodule(data_dir=root), 3, enable_checkpointing=True, default_root_dir=tmp_path).rows
    checkpoint = next((tmp_path / "checkpoints").glob("*.ckpt"))
    again = GANModule("cnn-gan", batch_size=8, seed=11)  # the checkpoint's state wins over a fresh start
    curves = Curves()
    L.Trainer(max_steps=10, callbacks=[curves], **QUIET).fit(again, again.datamodule(data_dir=root),
                                                             ckpt_path=checkpoint)
    close(head + curves.rows, expected)
    assert again.steps_done == 5 and again.images_seen == 40
    assert torch.equal(again.fixed.noise, first.fixed.noise)  # the grids keep their latents, not seed 11's


def test_without_lightning_the_import_is_one_line_naming_the_extra():
    code = "import sys; sys.modules['lightning'] = None\nimport ganzoo.lightning"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ganzoo.errors.MissingExtraError: ganzoo.lightning needs the lightning package")
    assert last.endswith('install it with pip install "ganzoo[lightning]"')


def test_import_ganzoo_never_imports_lightning():
    code = "import sys, ganzoo; ganzoo.list_models(); print(json.dumps([m for m in sys.modules if 'lightning' in m]))"
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
