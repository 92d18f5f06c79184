"""``ganzoo sample MODEL_OR_PATH``: draw samples from a pretrained generator into a PNG grid.

MODEL_OR_PATH follows ``ganzoo.load``'s explicit rules: a bare word (``dcgan-mnist``,
``dcgan-mnist.mnist``) is always a zoo name; a path must look like one (``./run/export``,
``runs/mnist``, ``~/x``, or ``path:NAME``); ``http(s)://`` and ``file://`` are URLs, ``hf://OWNER/REPO``
a Hugging Face Hub repository. So a
folder that happens to be called ``dcgan-mnist`` never replaces the zoo model.

Only torch and the loading code are imported (no torchvision, no trainer), and only once
the command runs, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

import typer

from ..errors import ConfigError
from ..ranges import COUNT, SEED, TRUNCATION, NumberRange, check_numbers
from .common import complete_model, user_errors

__all__ = ["parse_labels", "register"]

WALK_KEYS = 4
"""Seeds each ``--gif`` walk passes through before it returns to its first."""
WALK_STEPS = 12
"""Frames from one seed of a walk to the next."""
WALK_FRAME_MS = 80


def parse_labels(text: str | None, count: int, classes: int | None = None) -> list[int] | None:
    """``"0,1,2"`` -> labels for ``count`` samples, the list repeated in turn (``"3"``: all threes); with
    ``classes`` (a conditional model's), each label is held to ``0..classes-1`` in a message naming --labels."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise ConfigError(f"--labels takes comma-separated class numbers such as 0,1,2, got {text!r}") from None
    if not values:
        raise ConfigError("--labels is empty: give class numbers such as 0,1,2")
    if classes:
        check_numbers(("--labels", value, NumberRange(low=0, high=classes - 1, integer=True)) for value in values)
    return [values[i % len(values)] for i in range(count)]


def _interpolation(model: Any, rows: int, steps: int, seed: int, labels: str | None) -> tuple[Any, Any]:
    """Latents and labels of ``rows`` spherical paths of ``steps`` points, row ``i`` from seed+2i to seed+2i+1."""
    import torch

    from ..sampling import slerp

    paths = [
        slerp(model.latents(1, seed=seed + 2 * row)[0], model.latents(1, seed=seed + 2 * row + 1)[0], steps)
        for row in range(rows)
    ]
    z = torch.cat(paths)
    if model.num_classes is None:
        return z, model.class_labels(len(z), parse_labels(labels, len(z)))
    row_labels = parse_labels(labels, rows, model.num_classes) or [row % model.num_classes for row in range(rows)]
    return z, model.class_labels(len(z), [label for label in row_labels for _ in range(steps)])


def register(app: typer.Typer) -> None:
    """Add ``ganzoo sample`` to ``app``."""

    @app.command("sample")
    @user_errors
    def sample(
        source: str = typer.Argument(
            ...,
            metavar="MODEL_OR_PATH",
            help="A zoo name (dcgan-mnist, dcgan-mnist.mnist), a path (./run/export, path:NAME), a URL, hf://OWNER/REPO.",
            autocompletion=complete_model,
        ),
        count: int = typer.Option(64, "-n", "--num", min=1, help="How many samples to draw."),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="The PNG grid to write (default samples.png; with --gif only if given)."
        ),
        seed: int | None = typer.Option(
            None, "--seed", min=0, help="Random seed; the same seed draws the same samples. Default: a new one."
        ),
        labels: str | None = typer.Option(
            None,
            "--labels",
            help="Classes for a conditional model, e.g. 0,1,2 (repeated to fill -n). Default: every class in turn.",
        ),
        interpolate: bool = typer.Option(
            False, "--interpolate", help="Rows of spherical interpolations between two random latents each."
        ),
        gif: Path | None = typer.Option(
            None, "--gif", metavar="FILE",
            help=f"With --interpolate: an animated GIF of -n looping latent walks, each through {WALK_KEYS} seeds "
            "(a conditional model's within its class, see --labels).",
        ),
        nrow: int | None = typer.Option(
            None, "--nrow", min=1, help="Images per row (default: a square grid; the classes for a conditional model)."
        ),
        truncation: float | None = typer.Option(
            None, "--truncation",
            help="Redraw latent values beyond +-T (e.g. 1.0; at least 0.04): less variety, cleaner samples.",
        ),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N, mps or auto."),
        individual: Path | None = typer.Option(
            None, "--save-individual", metavar="DIR", help="Also write every sample as its own PNG in DIR."
        ),
        tensor: Path | None = typer.Option(
            None, "--tensor", metavar="FILE", help="Also write samples, latents and labels to a .safetensors file."
        ),
        cache_dir: Path | None = typer.Option(
            None, "--cache-dir", help="Where downloaded weights are kept (default: $GANZOO_CACHE_DIR)."
        ),
        offline: bool = typer.Option(False, "--offline", help="Never download: use packaged or cached weights."),
    ) -> None:
        """Draw samples from a pretrained model and write them as a PNG grid.

        Examples: ganzoo sample dcgan-mnist -n 64 -o digits.png --seed 0;
        ganzoo sample cgan-mnist --labels 7 -n 16; ganzoo sample ./runs/faces/export --interpolate;
        ganzoo sample dcgan-mnist --interpolate --gif walk.gif -n 16.
        """
        from ..hub import load
        from ..imaging import save_grid, save_samples
        from ..outputs import check_output_file, check_output_folder, make_folder

        check_numbers([("-n", count, COUNT), ("--seed", seed, SEED), ("--nrow", nrow, COUNT),
                       ("--truncation", truncation, TRUNCATION)])
        if interpolate and truncation is not None:
            raise ConfigError("--truncation applies to random samples, not to --interpolate")
        if gif is not None and not interpolate:
            raise ConfigError("--gif writes an animated latent walk: add --interpolate")
        if output is None and gif is None:
            output = Path("samples.png")
        model = load(source, device=device, cache_dir=cache_dir, download=not offline)
        shape = model.sample_shape
        is_image = len(shape) == 3
        drawable = is_image or (len(shape) == 1 and shape[0] >= 2)  # images: a grid; points: a scatter plot
        if not drawable and tensor is None:
            raise ConfigError(f"{model.name} draws samples of shape {shape}, which no picture shows; use --tensor FILE")
        if gif is not None and not is_image:
            raise ConfigError(f"{model.name} draws points, not images: --gif needs an image model")
        if individual is not None and not is_image:
            raise ConfigError(f"{model.name} draws points, not images: --save-individual needs an image model")
        # every output is checked before any sample is drawn: one line naming the path and the problem
        if drawable and output is not None:
            check_output_file(output, what="-o/--output")
        if gif is not None:
            check_output_file(gif, what="--gif")
        if individual is not None:
            check_output_folder(individual, what="--save-individual")
        if tensor is not None:
            check_output_file(tensor, what="--tensor")
        seed = secrets.randbelow(2**31) if seed is None else seed
        square = max(1, math.ceil(math.sqrt(count)))
        by_class = model.num_classes if model.num_classes and labels is None else None
        written = []
        if gif is not None:
            _write_walk(gif, model, count, seed, labels, nrow or by_class or square)
            written.append(f"{gif} (a walk of {count} images through {WALK_KEYS} seeds each)")
            if output is None and individual is None and tensor is None:
                typer.echo(f"wrote {', '.join(written)} from {model.name} (seed {seed})")
                return
        if interpolate:
            columns = nrow or 8
            z, label_tensor = _interpolation(model, max(1, math.ceil(count / columns)), columns, seed, labels)
        else:
            columns = nrow or by_class or square
            z = model.latents(count, seed=seed, truncation=truncation)
            label_tensor = model.class_labels(count, parse_labels(labels, count, model.num_classes))
        images = model.decode(z, label_tensor)
        if drawable and output is not None:
            written.append(str(save_samples(images, output, nrow=columns, title=f"{model.name}, seed {seed}")))
        if individual is not None:
            make_folder(individual, what="--save-individual")
            width = max(4, len(str(len(images) - 1)))
            for index, image in enumerate(images):
                suffix = f"_class{int(label_tensor[index])}" if label_tensor is not None else ""
                save_grid(image[None], individual / f"{index:0{width}d}{suffix}.png", nrow=1, padding=0)
            written.append(f"{individual}/")
        if tensor is not None:
            _write_tensor(tensor, images, z, label_tensor, model=model.name, seed=seed, truncation=truncation)
            written.append(str(tensor))
        kind = "images" if is_image else "samples"
        typer.echo(f"wrote {len(images)} {kind} from {model.name} (seed {seed}) to {', '.join(written)}")


def _write_walk(path: Path, model: Any, count: int, seed: int, labels: str | None, columns: int) -> Path:
    """``count`` looping walks through :data:`WALK_KEYS` seeds each, tiled ``columns`` wide, as one GIF."""
    from ..animation import frame_durations, grid_frame, save_gif

    scale = 2 if model.sample_shape[-1] < 48 else 1
    walk_labels = parse_labels(labels, count, model.num_classes)
    frames = [
        grid_frame(images, nrow=columns, scale=scale)
        for images in model.walk(count, seed=seed, keys=WALK_KEYS, steps=WALK_STEPS, labels=walk_labels)
    ]
    durations = frame_durations(len(frames), longest=WALK_FRAME_MS)
    return save_gif(frames, path, durations=durations, comment=f"{model.name} walk, seed {seed}")


def _write_tensor(path: Path, images: Any, z: Any, labels: Any, **facts: Any) -> None:
    """``samples``, ``latents`` and (conditional models) ``labels``, with how they were drawn as metadata."""
    import json

    from safetensors.torch import save_file

    from ..files import write_atomic

    tensors = {"samples": images.contiguous(), "latents": z.contiguous()}
    if labels is not None:
        tensors["labels"] = labels.contiguous()
    metadata = {key: json.dumps(value) for key, value in facts.items()}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    write_atomic(path, lambda file: save_file(tensors, file.name, metadata=metadata), size=size)
