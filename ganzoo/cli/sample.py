"""``ganzoo sample MODEL_OR_PATH``: draw samples from a pretrained generator into a grid picture (or files).

MODEL_OR_PATH follows ``ganzoo.load``'s explicit rules: a bare word (``dcgan-mnist``,
``dcgan-mnist.mnist``) is always a zoo name; a path must look like one (``./run/export``,
``runs/mnist``, ``~/x``, or ``path:NAME``); ``http(s)://`` and ``file://`` are URLs, ``hf://OWNER/REPO``
a Hugging Face Hub repository. So a
folder that happens to be called ``dcgan-mnist`` never replaces the zoo model.

The samples are drawn and written a batch at a time (:mod:`ganzoo.io.samplefiles`), and what a
request holds at once (its latents, its picture) is checked against the memory available
before anything is drawn, so a large ``-n`` either streams to ``--save-individual`` or
``--tensor`` or is refused in one line naming the option.

Only torch and the loading code are imported (no torchvision, no trainer), and only once
the command runs, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import math
import os
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..errors import ConfigError
from ..ranges import COUNT, SEED, TRUNCATION, NumberRange, check_numbers
from .common import complete_model, user_errors

if TYPE_CHECKING:
    from ..io.imaging import GridCanvas

__all__ = ["free_name", "parse_labels", "picture_facts", "register"]

WALK_KEYS = 4
"""Seeds each ``--gif`` walk passes through before it returns to its first."""
WALK_STEPS = 12
"""Frames from one seed of a walk to the next."""
WALK_FRAME_MS = 80
DEFAULT_OUTPUT = Path("samples.png")
"""Where the grid goes without ``-o``; never overwritten (:func:`free_name`)."""
MAX_NUMBERED = 10_000


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


def free_name(path: Path) -> Path:
    """``path`` if nothing is there, else the first free ``stem-1.suffix``, ``stem-2.suffix``, ...

    The rule of the default name: ``-o FILE`` names a file the user chose, and it is replaced (as
    ``cp``, ``curl -o`` and ``torch.save`` do); ``samples.png`` is ganzoo's choice, and a second
    ``ganzoo sample`` must not silently destroy the first one's picture. Numbering (as ``wget`` and
    browsers do for downloads) rather than refusing keeps the quick command working every time,
    and the line the command prints names the file written.
    """
    if not os.path.lexists(path):
        return path
    for number in range(1, MAX_NUMBERED):
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise ConfigError(f"{path} and {path.stem}-1{path.suffix} to {path.stem}-{MAX_NUMBERED - 1}{path.suffix} all "
                      "exist: name the picture with -o FILE")


def picture_facts(
    model: str, source: str, seed: int, count: int, *, labels: str | None, truncation: float | None,
    interpolate: bool, nrow: int | None,
) -> dict[str, str]:
    """What a sample picture records about itself (its PNG text): the model, the seed and the command that
    draws the same picture again, so a picture found later can be reproduced without its terminal."""
    from .._version import __version__
    from ..errors import redact

    words = ["ganzoo", "sample", redact(source), "-n", str(count), "--seed", str(seed)]
    if labels is not None:
        words += ["--labels", labels]
    if truncation is not None:
        words += ["--truncation", str(truncation)]
    if interpolate:
        words.append("--interpolate")
    if nrow is not None:
        words += ["--nrow", str(nrow)]
    return {
        "Title": f"{model}, seed {seed}",
        "Software": f"ganzoo {__version__}",
        "seed": str(seed),
        "Comment": shlex.join(words),
    }


def _interpolation(model: Any, rows: int, steps: int, seed: int, labels: str | None) -> tuple[Any, Any]:
    """Latents and labels of ``rows`` spherical paths of ``steps`` points, row ``i`` from seed+2i to seed+2i+1."""
    import torch

    from ..models.sampling import slerp

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
            None, "-o", "--output",
            help="The grid picture to write, in the format its suffix names (.png, .jpg, ...); an existing file is "
            "replaced. Default: samples.png, or samples-1.png, samples-2.png, ... when it exists (the default "
            "never overwrites), unless --gif, --save-individual or --tensor is given. A PNG records the seed and "
            "the command that draws it again.",
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
        """Draw samples from a pretrained model and write them as a grid picture (or one file each, or a tensor).

        Examples:
          ganzoo sample dcgan-mnist -n 64 -o digits.png --seed 0
          ganzoo sample cgan-mnist --labels 7 -n 16
          ganzoo sample ./runs/faces/export --interpolate
          ganzoo sample dcgan-mnist --interpolate --gif walk.gif -n 16
        """
        from ..io.files import check_output_file, check_output_folder, make_folder
        from ..io.imaging import picture_suffixes
        from ..io.samplefiles import EachPicture, TensorFile, batch_size_for, write_batches
        from ..models import load

        check_numbers([("-n", count, COUNT), ("--seed", seed, SEED), ("--nrow", nrow, COUNT),
                       ("--truncation", truncation, TRUNCATION)])
        if interpolate and truncation is not None:
            raise ConfigError("--truncation applies to random samples, not to --interpolate")
        if gif is not None and not interpolate:
            raise ConfigError("--gif writes an animated latent walk: add --interpolate")
        if output is None and gif is None and individual is None and tensor is None:
            output = free_name(DEFAULT_OUTPUT)  # what is drawn must go somewhere, and not over an earlier picture
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
        if not drawable:
            output = None
        # every output is checked before any sample is drawn: one line naming the path and the problem; a
        # name says the format written (grid.jpg: a JPEG), so a suffix that names none is refused
        if output is not None:
            check_output_file(output, what="-o/--output", suffixes=picture_suffixes())
        if gif is not None:
            check_output_file(gif, what="--gif", suffixes=(".gif",))
        if individual is not None:
            check_output_folder(individual, what="--save-individual")
        if tensor is not None:
            check_output_file(tensor, what="--tensor", suffixes=(".safetensors",))
        seed = secrets.randbelow(2**31) if seed is None else seed
        square = max(1, math.ceil(math.sqrt(count)))
        by_class = model.num_classes if model.num_classes and labels is None else None
        columns = (nrow or 8) if interpolate else (nrow or by_class or square)
        total = columns * max(1, math.ceil(count / columns)) if interpolate else count
        title = f"{model.name}, seed {seed}"
        recorded = picture_facts(model.name, source, seed, count, labels=labels, truncation=truncation,
                                 interpolate=interpolate, nrow=nrow)
        pictures = _pictures(output, total, shape, columns, title, recorded) if output is not None else []
        walk = _walk_frames(model, count, nrow or by_class or square) if gif is not None else None
        _check_memory(model, count, total, pictures, walk, truncation)
        written = []
        if gif is not None:
            _write_walk(gif, model, count, seed, labels, nrow or by_class or square)
            written.append(f"{gif} (a walk of {count} images through {WALK_KEYS} seeds each)")
            if output is None and individual is None and tensor is None:
                typer.echo(f"wrote {', '.join(written)} from {model.name} (seed {seed})")
                return
        if interpolate:
            z, label_tensor = _interpolation(model, total // columns, columns, seed, labels)
        else:
            z = model.latents(count, seed=seed, truncation=truncation)
            label_tensor = model.class_labels(count, parse_labels(labels, count, model.num_classes))
        writers: list[Any] = list(pictures)
        if individual is not None:
            writers.append(EachPicture(make_folder(individual, what="--save-individual"), total, label_tensor))
        batches = model.decode_batches(z, label_tensor, batch_size=batch_size_for(shape))
        if tensor is not None:  # the file is written as the samples come, and hands them on to the others
            facts = {"model": model.name, "seed": seed, "truncation": truncation}
            TensorFile(tensor, total, shape, z, label_tensor, facts).write(batches, writers)
        else:
            write_batches(batches, writers)
        written += [str(writer.finish()) for writer in pictures]
        if individual is not None:
            written.append(f"{individual}/")
        if tensor is not None:
            written.append(str(tensor))
        kind = "images" if is_image else "samples"
        typer.echo(f"wrote {total} {kind} from {model.name} (seed {seed}) to {', '.join(written)}")


def _pictures(
    output: Path, count: int, shape: tuple[int, ...], columns: int, title: str, facts: dict[str, str]
) -> list[Any]:
    """The picture ``-o`` names: a grid of images, or a scatter plot of points (refused when too large); either
    records ``facts`` (:func:`picture_facts`)."""
    from ..io.samplefiles import GridPicture, ScatterPicture

    if len(shape) == 3:
        return [GridPicture(output, count, shape, nrow=columns, what="-o/--output", text=facts)]
    return [ScatterPicture(output, count, title=title, text=facts)]


def _walk_frames(model: Any, count: int, columns: int) -> GridCanvas:
    """The canvas of one frame of ``--gif``'s walk (refused when it is larger than a picture may be)."""
    from ..io.imaging import GridCanvas, check_picture_size, grid_scale

    shape = model.sample_shape
    canvas = GridCanvas(count, shape, nrow=columns, scale=grid_scale(shape))
    check_picture_size(
        canvas.width, canvas.height, what=f"-n {count:,} walks side by side (--gif)", fix="lower -n",
    )
    return canvas


def _check_memory(
    model: Any, count: int, total: int, pictures: list[Any], walk: GridCanvas | None, truncation: float | None
) -> None:
    """Refuse, before anything is drawn, a request whose parts that are held at once cannot fit in memory.

    The latents are drawn together (a seed gives the same samples whatever the batch); truncation
    redraws through index tensors of 8 bytes a value; a grid or scatter keeps its picture; a walk keeps
    its latent paths and every frame (one byte a pixel once paletted); a batch is held twice (the
    generator's output and its copy on the CPU).
    """
    from ..io.files import describe_size
    from ..io.memory import require_memory
    from ..io.samplefiles import batch_size_for

    latent_bytes = total * model.latent_dim * 4 + total * 8  # the labels: int64
    if truncation is not None:
        latent_bytes += total * model.latent_dim * 8
    parts = {
        "the latents": latent_bytes,
        "the picture": sum(picture.memory() for picture in pictures),
        "a batch": 2 * batch_size_for(model.sample_shape) * math.prod(model.sample_shape) * 4,
    }
    if walk is not None:
        frames = WALK_KEYS * WALK_STEPS
        parts["the walk"] = (
            (WALK_KEYS + frames) * count * model.latent_dim * 4 + frames * walk.width * walk.height
            + 2 * walk.picture_bytes()
        )
    fixes = {
        "the latents": "lower -n",
        "the picture": "lower -n, or write the samples with --save-individual DIR or --tensor FILE instead of -o",
        "a batch": "use a smaller model",
        "the walk": "lower -n (--gif keeps every frame)",
    }
    biggest = max(parts, key=lambda name: parts[name])
    require_memory(
        sum(parts.values()),
        what=f"-n {count:,} ({biggest}: {describe_size(parts[biggest])})",
        fix=fixes[biggest],
    )


def _write_walk(path: Path, model: Any, count: int, seed: int, labels: str | None, columns: int) -> Path:
    """``count`` looping walks through :data:`WALK_KEYS` seeds each, tiled ``columns`` wide, as one GIF."""
    from ..io.animation import frame_durations, grid_frame, paletted, save_gif
    from ..io.imaging import grid_scale

    walk_labels = parse_labels(labels, count, model.num_classes)
    scale = grid_scale(model.sample_shape)
    frames = [  # kept paletted as they come: a quarter of the memory of RGB frames, and what the GIF stores
        paletted(grid_frame(images, nrow=columns, scale=scale))
        for images in model.walk(count, seed=seed, keys=WALK_KEYS, steps=WALK_STEPS, labels=walk_labels)
    ]
    durations = frame_durations(len(frames), longest=WALK_FRAME_MS)
    return save_gif(frames, path, durations=durations, comment=f"{model.name} walk, seed {seed}")
