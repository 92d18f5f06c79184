"""Which face feature space can be trusted: FID's spread and its baselines under two extractors.

For the shipped ``dcgan-faces.utkface`` generator (or ``--model``), in each extractor's space
(``random-conv`` and ``faces-simclr`` by default), with ``ganzoo eval``'s protocol (``n``
generated against ``n`` real faces of the fixed reference half, latents from ``--seed``):

1. **seeds**: FID for each evaluation seed (``ganzoo eval --seed S``), and mean, standard
   deviation and std/mean over the seeds; the samples of a seed are drawn once and scored
   in every space;
2. **checkpoints**: the spread over consecutive checkpoints, each scored with the first seed:
   ``--checkpoints FILE...`` scores saved training checkpoints (copies of a run's
   ``checkpoints/last.pt`` taken as it trains; the generator's moving average is scored when the
   run keeps one), and ``--chunks K`` makes them by a short fine-tuning run from the model
   (``ganzoo train MODEL --init-from MODEL.TAG``) exported every ``--chunk-steps`` steps
   (``--resume``);
3. **baselines**: the floor (real faces disjoint from the reference, as ``ganzoo eval
   --real``); the same faces with a 5% colour cast (hardly visible: a space that trusts
   faces should barely move), blurred to 32x32 and back, and blurred to 16x16 and back, and
   uniform noise (these two must score far worse than any shipped model); and the model with
   ``--truncation`` (1.0 moved random-conv FID from 0.54 to 32).

Usage (the numbers in the README and the faces-simclr card)::

    python bench/face_features.py --data ../shared/data/faces/utkface --n 5000 \\
        --seeds 0,1,2,3,4 --chunks 4 --chunk-steps 50 --json face-features.json
    python bench/face_features.py --data ../shared/data/faces/utkface --n 5000 --seeds 0   # baselines only
    python bench/face_features.py --data ../shared/data/faces/utkface --n 5000 --seeds 0 \
        --model r3gan.utkface --checkpoints kept/*.pt   # a run's consecutive checkpoints

Run it with one torch thread on a shared machine (``--threads 1``, the default). Every
FID here is a ganzoo ``evaluate`` with a registered extractor: nothing is computed another
way, so the numbers are ``ganzoo eval``'s for the same n and seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLUR_SIZE = 16
MILD_BLUR_SIZE = 32
TINT = (1.05, 1.0, 0.95)
"""A colour cast of 5% (red up, blue down): hardly visible, and no loss of detail."""
IMAGE_SIZE = 64


def _replay(images: Any) -> Any:
    """A sampler that hands out ``images`` in order: one draw of samples, scored in every space."""
    position = 0

    def sample(count: int, labels: Any) -> Any:
        nonlocal position
        batch = images[position : position + count]
        position += count
        return batch

    return sample


def _generated(model: Any, n: int, seed: int, truncation: float | None = None) -> Any:
    """The ``n`` samples ``ganzoo eval --seed SEED`` scores (the same latents, in the same order)."""
    import torch

    from ganzoo.metrics import model_sampler

    sampler = model_sampler(model, n=n, seed=seed, truncation=truncation)
    with torch.inference_mode():
        return torch.cat([sampler(min(500, n - start), None) for start in range(0, n, 500)]).clamp(-1, 1)


def _real_faces(data: str, n: int, seed: int) -> Any:
    """``n`` real faces disjoint from the reference set (as ``ganzoo eval --real`` picks them), in [-1, 1]."""
    import ganzoo
    from ganzoo.metrics.protocol import REFERENCE_SUBSET_SEED
    from ganzoo.metrics.reference import select

    faces = ganzoo.get_dataset_spec("image-folder").load(root=data, split="train", image_size=IMAGE_SIZE)
    chosen = select(len(faces), n, seed, REFERENCE_SUBSET_SEED)
    return faces.normalise(faces.samples[chosen])


def blurred(images: Any, size: int = BLUR_SIZE) -> Any:
    """``images`` downsampled to ``size`` x ``size`` (antialiased) and bilinearly back: all detail gone."""
    from torch.nn import functional as F

    small = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False).clamp(-1, 1)


def tinted(images: Any, gains: tuple[float, float, float] = TINT) -> Any:
    """``images`` with each colour channel scaled (on [0, 1] pixels): a slight colour cast, the faces intact."""
    import torch

    scale = torch.tensor(gains, dtype=images.dtype).view(1, 3, 1, 1)
    return (((images + 1) / 2 * scale).clamp(0, 1) * 2 - 1)


def noise(n: int, seed: int) -> Any:
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.rand((n, 3, IMAGE_SIZE, IMAGE_SIZE), generator=generator) * 2 - 1


def fid(images: Any, extractor: str, *, data: str, seed: int) -> float:
    from ganzoo.metrics import evaluate

    result = evaluate(_replay(images), dataset="image-folder", data_dir=data, n=len(images), seed=seed,
                      extractor=extractor, image_size=IMAGE_SIZE)
    return float(result.metrics["fid"])


def spread(values: list[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "std_over_mean": std / mean if mean else float("nan")}


def _checkpoint_exports(
    model: str, data: str, chunks: int, chunk_steps: int, batch_size: int, workdir: Path
) -> Iterator[tuple[int, Path]]:
    """The export of one short fine-tuning run after every ``chunk_steps`` steps (``--resume`` extends it).

    A generator: each export is overwritten by the next chunk, so it must be scored before
    the next is asked for.
    """
    name = model.split(".")[0]
    out = workdir / "run"
    for chunk in range(1, chunks + 1):
        steps = chunk * chunk_steps
        command = [sys.executable, "-m", "ganzoo", "train", name, "--data", data, "--steps", str(steps),
                   "--threads", "1", "--quiet", "--out", str(out)]
        command += ["--resume"] if chunk > 1 else ["--init-from", model, "--seed", "0", "--batch-size", str(batch_size),
                                                   "--checkpoint-every", str(chunk_steps)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        yield steps, out / "export"


def by_checkpoint(steps: list[int], fids: dict[str, list[float]]) -> dict[str, Any]:
    """The report's checkpoint series: the steps, and per extractor the FIDs with their spread."""
    return {"steps": steps, **{name: {"fid": values, **spread(values)} for name, values in fids.items()}}


def checkpoint_generator(path: str) -> tuple[int, Any]:
    """The step and the generator (its moving average when the run keeps one) of a training checkpoint; the
    generator's ``metadata`` holds the images the run had seen then (``images_seen``)."""
    import ganzoo
    from ganzoo.errors import WeightsError
    from ganzoo.models.creating import build_network
    from ganzoo.models.model_config import assemble_config
    from ganzoo.training.checkpoint import load_checkpoint

    state = load_checkpoint(path)  # tensors and plain data only, its top-level fields checked
    spec = ganzoo.get_model_spec(state["run"]["model"])
    config = assemble_config(spec, sources=[(path, state["model_config"])])
    generator = build_network(spec, spec.generator, config, "generator")
    try:
        ema = state["parts"].get("ema")
        generator.load_state_dict(ema["module"] if ema else state["parts"]["generator"])
        counters = state["parts"]["counters"]
        step, images = int(counters["step"]), int(counters.get("images_seen", 0))
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise WeightsError(f"{path}: not a training checkpoint of a {spec.name} generator "
                           f"({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    return step, ganzoo.PretrainedGenerator(generator, spec=spec, config=config, source=path, ema=bool(ema),
                                            metadata={"images_seen": images})


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = float(rank)
    return ranks


def ranking_agreement(series: list[list[float]]) -> dict[str, float]:
    """Whether one run's checkpoints are ranked alike under other evaluation seeds.

    ``spearman``: the mean rank correlation of each later seed's FIDs with the first seed's
    (1: the same order; near 0: picking the best checkpoint picks noise). ``signal_to_noise``:
    the spread over checkpoints (std of the first seed's FIDs) over the seed noise (the mean
    absolute difference between a later seed's FID and the first's, checkpoint by checkpoint).
    ``signal_to_shift_free_noise``: the same spread over the part of that noise that differs between
    checkpoints (the std over checkpoints of a later seed's differences from the first, averaged over
    the later seeds). Another seed draws another reference half, which can move every checkpoint's
    FID alike: that shift matters when numbers of two seeds are compared, not when one seed picks the
    best checkpoint, so both ratios are reported.
    """
    first = series[0]
    correlations = [statistics.correlation(_ranks(first), _ranks(other)) for other in series[1:]]
    noise = statistics.fmean(abs(a - b) for other in series[1:] for a, b in zip(first, other, strict=True))
    differing = statistics.fmean(statistics.pstdev([b - a for a, b in zip(first, other, strict=True)])
                                 for other in series[1:])
    spread = statistics.stdev(first)
    return {"spearman": statistics.fmean(correlations),
            "signal_to_noise": spread / noise if noise else float("inf"),
            "signal_to_shift_free_noise": spread / differing if differing else float("inf")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the face folder the model was trained on")
    parser.add_argument("--model", default="dcgan-faces.utkface")
    parser.add_argument("--extractors", default="random-conv,faces-simclr")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--truncation", type=float, default=1.0)
    parser.add_argument("--chunks", type=int, default=0, help="checkpoints of a short fine-tuning run (0: none)")
    parser.add_argument("--chunk-steps", type=int, default=50)
    parser.add_argument("--checkpoints", nargs="+", default=[], metavar="FILE",
                        help="training checkpoints of one run to score in order of their step (instead of --chunks)")
    parser.add_argument("--checkpoint-seeds", default=None, metavar="S,S",
                        help="--checkpoints: score each at these evaluation seeds (default: the first of --seeds); "
                        "two or more also report how alike the seeds rank the checkpoints")
    parser.add_argument("--batch-size", type=int, default=64, help="of the fine-tuning run (the model's recipe: 64)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write every number to this file")
    args = parser.parse_args(argv)

    import torch

    import ganzoo
    from ganzoo.errors import GanzooError

    torch.set_num_threads(max(1, args.threads))
    extractors = [name.strip() for name in args.extractors.split(",") if name.strip()]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    started = time.perf_counter()
    report: dict[str, Any] = {"model": args.model, "n": args.n, "seeds": seeds, "extractors": extractors}
    try:
        model = ganzoo.load(args.model)
        per_seed: dict[str, list[float]] = {name: [] for name in extractors}
        for seed in seeds:
            images = _generated(model, args.n, seed)
            for name in extractors:
                per_seed[name].append(fid(images, name, data=args.data, seed=seed))
        report["seeds_fid"] = {name: {"fid": values, **spread(values)} for name, values in per_seed.items()}

        real = _real_faces(args.data, args.n, seeds[0])
        baselines = {"floor (real faces)": real,
                     "real, 5% colour cast": tinted(real),
                     f"real blurred to {MILD_BLUR_SIZE}x{MILD_BLUR_SIZE}": blurred(real, MILD_BLUR_SIZE),
                     f"real blurred to {BLUR_SIZE}x{BLUR_SIZE}": blurred(real),
                     "uniform noise": noise(args.n, seeds[0]),
                     f"model, truncation {args.truncation:g}": _generated(model, args.n, seeds[0], args.truncation)}
        report["baselines_fid"] = {
            label: {name: fid(images, name, data=args.data, seed=seeds[0]) for name in extractors}
            for label, images in baselines.items()
        }
        if args.checkpoints:
            kept = sorted((checkpoint_generator(path) for path in args.checkpoints), key=lambda item: item[0])
            checkpoint_seeds = [int(seed) for seed in (args.checkpoint_seeds or str(seeds[0])).split(",")]
            by_seed: dict[int, dict[str, list[float]]] = {}
            for seed in checkpoint_seeds:
                by_seed[seed] = {name: [] for name in extractors}
                for _, checkpoint in kept:
                    images = _generated(checkpoint, args.n, seed)
                    for name in extractors:
                        by_seed[seed][name].append(fid(images, name, data=args.data, seed=seed))
            first = by_seed[checkpoint_seeds[0]]
            report["checkpoints_fid"] = by_checkpoint([step for step, _ in kept], first)
            if len(checkpoint_seeds) > 1:
                report["checkpoints_by_seed"] = {str(seed): rows for seed, rows in by_seed.items()}
                report["checkpoint_ranking"] = {name: ranking_agreement([by_seed[s][name] for s in checkpoint_seeds])
                                                for name in extractors}
        elif args.chunks:
            with tempfile.TemporaryDirectory(prefix="face-features-") as workdir:
                by_step: dict[str, list[float]] = {name: [] for name in extractors}
                steps = []
                for step, export in _checkpoint_exports(args.model, args.data, args.chunks, args.chunk_steps,
                                                        args.batch_size, Path(workdir)):
                    images = _generated(ganzoo.load(export), args.n, seeds[0])
                    steps.append(step)
                    for name in extractors:
                        by_step[name].append(fid(images, name, data=args.data, seed=seeds[0]))
            report["checkpoints_fid"] = by_checkpoint(steps, by_step)
    except (GanzooError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def format_report(report: dict[str, Any]) -> str:
    """The numbers as the README and the card quote them."""
    names = report["extractors"]
    lines = [f"{report['model']}, n={report['n']} generated vs {report['n']} real faces"]

    def spread_table(title: str, key: str, columns: list[str]) -> None:
        lines.append("")
        lines.append(f"| {title} | " + " | ".join(columns) + " | mean | std | std/mean |")
        lines.append("|---" * (len(columns) + 4) + "|")
        for name in names:
            row = report[key][name]
            lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" for v in row["fid"])
                         + f" | {row['mean']:.4g} | {row['std']:.3g} | {row['std_over_mean']:.3f} |")

    spread_table("FID by seed", "seeds_fid", [f"seed {s}" for s in report["seeds"]])
    if "checkpoints_fid" in report:
        spread_table("FID by checkpoint", "checkpoints_fid", [f"step {s}" for s in report["checkpoints_fid"]["steps"]])
    if "checkpoint_ranking" in report:
        lines.append("")
        lines.append("| checkpoints under other seeds | rank correlation (Spearman) "
                     "| spread over checkpoints / seed noise | the same, the shift shared by all checkpoints removed |")
        lines.append("|---|---|---|---|")
        for name in names:
            agreement = report["checkpoint_ranking"][name]
            lines.append(f"| {name} | {agreement['spearman']:.3f} | {agreement['signal_to_noise']:.2f} "
                         f"| {agreement['signal_to_shift_free_noise']:.2f} |")
    lines.append("")
    lines.append(f"| FID (seed {report['seeds'][0]}) | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    model_row = {name: report["seeds_fid"][name]["fid"][0] for name in names}
    lines.append(f"| {report['model']} | " + " | ".join(f"{model_row[n]:.4g}" for n in names) + " |")
    for label, row in report["baselines_fid"].items():
        lines.append(f"| {label} | " + " | ".join(
            f"{row[n]:.4g} ({row[n] / model_row[n]:.3g}x the model)" if model_row[n] else f"{row[n]:.4g}"
            for n in names) + " |")
    if "wall_seconds" in report:
        lines.append(f"\nwall {report['wall_seconds']:.0f}s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
