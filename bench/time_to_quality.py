"""Time-to-quality race: the training time each loop takes to first reach FID targets on MNIST, in one process.

Speed alone (``train_speed.py``) says nothing about how soon a run is *good*. Here several training loops
run in this one process, interleaved in chunks (of ``--every`` steps, or ``--every-seconds`` of training)
so that the machine's drift hits them alike, and after every chunk each loop's generator is scored with
ganzoo's evaluation protocol (``ganzoo.metrics.evaluate``: ``--n`` samples, default 10,000, against the
MNIST test split in ``mnist-classifier`` feature space, seed 0; the scoring is not timed, and it draws
nothing from the training's random streams).

A loop is ``NAME=SPEC`` (``--loop``, repeatable):

* ``textbook``: the textbook DCGAN loop of ``train_speed.py`` (torchvision ``MNIST`` + ``DataLoader``,
  ``Sigmoid`` + ``BCELoss``, Adam 2e-4 (0.5, 0.999), batch 128, the generator reusing D's fakes);
* ``zoo:MODEL``: ganzoo's trainer with the recipe recorded for ``MODEL``'s shipped weights (the first
  command of their record), so the race runs what the zoo ships and not a copy of it;
* ``train:MODEL FLAGS...``: ganzoo's trainer with a ``ganzoo train`` command line, parsed by the CLI
  itself (every option of ``ganzoo train``; the race sets the data, seed, device, output folder, length
  and intervals itself, and refuses those flags).

The default is the race of docs/performance.md, ``--loop ganzoo=zoo:dcgan-mnist --loop textbook=textbook``;
``--ganzoo-args FLAGS`` replaces the first loop's recipe with ``train:dcgan-mnist FLAGS``.

``--scored-run NAME=RUN --checkpoints FILE...`` adds a run trained apart (a zoo run, with copies of its
``last.pt`` kept as it wrote them) to the table: each checkpoint's generator (its moving average when the run
keeps one) is scored with the same protocol, and its training time is the run's ``log.jsonl`` time at the
checkpoint's step. Such a run did not share the race's process, so its times are comparable only where it
ran under the same conditions (threads, other jobs on the machine); the report says which times are whose.

The table gives, per loop and per ``--target`` (repeatable; default 20), the training seconds, steps and
images at which FID first fell to it. A loop stops once it has reached every target, at ``--max-steps``
or ``--max-seconds`` of training, or once each target it has not reached was reached by another loop in
``t`` seconds and it has trained for ``--give-up`` (default 2) times ``t`` (it then took at least that
much longer, whatever it would do later).

    python bench/time_to_quality.py --data ../shared/data --threads 1
    python bench/time_to_quality.py --data ../shared/data --threads 1 --loop dcgan-mnist=zoo:dcgan-mnist \\
        --loop r3gan=zoo:r3gan --target 20 --target 10 --every-seconds 120 --max-seconds 3000
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

BATCH = 128
RACE_SETS = ("--out", "--data", "--dataset", "--steps", "--epochs", "--seed", "--device", "--resume", "--nproc",
             "--sample-every", "--checkpoint-every", "--log-every", "--eval-every", "--quiet", "--init-from")
"""``ganzoo train`` flags a loop's recipe may not give: the race sets them the same for every loop."""
NEVER = 10**9


class TextbookLoop:
    """The textbook loop, one step at a time."""

    recipe = "textbook DCGAN (BCELoss, Adam 2e-4 (0.5, 0.999), batch 128)"
    latent_dim = LATENT

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
        self.steps = self.images = 0

    def _next(self) -> torch.Tensor:
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def step(self) -> None:
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
        self.steps += 1
        self.images += count

    @contextlib.contextmanager
    def sampling(self) -> Any:
        was_training = self.generator.training
        self.generator.eval()
        try:
            yield lambda z, labels: self.generator(z)
        finally:
            self.generator.train(was_training)

    def close(self) -> None:
        pass


class GanzooLoop:
    """ganzoo's trainer on a recipe, stepped here as :class:`ganzoo.training.Trainer` steps it (the train
    step, which also updates the EMA, then the counters and the schedules); nothing is written but the lock."""

    def __init__(self, name: str, words: list[str], args: argparse.Namespace, folder: Path):
        from ganzoo.training import TrainConfig, Trainer
        from ganzoo.training.callbacks.builtin import ApplySchedules

        self.recipe = "ganzoo train " + shlex.join(words)
        fields = config_fields(words)
        fields.update(dataset="mnist", data_dir=args.data, steps=args.max_steps, epochs=None, device="cpu",
                      seed=args.seed, out=folder / name, quiet=True, log_every=NEVER, sample_every=NEVER,
                      checkpoint_every=NEVER)
        config = TrainConfig(**fields, command=self.recipe)
        self.trainer = Trainer(config).prepare()
        self.run = self.trainer.state
        self.latent_dim = self.run.noise.latent_dim
        self.schedules = ApplySchedules()
        self.run.counters.start_session()

    @property
    def steps(self) -> int:
        return self.run.counters.step

    @property
    def images(self) -> int:
        return self.run.counters.images_seen

    def step(self) -> None:
        run = self.run
        run.window.add(run.train_step(run.counters.step), run.train_step.images)
        run.counters.step += 1
        run.counters.images_seen += run.train_step.images
        self.schedules.on_step_end(run)

    @contextlib.contextmanager
    def sampling(self) -> Any:
        with self.run.sampling() as generator:
            yield generator

    def close(self) -> None:
        self.trainer.close()


def config_fields(words: list[str]) -> dict[str, Any]:
    """``MODEL FLAGS...`` as ``TrainConfig`` fields, parsed by ``ganzoo train``'s own options."""
    from typer.main import get_command

    from ganzoo.cli.app import build_app
    from ganzoo.cli.train import config_values

    for word in words:
        if word.split("=", 1)[0] in RACE_SETS:
            raise SystemExit(f"--loop: {word.split('=', 1)[0]} is set by the race for every loop; leave it out")
    command = get_command(build_app()).commands["train"]  # type: ignore[attr-defined]
    try:
        context = command.make_context("train", list(words))
    except Exception as error:  # click's usage errors: one line
        raise SystemExit(f"--loop: {shlex.join(words)!r} is not a ganzoo train command: {error}") from None
    return config_values(context.params)


def zoo_recipe(model: str) -> list[str]:
    """``MODEL FLAGS...`` of the first command recorded for ``model``'s shipped weights, less what the race sets."""
    import ganzoo

    weights = ganzoo.get_model_spec(model).weights
    if not weights:
        raise SystemExit(f"--loop: {model} ships no weights, so it has no recorded recipe; give train:{model} FLAGS")
    command = shlex.split(weights[0].recipe.splitlines()[0])
    words = command[command.index("train") + 1:] if "train" in command else command
    kept, position = [], 0
    while position < len(words):
        word = words[position]
        takes_value = position + 1 < len(words) and not words[position + 1].startswith("--")
        if word.split("=", 1)[0] in RACE_SETS:
            position += 2 if takes_value and "=" not in word else 1
            continue
        kept.append(word)
        position += 1
    return kept


def build_loop(name: str, spec: str, args: argparse.Namespace, folder: Path) -> Any:
    if spec == "textbook":
        return TextbookLoop(args.data, args.seed)
    kind, _, rest = spec.partition(":")
    if kind == "zoo" and rest:
        return GanzooLoop(name, zoo_recipe(rest), args, folder)
    if kind == "train" and rest:
        return GanzooLoop(name, shlex.split(rest), args, folder)
    raise SystemExit(f"--loop {name}={spec}: give textbook, zoo:MODEL or train:MODEL FLAGS...")


def fid_of(loop: Any, data: str, n: int) -> float:
    """ganzoo's protocol: ``n`` samples against the MNIST test split, mnist-classifier features, seed 0."""
    from ganzoo.metrics import evaluate
    from ganzoo.training.callbacks.snapshot_metrics import isolated_rng

    with isolated_rng(torch.device("cpu")), loop.sampling() as generator, torch.no_grad():
        def sampler(count: int, labels: Any) -> torch.Tensor:
            return generator(torch.randn(count, loop.latent_dim), labels).float().reshape(-1, 1, 28, 28)

        result = evaluate(sampler, dataset="mnist", data_dir=data, n=n, extractor="mnist-classifier", seed=0)
    return float(result.metrics["fid"])


class Entrant:
    """One loop in the race: its clock, its last score and when it first reached each target."""

    def __init__(self, name: str, loop: Any, targets: list[float]):
        self.name, self.loop = name, loop
        self.seconds = 0.0
        self.fid: float | None = None
        self.reached: dict[float, tuple[float, int, int, float] | None] = dict.fromkeys(targets)
        self.stopped = ""

    def train(self, args: argparse.Namespace) -> None:
        start = time.perf_counter()
        done = 0
        while self.loop.steps < args.max_steps:
            self.loop.step()
            done += 1
            elapsed = time.perf_counter() - start
            if (args.every and done >= args.every) or (not args.every and elapsed >= args.every_seconds):
                break
            if args.max_seconds and self.seconds + elapsed >= args.max_seconds:
                break
        self.seconds += time.perf_counter() - start

    def score(self, args: argparse.Namespace) -> None:
        self.note_score(fid_of(self.loop, args.data, args.n))

    def note_score(self, fid: float) -> None:
        """Take ``fid`` as the loop's score now, and note each target it reaches first."""
        self.fid = fid
        for target, reached in self.reached.items():
            if reached is None and fid <= target:
                self.reached[target] = (self.seconds, self.loop.steps, self.loop.images, fid)

    def settle(self, field: list[Entrant], args: argparse.Namespace) -> None:
        """Stop this loop when nothing more can be learnt from it (see the module docstring)."""
        missing = [target for target, reached in self.reached.items() if reached is None]
        if not missing:
            self.stopped = "reached every target"
        elif self.loop.steps >= args.max_steps:
            self.stopped = f"--max-steps {args.max_steps}"
        elif args.max_seconds and self.seconds >= args.max_seconds:
            self.stopped = f"--max-seconds {args.max_seconds:g}"
        elif all(any(other.reached[target] is not None and self.seconds >= args.give_up * other.reached[target][0]
                     for other in field if other is not self) for target in missing):
            self.stopped = f"trained {args.give_up:g}x as long as a loop that reached its missing targets"


class _Counted:
    """What the report reads of a loop (steps and images), for a run scored from its checkpoints."""

    def __init__(self, steps: int, images: int):
        self.steps, self.images = steps, images


class ScoredRun(Entrant):
    """A run trained apart, scored from its kept checkpoints, each at the time the run logged for its step."""

    def __init__(self, name: str, run: Path, files: list[str], targets: list[float], args: argparse.Namespace):
        from face_features import checkpoint_generator

        super().__init__(name, _Counted(0, 0), targets)
        self.stopped = "scored from its checkpoints"
        times = _log_times(run / "log.jsonl")
        scored = sorted(((*checkpoint_generator(path), path) for path in files), key=lambda item: item[0])
        if not scored:
            raise SystemExit(f"--scored-run {name}: give its checkpoints with --checkpoints FILE...")
        for step, loaded, path in scored:
            self.seconds = _time_at(times, step, run)
            self.loop = _Counted(step, loaded.metadata["images_seen"])
            self.note_score(fid_of(_Frozen(loaded), args.data, args.n))
            print(f"{name:>12}  {self.seconds:7.0f} s  step {step:7d}  images {self.loop.images:9d}  "
                  f"FID {self.fid:7.2f}  ({Path(path).name})", flush=True)


class _Frozen:
    """A loaded generator in the shape :func:`fid_of` samples from."""

    def __init__(self, loaded: Any):
        self.loaded, self.latent_dim = loaded, loaded.latent_dim

    @contextlib.contextmanager
    def sampling(self) -> Any:
        self.loaded.generator.eval()
        yield self.loaded.generator


def _log_times(log: Path) -> list[tuple[int, float]]:
    import json

    try:
        lines = log.read_text().splitlines()
    except OSError as error:
        raise SystemExit(f"--scored-run: cannot read {log} ({error.strerror}); name the run folder") from None
    records = [json.loads(line) for line in lines if line.strip()]
    return sorted((int(r["step"]), float(r["time"])) for r in records if "time" in r and "step" in r)


def _time_at(times: list[tuple[int, float]], step: int, run: Path) -> float:
    """The run's training time at ``step``: interpolated between the log records around it."""
    before = [(s, t) for s, t in times if s <= step]
    after = [(s, t) for s, t in times if s >= step]
    if not before or not after:
        raise SystemExit(f"--scored-run: {run}/log.jsonl has no record around step {step}")
    (s0, t0), (s1, t1) = before[-1], after[0]
    return t0 if s1 == s0 else t0 + (t1 - t0) * (step - s0) / (s1 - s0)


def race(entrants: list[Entrant], args: argparse.Namespace) -> None:
    while any(not entrant.stopped for entrant in entrants):
        for entrant in entrants:
            if entrant.stopped:
                continue
            entrant.train(args)
            entrant.score(args)
            print(f"{entrant.name:>12}  {entrant.seconds:7.0f} s  step {entrant.loop.steps:7d}  "
                  f"images {entrant.loop.images:9d}  FID {entrant.fid:7.2f}", flush=True)
        for entrant in entrants:
            if not entrant.stopped:
                entrant.settle(entrants, args)


def report(entrants: list[Entrant], targets: list[float]) -> None:
    print("\n| loop | target FID | training time | steps | images | FID then |")
    print("|---|---|---|---|---|---|")
    for target in targets:
        for entrant in entrants:
            reached = entrant.reached[target]
            if reached is None:
                print(f"| {entrant.name} | {target:g} | not reached in {entrant.seconds:.0f} s | "
                      f"> {entrant.loop.steps} | > {entrant.loop.images} | {entrant.fid:.2f} at the end |")
            else:
                seconds, steps, images, fid = reached
                print(f"| {entrant.name} | {target:g} | {seconds:.0f} s | {steps} | {images} | {fid:.2f} |")
    print()
    for target in targets:
        done = sorted((e.reached[target][0], e.name) for e in entrants if e.reached[target] is not None)
        if not done:
            print(f"FID {target:g}: no loop reached it")
            continue
        first_seconds, first = done[0]
        for entrant in entrants:
            if entrant.name == first:
                continue
            reached = entrant.reached[target]
            other = reached[0] if reached is not None else entrant.seconds
            bound = "" if reached is not None else "at most "
            ratio = other / first_seconds
            print(f"FID {target:g}: {first} reached it in {bound}1/{ratio:.2f} of {entrant.name}'s time")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder holding MNIST/raw")
    parser.add_argument("--loop", action="append", default=None, metavar="NAME=SPEC",
                        help="a loop: textbook, zoo:MODEL or train:MODEL FLAGS (repeatable)")
    parser.add_argument("--ganzoo-args", default=None, help="the default race's ganzoo recipe as ganzoo train flags")
    chunks = parser.add_mutually_exclusive_group()
    chunks.add_argument("--every", type=int, default=None, help="steps per chunk between two scorings")
    chunks.add_argument("--every-seconds", type=float, default=120.0, help="training seconds per chunk")
    parser.add_argument("--target", type=float, action="append", default=None, help="an FID to reach (repeatable)")
    parser.add_argument("--n", type=int, default=10_000, help="samples per scoring")
    parser.add_argument("--max-steps", type=int, default=20_000, help="steps per loop at most")
    parser.add_argument("--max-seconds", type=float, default=None, help="training seconds per loop at most")
    parser.add_argument("--give-up", type=float, default=2.0, help="see the module docstring")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scored-run", default=None, metavar="NAME=RUN",
                        help="also score a run trained apart, from --checkpoints (see the module docstring)")
    parser.add_argument("--checkpoints", nargs="+", default=None, metavar="FILE",
                        help="the kept checkpoints of --scored-run")
    args = parser.parse_args(argv)
    if (args.scored_run is None) != (args.checkpoints is None):
        parser.error("--scored-run NAME=RUN and --checkpoints FILE... go together")
    if args.scored_run is not None and "=" not in args.scored_run:
        parser.error(f"--scored-run {args.scored_run!r}: give NAME=RUN, e.g. r3gan=runs/r3gan-mnist")
    if args.loop is not None and args.ganzoo_args is not None:
        parser.error("--ganzoo-args sets the default race's recipe; with --loop give train:MODEL FLAGS instead")
    if args.loop is None and args.scored_run is not None:
        args.loop = []
    elif args.loop is None:
        first = "zoo:dcgan-mnist" if args.ganzoo_args is None else f"train:dcgan-mnist {args.ganzoo_args}"
        args.loop = [f"ganzoo={first}", "textbook=textbook"]
    args.target = sorted(set(args.target or [20.0]), reverse=True)
    for loop in args.loop:
        if "=" not in loop or not loop.split("=", 1)[0]:
            parser.error(f"--loop {loop!r}: give NAME=SPEC, e.g. r3gan=zoo:r3gan")
    names = [loop.split("=", 1)[0] for loop in args.loop]
    if len(set(names)) != len(names):
        parser.error(f"--loop: each loop needs its own name, got {', '.join(names)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    chunk = f"{args.every} steps" if args.every else f"{args.every_seconds:g} s of training"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; FID targets "
          f"{', '.join(f'{t:g}' for t in args.target)} ({args.n} samples, mnist-classifier, MNIST test); "
          f"chunks of {chunk}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        entrants: list[Entrant] = []
        try:
            for loop in args.loop:
                name, spec = loop.split("=", 1)
                entrant = Entrant(name, build_loop(name, spec, args, Path(folder)), args.target)
                entrants.append(entrant)
                print(f"{name}: {entrant.loop.recipe}", flush=True)
            race(entrants, args)
        finally:
            for entrant in entrants:
                entrant.loop.close()
    if args.scored_run is not None:
        name, run = args.scored_run.split("=", 1)
        entrants.append(ScoredRun(name, Path(run), args.checkpoints, args.target, args))
    for entrant in entrants:
        print(f"{entrant.name} stopped: {entrant.stopped}")
    report(entrants, args.target)


if __name__ == "__main__":
    from ganzoo.errors import GanzooError

    try:
        main()
    except GanzooError as error:  # bad input: ganzoo's one line, as the CLI prints it
        raise SystemExit(f"error: {error}") from None
