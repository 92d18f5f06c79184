"""The objects ``ganzoo.load`` and ``ganzoo.create`` return: a generator you can sample from.

Sampling is reproducible by construction: latents are always drawn on the CPU from a
private ``torch.Generator`` seeded with ``seed``, then moved to the model's device, so the
same seed gives the same latents whatever the device, the batch size, or what else the
program did with torch's global random state.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..cards.folder import MOVING_AVERAGE_MARK
from ..errors import CardError, ConfigError
from ..io.memory import require_memory
from ..ranges import SEED, TRUNCATION, NumberRange
from ..registry.records import DEFAULT_CARD_PACKAGE, ModelSpec, WeightsSpec

__all__ = ["GAN", "MIN_TRUNCATION", "PretrainedGenerator", "Sampler", "loop_path", "resolve_device", "slerp"]

MIN_TRUNCATION = TRUNCATION.low
"""The smallest ``truncation`` accepted: BigGAN's smallest published value. A draw lands within ``T``
with probability about ``0.8 * T``, so each latent value takes about ``1 / (0.8 * T)`` draws: 31 at
the minimum (a second for 10,000 latents of 128 values), ten million at ``1e-7``, which would never
end. Smaller values are refused rather than silently clamped."""

"""Where the zoo's model cards live, unless a weights record names another package."""


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from a name (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``), checked to exist."""
    if isinstance(device, torch.device):
        return device
    if device is None or (isinstance(device, str) and device.strip().lower() == "cpu"):
        return torch.device("cpu")  # the common case needs no device probing (nor the training package)
    from .device import resolve_device as resolve

    return resolve(device)


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points on the great-circle arc from ``a`` to ``b`` (their norms interpolated too).

    Gaussian latents concentrate near a sphere; straight lines between them pass through
    the low-norm interior the generator never saw (White 2016, "Sampling Generative Networks").
    """
    t = torch.linspace(0.0, 1.0, steps, dtype=a.dtype)[:, None]
    a_unit = a / a.norm().clamp_min(1e-12)
    b_unit = b / b.norm().clamp_min(1e-12)
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:  # (anti)parallel: the arc is undefined, fall back to a line
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def loop_path(keys: torch.Tensor, steps: int) -> torch.Tensor:
    """A closed spherical path through the rows of ``keys`` ``(K, latent_dim)``: ``steps`` points from each key
    towards the next (the last one back to the first), the next key itself left to the next leg, so an
    animation of the path loops without showing a frame twice. ``(K * steps, latent_dim)``."""
    count = len(keys)
    return torch.cat([slerp(keys[i], keys[(i + 1) % count], steps + 1)[:-1] for i in range(count)])


class Sampler:
    """Draws samples from a generator module; the part ``PretrainedGenerator`` and ``GAN`` share."""

    def __init__(
        self,
        generator: nn.Module,
        *,
        spec: ModelSpec | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
    ):
        self.generator = generator
        self.spec = spec
        self.config = dict(config or {})
        self.name = name or (spec.name if spec is not None else type(generator).__name__)

    # -- facts of the generator ------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.generator.latent_dim)

    @property
    def num_classes(self) -> int | None:
        value = getattr(self.generator, "num_classes", None)
        return int(value) if value else None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.generator.sample_shape)

    @property
    def device(self) -> torch.device:
        for tensor in self.generator.parameters():
            return tensor.device
        return torch.device("cpu")

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.generator.parameters())

    def to(self, device: str | torch.device) -> Sampler:
        """Move the networks to ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``); returns self."""
        self.generator.to(resolve_device(device))
        return self

    # -- inputs ----------------------------------------------------------------------------
    def latents(self, n: int, *, seed: int | None = None, truncation: float | None = None) -> torch.Tensor:
        """``n`` latent vectors from N(0, I), on the CPU, reproducible for a given ``seed``.

        ``truncation`` (the truncation trick of BigGAN, Brock et al. 2019): every coordinate
        whose magnitude exceeds it is redrawn until none does, trading variety for fidelity.
        Redrawing, unlike clamping, keeps no mass piled up at the bound. Values below
        :data:`MIN_TRUNCATION` (0.04) are refused: their redraws would practically never end.
        """
        n = _count(n)
        generator = torch.Generator(device="cpu")
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(_seed(seed))
        z = torch.randn(n, self.latent_dim, generator=generator)
        if truncation is not None:
            truncation = TRUNCATION.check("truncation", truncation)
            flat = z.view(-1)
            outside = torch.nonzero(flat.abs() > truncation).view(-1)
            while len(outside):  # redraw the values still outside, in order: only they are looked at again
                flat[outside] = torch.randn(len(outside), generator=generator)
                outside = outside[flat[outside].abs() > truncation]
        return z

    def class_labels(self, n: int, labels: Any = None) -> torch.Tensor | None:
        """The ``(n,)`` int64 labels to draw: None for an unconditional model.

        ``labels`` is one int (every sample of that class), or ``n`` ints (a sequence or
        tensor); None on a conditional model draws the classes in turn, 0..K-1, 0..,
        so every class is present. Labels given to an unconditional model are refused.
        """
        classes = self.num_classes
        if classes is None:
            if labels is not None:
                raise ConfigError(f"{self.name} is unconditional: it takes no labels")
            return None
        if labels is None:
            return torch.arange(n, dtype=torch.int64) % classes
        if isinstance(labels, torch.Tensor):
            if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
                raise ConfigError(f"labels must be integer class indices, got a {labels.dtype} tensor")
            values = labels.detach().cpu().to(torch.int64).reshape(-1)
            if labels.ndim == 0:
                values = values.expand(n)
        elif isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
            values = torch.full((n,), self._label(labels), dtype=torch.int64)
        elif isinstance(labels, Sequence) and not isinstance(labels, str):
            bad = [v for v in labels if isinstance(v, bool) or not isinstance(v, numbers.Integral)]
            if bad:
                raise ConfigError(f"labels must be integer class indices, got {bad[0]!r}")
            values = torch.tensor([self._label(v) for v in labels], dtype=torch.int64)
        else:
            raise ConfigError(f"labels must be an int, a sequence of ints or a tensor, got {type(labels).__name__}")
        if values.numel() != n:
            raise ConfigError(f"got {values.numel()} labels for {n} samples: give one per sample, or a single int")
        out_of_range = values[(values < 0) | (values >= classes)]
        if out_of_range.numel():  # a tensor of labels: its first wrong one gets the message
            self._label(int(out_of_range[0]))
        return values.contiguous()

    def _label(self, value: Any) -> int:
        """One class index, checked against the model's classes before it becomes a tensor (where an int beyond
        64 bits would be an overflow rather than a wrong label)."""
        classes = int(self.num_classes or 0)
        if not NumberRange(low=0, high=classes - 1, integer=True).contains(value):
            raise ConfigError(f"label {value} is out of range: {self.name} draws classes 0..{classes - 1}")
        return int(value)

    # -- outputs ---------------------------------------------------------------------------
    def decode_batches(self, z: torch.Tensor, labels: Any = None, *, batch_size: int = 256) -> Iterator[torch.Tensor]:
        """The samples for the latents ``z`` ``(N, latent_dim)``, ``batch_size`` at a time, in order, on the CPU, in
        eval mode: a caller that writes them as they come (``ganzoo sample``) needs the memory of one batch."""
        z = torch.as_tensor(z, dtype=torch.float32)
        z = z[None] if z.ndim == 1 else z
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ConfigError(f"{self.name} takes latents of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        labels, batch_size = self.class_labels(len(z), labels), _count(batch_size, "batch_size")
        device, dtype = self.device, next((p.dtype for p in self.generator.parameters()), torch.float32)
        was_training = self.generator.training
        self.generator.eval()
        try:
            for start in range(0, len(z), batch_size):
                batch = z[start : start + batch_size].to(device=device, dtype=dtype)
                batch_labels = labels[start : start + batch_size].to(device) if labels is not None else None
                with torch.no_grad():  # not inference_mode: callers may edit the samples in place
                    output = self.generator(batch, batch_labels).float().cpu()
                yield output.reshape(len(batch), *self.sample_shape)
        finally:
            self.generator.train(was_training)

    def decode(self, z: torch.Tensor, labels: Any = None, *, batch_size: int = 256) -> torch.Tensor:
        """Samples for the latents ``z`` ``(N, latent_dim)``, in eval mode, on the CPU: allocated once, after the
        memory they need is checked (:func:`ganzoo.io.memory.require_memory`); :meth:`decode_batches` streams."""
        z = torch.as_tensor(z, dtype=torch.float32)
        shape, count = self.sample_shape, (z.shape[0] if z.ndim == 2 else 1)
        require_memory(count * math.prod(shape) * 4, what=f"{count:,} samples of shape {shape}",
                       fix="draw fewer at a time (Sampler.decode_batches yields them batch by batch)")
        out, position = torch.empty(count, *shape), 0
        for batch in self.decode_batches(z, labels, batch_size=batch_size):
            out[position : position + len(batch)] = batch
            position += len(batch)
        return out

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Any = None,
        truncation: float | None = None,
        batch_size: int = 256,
    ) -> torch.Tensor:
        """``n`` samples ``(n, *sample_shape)`` on the CPU, images in ``[-1, 1]``.

        The same ``seed`` gives the same samples; the latents are the same whatever the
        ``batch_size`` or device (they are drawn on the CPU), so other batchings or devices
        differ only by floating-point rounding. See :meth:`latents` for ``truncation`` and
        :meth:`class_labels` for ``labels``.
        """
        labels = self.class_labels(_count(n), labels)
        return self.decode(self.latents(n, seed=seed, truncation=truncation), labels, batch_size=batch_size)

    def _latent(self, end: Any) -> torch.Tensor:
        if isinstance(end, numbers.Integral) and not isinstance(end, bool):
            return self.latents(1, seed=int(end))[0]
        vector = torch.as_tensor(end, dtype=torch.float32).detach().cpu().reshape(-1)
        if vector.numel() != self.latent_dim:
            raise ConfigError(
                f"an interpolation end must be a seed or a latent vector of {self.latent_dim} values, "
                f"got {vector.numel()}"
            )
        return vector

    def interpolate(self, a: Any, b: Any, steps: int = 8, *, labels: Any = None) -> torch.Tensor:
        """``steps`` samples along the spherical path from latent ``a`` to latent ``b``.

        ``a`` and ``b`` are seeds (the latent that ``sample(1, seed=...)`` uses) or latent
        vectors. A conditional model needs ``labels``: one class for the whole path, or one
        per step.
        """
        steps = _count(steps, "steps")
        if self.num_classes is not None and labels is None:
            raise ConfigError(f"{self.name} is conditional: pass labels=<class> to interpolate within a class")
        path = slerp(self._latent(a), self._latent(b), steps)
        return self.decode(path, labels)

    def walk(
        self, n: int, *, seed: int, keys: int = 4, steps: int = 12, labels: Any = None
    ) -> Iterator[torch.Tensor]:
        """The frames of ``n`` looping latent walks side by side: ``keys * steps`` tensors ``(n, *sample_shape)``.

        Walk ``i`` follows :func:`loop_path` through ``keys`` latents (``latents(n * keys, seed=seed)``, key
        ``j`` of walk ``i`` in row ``j * n + i``), ``steps`` frames from one to the next. ``labels`` are
        those of :meth:`class_labels`, fixed for the whole walk: a conditional model walks within a class.
        Frames are decoded one at a time, so a long walk needs the memory of one frame.
        """
        n, keys, steps = _count(n), _count(keys, "keys"), _count(steps, "steps")
        classes = self.class_labels(n, labels)
        ends = self.latents(n * keys, seed=seed).view(keys, n, self.latent_dim)
        paths = torch.stack([loop_path(ends[:, i], steps) for i in range(n)], dim=1)  # (frames, n, latent_dim)
        for frame in paths:
            yield self.decode(frame, classes)

    def _describe(self) -> str:
        classes = f", num_classes={self.num_classes}" if self.num_classes else ""
        return (
            f"{self.name!r}, latent_dim={self.latent_dim}{classes}, sample_shape={self.sample_shape}, "
            f"params={self.num_params:,}, device={self.device}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"


def _count(value: Any, what: str = "n") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, float):  # a seed is given as an int; 3.0 is most likely a mistake somewhere
        raise ConfigError(f"seed must be an integer, got {value!r}")
    return SEED.check("seed", value)


def packaged_card(package: str, name: str) -> str | None:
    """The text of card ``name`` in ``package``; None when the package or the file is not installed.

    Anything else (a package that fails to import, unreadable bytes, text that is not
    UTF-8) is a :class:`~ganzoo.errors.CardError` in one line, not a card that seems absent.
    """
    from importlib import resources

    try:
        path = resources.files(package) / name
    except ModuleNotFoundError as error:
        if error.name is not None and (package == error.name or package.startswith(error.name + ".")):
            return None
        raise CardError(f"cannot read the model card {name}: importing {package} failed ({error})") from None
    except ImportError as error:
        raise CardError(f"cannot read the model card {name}: importing {package} failed ({error})") from None
    if not path.is_file():
        return None
    from ..cards.frontmatter import read_card_text

    try:
        with resources.as_file(path) as file:
            return read_card_text(file, source=f"{name} in {package}")
    except OSError as error:  # extracting a zipped package's card failed
        raise CardError(f"cannot read the model card {name} in {package} ({error})") from None


class PretrainedGenerator(Sampler):
    """A generator with its weights loaded, in eval mode: what ``ganzoo.load`` returns.

    ``generator`` is the ``nn.Module``; ``spec`` the registry record (None when the
    module was wrapped by hand); ``config`` its constructor arguments; ``weights`` the
    registry's weights record (None for a folder, file or URL); ``card`` the model card's
    Markdown (None when there is none), or ``card_file`` where it is, read only when asked for
    (sampling needs no card, so a card that cannot be read must not stop it); ``source`` where
    the weights were read from; ``ema`` whether they are the generator's moving average.
    """

    def __init__(
        self,
        generator: nn.Module,
        *,
        spec: ModelSpec | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
        weights: WeightsSpec | None = None,
        card: str | None = None,
        source: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ema: bool = False,
        card_file: Path | None = None,
    ):
        super().__init__(generator.eval(), spec=spec, config=config, name=name)
        setattr(generator, MOVING_AVERAGE_MARK, bool(ema))  # so the module alone still says what it holds
        self.ema = ema
        """True when the weights are the generator's moving average (``ganzoo train --ema``)."""
        self.weights = weights
        self._card = card
        self._card_file = card_file
        self.source = source
        self.metadata = dict(metadata or {})

    @property
    def card(self) -> str | None:
        """The model card's Markdown; None when there is none (no card named, or not installed).

        A card that is there but cannot be read (not UTF-8, too large) raises :class:`~ganzoo.errors.CardError`.
        """
        if self._card is None and self._card_file is not None and self._card_file.is_file():
            from ..cards.frontmatter import read_card_text

            self._card = read_card_text(self._card_file)
        if self._card is None and self.weights is not None and self.weights.card:
            self._card = packaged_card(self.weights.card_package or DEFAULT_CARD_PACKAGE, self.weights.card)
        return self._card

    def __repr__(self) -> str:
        source = f", source={self.source!r}" if self.source else ""
        return f"PretrainedGenerator({self._describe()}{source})"


class GAN(Sampler):
    """An untrained generator and discriminator built from the registry: what ``ganzoo.create`` returns.

    Both networks keep PyTorch's training mode; :meth:`sample` switches the generator to
    eval mode only while it draws.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        spec: ModelSpec | None = None,
        config: Mapping[str, Any] | None = None,
        dataset: str | None = None,
    ):
        super().__init__(generator, spec=spec, config=config)
        self.discriminator = discriminator
        self.dataset = dataset

    def to(self, device: str | torch.device) -> GAN:
        target = resolve_device(device)
        self.generator.to(target)
        self.discriminator.to(target)
        return self

    def __repr__(self) -> str:
        params = sum(p.numel() for p in self.discriminator.parameters())
        return f"GAN({self._describe()}, discriminator_params={params:,})"
