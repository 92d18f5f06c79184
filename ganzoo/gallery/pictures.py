"""The pictures of a weights page, drawn from a loaded generator with fixed seeds.

* a sample grid: 64 samples of seed 0 (the card's own grid uses the same seed);
* an interpolation GIF: four latent walks side by side, each a loop through four seeds along
  :meth:`ganzoo.models.sampling.Sampler.interpolate`'s spherical paths (a conditional model walks
  within one class per walk), so the animation shows where the latent space is smooth;
* for a conditional model, one sample per class (seed 0, classes in order).

Samples that are not images (2-D toy points) get a scatter plot instead of grid and GIF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .pages import figure
from .site import Site

__all__ = ["Pictures", "draw_pictures"]

SEED = 0
GRID = 64
WALKS = 4
STOPS = 4
"""Seeds each walk passes through before it returns to its first."""
STEPS = 12
"""Frames between two seeds; 4 stops x 12 frames at 80 ms is a 3.8 s loop."""
FRAME_MS = 80
MAX_CLASSES = 32
"""The class row shows at most this many classes (the first ones)."""


@dataclass
class Pictures:
    """File names (inside the entry's folder) of what was drawn, with their captions."""

    grid: str
    grid_caption: str
    walk: str | None = None
    walk_caption: str = ""
    classes: str | None = None
    classes_caption: str = ""

    def html(self) -> str:
        parts = [figure(self.grid, self.grid_caption, alt="sample grid")]
        if self.walk:
            parts.append(figure(self.walk, self.walk_caption, alt="latent interpolation"))
        if self.classes:
            parts.append(figure(self.classes, self.classes_caption, alt="one sample per class"))
        return "\n".join(parts)


def _image(samples: Any, nrow: int, scale: int) -> Any:
    from PIL import Image

    from ..io.imaging import make_grid

    grid = make_grid(samples, nrow=nrow)
    image = Image.fromarray(grid[:, :, 0], mode="L") if grid.shape[2] == 1 else Image.fromarray(grid, mode="RGB")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def _walk_frames(model: Any, scale: int) -> list[Any]:
    import torch

    walks = []
    for walk in range(WALKS):
        seeds = [SEED + walk * STOPS + stop for stop in range(STOPS)]
        label = None if model.num_classes is None else walk % model.num_classes
        legs = [
            model.interpolate(seeds[i], seeds[(i + 1) % STOPS], STEPS + 1, labels=label)[:-1] for i in range(STOPS)
        ]
        walks.append(torch.cat(legs))  # (STOPS * STEPS, C, H, W): the last frame leads back to the first
    frames = torch.stack(walks, dim=1)  # (frames, walks, C, H, W)
    return [_image(frame, WALKS, scale) for frame in frames]


def draw_pictures(model: Any, site: Site, folder: str) -> Pictures:
    """Draw and save the pictures of ``model`` (a :class:`~ganzoo.models.sampling.Sampler`) into ``folder``."""
    shape = model.sample_shape
    samples = model.sample(GRID, seed=SEED)
    if len(shape) != 3:  # 2-D points: a scatter plot says more than any grid
        from ..io.imaging import save_samples

        save_samples(samples, site.path(folder, "samples.png"), title=f"{model.name}, seed {SEED}")
        return Pictures("samples.png", f"{GRID} samples, seed {SEED}.")
    scale = max(1, 64 // int(shape[-1]))
    grid = site.save_png(_image(samples, 8, max(1, scale // 2)), folder, "samples.png")
    pictures = Pictures(grid, f"{GRID} samples, seed {SEED}.")
    pictures.walk = site.save_gif(_walk_frames(model, scale), folder, "walk.gif", duration_ms=FRAME_MS)
    within = ", each within one class" if model.num_classes is not None else ""
    pictures.walk_caption = (
        f"{WALKS} latent walks, each looping through {STOPS} seeds along spherical paths{within} "
        f"(Sampler.interpolate, {STEPS} steps between seeds)."
    )
    if model.num_classes is not None:
        count = min(model.num_classes, MAX_CLASSES)
        row = model.sample(count, seed=SEED, labels=list(range(count)))
        pictures.classes = site.save_png(_image(row, count, scale), folder, "classes.png")
        shown = "" if count == model.num_classes else f" (the first {count} of {model.num_classes})"
        pictures.classes_caption = f"One sample per class, classes 0 to {count - 1} left to right{shown}, seed {SEED}."
    return pictures
