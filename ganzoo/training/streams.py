"""Where a step's inputs come from: the real batches, the noise, and torch's and Python's global generators.

Each stream owns its random generator, so its ``state_dict()`` is everything the next draw depends on and a
resumed run draws exactly what an uninterrupted one would have drawn. On several processes every rank runs
the same streams with the same seeds and keeps its own slice of each *global* draw (see
:mod:`.distributed`): a run on N processes sees the data and noise of one process with N times the batch.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..nn import uint8_to_unit

__all__ = ["BatchStream", "FixedSamples", "GlobalRandomState", "NoiseStream"]

Notice = Callable[[str], None]
"""Where a stream says, in one line, that it could not restore a saved state exactly."""


class BatchStream:
    """This rank's slice of each global batch, drawn from one tensor that stays on the device.

    Each epoch is one permutation from a seeded CPU generator; a batch is an index-select, normalised
    to ``[-1, 1]`` per batch when the samples are uint8 images. An epoch ends when less than one
    global batch is left (the remainder is dropped, as ``DataLoader(drop_last=True)`` does).
    """

    def __init__(
        self,
        samples: torch.Tensor,
        labels: torch.Tensor | None,
        *,
        batch_size: int,
        seed: int,
        world_size: int = 1,
        rank: int = 0,
        channels_last: bool = False,
        device: torch.device | None = None,
    ):
        self.samples = samples
        self.device = device if device is not None else samples.device
        """Where the batches go: the samples' own device, or a GPU the samples in host memory are copied to."""
        self.labels = labels
        self.count = len(samples)
        self.batch_size = batch_size
        self.global_batch = batch_size * world_size
        self.rank = rank
        self.channels_last = channels_last
        self.generator = torch.Generator().manual_seed(seed)
        self.permutation: torch.Tensor | None = None
        self.position = 0
        self.epoch = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.count // self.global_batch

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next real batch and its labels (``None`` for unlabelled data or unconditional models)."""
        if self.permutation is None or self.position + self.global_batch > self.count:
            if self.permutation is not None:
                self.epoch += 1
            self.permutation = torch.randperm(self.count, generator=self.generator).to(self.samples.device)
            self.position = 0
        start = self.position + self.rank * self.batch_size
        index = self.permutation[start : start + self.batch_size]
        self.position += self.global_batch
        batch = self.samples.index_select(0, index) if self.samples.device == self.device else self._copied(index)
        batch = uint8_to_unit(batch) if batch.dtype == torch.uint8 else batch.float()
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        labels = self.labels.index_select(0, index) if self.labels is not None else None
        if labels is not None and labels.device != self.device:
            labels = labels.to(self.device)
        return batch, labels

    def _copied(self, index: torch.Tensor) -> torch.Tensor:
        """Samples kept in host memory (:mod:`.placement`): the batch gathered into pinned memory (torch's caching
        host allocator reuses a buffer only after its copy is done) and copied to the device without waiting."""
        staged = torch.empty((len(index), *self.samples.shape[1:]), dtype=self.samples.dtype, pin_memory=True)
        torch.index_select(self.samples, 0, index, out=staged)
        return staged.to(self.device, non_blocking=True)

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "permutation": self.permutation.cpu() if self.permutation is not None else None,
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        permutation = state.get("permutation")
        self.permutation = permutation.to(self.samples.device) if permutation is not None else None
        self.generator.set_state(state["rng"])


class NoiseStream:
    """Latent vectors (and, for conditional models, the labels of the fakes) for each step.

    The generator lives on the training device, so its state is device-specific: a run saved on a GPU
    and resumed on the CPU cannot continue the same stream. It is then reseeded from the seed and the
    step, and says so, because the resumed run is no longer the run an uninterrupted one would be.
    """

    def __init__(
        self,
        latent_dim: int,
        device: torch.device,
        *,
        seed: int,
        num_classes: int | None = None,
        world_size: int = 1,
        rank: int = 0,
    ):
        self.latent_dim = latent_dim
        self.device = device
        self.seed = seed
        self.num_classes = num_classes
        self.world_size = world_size
        self.rank = rank
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.draws = 0
        self.notice: Notice | None = None
        """Where to say that a saved state could not be restored (the run sets it)."""

    def next(self, count: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's slice of the noise (and fake labels) of a global batch of ``count`` per rank."""
        total = count * self.world_size
        mine = slice(self.rank * count, (self.rank + 1) * count)
        z = torch.randn(total, self.latent_dim, generator=self.generator, device=self.device)[mine]
        labels = None
        if self.num_classes is not None:
            labels = torch.randint(self.num_classes, (total,), generator=self.generator, device=self.device)[mine]
        self.draws += 1
        return z, labels

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state(), "device": self.device.type, "draws": self.draws}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.draws = int(state.get("draws", 0))
        saved_on = state.get("device")  # None: a version-1 checkpoint, which did not record it
        if saved_on in (None, self.device.type):
            try:
                self.generator.set_state(state["rng"])
                return
            except RuntimeError:
                pass  # a version-1 state from another kind of device: its length does not fit
        self.generator.manual_seed(self.seed + self.draws)
        if self.notice is not None:
            where = f"on {saved_on}" if saved_on else "on another kind of device"
            self.notice(
                f"the noise stream was saved {where} and cannot continue on {self.device.type}: reseeded, "
                "so this resumed run will not match an uninterrupted one exactly"
            )


class GlobalRandomState:
    """torch's global CPU generator, the training GPU's generator and Python's ``random``, of every rank.

    Only what the loop draws outside the streams uses them (a gradient penalty's interpolation weights,
    dropout). Under torchrun every rank has its own, so the state is a list with one entry per rank and
    :meth:`state_dict` is a collective: every rank must call it.
    """

    def __init__(self, device: torch.device, group: Any):
        self.device = device
        self.group = group
        self.notice: Notice | None = None

    def state_dict(self) -> list[dict[str, Any]]:
        mine = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "python": random.getstate(),
        }
        return self.group.gather(mine)

    def load_state_dict(self, ranks: list[Mapping[str, Any]]) -> None:
        state = ranks[self.group.rank if len(ranks) > 1 else 0]
        torch.set_rng_state(state["torch"])
        random.setstate(state["python"])
        if self.device.type != "cuda":
            return
        saved = state.get("cuda")
        if isinstance(saved, (list, tuple)):  # version 1 kept every GPU's state; this rank trains on one
            index = self.device.index or 0
            saved = saved[index] if index < len(saved) else None
        problem = None
        if saved is None:
            problem = "the checkpoint holds no GPU random state (it was saved on the CPU)"
        else:
            try:
                torch.cuda.set_rng_state(saved, self.device)
            except RuntimeError as error:
                problem = f"the saved GPU random state does not fit this GPU ({str(error).splitlines()[0]})"
        if problem is not None and self.notice is not None:
            self.notice(f"{problem}: the GPU generator keeps its seed, so this resumed run will not match exactly")


class FixedSamples:
    """The noise (and labels) of the sample grids: drawn once, so every grid shows the same latents."""

    def __init__(self, noise: torch.Tensor, labels: torch.Tensor | None, *, nrow: int):
        self.noise = noise
        self.labels = labels
        self.nrow = nrow

    def state_dict(self) -> dict[str, Any]:
        return {
            "noise": self.noise.cpu(),
            "labels": self.labels.cpu() if self.labels is not None else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.noise = state["noise"].to(self.noise.device)
        if state.get("labels") is not None:
            self.labels = state["labels"].to(self.noise.device)
