"""The discriminator's augmentation: what ``--augment`` names, and the stateful object the trainer calls.

``--augment diffaug[:color,translation,cutout]`` applies the named DiffAugment operations to every
batch D sees (real and fake alike, and the fakes of the generator's update, differentiably), as Zhao
et al. (2020) do. ``--augment ada[:...]`` applies each operation to each sample with a probability
``p`` that adapts as in StyleGAN2-ADA (Karras et al. 2020): every few steps the overfitting heuristic
``r_t = E[sign(D(real))]`` is compared with a target (0.6) and ``p`` moves up when D is too sure of the
reals, down when it is not, by an amount that lets ``p`` cross [0, 1] in ``speed`` images. ``p`` lives on
the device (no host round trip per step), is logged, and is part of the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError
from .ops import OPERATIONS

__all__ = ["ADA_INTERVAL", "LEAK_P", "AugmentPolicy", "Augmenter", "parse_augment"]

DEFAULT_OPERATIONS = ("color", "translation", "cutout")
ADA_INTERVAL = 4
"""Steps between two adjustments of ``p`` (StyleGAN2-ADA's ``ada_interval``)."""
DEFAULT_ADA_TARGET = 0.6
DEFAULT_ADA_SPEED = 100_000
"""Images in which ``p`` can go from 0 to 1. StyleGAN2-ADA uses 500,000 for runs of tens of millions of
images; a CPU run here sees about a million, so ``p`` must be able to move five times faster."""
KINDS = ("none", "diffaug", "ada")
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

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada"

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
        return record


def parse_augment(text: str | None, *, target: float | None = None, speed: float | None = None) -> AugmentPolicy:
    """``none``, ``diffaug``, ``ada``, optionally with ``:op,op`` (``color``, ``translation``, ``cutout``).

    ``target`` and ``speed`` are taken as given: their ranges are declared, and checked, with the other
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
    target = DEFAULT_ADA_TARGET if target is None else float(target)
    speed = DEFAULT_ADA_SPEED if speed is None else float(speed)
    return AugmentPolicy(kind, names, target, speed)


class Augmenter:
    """Calls the policy's operations on a batch; with ``ada``, also keeps and adapts ``p``.

    ``all_reduce`` (several processes) sums a tensor over the ranks, so every rank adapts ``p`` alike.
    """

    def __init__(
        self,
        policy: AugmentPolicy,
        device: torch.device,
        *,
        seed: int,
        all_reduce: Callable[[torch.Tensor], None] | None = None,
    ):
        self.policy = policy
        self.device = device
        self.seed = seed
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.operations = [op for name in policy.operations for op in OPERATIONS[name]]
        self.all_reduce = all_reduce
        self.p = torch.zeros((), device=device)
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
            if self.policy.adaptive:
                apply = torch.rand(x.shape[0], generator=self.generator, device=x.device) < self.p
            x = operation(x, self.generator, apply)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        """ADA: count the signs of D's real logits (stays on the device)."""
        if self.policy.adaptive:
            with torch.no_grad():
                flat = real_logits.detach().float().flatten()
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
                self.notice(f"ADA's p reached {p:.2f}, where StyleGAN2-ADA finds augmentations starting to leak "
                            f"into the generated images; if the sample grids look augmented, train again with "
                            f"fewer operations than {','.join(self.policy.operations)} or a higher --ada-target "
                            f"than {self.policy.target}")
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
