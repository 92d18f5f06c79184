"""``GANModule``: any registered GAN as a ``LightningModule``, trained by the same step as ``ganzoo train``.

The module does not re-implement a GAN step. It builds what ``ganzoo train`` builds, from the same
functions: the request is checked and completed by :func:`ganzoo.training.config.resolve` (the
registry's dataset, loss and hyper-parameters), the networks come from the model's builders with
:func:`~ganzoo.training.config.model_config_for`, the optimisers from
:func:`~ganzoo.training.step.fused_adam`, the noise from :class:`~ganzoo.training.streams.NoiseStream`
and each training step is the trainer's own :class:`~ganzoo.training.step.AdversarialStep`. Only the
two edges are Lightning's: the real batch arrives from Lightning's data loader (:class:`_LightningBatches`
hands it to the step) and each update goes through ``manual_backward`` and the wrapped optimiser
(:class:`_ManualUpdate`), so Lightning's precision plugins, strategies and callbacks apply.

With one seed, the same data order (:meth:`GANModule.datamodule`) and fp32 on the CPU, a fit therefore
computes the losses ``ganzoo train`` computes, step for step: the networks are built right after
seeding torch's and Python's generators (so their initialisation and the dropout that follows draw the
same numbers), the noise stream has the trainer's seed, and the fixed-noise grid the trainer's noise.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from torch import nn

from ..errors import ConfigError
from ..models.device import Precision
from ..registry.records import call_with_accepted
from ..training.config import TrainConfig, model_config_for, resolve
from ..training.step import AdversarialStep, fused_adam
from ..training.streams import NoiseStream
from ..training.window import METRICS
from .data import GANDataModule

__all__ = ["GANModule"]


class _ManualUpdate:
    """One optimiser's update the Lightning way: ``manual_backward`` and the wrapped optimiser's step;
    ``max_norm`` clips the gradients' global norm first (Lightning's ``clip_gradients``, which unscales them
    under a mixed-precision plugin), as ``ganzoo train --grad-clip`` does."""

    def __init__(self, module: L.LightningModule, optimizer: Any, max_norm: float | None = None):
        self.module = module
        self.optimizer = optimizer
        self.max_norm = max_norm

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.module.manual_backward(loss)
        if self.max_norm is not None:
            self.module.clip_gradients(self.optimizer, gradient_clip_val=self.max_norm, gradient_clip_algorithm="norm")
        self.optimizer.step()


class _LightningBatches:
    """What :class:`AdversarialStep` asks of its batch stream, served from the batch Lightning handed over.

    A batch holds the real images of every D update of one step (``d_steps`` of them, see
    :class:`.data.StreamBatches`); :meth:`next` gives them out in order.
    """

    def __init__(self, d_steps: int, channels_last: bool, sample_shape: tuple[int, ...], model: str):
        self.d_steps = d_steps
        self.channels_last = channels_last
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.model = model
        self.parts: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        self.batch_size = 0

    @property
    def global_batch(self) -> int:
        return self.batch_size

    def feed(self, images: torch.Tensor, labels: torch.Tensor | None) -> None:
        count = images.shape[0]
        if tuple(images.shape[1:]) != self.sample_shape:
            raise ConfigError(f"{self.model} takes samples of shape {self.sample_shape}, the batch has samples of "
                              f"shape {tuple(images.shape[1:])}; give it data of that shape or other model options")
        if count % self.d_steps:
            raise ConfigError(f"a batch of {count} cannot be shared by the loss's {self.d_steps} discriminator "
                              f"updates per step; use a batch size that is a multiple of {self.d_steps}")
        self.batch_size = count // self.d_steps
        if images.dtype == torch.uint8:
            from ..nn import uint8_to_unit

            images = uint8_to_unit(images)
        images = images.float()
        if self.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        chunks = images.split(self.batch_size)
        label_chunks = labels.split(self.batch_size) if labels is not None else [None] * self.d_steps
        self.parts = list(zip(chunks, label_chunks, strict=True))

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.parts.pop(0)


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(images, labels)`` from a tuple or list (torchvision, ``TensorDataset``) or a plain image tensor."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        labels = batch[1] if len(batch) > 1 and isinstance(batch[1], torch.Tensor) else None
        return batch[0], labels
    raise ConfigError(f"GANModule takes batches of images or (images, labels), got {type(batch).__name__}")


class GANModule(L.LightningModule):
    """A registered ``model`` (``ganzoo list``) with ``loss`` (the model's default if None) for Lightning.

    ``options`` are the model's options (``ganzoo info MODEL``); ``batch_size``, ``lr`` and ``betas`` default
    to the registry's hyper-parameters; ``loss_options`` go to the loss (``d_steps``, ``gp_weight``, ...).
    ``seed`` seeds torch and Python before the networks are built, and the noise, as ``ganzoo train --seed``
    does. The losses and the mean D(x) and D(G(z)) are logged every step (``loss_d``, ``loss_g``, ``d_real``,
    ``d_fake``); ``grad_clip`` clips each network's gradient norm (``ganzoo train --grad-clip``); ``memory_format``
    lays the networks out as ``ganzoo train --memory-format`` does (``auto``: channels-last for images and
    convolutions); every
    ``sample_every`` steps a grid of ``num_samples`` fixed-noise samples goes to the
    trainer's loggers. A step is one generator update with ``d_steps`` discriminator updates, so Lightning's
    ``max_steps``, which counts optimiser steps, is ``d_steps + 1`` times the GAN steps.
    """

    def __init__(
        self,
        model: str,
        loss: str | None = None,
        *,
        dataset: str | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        lr: float | None = None,
        betas: tuple[float, float] | None = None,
        loss_options: dict[str, Any] | None = None,
        reuse_fakes: bool = False,
        grad_clip: float | None = None,
        memory_format: str | None = None,
        sample_every: int = 500,
        num_samples: int = 64,
        **options: Any,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.config = resolve(TrainConfig(
            model, dataset=dataset, loss=loss, seed=seed, batch_size=batch_size, lr=lr, betas=betas,
            options=dict(options), loss_options=dict(loss_options or {}), reuse_fakes=reuse_fakes,
            grad_clip=grad_clip, memory_format=memory_format, sample_every=sample_every, num_samples=num_samples,
        ))
        spec, data = self.config.spec, self.config.dataset_spec
        self.model_config = model_config_for(
            spec, self.config.options, sample_shape=data.sample_shape, channels=data.channels,
            num_classes=data.num_classes if spec.conditional else None,
        )
        torch.manual_seed(seed)  # what ganzoo train does before it builds the networks
        random.seed(seed)
        self.generator: nn.Module = call_with_accepted(spec.generator, self.model_config)
        self.discriminator: nn.Module = call_with_accepted(spec.discriminator, self.model_config)
        from ..training.memory_layout import uses_channels_last
        from ..training.setup import check_batch_normalisation, fixed_samples

        check_batch_normalisation(self.config.batch_size, spec.name,
                                  {"generator": self.generator, "discriminator": self.discriminator})
        self.is_image = len(self.generator.sample_shape) == 3
        self.channels_last = uses_channels_last(self.config.request.memory_format, len(self.generator.sample_shape),
                                                self.generator, self.discriminator)
        if self.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        self.gan_loss = self.config.loss_spec.build(**self.config.loss_options)
        self.d_steps = int(getattr(self.gan_loss, "d_steps", 1))
        self.num_classes = int(self.generator.num_classes or 1) if spec.conditional else None
        self.fixed = fixed_samples(self.config.request, SimpleNamespace(is_image=self.is_image),
                                    int(self.generator.latent_dim), self.num_classes, torch.device("cpu"))
        self.steps_done = 0
        self.images_seen = 0
        self.last_row: torch.Tensor | None = None
        self.noise: NoiseStream | None = None
        self._resumed: dict[str, Any] = {}
        self._step: AdversarialStep | None = None
        self._fit_time = 0.0
        self._fit_start: float | None = None

    # ------------------------------------------------------------------ data
    def datamodule(self, data_dir: str | Path | None = None, *, dataset: str | None = None,
                   **settings: Any) -> GANDataModule:
        """The registry's data set (this module's by default) in ``ganzoo train``'s order, with this module's
        batch size, seed and D updates per step; ``settings`` go to :class:`.data.GANDataModule`."""
        dataset = dataset or self.config.dataset
        if not self.config.spec.trains_on(dataset):
            raise ConfigError(f"{self.config.model} does not train on dataset {dataset!r}")
        settings = {"batch_size": self.config.batch_size, "seed": self.config.request.seed,
                    "d_steps": self.d_steps, "image_size": self.model_config.get("image_size"), **settings}
        return GANDataModule(dataset, data_dir, **settings)

    # ------------------------------------------------------------------ Lightning hooks
    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, labels)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        lr, betas = self.config.lr, self.config.betas
        return [fused_adam(self.generator.parameters(), lr, betas, self.device),
                fused_adam(self.discriminator.parameters(), lr, betas, self.device)]

    def on_train_start(self) -> None:
        trainer = self.trainer
        if self.noise is None or self.noise.device != self.device:
            self.noise = NoiseStream(int(self.generator.latent_dim), self.device, seed=self.config.request.seed + 1,
                                     num_classes=self.num_classes, world_size=trainer.world_size,
                                     rank=trainer.global_rank)
        if self._resumed:
            if self._resumed.get("noise") is not None:
                self.noise.load_state_dict(self._resumed["noise"])
            if self._resumed.get("torch_rng") is not None:
                torch.set_rng_state(self._resumed["torch_rng"])
            if self._resumed.get("python_rng") is not None:
                random.setstate(self._resumed["python_rng"])
            self._resumed = {}
        g_optimizer, d_optimizer = self.optimizers()
        self._step = AdversarialStep(
            generator=self.generator, discriminator=self.discriminator, g_train=self.generator,
            d_train=self.discriminator, loss=self.gan_loss,
            g_update=_ManualUpdate(self, g_optimizer, self.config.request.grad_clip),
            d_update=_ManualUpdate(self, d_optimizer, self.config.request.grad_clip),
            precision=Precision("fp32", self.device.type),
            batches=_LightningBatches(  # type: ignore[arg-type]
                self.d_steps, self.channels_last, self.generator.sample_shape, self.config.model),
            noise=self.noise, reuse_fakes=bool(self.config.request.reuse_fakes),
        )
        self._fit_start = time.perf_counter()

    def on_train_end(self) -> None:
        if self._fit_start is not None:
            self._fit_time += time.perf_counter() - self._fit_start
            self._fit_start = None

    def training_step(self, batch: Any, batch_idx: int) -> None:
        assert self._step is not None, "on_train_start builds the step"
        images, labels = _unpack(batch)
        if self.config.spec.conditional and labels is None:
            raise ConfigError(f"{self.config.model} is conditional and needs (images, labels) batches")
        self._step.batches.feed(images, labels if self.config.spec.conditional else None)  # type: ignore[attr-defined]
        row = self._step(self.steps_done)
        self.steps_done += 1
        self.images_seen += images.shape[0]
        metrics = dict(zip(METRICS, row, strict=True))
        self.log_dict(metrics, prog_bar=True, on_step=True, on_epoch=False, batch_size=images.shape[0])
        self.last_row = row.detach()  # read on export only: no host synchronisation per step
        if self.steps_done % self.config.sample_every == 0:
            self.log_samples()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """What a resumed fit needs beyond Lightning's own state: the noise stream, torch's and Python's global
        generators (dropout, a gradient penalty's mixing weights), the fixed noise and the counters."""
        checkpoint["ganzoo"] = {
            "steps": self.steps_done, "images_seen": self.images_seen, "fit_time": self._fit_time,
            "noise": self.noise.state_dict() if self.noise is not None else None,
            "fixed_samples": self.fixed.state_dict(), "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("ganzoo") or {}
        self.steps_done = int(saved.get("steps", 0))
        self.images_seen = int(saved.get("images_seen", 0))
        self._fit_time = float(saved.get("fit_time", 0.0))
        if saved.get("fixed_samples") is not None:
            self.fixed.load_state_dict(saved["fixed_samples"])
        self._resumed = saved  # the generators are set when the fit starts, not when weights are only loaded
        self.noise = None

    # ------------------------------------------------------------------ samples
    @torch.no_grad()
    def sample_grid(self) -> torch.Tensor:
        """The fixed-noise samples (the grid ``ganzoo train`` draws for the same seed), on the CPU."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            labels = self.fixed.labels.to(self.device) if self.fixed.labels is not None else None
            return self.generator(self.fixed.noise.to(self.device), labels).float().cpu()
        finally:
            self.generator.train(was_training)

    def log_samples(self) -> None:
        """The fixed-noise grid to every logger of the trainer (rank 0 only)."""
        if self.trainer.is_global_zero:
            log_grid(self.trainer.loggers, self.sample_grid(), nrow=self.fixed.nrow, step=self.global_step)

    # ------------------------------------------------------------------ export
    def export(self, path: str | Path, *, command: str | None = None) -> Path:
        """Write a ganzoo export folder (``ganzoo.load(path)`` reads it) with the trained networks and a card."""
        from .artifacts import export_module

        return export_module(self, Path(path), command=command)


# ---- The grid to the trainer's loggers ----
# The fixed-noise grid to whatever loggers a ``lightning.Trainer`` has.
#
# Loggers differ in what they take: TensorBoard's writer takes an image array (``add_image``); loggers
# with a ``log_image`` method (Weights & Biases, for one) take a list of images; the others (CSV, say)
# have only a folder, so the grid goes there as ``samples/step_NNNNNN.png``, the name ``ganzoo train``
# gives its grids. A trainer without loggers gets nothing.

GRID_TAG = "samples"


def log_grid(loggers: Iterable[Any], images: torch.Tensor, *, nrow: int, step: int) -> None:
    """Log ``images`` (``(N, C, H, W)`` in ``[-1, 1]``) as one grid at ``step`` to each of ``loggers``."""
    from ..io.imaging import make_grid, save_samples

    loggers = list(loggers)
    if not loggers:
        return
    grid = make_grid(images, nrow=nrow) if images.dim() == 4 else None  # (H, W, C) uint8; None for 2-D points
    for logger in loggers:
        experiment = getattr(logger, "experiment", None)
        if grid is not None and hasattr(experiment, "add_image"):
            experiment.add_image(GRID_TAG, grid, step, dataformats="HWC")
        elif grid is not None and callable(getattr(logger, "log_image", None)):
            logger.log_image(key=GRID_TAG, images=[grid], step=step)
        elif getattr(logger, "log_dir", None):
            where = Path(logger.log_dir) / GRID_TAG / f"step_{step:06d}.png"
            save_samples(images, where, nrow=nrow, title=f"step {step}")
