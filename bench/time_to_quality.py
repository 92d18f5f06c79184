"""Time-to-quality benchmark: wall time for dcgan-mnist to first reach FID <= 20, ganzoo against the textbook.

Speed alone (``train_speed.py``) says nothing about how soon a run is *good*. Here both loops train
the same DCGAN on real MNIST in this one process, interleaved in chunks of ``--every`` steps so that
the machine's drift hits both alike: ganzoo's real trainer (``ganzoo.training.Trainer``) with the zoo's
recipe (``--ganzoo-args``, by default the flags of the command recorded for the shipped ``dcgan-mnist.mnist``
weights: today the relativistic pairing loss with R1/R2 gamma 0.1 every 4 steps, the EMA, batch 64),
and the textbook loop of ``train_speed.py`` (torchvision ``MNIST`` + ``DataLoader``, ``Sigmoid`` +
``BCELoss``, Adam 2e-4 (0.5, 0.999), batch 128, G reusing D's fakes). After every chunk each generator
is scored with ganzoo's evaluation protocol (``ganzoo.metrics.evaluate``: ``--n`` samples, default
10,000, against the MNIST test split in ``mnist-classifier`` feature space, seed 0); the scoring is not
timed.

The table gives, per loop, the training seconds (and steps) at which FID first fell to ``--target``.
The run stops once both have reached it, or once ganzoo has and the textbook has trained for twice
ganzoo's time without reaching it (the target, half the textbook's time, is then met whatever the
textbook would do later), or at ``--max-steps``.

    python bench/time_to_quality.py --data ../shared/data [--every 500] [--target 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import LATENT, textbook_dcgan

from ganzoo.training import Callback, TrainConfig, Trainer

BATCH = 128
# the ganzoo train flags the race passes on to its TrainConfig: flag -> (field, type; None for a switch)
RECIPE_FLAGS: dict[str, tuple[str, Any]] = {
    "--loss": ("loss", str), "--r1-gamma": ("r1_gamma", float), "--r2-gamma": ("r2_gamma", float),
    "--reg-every": ("reg_every", int), "--ema": ("ema", float), "--augment": ("augment", str),
    "--batch-size": ("batch_size", int), "--reuse-fakes": ("reuse_fakes", None),
}


class TextbookLoop:
    """The textbook loop as a resumable object: :meth:`train` runs ``steps`` more steps and times them."""

    def __init__(self, data: str, seed: int):
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        torch.manual_seed(seed)
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
        self.loader = DataLoader(datasets.MNIST(data, train=True, download=False, transform=transform),
                                 batch_size=BATCH, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.generator, self.discriminator = textbook_dcgan()
        self.criterion = nn.BCELoss()
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.seconds = 0.0
        self.steps = 0

    def _next(self) -> torch.Tensor:
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def train(self, steps: int) -> None:
        self.generator.train()
        start = time.perf_counter()
        for _ in range(steps):
            real = self._next()
            count = real.size(0)
            valid, fake_target = torch.ones(count), torch.zeros(count)
            self.discriminator.zero_grad()
            loss_real = self.criterion(self.discriminator(real).view(-1), valid)
            fake = self.generator(torch.randn(count, LATENT))
            loss_fake = self.criterion(self.discriminator(fake.detach()).view(-1), fake_target)
            (loss_real + loss_fake).backward()
            self.opt_d.step()
            self.generator.zero_grad()
            self.criterion(self.discriminator(fake).view(-1), valid).backward()
            self.opt_g.step()
        self.seconds += time.perf_counter() - start
        self.steps += steps


def fid_of(generator: nn.Module, data: str, n: int) -> float:
    """ganzoo's protocol: ``n`` samples against the MNIST test split, mnist-classifier features, seed 0."""
    from ganzoo.metrics import evaluate

    was_training = generator.training
    generator.eval()

    def sampler(count: int, labels: Any) -> torch.Tensor:
        with torch.no_grad():
            return generator(torch.randn(count, LATENT)).float().reshape(-1, 1, 28, 28)

    try:
        result = evaluate(sampler, dataset="mnist", data_dir=data, n=n, extractor="mnist-classifier", seed=0)
    finally:
        generator.train(was_training)
    return float(result.metrics["fid"])


class Race(Callback):
    """Every ``every`` ganzoo steps: pause ganzoo's clock, score it, run the textbook as far, score it."""

    def __init__(self, textbook: TextbookLoop, args: argparse.Namespace):
        self.textbook, self.args = textbook, args
        self.ganzoo_seconds = 0.0
        self.reached: dict[str, tuple[float, int, float] | None] = {"ganzoo": None, "textbook": None}
        self.rows: list[str] = []
        self.last = time.perf_counter()

    def on_train_start(self, run: Any) -> None:
        self.last = time.perf_counter()

    def on_step_end(self, run: Any) -> None:
        if run.step % self.args.every:
            return
        self.ganzoo_seconds += time.perf_counter() - self.last
        ganzoo_fid = fid_of(run.sampler, self.args.data, self.args.n)
        if self.reached["ganzoo"] is None and ganzoo_fid <= self.args.target:
            self.reached["ganzoo"] = (self.ganzoo_seconds, run.step, ganzoo_fid)
        textbook_fid = None
        if self.reached["textbook"] is None:
            self.textbook.train(self.args.every)
            textbook_fid = fid_of(self.textbook.generator, self.args.data, self.args.n)
            if textbook_fid <= self.args.target:
                self.reached["textbook"] = (self.textbook.seconds, self.textbook.steps, textbook_fid)
        book = f"FID {textbook_fid:6.2f}" if textbook_fid is not None else "(done)"
        line = (f"step {run.step:6d}  ganzoo {self.ganzoo_seconds:7.0f} s FID {ganzoo_fid:6.2f}   textbook "
                f"{self.textbook.seconds:7.0f} s {book}")
        print(line, flush=True)
        self.rows.append(line)
        if self._settled():
            run.outcome = "interrupted"  # the trainer stops after this step, with a checkpoint
        self.last = time.perf_counter()

    def _settled(self) -> bool:
        ganzoo, textbook = self.reached["ganzoo"], self.reached["textbook"]
        if ganzoo is None:
            return False
        return textbook is not None or self.textbook.seconds >= 2 * ganzoo[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder holding MNIST/raw")
    parser.add_argument("--every", type=int, default=500, help="steps between two scorings of each loop")
    parser.add_argument("--target", type=float, default=20.0, help="the FID to reach")
    parser.add_argument("--n", type=int, default=10_000, help="samples per scoring")
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ganzoo-args", default=None,
                        help=f"ganzoo's recipe as ganzoo train flags among {', '.join(RECIPE_FLAGS)} (default: "
                             "those of the shipped dcgan-mnist weights' recorded command)")
    args = parser.parse_args()
    if args.ganzoo_args is None:
        args.ganzoo_args = zoo_recipe()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = _recipe(shlex.split(args.ganzoo_args))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; dcgan-mnist, textbook batch {BATCH}; "
          f"FID target {args.target} ({args.n} samples, mnist-classifier, MNIST test); "
          f"ganzoo recipe: {args.ganzoo_args}", flush=True)
    textbook = TextbookLoop(args.data, args.seed)
    race = Race(textbook, args)
    with tempfile.TemporaryDirectory() as folder:
        recipe.setdefault("batch_size", BATCH)
        config = TrainConfig("dcgan-mnist", dataset="mnist", data_dir=args.data, steps=args.max_steps,
                             device="cpu", seed=args.seed, out=Path(folder) / "run", quiet=True,
                             log_every=args.every, sample_every=10**9, checkpoint_every=10**9, **recipe)
        with contextlib.suppress(KeyboardInterrupt):  # TrainingStopped: the race was settled
            Trainer(config, callbacks=[race]).run()
    print(f"\n| loop | training time to FID <= {args.target:g} | steps | FID then |")
    print("|---|---|---|---|")
    for name in ("ganzoo", "textbook"):
        reached = race.reached[name]
        if reached is not None:
            print(f"| {name} | {reached[0]:.0f} s | {reached[1]} | {reached[2]:.2f} |")
        else:
            seconds = race.ganzoo_seconds if name == "ganzoo" else textbook.seconds
            steps = textbook.steps if name == "textbook" else args.max_steps
            print(f"| {name} | not reached in {seconds:.0f} s | > {steps} | |")
    ganzoo, book = race.reached["ganzoo"], race.reached["textbook"]
    if ganzoo is not None:
        ratio = (book[0] if book is not None else textbook.seconds) / ganzoo[0]
        bound = "" if book is not None else "at most "
        print(f"\nganzoo reached it in {bound}1/{ratio:.2f} of the textbook's time")


def zoo_recipe() -> str:
    """The flags among :data:`RECIPE_FLAGS` of the command that trained the shipped ``dcgan-mnist`` weights,
    read from their record, so that the race runs the recipe the zoo ships and not a copy of it."""
    import ganzoo

    command = shlex.split(ganzoo.get_model_spec("dcgan-mnist").weights[0].recipe.splitlines()[0])
    kept = []
    for position, word in enumerate(command):
        if word in RECIPE_FLAGS:
            kept += [word] if RECIPE_FLAGS[word][1] is None else [word, command[position + 1]]
    return shlex.join(kept)


def _recipe(words: list[str]) -> dict[str, Any]:
    """``--ema 10000 --augment ada ...`` as TrainConfig fields."""
    recipe: dict[str, Any] = {}
    position = 0
    while position < len(words):
        flag = words[position]
        if flag not in RECIPE_FLAGS:
            raise SystemExit(f"--ganzoo-args: {flag} is not one of {', '.join(RECIPE_FLAGS)}")
        name, kind = RECIPE_FLAGS[flag]
        if kind is None:
            recipe[name] = True
            position += 1
        else:
            recipe[name] = kind(words[position + 1])
            position += 2
    return recipe


if __name__ == "__main__":
    main()
