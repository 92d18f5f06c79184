"""The discriminator's augmentation: what ``--augment`` names, and the stateful object the trainer calls.

``--augment diffaug[:color,translation,cutout]`` applies the named DiffAugment operations to every
batch D sees (real and fake alike, and the fakes of the generator's update, differentiably), as Zhao
et al. (2020) do. ``--augment ada[:...]`` applies each operation to each sample with a probability
``p`` that adapts as in StyleGAN2-ADA (Karras et al. 2020): every few steps the overfitting heuristic
``r_t = E[sign(D(real) - u)]`` (``u`` the loss's undecided output, ``LossSpec.undecided_logit``: 0 for
logistic losses) is compared with a target (0.6) and ``p`` moves up when D is too sure of the reals, down
when it is not, by an amount that lets ``p`` cross [0, 1] in ``speed`` images. A loss that leaves the level
of D's outputs free (relativistic, WGAN) gives that heuristic no meaning: there ``--augment fixed[:...]``
applies each operation with a probability the user sets (``--augment-p``) or schedules (``--schedule
augment_p=...``), which is what R3GAN does (0 rising to 0.3 on FFHQ-64). ``p`` lives on the device (no host
round trip per step), is logged, and is part of the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ...errors import ConfigError

__all__ = [
    "ADA_INTERVAL",
    "LEAK_P",
    "OPERATIONS",
    "AugmentPolicy",
    "Augmenter",
    "brightness",
    "contrast",
    "cutout",
    "parse_augment",
    "saturation",
    "translation",
]

# ---- The operations ----
# The DiffAugment operations (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training",
# NeurIPS 2020), on whole batches of ``(N, C, H, W)`` images in ``[-1, 1]``.
#
# Each operation is a differentiable function of its input, so the generator's gradient flows through the
# augmented fakes; it draws its random parameters from the ``torch.Generator`` it is given (one per run,
# checkpointed), so a seed fixes every draw. ``apply`` is a per-sample mask: an operation changes only the
# samples whose mask is true, which is how the adaptive variant applies each one with probability ``p``.
#
# The magnitudes are the paper's: brightness shifts by up to +-0.5, saturation scales by up to 2, contrast
# by 0.5 to 1.5, translation moves by up to 1/8 of the image (the gap filled with zeros), cutout blanks a
# square of half the image's side. Like the paper, nothing is clamped: colour changes may leave [-1, 1].


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


DEFAULT_OPERATIONS = ("color", "translation", "cutout")
ADA_INTERVAL = 4
"""Steps between two adjustments of ``p`` (StyleGAN2-ADA's ``ada_interval``)."""
DEFAULT_ADA_TARGET = 0.6
DEFAULT_ADA_SPEED = 100_000
"""Images in which ``p`` can go from 0 to 1. StyleGAN2-ADA uses 500,000 for runs of tens of millions of
images; a CPU run here sees about a million, so ``p`` must be able to move five times faster."""
KINDS = ("none", "diffaug", "ada", "fixed")
DEFAULT_FIXED_P = 0.2
"""``--augment fixed``'s probability unless ``--augment-p`` or a schedule sets it (StyleGAN2-ADA's ``--p``)."""
LEAK_P = 0.8
"""The ``p`` above which StyleGAN2-ADA (Karras et al. 2020, section 2.2) finds augmentations starting to leak
into the generated images. With the default speed ``p`` gets there fast on a small set (the 20,000 UTKFace
crops at 64x64, batch 128: after about 166,000 images), so the user must hear of it while the run goes."""


@dataclass(frozen=True)
class AugmentPolicy:
    """A checked ``--augment``: its kind, its operations, and the adaptive variant's target and speed."""

    kind: str = "none"
    operations: tuple[str, ...] = ()
    target: float = DEFAULT_ADA_TARGET
    speed: float = DEFAULT_ADA_SPEED
    p: float = DEFAULT_FIXED_P
    """``fixed``: the probability of each operation on each image (a ``--schedule augment_p`` moves it)."""

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada"

    @property
    def per_image(self) -> bool:
        """Each operation applies to each image with probability ``p`` (``ada``, ``fixed``), not to all."""
        return self.kind in ("ada", "fixed")

    def spelling(self) -> str:
        """The ``--augment`` value that asks for this policy."""
        return self.kind if not self.enabled else f"{self.kind}:{','.join(self.operations)}"

    def record(self) -> dict[str, Any]:
        """For config.json and the card."""
        if not self.enabled:
            return {"kind": "none"}
        record: dict[str, Any] = {"kind": self.kind, "operations": list(self.operations)}
        if self.adaptive:
            record.update(target=self.target, speed_images=self.speed, interval_steps=ADA_INTERVAL)
        if self.kind == "fixed":
            record.update(p=self.p)
        return record


def parse_augment(text: str | None, *, target: float | None = None, speed: float | None = None,
                  p: float | None = None) -> AugmentPolicy:
    """``none``, ``diffaug``, ``ada``, ``fixed``, optionally with ``:op,op`` (``color``, ``translation``,
    ``cutout``).

    ``target``, ``speed`` and ``p`` are taken as given: their ranges are declared, and checked, with the other
    training options (``ganzoo.training.config.TRAIN_RANGES``)."""
    text = (text or "none").strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"--augment {text!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)} "
                          f"(e.g. --augment diffaug:{','.join(DEFAULT_OPERATIONS)})")
    if kind == "none":
        if rest:
            raise ConfigError(f"--augment {text!r}: 'none' takes no operations")
        if target is not None or speed is not None:
            raise ConfigError("--ada-target and --ada-speed need --augment ada")
        if p is not None:
            raise ConfigError("--augment-p needs --augment fixed")
        return AugmentPolicy()
    names = tuple(n.strip() for n in rest.split(",")) if rest else DEFAULT_OPERATIONS
    unknown = [n for n in names if n not in OPERATIONS]
    if unknown or not names:
        raise ConfigError(f"--augment {text!r}: unknown operation {unknown[0] if unknown else ''!r}; "
                          f"choose from {', '.join(OPERATIONS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--augment {text!r}: an operation is named twice")
    if kind != "ada" and (target is not None or speed is not None):
        raise ConfigError("--ada-target and --ada-speed need --augment ada")
    if kind != "fixed" and p is not None:
        raise ConfigError(f"--augment-p sets --augment fixed's probability; with --augment {kind} use "
                          + ("--ada-target to steer it" if kind == "ada" else "--augment fixed instead"))
    target = DEFAULT_ADA_TARGET if target is None else float(target)
    speed = DEFAULT_ADA_SPEED if speed is None else float(speed)
    return AugmentPolicy(kind, names, target, speed, DEFAULT_FIXED_P if p is None else float(p))


class Augmenter:
    """Calls the policy's operations on a batch; keeps ``p`` (``ada``, ``fixed``) and adapts it (``ada``).

    ``undecided`` is the loss's ``undecided_logit``, against which ``ada`` counts the signs of D's real
    outputs. ``all_reduce`` (several processes) sums a tensor over the ranks, so every rank adapts ``p`` alike.
    """

    def __init__(
        self,
        policy: AugmentPolicy,
        device: torch.device,
        *,
        seed: int,
        undecided: float = 0.0,
        all_reduce: Callable[[torch.Tensor], None] | None = None,
    ):
        self.policy = policy
        self.device = device
        self.seed = seed
        self.undecided = float(undecided)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.operations = [op for name in policy.operations for op in OPERATIONS[name]]
        self.all_reduce = all_reduce
        self.p = torch.full((), policy.p if policy.kind == "fixed" else 0.0, device=device)
        self.signs = torch.zeros(2, device=device)  # sum of sign(D(real)) and the count, since the last adjustment
        self.steps = 0
        self.notice: Callable[[str], None] | None = None
        """Where the augmenter says, in one line, that it could not restore a saved state exactly, or that
        ``p`` has reached :data:`LEAK_P`."""
        self.warned_of_leaks = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ConfigError(f"--augment works on image batches (N, C, H, W), not on samples of shape "
                              f"{tuple(x.shape[1:])}; train without --augment")
        for operation in self.operations:
            apply = None
            if self.policy.per_image:
                apply = torch.rand(x.shape[0], generator=self.generator, device=x.device) < self.p
            x = operation(x, self.generator, apply)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        """ADA: count the signs of D's real logits (stays on the device)."""
        if self.policy.adaptive:
            with torch.no_grad():
                flat = real_logits.detach().float().flatten() - self.undecided
                self.signs += torch.stack([flat.sign().sum(), flat.new_tensor(float(flat.numel()))])

    def step_done(self, images: int) -> None:
        """ADA: every :data:`ADA_INTERVAL` steps move ``p`` by ``sign(r_t - target) * images / speed``."""
        if not self.policy.adaptive:
            return
        self.steps += 1
        if self.steps % ADA_INTERVAL:
            return
        with torch.no_grad():
            signs = self.signs.clone()
            if self.all_reduce is not None:
                self.all_reduce(signs)
            r_t = signs[0] / signs[1].clamp(min=1.0)
            adjust = torch.sign(r_t - self.policy.target) * (images * ADA_INTERVAL / self.policy.speed)
            self.p.copy_((self.p + adjust).clamp(0.0, 1.0))
            self.signs.zero_()

    def probability(self) -> float:
        """``p`` now (a host read: for log records and the card, not for every step)."""
        return float(self.p)

    def probability_for_log(self) -> float:
        """``p`` for a log record; the first record at or above :data:`LEAK_P` also says, once per run, what to watch.

        The check rides on the log's host read of ``p`` so that it costs no synchronisation of its own.
        """
        p = self.probability()
        if p >= LEAK_P and not self.warned_of_leaks:
            self.warned_of_leaks = True
            if self.notice is not None:
                steer = (f"a higher --ada-target than {self.policy.target}" if self.policy.adaptive
                         else "a lower --augment-p (or schedule end)")
                self.notice(f"the augmentation's p reached {p:.2f}, where StyleGAN2-ADA finds augmentations starting "
                            f"to leak into the generated images; if the sample grids look augmented, train again "
                            f"with fewer operations than {','.join(self.policy.operations)} or {steer}")
        return p

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.generator.get_state(), "device": self.device.type, "p": float(self.p),
            "signs": self.signs.cpu(), "steps": self.steps, "policy": self.policy.spelling(),
            "warned_of_leaks": self.warned_of_leaks,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("device") == self.device.type:
            self.generator.set_state(state["rng"])
        else:  # a generator's state is device-specific: start the stream from the seed, and say so
            self.generator.manual_seed(self.seed + int(state.get("steps", 0)))
            if self.notice is not None:
                self.notice(f"the augmentation's random state was saved on {state.get('device')!r}, not "
                            f"{self.device.type!r}: it is reseeded, so this resumed run will not match exactly")
        self.p.fill_(float(state["p"]))
        self.signs.copy_(state["signs"].to(self.device))
        self.steps = int(state["steps"])
        self.warned_of_leaks = bool(state.get("warned_of_leaks", False))  # older checkpoints lack it
