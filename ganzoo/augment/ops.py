"""The DiffAugment operations (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020), on whole batches of ``(N, C, H, W)`` images in ``[-1, 1]``.

Each operation is a differentiable function of its input, so the generator's gradient flows through the
augmented fakes; it draws its random parameters from the ``torch.Generator`` it is given (one per run,
checkpointed), so a seed fixes every draw. ``apply`` is a per-sample mask: an operation changes only the
samples whose mask is true, which is how the adaptive variant applies each one with probability ``p``.

The magnitudes are the paper's: brightness shifts by up to +-0.5, saturation scales by up to 2, contrast
by 0.5 to 1.5, translation moves by up to 1/8 of the image (the gap filled with zeros), cutout blanks a
square of half the image's side. Like the paper, nothing is clamped: colour changes may leave [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["OPERATIONS", "brightness", "contrast", "cutout", "saturation", "translation"]

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, generator=rng, device=x.device, dtype=x.dtype)


def _masked(x: torch.Tensor, changed: torch.Tensor, apply: torch.Tensor | None) -> torch.Tensor:
    return changed if apply is None else torch.where(apply.view(-1, 1, 1, 1), changed, x)


def brightness(x: torch.Tensor, rng: torch.Generator, apply: torch.Tensor | None = None) -> torch.Tensor:
    return _masked(x, x + (_uniform(x, rng) - 0.5), apply)


def saturation(x: torch.Tensor, rng: torch.Generator, apply: torch.Tensor | None = None) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return _masked(x, (x - mean) * (_uniform(x, rng) * 2) + mean, apply)


def contrast(x: torch.Tensor, rng: torch.Generator, apply: torch.Tensor | None = None) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return _masked(x, (x - mean) * (_uniform(x, rng) + 0.5) + mean, apply)


def _offsets(count: int, size: int, shift: int, rng: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randint(-shift, shift + 1, (count, 1), generator=rng, device=device) if shift else \
        torch.zeros(count, 1, dtype=torch.long, device=device)


def translation(x: torch.Tensor, rng: torch.Generator, apply: torch.Tensor | None = None) -> torch.Tensor:
    """Move each image by its own whole-pixel offset: a gather from the zero-padded batch."""
    n, _, h, w = x.shape
    dy = _offsets(n, h, int(h * TRANSLATION_RATIO + 0.5), rng, x.device)
    dx = _offsets(n, w, int(w * TRANSLATION_RATIO + 0.5), rng, x.device)
    if apply is not None:
        dy, dx = dy * apply.view(-1, 1), dx * apply.view(-1, 1)
    rows = (torch.arange(h, device=x.device).view(1, h) + dy + 1).clamp(0, h + 1)  # (n, h) in the padded image
    cols = (torch.arange(w, device=x.device).view(1, w) + dx + 1).clamp(0, w + 1)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    # (n, c, h+2, w+2) -> (n, h, w, c) at [batch, :, rows, cols], then back to channels first
    moved = padded.permute(0, 2, 3, 1)[batch, rows.view(n, h, 1), cols.view(n, 1, w)]
    return moved.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def cutout(x: torch.Tensor, rng: torch.Generator, apply: torch.Tensor | None = None) -> torch.Tensor:
    """Blank one square per image (half the side), placed uniformly, possibly partly outside the image."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h + (1 - size_h % 2), (n, 1, 1), generator=rng, device=x.device) - size_h // 2
    left = torch.randint(0, w + (1 - size_w % 2), (n, 1, 1), generator=rng, device=x.device) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    if apply is not None:
        inside = inside & apply.view(-1, 1, 1)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format


Operation = Callable[[torch.Tensor, torch.Generator, "torch.Tensor | None"], torch.Tensor]

OPERATIONS: dict[str, tuple[Operation, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
"""The paper's policies by name; ``color`` is three operations, applied in this order."""
