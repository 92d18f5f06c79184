"""``faces-simclr``: a small conv net trained by ganzoo on the UTKFace crops, self-supervised.

On faces ganzoo had no trained feature space offline: ``random-conv`` (a fixed random net)
weighs colour balance heavily, so the FID of consecutive checkpoints of one run swung between
0.54 and 3.44 and truncation at 1.0 moved it from 0.54 to 32. The face crops carry no labels,
so this net is trained with SimCLR's contrastive objective (Chen et al. 2020, NT-Xent): two
random views of each face (a random resized crop of 30-100% of the area with aspect 3/4..4/3,
a horizontal flip, and with probability 0.8 a brightness/contrast/saturation jitter of +-40%,
with probability 0.2 grey) must find each other among the batch's other views. There is no
blur among the views on purpose: a feature space for judging generated faces must not be
taught that a blurred face is the same face. The features are the 256-d global average of
the last conv block (the projection head is used for training only and not shipped).

The weights ship with ganzoo (``ganzoo_plugins/weights/faces-simclr.safetensors``, float16,
about 2.3 MB) and are checked against :data:`WEIGHTS_SHA256` before use: any other file is
refused in one line, because an FID in "faces-simclr" space must mean one fixed network.
They are reproduced (on the same CPU and torch; other hardware rounds differently) by::

    python -m ganzoo_plugins.extractors.faces_simclr --data ../shared/data/faces/utkface \\
        --out plugins/weights/faces-simclr.safetensors --steps 800 --seed 0 --threads 1

All 20,000 crops are used for training (decoded at 64x64 by the ``image-folder`` dataset);
no labels are read. Everything about the run (steps, seed, time, final loss, the in-batch
retrieval accuracy of the views) is stored in the file's metadata and in the card
``model_cards/faces-simclr.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ganzoo.errors import ConfigError, DataNotFoundError, WeightsError
from ganzoo.nn import rgb_images_at
from ganzoo.plugin_api import file_sha256, write_atomic

__all__ = [
    "FEATURE_DIM",
    "INPUT_SIZE",
    "WEIGHTS_SHA256",
    "FacesSimCLR",
    "FacesSimCLRNet",
    "augment",
    "build",
    "main",
    "nt_xent",
    "train_simclr",
]

WEIGHTS_PACKAGE = "ganzoo_plugins.weights"
WEIGHTS_FILENAME = "faces-simclr.safetensors"
WEIGHTS_SHA256 = "17096f4f8d0be2233a88aef822a1294e7f1e9ff901895e0971f7aee32c004464"
"""The sha256 of the shipped weights file; :func:`build` refuses any other file."""
FEATURE_DIM = 256
INPUT_SIZE = 64
PROJECTION_DIM = 128
TRAIN_COMMAND = (
    "python -m ganzoo_plugins.extractors.faces_simclr --data ../shared/data/faces/utkface "
    "--out plugins/weights/faces-simclr.safetensors --steps {steps} --seed {seed} --threads {threads}"
)


def _conv(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


class FacesSimCLRNet(nn.Module):
    """Eight 3x3 conv blocks (32, 32, 64, 64, 128, 128, 256, 256 channels; every other one halves
    64 -> 4), global average pooling to 256 features, and a projection head 256 -> 256 -> 128.

    About 1.2M backbone parameters and 0.1 GFLOP per 64x64 image: one CPU core trains it on
    20,000 faces in well under an hour and extracts 10,000 images' features in seconds.
    """

    def __init__(self) -> None:
        super().__init__()
        widths = [3, 32, 32, 64, 64, 128, 128, 256, 256]
        layers: list[nn.Module] = []
        for index, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
            layers += _conv(c_in, c_out, 2 if index % 2 == 0 else 1)
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(FEATURE_DIM, FEATURE_DIM), nn.ReLU(inplace=True), nn.Linear(FEATURE_DIM, PROJECTION_DIM)
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class FacesSimCLR:
    """The extractor object: 256-d ``features`` (and ``extract``) of ``[-1, 1]`` RGB images."""

    name = "faces-simclr"
    feature_dim = FEATURE_DIM
    input_note = (
        f"resized to {INPUT_SIZE}x{INPUT_SIZE} (bilinear, antialiased), grayscale repeated to 3 channels; "
        "features of a net trained self-supervised (SimCLR) on UTKFace faces: face-feature distances, "
        "not comparable with Inception FID"
    )

    def __init__(self, net: FacesSimCLRNet, weights_sha256: str, metadata: dict[str, str], device: Any):
        self.net = net.eval()
        self.weights_sha256 = weights_sha256
        self.metadata = metadata
        self.device = torch.device(device)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return rgb_images_at(x, INPUT_SIZE, device=self.device, name=self.name, antialias=True)

    @torch.inference_mode()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net.forward_features(self.prepare(x)), None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[0]


def weights_path() -> Path:
    return Path(str(resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILENAME)))


MAX_WEIGHTS_BYTES = 32 << 20
"""Largest file read as these weights (the shipped one is about 2.3 MB)."""


def build(
    device: str = "cpu", path: str | os.PathLike[str] | None = None, sha256: str = WEIGHTS_SHA256
) -> FacesSimCLR:
    """The shipped face extractor on ``device``; ``path`` and ``sha256`` exist for tests and retraining.

    The file's sha256 must equal ``sha256`` before a byte of it is parsed: a retrained or
    corrupted file would silently define another feature space under the same name.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    file = Path(path) if path is not None else weights_path()
    recreate = f"reinstall ganzoo or recreate them with '{TRAIN_COMMAND.format(steps=800, seed=0, threads=1)}'"
    if not file.is_file():
        raise WeightsError(f"faces-simclr weights not found at {file}; {recreate}")
    if file.stat().st_size > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"faces-simclr weights {file} are {file.stat().st_size:,} bytes: not this extractor's file")
    digest = file_sha256(file)
    if digest != sha256:
        raise WeightsError(
            f"faces-simclr weights {file} have sha256 {digest[:16]}..., not the shipped {sha256[:16]}...: "
            f"refusing another file; {recreate} and update WEIGHTS_SHA256 with them"
        )
    try:
        state = load_file(str(file))
        with safe_open(str(file), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"faces-simclr weights at {file} are unreadable ({error}); {recreate}") from None
    net = FacesSimCLRNet()
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.startswith("head.")]
    if missing or unexpected:
        raise WeightsError(
            f"faces-simclr weights at {file} do not fit the network "
            f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}); {recreate}"
        )
    return FacesSimCLR(net.to(device), digest, metadata, device)


# --------------------------------------------------------------------------- training


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random SimCLR view of each ``[-1, 1]`` image (see the module docstring), batched in torch.

    Crop, aspect and flip are one affine map per image through ``grid_sample``; the colour
    jitter acts on ``[0, 1]`` pixels. No per-image Python loop: on one CPU core the views
    cost a few percent of the network's step.
    """
    n = len(batch)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    area = uniform(0.3, 1.0)
    aspect = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    width = torch.sqrt(area * aspect).clamp(max=1.0)
    height = torch.sqrt(area / aspect).clamp(max=1.0)
    shift_x = (1 - width) * uniform(-1.0, 1.0)
    shift_y = (1 - height) * uniform(-1.0, 1.0)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = width * flip
    theta[:, 0, 2] = shift_x
    theta[:, 1, 1] = height
    theta[:, 1, 2] = shift_y
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    x = (F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False) + 1) / 2

    jitter = (torch.rand(n, generator=generator) < 0.8).float()[:, None, None, None]
    grey_weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    def factor() -> torch.Tensor:
        return 1 + jitter * uniform(-0.4, 0.4)[:, None, None, None]

    x = (x * factor()).clamp(0, 1)  # brightness
    mean = (x * grey_weights).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    x = ((x - mean) * factor() + mean).clamp(0, 1)  # contrast
    grey = (x * grey_weights).sum(1, keepdim=True)
    x = ((x - grey) * factor() + grey).clamp(0, 1)  # saturation
    to_grey = (torch.rand(n, generator=generator) < 0.2)[:, None, None, None]
    x = torch.where(to_grey, (x * grey_weights).sum(1, keepdim=True).expand_as(x), x)
    return x * 2 - 1


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """SimCLR's loss over the 2N views, and the fraction of views whose nearest other view is their pair."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    loss = F.cross_entropy(similarity, targets)
    accuracy = (similarity.argmax(1) == targets).float().mean()
    return loss, accuracy


def _load_faces(data_dir: str | os.PathLike[str]) -> torch.Tensor:
    import ganzoo

    try:
        samples = ganzoo.get_dataset_spec("image-folder").load(root=data_dir, split="train", image_size=INPUT_SIZE)
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} (faces-simclr trains on the UTKFace crops)") from None
    return samples.samples


def train_simclr(
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    steps: int = 800,
    seed: int = 0,
    *,
    batch_size: int = 128,
    lr: float = 2e-3,
    temperature: float = 0.2,
    weight_decay: float = 1e-5,
    dtype: str = "float16",
    log_every: int = 50,
    log: Any = print,
) -> dict[str, Any]:
    """Train SimCLR on the faces under ``data_dir`` for ``steps`` batches; write the backbone to ``out``.

    AdamW with a linear warm-up over the first 5% of the steps and a cosine decay to zero;
    the whole folder is held as one uint8 tensor and batches are drawn by a seeded
    permutation, so the run is fixed by ``seed`` (on one machine and torch version).
    """
    from safetensors.torch import save_file

    if steps < 1 or batch_size < 2:
        raise ConfigError(f"--steps must be at least 1 and the batch at least 2; got {steps}, {batch_size}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images = _load_faces(data_dir)
    if len(images) < batch_size:
        raise DataNotFoundError(f"{len(images)} images under {data_dir}: fewer than one batch of {batch_size}")
    net = FacesSimCLRNet()
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = max(1, steps // 20)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    order = torch.randperm(len(images), generator=generator)
    cursor = 0
    started = time.perf_counter()
    net.train()
    window_loss, window_accuracy, window = 0.0, 0.0, 0
    for step in range(steps):
        if cursor + batch_size > len(order):
            order, cursor = torch.randperm(len(images), generator=generator), 0
        batch = images[order[cursor : cursor + batch_size]].float() / 127.5 - 1
        cursor += batch_size
        view1, view2 = augment(batch, generator), augment(batch, generator)
        loss, accuracy = nt_xent(net(view1), net(view2), temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        window_loss += float(loss.detach())
        window_accuracy += float(accuracy)
        window += 1
        if (step + 1) % log_every == 0 or step + 1 == steps:
            log(f"step {step + 1}/{steps}: loss {window_loss / window:.4f}, view retrieval "
                f"{window_accuracy / window:.3f}, {time.perf_counter() - started:.0f}s")
            final_loss, final_accuracy = window_loss / window, window_accuracy / window
            window_loss, window_accuracy, window = 0.0, 0.0, 0
    wall = time.perf_counter() - started
    store = getattr(torch, dtype)
    state = {key: (value.to(store) if value.is_floating_point() else value).contiguous()
             for key, value in net.state_dict().items() if not key.startswith("head.")}
    epochs = steps * batch_size / len(images)
    metadata = {
        "format": "ganzoo-extractor",
        "extractor": "faces-simclr",
        "objective": f"SimCLR NT-Xent, temperature {temperature}",
        "steps": str(steps),
        "epochs": f"{epochs:.2f}",
        "seed": str(seed),
        "batch_size": str(batch_size),
        "lr": str(lr),
        "weight_decay": str(weight_decay),
        "dtype": dtype,
        "final_loss": f"{final_loss:.4f}",
        "final_view_retrieval": f"{final_accuracy:.4f}",
        "train_seconds": f"{wall:.0f}",
        "threads": str(torch.get_num_threads()),
        "torch_version": torch.__version__,
        "command": TRAIN_COMMAND.format(steps=steps, seed=seed, threads=torch.get_num_threads()),
        "data": f"{len(images)} face crops of {Path(data_dir).name} (image-folder, decoded at 64x64), no labels",
    }
    out = write_atomic(out, lambda file: save_file(state, file.name, metadata=metadata))
    log(f"wrote {out} after {wall:.0f}s ({epochs:.2f} epochs)")
    return {"train_seconds": wall, "path": str(out), "sha256": file_sha256(out), "metadata": metadata}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganzoo_plugins.extractors.faces_simclr",
        description="Train ganzoo's faces-simclr feature extractor (SimCLR, no labels) on a folder of face crops.",
    )
    parser.add_argument("--data", required=True, help="the folder of face crops (e.g. UTKFace's 20,000)")
    parser.add_argument("--out", default=str(Path("plugins/weights") / WEIGHTS_FILENAME))
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the shipped file used 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        result = train_simclr(args.data, args.out, steps=args.steps, seed=args.seed, batch_size=args.batch_size)
    except (ConfigError, DataNotFoundError, WeightsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in result.items() if k != "metadata"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
