"""The registry's data sets as a ``LightningDataModule``, in the order ``ganzoo train`` draws them.

The batches come from the trainer's own :class:`~ganzoo.training.streams.BatchStream`: one seeded
permutation per epoch over the samples, uint8 images mapped to ``[-1, 1]`` per batch, the remainder of
an epoch dropped, and on several processes each rank's slice of every global batch. So a
:class:`~.module.GANModule` fed by this data module sees exactly the real batches ``ganzoo train`` would
with the same seed. The data set is an ``IterableDataset`` that yields whole batches; Lightning then leaves
its order alone (it replaces the sampler only of map-style data sets).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..errors import ConfigError
from ..training.streams import BatchStream

__all__ = ["GANDataModule", "StreamBatches"]

# Lightning warns that a sized IterableDataset may miscount its length when several loader workers each
# iterate a copy; these batches are made in the loader's own process (no workers), so the count is exact.
warnings.filterwarnings("ignore", message="Your `IterableDataset` has `__len__` defined", category=UserWarning)


class StreamBatches(IterableDataset):
    """An epoch of ``(images, labels)`` batches (plain images for unlabelled data) from a :class:`BatchStream`.

    ``group`` real batches go into each item, one after the other, for a loss that updates D ``group``
    times per step (``d_steps``): the module splits them again, so D sees the batches ``ganzoo train``
    gives its updates. The stream goes on across epochs, as the trainer's does.
    """

    def __init__(self, stream: BatchStream, group: int = 1):
        self.stream = stream
        self.group = group

    def __len__(self) -> int:
        return max(1, self.stream.batches_per_epoch // self.group)

    def __iter__(self) -> Iterator[Any]:
        for _ in range(len(self)):
            parts = [self.stream.next() for _ in range(self.group)]
            images = torch.cat([images for images, _ in parts])
            if parts[0][1] is None:
                yield images
            else:
                yield images, torch.cat([labels for _, labels in parts])


class GANDataModule(L.LightningDataModule):
    """A registered data set (``ganzoo list --datasets``) for ``lightning.Trainer.fit``.

    ``batch_size`` is per D update and per device, as ``ganzoo train --batch-size``; ``d_steps`` real
    batches go into each training step. ``limit`` keeps the first ``limit`` samples (``--limit``);
    ``image_size`` is the size a model option asks of an image folder.
    """

    def __init__(
        self,
        dataset: str,
        data_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        seed: int = 0,
        d_steps: int = 1,
        split: str = "train",
        limit: int | None = None,
        download: bool = False,
        image_size: int | None = None,
    ):
        super().__init__()
        from ..registry.catalog import get_dataset_spec

        self.spec = get_dataset_spec(dataset)
        if split not in self.spec.splits:
            raise ConfigError(f"dataset {self.spec.name!r} has no split {split!r}; use one of "
                              f"{', '.join(self.spec.splits)}")
        for name, value in (("batch_size", batch_size), ("d_steps", d_steps), ("limit", limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.data_dir = data_dir
        self.batch_size, self.seed, self.d_steps = batch_size, seed, d_steps
        self.split, self.limit, self.download, self.image_size = split, limit, download, image_size
        self.data: Any = None
        self.stream: BatchStream | None = None
        self._saved: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def prepare_data(self) -> None:
        """Download once per machine, when asked to (``download=True``)."""
        if self.download:
            self._load(download=True)

    def _load(self, download: bool) -> Any:
        return self.spec.load(self.data_dir, self.split, download=download, image_size=self.image_size)

    def setup(self, stage: str | None = None) -> None:
        if self.stream is not None:
            return
        data = self._load(download=False)
        if self.limit is not None and self.limit < len(data):
            data = data.subset(self.limit)
        trainer = getattr(self, "trainer", None)
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        if len(data) < self.batch_size * world:
            raise ConfigError(f"{self.name} has {len(data)} training samples, fewer than the batch size "
                              f"{self.batch_size * world}; lower batch_size")
        self.data = data
        self.stream = BatchStream(data.samples, data.labels, batch_size=self.batch_size, seed=self.seed,
                                  world_size=world, rank=rank)
        if self._saved is not None:
            self.stream.load_state_dict(self._saved)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        assert self.stream is not None
        # batch_size=None: the data set yields whole batches; its own generator keeps the loader from drawing
        # a seed from torch's global generator (which the networks' dropout uses, as in ganzoo train)
        return DataLoader(StreamBatches(self.stream, self.d_steps), batch_size=None,
                          generator=torch.Generator().manual_seed(self.seed))

    def state_dict(self) -> dict[str, Any]:
        """The stream's position and generator: a resumed fit draws the batches an uninterrupted one would."""
        return {"batches": self.stream.state_dict()} if self.stream is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._saved = state.get("batches")
        if self._saved is not None and self.stream is not None:
            self.stream.load_state_dict(self._saved)
