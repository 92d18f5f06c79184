"""The adversarial training loop.

One *step* is one generator update preceded by ``loss.d_steps`` discriminator updates,
each on its own real batch. Speed comes from the data path and the arithmetic:

* the whole split stays on the device as one tensor (uint8 for images); each epoch draws
  one permutation from a seeded ``torch.Generator`` and batches are index-selects,
  normalised to ``[-1, 1]`` per batch: no DataLoader, no per-sample Python;
* convolutional models run channels_last; ``--precision bf16/fp16`` autocasts;
* Adam is fused (or foreach) and gradients are dropped with ``set_to_none``;
* D's weights stop requiring gradients during the G update (their gradients there would
  only be thrown away), and the fakes for D's update are drawn without autograd; with
  ``reuse_fakes`` the G update scores those same fakes instead (one G forward per step);
* metrics stay on the device and are synchronised every ``log_every`` steps only;
* on a CPU, glibc keeps freed tensors in the heap for the next step instead of unmapping
  them (:mod:`.allocator`).

Everything random comes from generators that the checkpoint stores, so on a CPU a run
that is interrupted and resumed ends with exactly the weights of an uninterrupted one.

Under ``torchrun`` the same loop runs on every process (see :mod:`.distributed`): each rank
takes its slice of every global batch and of its noise, DDP averages the gradients, the
metric window is averaged over the ranks when it is synchronised, and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import random
import shlex
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._version import __version__
from ..errors import ConfigError, TrainingDivergedError
from ..specs import call_with_accepted
from .allocator import tune_cpu_allocator
from .checkpoint import load_checkpoint, save_checkpoint
from .config import (
    ResolvedConfig,
    TrainConfig,
    _plain,
    check_resume_compatible,
    default_out,
    model_config_for,
    resolve,
)
from .device import Precision, describe_hardware, resolve_precision
from .distributed import (
    RANK_SEED_STRIDE,
    DistributedRunError,
    Group,
    check_world_size,
    launcher_words,
    parameter_checksum,
    setup,
)
from .progress import Reporter, make_reporter

__all__ = ["RunPaths", "TrainResult", "Trainer", "equivalent_command", "train"]

METRICS = ("loss_d", "loss_g", "d_real", "d_fake")
TOY_EVAL_SAMPLES = 2000
POINTS_IN_SCATTER = 1000


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its files under ``OUT``."""

    out: Path

    @property
    def checkpoint(self) -> Path:
        return self.out / "checkpoints" / "last.pt"

    @property
    def samples(self) -> Path:
        return self.out / "samples"

    @property
    def log(self) -> Path:
        return self.out / "log.jsonl"

    @property
    def curves(self) -> Path:
        return self.out / "curves.png"

    @property
    def export(self) -> Path:
        return self.out / "export"

    def has_run(self) -> bool:
        return self.checkpoint.exists() or (self.export / "config.json").exists() or self.log.exists()


@dataclass
class TrainResult:
    """What a finished run produced and how it went."""

    out: Path
    export_dir: Path
    checkpoint: Path
    samples_dir: Path
    final_samples: Path
    card: Path
    log: Path
    curves: Path
    model: str
    dataset: str
    steps: int
    start_step: int
    epochs: float
    images_seen: int
    wall_time_s: float
    images_per_s: float
    metrics: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1
    """Processes that trained together (``torchrun`` / ``--nproc``); 1 for an ordinary run."""
    rank: int = 0
    global_batch_size: int = 0
    """``--batch-size`` (per device) times ``world_size``."""


def equivalent_command(resolved: ResolvedConfig, total_steps: int, launcher: list[str] | None = None) -> str:
    """A ``ganzoo train`` command line that repeats a run started from Python (``launcher``: torchrun's words)."""
    request = resolved.request
    parts = [*(launcher or []), "ganzoo", "train", resolved.model, "--dataset", resolved.dataset]
    if request.data_dir:
        parts += ["--data", str(request.data_dir)]
    parts += ["--loss", resolved.loss, "--steps", str(total_steps), "--batch-size", str(resolved.batch_size)]
    parts += ["--lr", f"{resolved.lr:g}", "--seed", str(request.seed), "--precision", request.precision]
    if request.reuse_fakes:
        parts.append("--reuse-fakes")
    if request.device != "auto":
        parts += ["--device", request.device]
    if request.limit:
        parts += ["--limit", str(request.limit)]
    for key, value in resolved.options.items():
        parts += ["--option", f"{key}={value}"]
    for key, value in resolved.loss_options.items():
        parts += ["--loss-option", f"{key}={value}"]
    parts += ["--out", str(resolved.out)]
    return shlex.join(parts)


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in module.modules())


def _adam(parameters: Any, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Fused Adam where this torch and device have it, else foreach (one kernel per group of tensors)."""
    parameters = list(parameters)
    if device.type in ("cuda", "cpu", "mps"):
        try:
            return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True)


class _InterruptFlag:
    """Turn the first Ctrl-C into a request to stop after the current step (with a checkpoint)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)  # a second Ctrl-C stops now

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trains one model as ``config`` asks; :meth:`run` returns a :class:`TrainResult`."""

    def __init__(self, config: TrainConfig, *, reporter: Reporter | None = None):
        self.request = config
        self.reporter = reporter
        self.prepared = False

    # ------------------------------------------------------------------ set-up
    def prepare(self) -> Trainer:
        """Check the request, load the data, build the networks and restore a checkpoint (once)."""
        if not self.prepared:
            try:
                self.dist: Group = setup(self.request.device, self.request.dist_timeout)
                with self.dist.failures_explained():
                    self._prepare()
            except BaseException:
                self._shutdown()
                raise
            self.prepared = True
        return self

    def _shutdown(self) -> None:
        """Leave the process group this trainer joined (several processes only)."""
        group = getattr(self, "dist", None)
        if group is not None:
            group.shutdown()

    def _prepare(self) -> None:
        from ..registry import get_model_spec

        request = self.request
        spec = get_model_spec(request.model)
        out = Path(request.out) if request.out else default_out(spec.name, request.dataset or spec.default_dataset)
        self.paths = RunPaths(out)
        self.saved: dict[str, Any] | None = None
        if request.resume:  # rank 0 reads the checkpoint and hands it to the others: no shared disk needed
            self.saved = self.dist.from_main(lambda: load_checkpoint(self.paths.checkpoint, map_location="cpu"))
            check_world_size(self.saved["run"], self.dist.world_size, out)
            request = check_resume_compatible(request, self.saved["run"], out)
            request.out = out
        elif self.dist.from_main(self.paths.has_run):
            raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        self.resolved = resolved = resolve(request)
        self.device = self.dist.device
        self.precision: Precision = resolve_precision(request.precision, self.device)
        # a CPU step reallocates the same tensors every time: keep them in the heap (see allocator.py)
        self.cpu_allocator = tune_cpu_allocator() if self.device.type == "cpu" else None
        self.reuse_fakes = bool(request.reuse_fakes)
        self.reporter = self.reporter or make_reporter(request.quiet or not self.dist.is_main)

        torch.manual_seed(request.seed)
        random.seed(request.seed)
        pre_config = model_config_for(resolved.spec, resolved.options)
        with self.dist.local_main_first():  # one download or image-cache build per machine
            data = resolved.dataset_spec.load(
                request.data_dir,
                request.split,
                download=request.download,
                image_size=pre_config.get("image_size"),
            )
        if request.limit is not None and request.limit < len(data):
            data = data.subset(int(request.limit))
        world = self.dist.world_size
        if len(data) < resolved.batch_size * world:
            what = f"global batch size {resolved.batch_size * world} ({resolved.batch_size} per device x {world})"
            raise ConfigError(
                f"{resolved.dataset} has {len(data)} training samples, fewer than the "
                f"{what if world > 1 else f'batch size {resolved.batch_size}'}; lower --batch-size"
            )
        spec = resolved.spec
        if spec.conditional and data.labels is None:
            raise ConfigError(
                f"{spec.name} is conditional and needs labelled data, but {resolved.dataset!r} has no labels"
            )
        self.data = data
        self.num_classes = data.num_classes if spec.conditional else None
        self.model_config = model_config_for(
            spec,
            resolved.options,
            sample_shape=data.sample_shape,
            channels=data.sample_shape[0] if data.is_image else None,
            num_classes=self.num_classes,
        )
        self.generator: nn.Module = call_with_accepted(spec.generator, self.model_config)
        self.discriminator: nn.Module = call_with_accepted(spec.discriminator, self.model_config)
        if request.sync_bn:
            self.generator = self.dist.sync_batchnorm(self.generator)
            self.discriminator = self.dist.sync_batchnorm(self.discriminator)
        produced = tuple(int(s) for s in self.generator.sample_shape)
        if produced != tuple(data.sample_shape):
            raise ConfigError(
                f"{spec.name} produces samples of shape {produced} but {resolved.dataset} has samples of shape "
                f"{tuple(data.sample_shape)}; choose a dataset of that shape or other model options"
            )
        self.conditional = bool(spec.conditional)
        self.latent_dim = int(self.generator.latent_dim)
        self.channels_last = data.is_image and data.samples.dim() == 4 and (
            _has_conv(self.generator) or _has_conv(self.discriminator)
        )
        memory = torch.channels_last if self.channels_last else torch.preserve_format
        self.generator.to(self.device, memory_format=memory)
        self.discriminator.to(self.device, memory_format=memory)
        self.loss = resolved.loss_spec.build(**resolved.loss_options)
        self.d_steps = int(getattr(self.loss, "d_steps", 1))
        self.penalty = getattr(self.loss, "penalty", None)
        self.opt_g = _adam(self.generator.parameters(), resolved.lr, resolved.betas, self.device)
        self.opt_d = _adam(self.discriminator.parameters(), resolved.lr, resolved.betas, self.device)
        self.scaler_g = self.precision.make_scaler()
        self.scaler_d = self.precision.make_scaler()
        self.d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        # what the updates call: DDP wrappers (gradients averaged over the ranks) or the networks themselves
        self.g_train = self.dist.wrap(self.generator)
        self.d_train = self.dist.wrap(self.discriminator)
        if self.dist.enabled:  # the networks are built alike; other randomness differs per rank
            torch.manual_seed(request.seed + self.dist.rank * RANK_SEED_STRIDE)
            random.seed(request.seed + self.dist.rank * RANK_SEED_STRIDE)
        # Without batch statistics in D, scoring real and fake batches together is the same function
        # as scoring them apart; with BatchNorm it is not (the classic recipe keeps the batches apart).
        self.joint_d = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules())

        self.samples = data.samples.to(self.device)
        self.labels = data.labels.to(self.device) if (self.conditional and data.labels is not None) else None
        self.count = len(data)
        self.batch_size = resolved.batch_size  # per device
        self.global_batch = self.batch_size * world
        self.batches_per_epoch = self.count // self.global_batch
        self.total_steps = resolved.total_steps(self.batches_per_epoch, self.d_steps)

        # random streams: data order (CPU), noise and fake labels (on the device)
        self.data_rng = torch.Generator().manual_seed(request.seed)
        self.noise_rng = torch.Generator(device=self.device).manual_seed(request.seed + 1)
        fixed_rng = torch.Generator().manual_seed(request.seed + 2)
        if self.conditional:
            classes = int(self.num_classes or 1)
            per_row = max(1, round(request.num_samples / classes))
            self.grid_nrow = per_row
            self.fixed_labels: torch.Tensor | None = torch.arange(classes).repeat_interleave(per_row).to(self.device)
            grid_count = classes * per_row
        else:
            self.grid_nrow = max(1, int(math.sqrt(request.num_samples)))
            self.fixed_labels = None
            # a scatter of points needs more samples than a grid of images to show the distribution
            grid_count = request.num_samples if data.is_image else max(request.num_samples, POINTS_IN_SCATTER)
        self.fixed_noise = torch.randn(grid_count, self.latent_dim, generator=fixed_rng).to(self.device)
        self.real_points = data.samples[: min(len(data), 2000)] if not data.is_image else None

        self.step = 0
        self.epoch = 0
        self.position = 0
        self.permutation: torch.Tensor | None = None
        self.history: list[dict[str, Any]] = []
        self.images_seen = 0
        self.wall_before = 0.0
        self.last_checkpoint_step: int | None = None
        self.window = torch.zeros(resolved.log_every, len(METRICS), device=self.device)
        self.window_fill = 0
        self.window_synced = 0  # rows already averaged over the ranks
        self.window_images = 0
        launcher = launcher_words(self.dist.topology) if self.dist.enabled else None
        self.commands = [request.command or equivalent_command(resolved, self.total_steps, launcher)]
        if self.saved is not None:
            self._restore(self.saved)
            self.saved = None

    # ------------------------------------------------------------------ state
    def _run_record(self) -> dict[str, Any]:
        """The settings a resumed run must share, and the defaults it inherits."""
        resolved, request = self.resolved, self.resolved.request
        return {
            "model": resolved.model,
            "dataset": resolved.dataset,
            "loss": resolved.loss,
            "options": _plain(resolved.options),
            "loss_options": _plain(resolved.loss_options),
            "batch_size": resolved.batch_size,
            "seed": request.seed,
            "limit": request.limit,
            "split": request.split,
            "reuse_fakes": self.reuse_fakes,
            "lr": resolved.lr,
            "betas": list(resolved.betas),
            "steps": self.total_steps,
            "epochs": None,
            "sample_every": resolved.sample_every,
            "checkpoint_every": resolved.checkpoint_every,
            "log_every": resolved.log_every,
            "world_size": self.dist.world_size,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "run": self._run_record(),
            "request": self.resolved.request.to_dict(),
            "model_config": _plain(self.model_config),
            "commands": list(self.commands),
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "total_steps": self.total_steps,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "permutation": self.permutation.cpu() if self.permutation is not None else None,
            "data_rng": self.data_rng.get_state(),
            "noise_rng": self.noise_rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
            "python_rng": random.getstate(),
            "fixed_noise": self.fixed_noise.cpu(),
            "fixed_labels": self.fixed_labels.cpu() if self.fixed_labels is not None else None,
            "history": list(self.history),
            "window": self.window[: self.window_fill].cpu(),
            "window_images": self.window_images,
            "images_seen": self.images_seen,
            "wall_time_s": self.wall_before + (time.perf_counter() - self.session_start),
            "ganzoo_version": __version__,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        saved_config = state.get("model_config", {})
        if _plain(self.model_config) != saved_config:
            raise ConfigError(
                f"{self.paths.out} holds a run whose model configuration {saved_config} differs from this one "
                f"{_plain(self.model_config)}; choose another --out"
            )
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (RuntimeError, KeyError, ValueError) as error:
            first = str(error).strip().splitlines()[0]
            raise ConfigError(f"checkpoint {self.paths.checkpoint} does not fit this model ({first})") from None
        for group_list in (self.opt_g.param_groups, self.opt_d.param_groups):
            for group in group_list:  # a resumed run may lower the learning rate (after a divergence, say)
                group["lr"] = self.resolved.lr
                group["betas"] = self.resolved.betas
        if self.precision.needs_scaler and state.get("scaler_g"):
            self.scaler_g.load_state_dict(state["scaler_g"])
            self.scaler_d.load_state_dict(state["scaler_d"])
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        permutation = state.get("permutation")
        self.permutation = permutation.to(self.device) if permutation is not None else None
        self.data_rng.set_state(state["data_rng"])
        try:
            self.noise_rng.set_state(state["noise_rng"])
        except RuntimeError:  # saved on another kind of device: a fresh, seeded stream
            self.noise_rng.manual_seed(self.resolved.request.seed + 1 + self.step)
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            with contextlib.suppress(RuntimeError):
                torch.cuda.set_rng_state_all(state["cuda_rng"])
        random.setstate(state["python_rng"])
        if state.get("rank_rng"):  # several processes: this rank's own global generators
            self._set_rank_rng(state["rank_rng"][self.dist.rank])
        self.fixed_noise = state["fixed_noise"].to(self.device)
        if state.get("fixed_labels") is not None:
            self.fixed_labels = state["fixed_labels"].to(self.device)
        self.history = list(state.get("history", []))
        window = state.get("window")
        if window is not None and len(window):
            # room for the saved rows and a full window more, whatever --log-every is now
            self.window = torch.zeros(len(window) + self.resolved.log_every, len(METRICS), device=self.device)
            self.window[: len(window)] = window.to(self.device)
            self.window_fill = self.window_synced = len(window)
        self.window_images = int(state.get("window_images", 0))
        self.images_seen = int(state.get("images_seen", 0))
        self.wall_before = float(state.get("wall_time_s", 0.0))
        self.last_checkpoint_step = self.step
        self.commands = [*state.get("commands", []), self.commands[-1]]

    def _rank_rng(self) -> dict[str, Any]:
        return {
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "python_rng": random.getstate(),
        }

    def _set_rank_rng(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        random.setstate(state["python_rng"])

    # ------------------------------------------------------------------ the loop
    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's slice of the next global batch of one shared, per-epoch permutation."""
        if self.permutation is None or self.position + self.global_batch > self.count:
            if self.permutation is not None:
                self.epoch += 1
            self.permutation = torch.randperm(self.count, generator=self.data_rng).to(self.device)
            self.position = 0
        start = self.position + self.dist.rank * self.batch_size
        index = self.permutation[start : start + self.batch_size]
        self.position += self.global_batch
        batch = self.samples.index_select(0, index)
        if batch.dtype == torch.uint8:
            batch = batch.float().mul_(1 / 127.5).sub_(1.0)
        else:
            batch = batch.float()
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        labels = self.labels.index_select(0, index) if self.labels is not None else None
        return batch, labels

    def _noise(self, count: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's slice of the noise (and fake labels) of the global batch: one stream, as on one process."""
        total = count * self.dist.world_size
        mine = slice(self.dist.rank * count, (self.dist.rank + 1) * count)
        z = torch.randn(total, self.latent_dim, generator=self.noise_rng, device=self.device)[mine]
        labels = None
        if self.conditional:
            labels = torch.randint(
                int(self.num_classes or 1), (total,), generator=self.noise_rng, device=self.device
            )[mine]
        return z, labels

    @staticmethod
    def _cat_labels(real: torch.Tensor | None, fake: torch.Tensor | None) -> torch.Tensor | None:
        return None if real is None or fake is None else torch.cat([real, fake])

    def _backward_step(
        self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
    ) -> None:
        optimizer.zero_grad(set_to_none=True)
        if scaler.is_enabled():
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    def _train_step(self) -> None:
        # G and D are the networks; G_train and D_train their DDP wrappers on several processes. Each update's
        # backward pass goes through the wrapper of the network it steps on, and through the other one bare.
        G, D, loss = self.generator, self.discriminator, self.loss
        G_train, D_train = self.g_train, self.d_train
        autocast = self.precision.autocast
        for d_step in range(self.d_steps):
            real, real_labels = self._next_batch()
            z, fake_labels = self._noise(real.shape[0])
            # with reuse_fakes, the last D update's fakes keep their graph for the G update that follows
            fakes_for_g = None
            if self.reuse_fakes and d_step == self.d_steps - 1:
                with autocast():
                    fakes_for_g = G_train(z, fake_labels)
                fake = fakes_for_g.detach()
            else:
                with torch.no_grad(), autocast():
                    fake = G(z, fake_labels)
            with autocast():
                if self.joint_d:  # one pass over real and fake: bigger matrix products, one weight gradient
                    both = D_train(
                        torch.cat([real, fake.to(real.dtype)]), self._cat_labels(real_labels, fake_labels)
                    )
                    real_logits, fake_logits = both.reshape(-1).split(real.shape[0])
                else:
                    real_logits = D_train(real, real_labels)
                    fake_logits = D_train(fake, fake_labels)
                loss_d = loss.discriminator_loss(real_logits.float(), fake_logits.float())
                if self.penalty is not None:
                    loss_d = loss_d + self.penalty(D, real, fake, real_labels)
            self._backward_step(loss_d, self.opt_d, self.scaler_d)
        for parameter in self.d_params:
            parameter.requires_grad_(False)
        try:
            with autocast():
                if fakes_for_g is None:
                    z, fake_labels = self._noise(self.batch_size)
                    fakes_for_g = G_train(z, fake_labels)
                fake_logits_g = D(fakes_for_g, fake_labels)
                loss_g = loss.generator_loss(fake_logits_g.float())
            self._backward_step(loss_g, self.opt_g, self.scaler_g)
        finally:
            for parameter in self.d_params:
                parameter.requires_grad_(True)
        with torch.no_grad():
            row = torch.stack(
                [
                    loss_d.detach().float(),
                    loss_g.detach().float(),
                    torch.sigmoid(real_logits.detach().float()).mean(),
                    torch.sigmoid(fake_logits.detach().float()).mean(),
                ]
            )
            self.window[self.window_fill].copy_(row)
        self.window_fill += 1
        self.images_seen += self.global_batch * self.d_steps
        self.window_images += self.global_batch * self.d_steps

    def _synced_window(self) -> torch.Tensor:
        """The window's metric rows on the CPU, averaged over the ranks: every rank then sees the same losses,
        so a NaN on one rank stops all of them at the same step."""
        if self.window_fill > self.window_synced:
            self.dist.mean_(self.window[self.window_synced : self.window_fill])
            self.window_synced = self.window_fill
        return self.window[: self.window_fill].cpu()

    def _interrupted(self, interrupt: _InterruptFlag, step: int, every: int) -> bool:
        """Ctrl-C asks to stop; several processes agree on it every ``every`` steps (one tiny all-reduce)."""
        if not self.dist.enabled:
            return interrupt.requested
        return step % every == 0 and self.dist.any(interrupt.requested)

    def _check_finite(self, values: torch.Tensor | None = None) -> None:
        """Raise TrainingDivergedError if a loss in the current window is NaN or infinite (syncs)."""
        if values is None:
            values = self.window[: self.window_fill].cpu()
        if self.window_fill == 0 or bool(torch.isfinite(values).all()):
            return
        bad = (~torch.isfinite(values)).nonzero()[0]
        row, column = int(bad[0]), int(bad[1])
        step = self.step - self.window_fill + row + 1
        value = float(values[row, column])
        if self.last_checkpoint_step is not None:
            kept = f"the last good checkpoint, at step {self.last_checkpoint_step}, is kept in {self.paths.checkpoint}"
            again = "then continue with --resume"
        else:
            kept = "no checkpoint had been written yet"
            again = "then start again"
        advice = f"lower --lr (it is {self.resolved.lr:g})"
        if self.precision.name != "fp32":
            advice += " or use --precision fp32"
        raise TrainingDivergedError(f"{METRICS[column]} became {value} at step {step}; {kept}; {advice}, {again}")

    def _flush(self, now: float) -> None:
        """Synchronise the metric window into one log record (JSONL, history, display)."""
        if self.window_fill == 0:
            return
        values = self._synced_window()
        self._check_finite(values)
        means = values.double().mean(dim=0).tolist()
        elapsed = max(now - self.window_start, 1e-9)
        images_per_s = self.window_images / elapsed
        remaining = self.total_steps - self.step
        record = {
            "step": self.step,
            "epoch": self.epoch + 1,
            **{name: round(float(v), 6) for name, v in zip(METRICS, means, strict=True)},
            "images_per_s": round(images_per_s, 1),
            "lr": self.resolved.lr,
            "time": round(self.wall_before + (now - self.session_start), 3),
        }
        self.history.append(record)
        if self.dist.is_main:
            with self.paths.log.open("a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")
        steps_per_s = self.window_fill / elapsed
        self.reporter.report(self.step, {**record, "eta_s": remaining / steps_per_s if steps_per_s else None})
        self.window_fill = self.window_synced = 0
        self.window_images = 0
        self.window_start = time.perf_counter()

    def _save_samples(self, name: str) -> Path:
        from ..imaging import save_samples

        path = self.paths.samples / name
        if not self.dist.is_main:
            return path
        self.generator.eval()
        try:
            with self.precision.inference():
                images = self.generator(self.fixed_noise, self.fixed_labels)
        finally:
            self.generator.train()
        save_samples(
            images.float(), path, real=self.real_points, nrow=self.grid_nrow, title=f"step {self.step}"
        )
        return path

    def _save_curves(self) -> None:
        from .plots import plot_curves

        if self.history and self.dist.is_main:
            plot_curves(self.history, self.paths.curves)

    def _checkpoint(self) -> None:
        if self.window_fill:
            self._check_finite(self._synced_window())
        rank_rng = self.dist.gather(self._rank_rng()) if self.dist.enabled else None
        if self.dist.is_main:
            state = self._state()
            if rank_rng is not None:
                state["rank_rng"] = rank_rng
            save_checkpoint(self.paths.checkpoint, state)
        self.last_checkpoint_step = self.step

    def _rewrite_log(self) -> None:
        """On resume, the log holds what the checkpoint knows, not steps an interrupted run did after it."""
        if not self.dist.is_main:
            return
        self.paths.log.parent.mkdir(parents=True, exist_ok=True)
        with self.paths.log.open("w", encoding="utf-8") as file:
            for record in self.history:
                file.write(json.dumps(record) + "\n")

    def _toy_metrics(self) -> dict[str, Any]:
        """Mode coverage for 2-D mixtures whose dataset module offers ``mode_centres`` (toy2d does)."""
        loader = self.resolved.dataset_spec.loader
        if self.data.is_image or not isinstance(loader, str):
            return {}
        try:
            module = importlib.import_module(loader.partition(":")[0])
            centres = module.mode_centres(self.resolved.dataset)
        except Exception:
            return {}
        rng = torch.Generator(device=self.device).manual_seed(self.resolved.request.seed + 3)
        z = torch.randn(TOY_EVAL_SAMPLES, self.latent_dim, generator=rng, device=self.device)
        self.generator.eval()
        try:
            with torch.no_grad():
                points = self.generator(z, None).float().cpu()
        finally:
            self.generator.train()
        metrics: dict[str, Any] = {}
        if hasattr(module, "count_covered_modes"):
            metrics["modes_covered"] = f"{module.count_covered_modes(points, centres)}/{len(centres)}"
        if hasattr(module, "high_quality_share"):
            metrics["high_quality_share"] = round(float(module.high_quality_share(points, centres)), 4)
        return metrics

    def run(self) -> TrainResult:
        """Train to the last step, then write the final samples, curves, checkpoint and export."""
        try:
            self.prepare()
            with self.dist.failures_explained():
                return self._run()
        finally:
            self._shutdown()

    def _run(self) -> TrainResult:
        self.session_start = time.perf_counter()
        self.window_start = self.session_start
        start_step = self.step
        images_at_start = self.images_seen
        if self.dist.is_main:
            self.paths.out.mkdir(parents=True, exist_ok=True)
        self._rewrite_log()
        resolved = self.resolved
        title = f"{resolved.model} on {resolved.dataset}"
        if self.dist.enabled:
            title += (
                f" on {self.dist.world_size} processes (batch {self.batch_size} per device, "
                f"global batch {self.global_batch})"
            )
        self.reporter.start(self.total_steps, self.step, title)
        advance_every = max(1, min(10, resolved.log_every))
        try:
            with _InterruptFlag() as interrupt:
                while self.step < self.total_steps:
                    self._train_step()
                    self.step += 1
                    step = self.step
                    last = step == self.total_steps
                    if step % resolved.log_every == 0 or last:
                        self._flush(time.perf_counter())
                    elif step % advance_every == 0:
                        self.reporter.advance(step)
                    if step % resolved.sample_every == 0 and not last:
                        self._save_samples(f"step_{step:06d}.png")
                        self._save_curves()
                    if step % resolved.checkpoint_every == 0 and not last:
                        self._checkpoint()
                    if not last and self._interrupted(interrupt, step, advance_every):
                        self._flush(time.perf_counter())
                        self._checkpoint()
                        self.reporter.close()
                        self.reporter.message(
                            f"interrupted at step {step}; checkpoint saved to {self.paths.checkpoint}; "
                            "continue with --resume"
                        )
                        raise KeyboardInterrupt
                self._flush(time.perf_counter())
                self._checkpoint()
        finally:
            self.reporter.close()
        final = self._save_samples("final.png")
        self._save_curves()
        wall = self.wall_before + (time.perf_counter() - self.session_start)
        session_time = time.perf_counter() - self.session_start
        session_images = self.images_seen - images_at_start
        images_per_s = session_images / session_time if session_images else 0.0
        metrics = self._final_metrics(images_per_s)
        checksums = self._replica_checksums()
        self._export(final, wall, metrics, checksums)
        return TrainResult(
            out=self.paths.out,
            export_dir=self.paths.export,
            checkpoint=self.paths.checkpoint,
            samples_dir=self.paths.samples,
            final_samples=final,
            card=self.paths.export / "README.md",
            log=self.paths.log,
            curves=self.paths.curves,
            model=resolved.model,
            dataset=resolved.dataset,
            steps=self.step,
            start_step=start_step,
            epochs=self._epochs_done(),
            images_seen=self.images_seen,
            wall_time_s=wall,
            images_per_s=images_per_s,
            metrics=metrics,
            world_size=self.dist.world_size,
            rank=self.dist.rank,
            global_batch_size=self.global_batch,
        )

    # ------------------------------------------------------------------ the end
    def _epochs_done(self) -> float:
        return round(self.images_seen / (self.batches_per_epoch * self.global_batch), 3)

    def _replica_checksums(self) -> list[str] | None:
        """Several processes: every rank's parameter checksum; they must agree (DDP keeps the replicas equal)."""
        if not self.dist.enabled:
            return None
        checksums = self.dist.gather(parameter_checksum([self.generator, self.discriminator]))
        if len(set(checksums)) != 1:
            raise DistributedRunError(f"the processes ended with different weights (checksums {checksums}); "
                                      "this is a bug in ganzoo's distributed training, please report it")
        return checksums

    def _final_metrics(self, images_per_s: float) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        if self.history:
            last = self.history[-1]
            metrics.update({name: last[name] for name in METRICS})
        metrics["images_per_s"] = round(images_per_s, 1)
        if self.dist.is_main:
            metrics.update(self._toy_metrics())
        return metrics

    def _export(self, samples_png: Path, wall: float, metrics: dict[str, Any], checksums: list[str] | None) -> None:
        from ..cards import dataset_license, render_card
        from ..export import write_export

        if not self.dist.is_main:
            return
        resolved, request = self.resolved, self.resolved.request
        training = {
            "command": "\n".join(self.commands),
            "dataset": resolved.dataset,
            "split": request.split,
            "samples": self.count,
            "loss": resolved.loss,
            "loss_options": _plain(resolved.loss_options),
            "steps": self.step,
            "epochs": self._epochs_done(),
            "d_steps": self.d_steps,
            "batch_size": self.batch_size,
            "batch_size_per_device": self.batch_size,
            "world_size": self.dist.world_size,
            "global_batch_size": self.global_batch,
            "lr": resolved.lr,
            "betas": list(resolved.betas),
            "seed": request.seed,
            "precision": self.precision.name,
            "reuse_fakes": self.reuse_fakes,
            "device": str(self.device),
            "hardware": describe_hardware(self.device, processes=self.dist.world_size, nodes=self.dist.topology.nodes),
            "wall_time_s": round(wall, 2),
            "images_seen": self.images_seen,
            "ganzoo_version": __version__,
        }
        if self.cpu_allocator is not None:
            training["cpu_allocator"] = self.cpu_allocator
        if checksums is not None:
            training["parameter_checksums"] = checksums  # one per rank, all equal: the replicas stayed in step
        num_params = {
            "generator": sum(p.numel() for p in self.generator.parameters()),
            "discriminator": sum(p.numel() for p in self.discriminator.parameters()),
        }
        training["num_params"] = num_params
        licence = dataset_license(resolved.dataset_spec, request.data_dir)
        training["data_license"] = licence
        card = render_card(
            spec=resolved.spec,
            dataset=resolved.dataset_spec,
            config=self.model_config,
            training=training,
            metrics=metrics,
            num_params=num_params,
            licence=licence,
            is_image=self.data.is_image,
            source=str(self.paths.export),
        )
        write_export(
            self.paths.export,
            spec=resolved.spec,
            config=self.model_config,
            generator=self.generator,
            discriminator=self.discriminator,
            training=training,
            metrics=metrics,
            card=card,
            samples_png=samples_png,
            dataset=resolved.dataset,
            loss=resolved.loss,
        )


def train(config: TrainConfig) -> TrainResult:
    """Train as ``config`` asks: samples, curves, log and checkpoints under ``config.out``, then an export."""
    return Trainer(config).run()
