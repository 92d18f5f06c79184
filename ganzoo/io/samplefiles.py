"""The files ``ganzoo sample`` writes, each filled as the samples are drawn, a batch at a time.

Drawing all ``-n`` samples first and writing them afterwards needs every sample in memory as
float32 at once: ``-n 3000000`` of a 28x28 model is 9.4 GB before the grid is even tiled,
and it ended in an allocator traceback. Here every output is a writer that takes one batch
of samples and lets it go: a grid picture keeps only its own pixels (:class:`GridPicture`),
one picture per sample is written as it comes (:class:`EachPicture`), and a safetensors
file is written header first, then batch by batch (:class:`TensorFile`). What a request
still needs at once (the latents, drawn together so that a seed gives the same samples
whatever the batch; a grid's pixels; a scatter's points) is :meth:`memory`, which the
command adds up and checks (:func:`ganzoo.io.memory.require_memory`) before anything is drawn.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from .files import write_atomic
from .imaging import GridCanvas, check_picture_size, grid_scale, save_grid, save_image_atomic, save_scatter

__all__ = [
    "BATCH_BYTES",
    "EachPicture",
    "GridPicture",
    "SampleWriter",
    "ScatterPicture",
    "TensorFile",
    "batch_size_for",
    "write_batches",
]

BATCH_BYTES = 64 * 2**20
"""The most memory one batch of float32 samples takes while it is written (at least one sample a batch)."""
MAX_BATCH = 256
"""The most samples one batch draws (the generator's own batch, as ``Sampler.decode`` uses)."""


def batch_size_for(sample_shape: Sequence[int]) -> int:
    """Samples per batch: up to :data:`MAX_BATCH`, fewer when they would take more than :data:`BATCH_BYTES`."""
    return max(1, min(MAX_BATCH, BATCH_BYTES // (4 * max(1, math.prod(sample_shape)))))


class SampleWriter(Protocol):
    def memory(self) -> int:
        """The bytes this writer holds at once, whatever the batch (checked before anything is drawn)."""

    def add(self, samples: Any, start: int) -> None:
        """Take the samples ``start, start + 1, ...`` (a CPU float tensor ``(B, *sample_shape)``)."""

    def finish(self) -> Path:
        """Write what is left; the path written."""


class GridPicture:
    """``count`` images tiled into one picture at ``path`` (the format its suffix names), as they come."""

    def __init__(
        self, path: Path, count: int, sample_shape: Sequence[int], *, nrow: int, what: str,
        text: Mapping[str, str] | None = None,
    ):
        self.path = path
        self.text = text
        self.canvas = GridCanvas(count, sample_shape, nrow=nrow, scale=grid_scale(sample_shape))
        check_picture_size(
            self.canvas.width, self.canvas.height, what=f"-n {count:,} in a grid of {self.canvas.columns} per row"
            f" ({what})", fix="lower -n, or write the samples with --save-individual DIR or --tensor FILE instead",
        )

    def memory(self) -> int:
        return self.canvas.picture_bytes()

    def add(self, samples: Any, start: int) -> None:
        self.canvas.add(samples)

    def finish(self) -> Path:
        return save_image_atomic(self.canvas.image(), self.path, text=self.text)


class ScatterPicture:
    """``count`` 2-D points (the first two values of each sample) drawn over each other at ``path``."""

    def __init__(self, path: Path, count: int, *, title: str, text: Mapping[str, str] | None = None):
        self.path = path
        self.title = title
        self.text = text
        self.points = np.empty((count, 2), dtype=np.float32)

    def memory(self) -> int:
        return 3 * self.points.nbytes  # the points, and the picture's float64 copies of them

    def add(self, samples: Any, start: int) -> None:
        self.points[start : start + len(samples)] = samples.reshape(len(samples), -1)[:, :2].numpy()

    def finish(self) -> Path:
        return save_scatter(self.points, self.path, title=self.title, text=self.text)


class EachPicture:
    """Every sample as its own PNG in ``folder``: ``0007.png`` (``0007_class3.png`` for a conditional model)."""

    def __init__(self, folder: Path, count: int, labels: Any):
        self.folder = folder
        self.labels = labels
        self.width = max(4, len(str(count - 1)))

    def memory(self) -> int:
        return 0

    def add(self, samples: Any, start: int) -> None:
        for index, image in enumerate(samples, start=start):
            suffix = f"_class{int(self.labels[index])}" if self.labels is not None else ""
            save_grid(image[None], self.folder / f"{index:0{self.width}d}{suffix}.png", nrow=1, padding=0)

    def finish(self) -> Path:
        return self.folder


_DTYPES = {"float32": "F32", "int64": "I64"}


class TensorFile:
    """``samples``, ``latents`` and (conditional models) ``labels`` in one safetensors file, samples streamed.

    The safetensors format is an 8-byte header length, a JSON header with every tensor's dtype,
    shape and byte range, and the bytes: every shape is known before the first sample is drawn,
    so the header, the latents and the labels are written first and the samples appended a
    batch at a time, into the open file :func:`ganzoo.io.files.write_atomic` hands over
    (:meth:`write`). ``safetensors.torch.load_file`` reads it like any other.
    """

    def __init__(self, path: Path, count: int, sample_shape: Sequence[int], latents: Any, labels: Any,
                 metadata: Mapping[str, Any]):
        self.path = path
        self.count = count
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.fixed = {"latents": latents.contiguous()}
        if labels is not None:
            self.fixed["labels"] = labels.contiguous()
        self.metadata = {key: json.dumps(value) for key, value in metadata.items()}
        self.file: BinaryIO | None = None
        self.written = 0

    @property
    def size(self) -> int:
        """The file's size in bytes (header included)."""
        fixed = sum(t.numel() * t.element_size() for t in self.fixed.values())
        return len(self._header()) + fixed + self._sample_bytes()

    def _sample_bytes(self) -> int:
        return self.count * math.prod(self.sample_shape) * 4

    def _header(self) -> bytes:
        entries: dict[str, Any] = {"__metadata__": self.metadata}
        offset = 0
        for name, tensor in self.fixed.items():
            end = offset + tensor.numel() * tensor.element_size()
            entries[name] = {"dtype": _DTYPES[str(tensor.dtype).removeprefix("torch.")],
                             "shape": list(tensor.shape), "data_offsets": [offset, end]}
            offset = end
        entries["samples"] = {"dtype": "F32", "shape": [self.count, *self.sample_shape],
                              "data_offsets": [offset, offset + self._sample_bytes()]}
        header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
        header += b" " * (-len(header) % 8)  # the data start 8-byte aligned, as safetensors writes them
        return struct.pack("<Q", len(header)) + header

    def memory(self) -> int:
        return 0  # the latents and labels are the drawing's own; a batch is written as it comes

    def write(self, batches: Iterable[Any], others: Sequence[SampleWriter] = ()) -> Path:
        """Draw ``batches`` into this file (and every one of ``others``), then put it at its path atomically:
        a failure on the way leaves no half-written file."""

        def stream(file: BinaryIO) -> None:
            self._open(file)
            write_batches(batches, [*others, self])

        write_atomic(self.path, stream, size=self.size)
        return self.finish()

    def _open(self, file: BinaryIO) -> None:
        """Start writing into ``file``: the header, the latents and the labels."""
        self.file = file
        file.write(self._header())
        for tensor in self.fixed.values():
            file.write(_raw(tensor))

    def add(self, samples: Any, start: int) -> None:
        if self.file is None or start != self.written:
            raise ValueError("TensorFile takes the samples in order, once open")
        self.file.write(_raw(samples.contiguous().float()))
        self.written += len(samples)

    def finish(self) -> Path:
        if self.written != self.count:
            raise ValueError(f"TensorFile expected {self.count} samples, got {self.written}")
        return self.path


def _raw(tensor: Any) -> Any:
    """A CPU tensor's bytes (little-endian, as safetensors stores them), without a copy."""
    return tensor.numpy().reshape(-1).view(np.uint8)


def write_batches(batches: Iterable[Any], writers: Sequence[SampleWriter]) -> int:
    """Hand every batch to every writer, in order; the number of samples written."""
    start = 0
    for batch in batches:
        for writer in writers:
            writer.add(batch, start)
        start += len(batch)
    return start
