"""``mnist-classifier``: the small CNN whose penultimate layer gives ganzoo's MNIST FID features.

Inception-v3 was trained on 299px colour photographs; on 28x28 digits its features
mostly measure resize artefacts, and it cannot tell a 3 from an 8. A classifier trained
on MNIST itself gives features that separate digits, and its predictions give class
coverage and conditional accuracy. The weights ship with ganzoo
(``ganzoo_plugins/weights/mnist-classifier.safetensors``) and are reproduced by::

    python -m ganzoo_plugins.extractors.mnist_classifier --data DIR \\
        --out plugins/weights/mnist-classifier.safetensors

(``DIR`` holds ``MNIST/raw``, as for ``torchvision.datasets.MNIST``). The training uses
MNIST train only; the 10k test set is used once, to report the accuracy stored in the
file's metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ganzoo.errors import DataNotFoundError, WeightsError
from ganzoo.nn import uint8_to_unit
from ganzoo.plugin_api import file_sha256, write_atomic

__all__ = ["FEATURE_DIM", "MnistClassifier", "MnistClassifierNet", "build", "main", "train_classifier"]

WEIGHTS_PACKAGE = "ganzoo_plugins.weights"
WEIGHTS_FILENAME = "mnist-classifier.safetensors"
FEATURE_DIM = 128
NUM_CLASSES = 10
TRAIN_COMMAND = (
    "python -m ganzoo_plugins.extractors.mnist_classifier --data ../shared/data "
    "--out plugins/weights/mnist-classifier.safetensors --epochs {epochs} --seed {seed}"
)


class MnistClassifierNet(nn.Module):
    """Three 3x3 conv blocks (32, 64, 128 channels, each halving the size) and FC 128 -> 10.

    About 240k parameters (under 0.5 MB in float16): small enough to ship in the wheel and
    to extract 10k samples' features in about a second on a laptop CPU.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 7x7
            nn.Conv2d(64, 128, 3, padding=1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 3x3
        )
        self.fc = nn.Linear(128 * 3 * 3, FEATURE_DIM)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


class MnistClassifier:
    """The extractor object: ``features``, ``logits``, ``predict`` and ``extract`` on ``[-1, 1]`` images."""

    name = "mnist-classifier"
    num_classes = NUM_CLASSES
    feature_dim = FEATURE_DIM
    input_note = "28x28 grayscale in [-1, 1], used as is (no resizing)"

    def __init__(self, net: MnistClassifierNet, weights_sha256: str, metadata: dict[str, str], device: Any):
        self.net = net.eval()
        self.weights_sha256 = weights_sha256
        self.metadata = metadata
        self.device = torch.device(device)

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            from ganzoo.errors import ConfigError

            raise ConfigError(
                f"mnist-classifier takes 28x28 grayscale images (N, 1, 28, 28), got {tuple(x.shape)}; "
                "use --extractor random-conv (or inception-v3) for other image data"
            )
        return x.to(self.device, torch.float32)

    @torch.inference_mode()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features ``(N, 128)`` and logits ``(N, 10)`` from one forward pass."""
        features = self.net.forward_features(self._check(x))
        return features, self.net.head(features)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[0]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[1]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).argmax(1)


def weights_path() -> Path:
    return Path(str(resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILENAME)))


def build(device: str = "cpu", path: str | os.PathLike[str] | None = None) -> MnistClassifier:
    """The shipped classifier (or the one at ``path``) on ``device``."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    file = Path(path) if path is not None else weights_path()
    if not file.is_file():
        raise WeightsError(
            f"mnist-classifier weights not found at {file}; reinstall ganzoo or recreate them with "
            f"'{TRAIN_COMMAND.format(epochs=5, seed=0)}'"
        )
    try:
        state = load_file(str(file))
        with safe_open(str(file), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"mnist-classifier weights at {file} are unreadable ({error}); recreate them") from None
    net = MnistClassifierNet()
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WeightsError(
            f"mnist-classifier weights at {file} do not fit the network "
            f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}); recreate them"
        )
    net.to(device)
    return MnistClassifier(net, file_sha256(file), metadata, device)


# --------------------------------------------------------------------------- training


def _load_mnist(data_dir: str | os.PathLike[str], train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    try:
        dataset = MNIST(root=str(data_dir), train=train, download=False)
    except RuntimeError as error:
        raise DataNotFoundError(
            f"MNIST not found under {data_dir} ({error}); pass --data DIR with DIR/MNIST/raw"
        ) from None
    return dataset.data.unsqueeze(1).contiguous(), dataset.targets.long()


def _shift(batch: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translations of up to ``max_shift`` pixels: the augmentation that takes a small CNN past 99.3%."""
    n, _, h, w = batch.shape
    padded = F.pad(batch, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 * max_shift)
    rows_taken = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
    return rows_taken.gather(3, cols)


@torch.inference_mode()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    net.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = net(uint8_to_unit(images[start : start + batch_size]))
        correct += int((logits.argmax(1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


def train_classifier(
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    epochs: int = 5,
    seed: int = 0,
    *,
    batch_size: int = 128,
    lr: float = 2e-3,
    dtype: str = "float16",
    log: Any = print,
) -> dict[str, Any]:
    """Train on MNIST train, report test accuracy, and write the weights atomically to ``out``.

    MNIST is held as one uint8 tensor and normalised per batch (no DataLoader): on a
    2-core CPU this is several times faster than a per-sample pipeline. Adam with a
    one-cycle schedule and +-2 px shifts reaches about 99.5% in a few epochs.
    """
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train_x, train_y = _load_mnist(data_dir, train=True)
    test_x, test_y = _load_mnist(data_dir, train=False)
    net = MnistClassifierNet().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = (len(train_x) + batch_size - 1) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch)
    started = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            x = _shift(uint8_to_unit(train_x[index]), generator).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(x), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
            seen += len(index)
        log(f"epoch {epoch + 1}/{epochs}: train loss {total / seen:.4f}, "
            f"{time.perf_counter() - started:.0f}s")
    net = net.to(memory_format=torch.contiguous_format).eval()
    wall = time.perf_counter() - started
    store = getattr(torch, dtype)
    state = {key: (value.to(store) if value.is_floating_point() else value).contiguous()
             for key, value in net.state_dict().items()}
    # Report the accuracy of the weights as stored (rounded to float16), not of the float32 net.
    stored = MnistClassifierNet()
    stored.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    test_accuracy = accuracy(stored, test_x, test_y)
    log(f"test accuracy {test_accuracy:.4%} ({len(test_x)} images), training {wall:.0f}s")
    metadata = {
        "format": "ganzoo-extractor",
        "extractor": "mnist-classifier",
        "test_accuracy": f"{test_accuracy:.4f}",
        "epochs": str(epochs),
        "seed": str(seed),
        "batch_size": str(batch_size),
        "lr": str(lr),
        "dtype": dtype,
        "train_seconds": f"{wall:.0f}",
        "threads": str(torch.get_num_threads()),
        "torch_version": torch.__version__,
        "command": TRAIN_COMMAND.format(epochs=epochs, seed=seed),
        "data": "MNIST train (60k) for training; MNIST test (10k) for the accuracy only",
    }
    out = write_atomic(out, lambda file: save_file(state, file.name, metadata=metadata))
    return {"test_accuracy": test_accuracy, "train_seconds": wall, "path": str(out),
            "sha256": file_sha256(out), "metadata": metadata}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganzoo_plugins.extractors.mnist_classifier",
        description="Train ganzoo's mnist-classifier feature extractor on MNIST train.",
    )
    parser.add_argument("--data", required=True, help="directory holding MNIST/raw (torchvision layout)")
    parser.add_argument("--out", default=str(Path("plugins/weights") / WEIGHTS_FILENAME))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = train_classifier(args.data, args.out, epochs=args.epochs, seed=args.seed)
    except (DataNotFoundError, WeightsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in result.items() if k != "metadata"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
