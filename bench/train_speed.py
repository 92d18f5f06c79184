"""Training-speed benchmark: ganzoo's trainer against the textbook PyTorch GAN loop, on real MNIST.

For (a) mlp-gan and (b) dcgan-mnist, both loops train the same architecture on the same
number of images, in this one process, and the images per second of each are printed with
their ratio. The textbook loop is written as the classic tutorials write it
(torchvision ``MNIST`` + ``ToTensor``/``Normalize`` transforms, a shuffling ``DataLoader``,
``nn.Sequential`` networks ending in ``Sigmoid``, ``BCELoss``, Adam 2e-4 (0.5, 0.999),
batch 64 for the MLP and 128 for the DCGAN, D updated first and G reusing D's fakes).
ganzoo runs its real trainer (``ganzoo.training.Trainer``) with the model's registered
networks in three configurations: its defaults (fp32; the G update on fresh noise), fp32
with ``--reuse-fakes`` (the G update on D's fakes: the same algorithm as the textbook loop)
and bf16 with ``--reuse-fakes`` (the fastest).

The first ``--warmup`` steps of every loop are excluded from the timing (allocator, kernel
selection, first-touch costs). A shared machine's speed drifts by tens of percent within
minutes, so the loops run ``--rounds`` times, interleaved (textbook, then each ganzoo
configuration, then again), and the table shows each loop's median; the ratio is of medians.
Both loops run under the same C allocator setting: by default the one ganzoo's trainer gives a CPU
process (:mod:`ganzoo.training.allocator`: glibc keeps freed tensors for reuse), applied before the
first loop so that the textbook loop gets it too; ``--system-allocator`` runs both without it.
Sample quality is compared on equal terms: after the first round, 2,000 samples of each
generator (eval mode, same noise) go through ganzoo's MNIST classifier and the table shows
the FID in its feature space against 2,000 real test digits (lower is better) and how many
of the 10 digit classes hold at least 5% of the samples.

    python bench/train_speed.py --data ../shared/data [--rounds 3] [--images-mlp 60000] [--images-dcgan 30000]
                                [--system-allocator]

Targets on the 2-core development CPU: mlp-gan >= 4x, dcgan-mnist >= 1.5x.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganzoo.models.device import cpu_bf16, describe_hardware
from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.allocator import OPT_OUT_ENV, tune_cpu_allocator
from ganzoo.training.progress_bar import Reporter

LATENT = 100


# ---------------------------------------------------------------- the textbook networks
def textbook_mlp() -> tuple[nn.Module, nn.Module]:
    """mlp-gan's layers, written as the tutorials write them (Sigmoid output for BCELoss).

    BatchNorm1d gets the classic code's positional 0.8 (which is eps) and mlp-gan's momentum 0.2, so
    that both loops train exactly the same architecture and the quality check compares the loops only.
    """
    generator = nn.Sequential(
        nn.Linear(LATENT, 128), nn.ReLU(),
        nn.Linear(128, 256), nn.BatchNorm1d(256, 0.8, momentum=0.2), nn.ReLU(),
        nn.Linear(256, 512), nn.BatchNorm1d(512, 0.8, momentum=0.2), nn.ReLU(),
        nn.Linear(512, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)),
    )
    discriminator = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1), nn.Sigmoid(),
    )
    return generator, discriminator


def textbook_dcgan() -> tuple[nn.Module, nn.Module]:
    """dcgan-mnist's layers (width 28) as nn.Sequential, with the DCGAN tutorial's weights_init."""
    generator = nn.Sequential(
        nn.Unflatten(1, (LATENT, 1, 1)),
        nn.ConvTranspose2d(LATENT, 112, 4, 1, 0, bias=False), nn.BatchNorm2d(112), nn.ReLU(True),
        nn.ConvTranspose2d(112, 56, 4, 2, 1, bias=False), nn.BatchNorm2d(56), nn.ReLU(True),
        nn.ConvTranspose2d(56, 28, 4, 2, 2, bias=False), nn.BatchNorm2d(28), nn.ReLU(True),
        nn.ConvTranspose2d(28, 1, 4, 2, 1, bias=False), nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(1, 28, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(28, 56, 4, 2, 1, bias=False), nn.BatchNorm2d(56), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(56, 112, 4, 2, 1, bias=False), nn.BatchNorm2d(112), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(112, 1, 4, 2, 1, bias=False), nn.Flatten(0), nn.Sigmoid(),
    )

    def weights_init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    generator.apply(weights_init)
    discriminator.apply(weights_init)
    return generator, discriminator


def textbook_loop(kind: str, data: str, images: int, batch_size: int, warmup: int, seed: int) -> dict[str, Any]:
    """The classic loop; returns images/s over the timed steps and the trained generator."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    dataset = datasets.MNIST(data, train=True, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    generator, discriminator = textbook_mlp() if kind == "mlp" else textbook_dcgan()
    criterion = nn.BCELoss()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    steps = warmup + math.ceil(images / batch_size)
    step, start = 0, None
    while step < steps:
        for real, _ in loader:
            if step == warmup:
                start = time.perf_counter()
            if step == steps:
                break
            count = real.size(0)
            valid = torch.ones(count)
            fake_target = torch.zeros(count)
            # D: real as 1, fake as 0
            discriminator.zero_grad()
            loss_real = criterion(discriminator(real).view(-1), valid)
            noise = torch.randn(count, LATENT)
            fake = generator(noise)
            loss_fake = criterion(discriminator(fake.detach()).view(-1), fake_target)
            (loss_real + loss_fake).backward()
            opt_d.step()
            # G: non-saturating, reusing the fakes
            generator.zero_grad()
            loss_g = criterion(discriminator(fake).view(-1), valid)
            loss_g.backward()
            opt_g.step()
            step += 1
    elapsed = time.perf_counter() - start
    timed_images = (steps - warmup) * batch_size
    return {"images_per_s": timed_images / elapsed, "generator": generator, "images": timed_images}


# ---------------------------------------------------------------- ganzoo
class _Clock(Reporter):
    """Records when each reported step was reached (the trainer reports every ``log_every`` steps)."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}

    def report(self, step: int, metrics: Any) -> None:
        self.times[step] = time.perf_counter()


def ganzoo_loop(
    model: str,
    data: str,
    images: int,
    batch_size: int,
    warmup: int,
    seed: int,
    precision: str,
    reuse_fakes: bool,
    out: Path,
) -> dict[str, Any]:
    timed_steps = math.ceil(images / batch_size)
    clock = _Clock()
    trainer = Trainer(
        TrainConfig(
            model, dataset="mnist", data_dir=data, steps=warmup + timed_steps, batch_size=batch_size,
            device="cpu", precision=precision, reuse_fakes=reuse_fakes, seed=seed, out=out, quiet=True,
            log_every=warmup, sample_every=10**9, checkpoint_every=10**9,
        ),
        reporter=clock,
    )
    trainer.run()
    elapsed = clock.times[warmup + timed_steps] - clock.times[warmup]
    return {
        "images_per_s": timed_steps * batch_size / elapsed,
        "generator": trainer.generator,
        "images": timed_steps * batch_size,
    }


# ---------------------------------------------------------------- quality
def quality(generator: nn.Module, real: torch.Tensor, classifier: Any, seed: int) -> str:
    from ganzoo.metrics.fid import fid

    generator.eval()
    noise = torch.randn(len(real), LATENT, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        fake = generator(noise).float().reshape(-1, 1, 28, 28).clamp(-1, 1)
    fake_features, fake_logits = classifier.extract(fake)
    real_features, _ = classifier.extract(real)
    shares = torch.bincount(fake_logits.argmax(1), minlength=10).float() / len(fake)
    return f"FID {fid(fake_features, real_features):7.1f}  classes {int((shares >= 0.05).sum())}/10"


def real_digits(data: str, count: int) -> torch.Tensor:
    from torchvision import datasets

    test = datasets.MNIST(data, train=False, download=False)
    return test.data[:count].unsqueeze(1).float().div(127.5).sub(1)


GANZOO_CONFIGS = {  # name: (precision, reuse_fakes)
    "ganzoo fp32": ("fp32", False),
    "ganzoo fp32 reuse": ("fp32", True),
    "ganzoo bf16 reuse": ("bf16", True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder holding MNIST/raw")
    parser.add_argument("--images-mlp", type=int, default=60_000)
    parser.add_argument("--images-dcgan", type=int, default=30_000)
    parser.add_argument("--warmup", type=int, default=20, help="steps excluded from the timing")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; medians are shown")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="mlp,dcgan", help="comma-separated: mlp, dcgan")
    parser.add_argument("--no-quality", action="store_true", help="skip the FID / class check")
    parser.add_argument(
        "--system-allocator", action="store_true", help="run both loops without ganzoo's CPU allocator setting"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.system_allocator:
        os.environ[OPT_OUT_ENV] = "system"  # the trainer then leaves glibc alone too
    allocator = tune_cpu_allocator()  # before either loop: the textbook loop runs under the same setting

    classifier = None
    real = None
    if not args.no_quality:
        with contextlib.suppress(Exception):
            from ganzoo_plugins.extractors.mnist_classifier import build

            classifier = build("cpu")
            real = real_digits(args.data, 2000)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, warm-up {args.warmup} steps excluded, "
        f"median of {args.rounds} interleaved rounds\nCPU: {describe_hardware(torch.device('cpu'))}; "
        f"torch's CPU capability: {cpu_bf16().describe()}\nboth loops: {allocator}"
    )
    cases = {
        "mlp": ("mlp-gan", args.images_mlp, 64),
        "dcgan": ("dcgan-mnist", args.images_dcgan, 128),
    }
    with tempfile.TemporaryDirectory() as folder:
        for key in args.models.split(","):
            key = key.strip()
            model, images, batch_size = cases[key]
            print(f"\n{model}: {images} images at batch {batch_size}", flush=True)
            speeds: dict[str, list[float]] = {"textbook": [], **{name: [] for name in GANZOO_CONFIGS}}
            quality_of: dict[str, str] = {}
            for round_index in range(args.rounds):
                results = {"textbook": textbook_loop(key, args.data, images, batch_size, args.warmup, args.seed)}
                for name, (precision, reuse) in GANZOO_CONFIGS.items():
                    out = Path(folder) / f"{model}-{name.replace(' ', '-')}-{round_index}"
                    results[name] = ganzoo_loop(
                        model, args.data, images, batch_size, args.warmup, args.seed, precision, reuse, out
                    )
                for name, result in results.items():
                    speeds[name].append(result["images_per_s"])
                    if round_index == 0 and classifier is not None and real is not None:
                        quality_of[name] = quality(result["generator"], real, classifier, args.seed)
                print(
                    f"  round {round_index + 1}: "
                    + ", ".join(f"{name} {result['images_per_s']:.0f}" for name, result in results.items()),
                    flush=True,
                )
            base = statistics.median(speeds["textbook"])
            for name, values in speeds.items():
                speed = statistics.median(values)
                line = f"  {name:<18} {speed:8.0f} images/s  {speed / base:5.2f}x"
                if name in quality_of:
                    line += "   " + quality_of[name]
                print(line, flush=True)


if __name__ == "__main__":
    main()
