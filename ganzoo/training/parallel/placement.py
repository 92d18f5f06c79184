"""Where the training data live: on the training GPU when they fit, else in host memory, batch by batch.

Data that stay on the GPU as one uint8 tensor cost no host work per step: a batch is an index-select
and a normalisation there (:class:`.streams.BatchStream`). They must leave room for what training
allocates after them (activations, gradients, Adam's moments, cuDNN's workspaces, the compiled
kernels' buffers), so they stay on the GPU only when they take at most :data:`DEVICE_DATA_SHARE` of
its free memory, measured after the networks are on it. Larger data stay in host memory, and each batch
is gathered into pinned memory and copied to the GPU asynchronously: the run trains as the user asked,
somewhat slower, and a one-line note says so (and that ``--limit`` keeps fewer samples on the GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["DEVICE_DATA_SHARE", "Placement", "decide_placement", "place_data"]

DEVICE_DATA_SHARE = 0.5
"""The largest share of the GPU's free memory the training data may take and stay on the GPU."""


@dataclass(frozen=True)
class Placement:
    """The decision for data of ``data_bytes`` on a device with ``free_bytes`` free (None: not measurable)."""

    on_device: bool
    data_bytes: int
    free_bytes: int | None
    share: float = DEVICE_DATA_SHARE

    def note(self, device: torch.device) -> str | None:
        """The one-line note for data that stay in host memory; None when they are on the device."""
        if self.on_device:
            return None
        gib = 2**30
        return (f"the training data ({self.data_bytes / gib:.1f} GiB) are more than {self.share:.0%} of the free "
                f"memory of {device} ({(self.free_bytes or 0) / gib:.1f} GiB): they stay in host memory and each "
                "batch is copied to the GPU, which is slower; --limit N keeps fewer samples, on the GPU")


def decide_placement(data_bytes: int, free_bytes: int | None, share: float = DEVICE_DATA_SHARE) -> Placement:
    """On the device when ``data_bytes <= share * free_bytes``; a device without a measure of free memory
    (the CPU, Apple MPS) holds the data itself."""
    if free_bytes is None:
        return Placement(True, int(data_bytes), None, share)
    return Placement(int(data_bytes) <= share * int(free_bytes), int(data_bytes), int(free_bytes), share)


def place_data(
    samples: torch.Tensor, labels: torch.Tensor | None, device: torch.device, note: Callable[[str], None]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``samples`` and ``labels`` where the batches are drawn from: on ``device``, or (a CUDA device they do
    not fit on) in host memory, said in one line through ``note``."""
    free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else None
    size = samples.nbytes + (labels.nbytes if labels is not None else 0)
    placement = decide_placement(size, free, DEVICE_DATA_SHARE)  # the module's limit, read at each call
    if placement.on_device:
        return samples.to(device), labels.to(device) if labels is not None else None
    note(placement.note(device) or "")
    return samples.contiguous(), labels.contiguous() if labels is not None else None
