"""``SampleSet``: a whole dataset split held as one tensor.

GAN datasets are small (MNIST is 47 MB as uint8). Holding a split as one tensor, moved
once to the training device and normalised per batch, removes the per-sample Python,
PIL and collation work that dominates a DataLoader loop on a small CPU. A SampleSet is
still a ``torch.utils.data.Dataset``, so it works anywhere a dataset is expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from .nn import uint8_to_unit

__all__ = ["SampleSet"]


class SampleSet(Dataset):
    """Samples of one split, with optional integer labels.

    ``samples`` is either uint8 images ``(N, C, H, W)`` in ``[0, 255]`` (normalised to
    ``[-1, 1]`` per batch by :meth:`normalise`) or a float tensor ``(N, *shape)`` already
    in the model's units, ``[-1, 1]`` (2-D points, say): the range of a Tanh generator, which
    the dataset contract (``ganzoo.testing``) checks.

    ``license`` is the licence of these samples when the loader knows it better than the
    dataset's spec can (an image folder with a ``LICENSE`` file); empty means "the spec's".
    Model cards state it (``ganzoo.cards.card.data_license``).
    """

    def __init__(
        self,
        samples: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        name: str = "",
        classes: Sequence[str] | None = None,
        license: str = "",
    ):
        if labels is not None and len(labels) != len(samples):
            raise ValueError(f"{len(samples)} samples but {len(labels)} labels")
        if samples.dtype != torch.uint8 and not samples.is_floating_point():
            raise ValueError(f"samples must be uint8 images or floating point, got {samples.dtype}")
        self.samples = samples
        self.labels = labels.long() if labels is not None else None
        self.name = name
        self.classes = list(classes) if classes is not None else None
        self.license = str(license)

    @property
    def is_image(self) -> bool:
        return self.samples.dtype == torch.uint8

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.samples.shape[1:])

    @property
    def num_classes(self) -> int | None:
        if self.labels is None:
            return None
        if self.classes is not None:
            return len(self.classes)
        return int(self.labels.max().item()) + 1 if len(self.labels) else 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.normalise(self.samples[index : index + 1])[0]
        label = int(self.labels[index]) if self.labels is not None else -1
        return sample, label

    def normalise(self, batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Map a batch of stored samples to model space (uint8 images to ``[-1, 1]``)."""
        if batch.dtype == torch.uint8:
            return uint8_to_unit(batch, dtype)
        return batch.to(dtype)

    def to(self, device: torch.device | str) -> SampleSet:
        """The same samples on ``device`` (a no-op when already there)."""
        labels = self.labels.to(device) if self.labels is not None else None
        return SampleSet(self.samples.to(device), labels, name=self.name, classes=self.classes, license=self.license)

    def subset(self, count: int) -> SampleSet:
        """The first ``count`` samples (for quick runs and tests)."""
        labels = self.labels[:count] if self.labels is not None else None
        return SampleSet(self.samples[:count], labels, name=self.name, classes=self.classes, license=self.license)

    def __repr__(self) -> str:
        kind = "images" if self.is_image else "points"
        return f"SampleSet({self.name!r}, {len(self)} {kind} of shape {self.sample_shape}, classes={self.num_classes})"
