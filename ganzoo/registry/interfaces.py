"""The four small protocols a plugin implements: Generator, Discriminator, Loss, Dataset.

They are ``typing.Protocol`` classes, so a plugin needs no ganzoo base class: any
``torch.nn.Module`` with these attributes and call signatures works. Tests check
conformance structurally (``isinstance`` against the runtime-checkable protocols and the
contract checks in ``ganzoo.testing``).

Conventions shared by all of ganzoo:

* Images are ``(N, C, H, W)`` float tensors in ``[-1, 1]`` (stored as uint8 in ``[0, 255]``); other
  data (2-D points, say) is ``(N, *sample_shape)`` float samples in ``[-1, 1]``, the range of a Tanh.
* Labels are ``(N,)`` int64 class indices in ``[0, num_classes)``.
* Discriminators return raw logits (shape ``(N,)`` or ``(N, 1)``); losses apply any
  sigmoid themselves, numerically stably.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - annotations only; importing torch here would slow `ganzoo list`
    from torch import Tensor

    from ..data import SampleSet

__all__ = ["Dataset", "Discriminator", "Generator", "Loss"]


@runtime_checkable
class Generator(Protocol):
    """Maps a latent batch (and, if conditional, class labels) to samples.

    ``forward(z, labels=None)`` takes ``z`` of shape ``(N, latent_dim)`` drawn from
    N(0, I) and returns ``(N, *sample_shape)``. An unconditional generator ignores
    ``labels``; a conditional one (``num_classes`` set) requires them.
    """

    latent_dim: int
    num_classes: int | None
    sample_shape: tuple[int, ...]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor: ...


@runtime_checkable
class Discriminator(Protocol):
    """Scores samples: ``forward(x, labels=None)`` returns one logit per sample.

    Higher means "more real". A conditional discriminator (``num_classes`` set)
    requires the labels of ``x``.
    """

    num_classes: int | None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """An adversarial objective, split into the part each player minimises.

    ``discriminator_loss(real_logits, fake_logits)`` is what D minimises;
    ``generator_loss(fake_logits)`` what G minimises. Both return scalar tensors. A relativistic
    loss declares ``generator_loss(fake_logits, real_logits)`` and gets the updated D's logits of
    the step's real batch as well (see :mod:`ganzoo.registry.loss_calls`).
    A loss that needs more than logits (a gradient penalty) also defines
    ``penalty(discriminator, real, fake, labels) -> Tensor``, which the trainer adds to
    the discriminator's loss; ``d_steps`` says how many D updates to run per G update.
    """

    name: str
    d_steps: int

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor: ...

    def generator_loss(self, fake_logits: Tensor) -> Tensor: ...


@runtime_checkable
class Dataset(Protocol):
    """Describes a dataset and loads it.

    ``sample_shape`` is the shape of one sample, or None when the dataset resizes its
    images to the ``image_size`` a model asks for; ``num_classes`` is None for unlabelled
    data. ``load(root, split, download=..., image_size=...)`` returns a
    ``ganzoo.data.SampleSet`` (a ``torch.utils.data.Dataset`` that also exposes the whole
    split as one tensor, so the trainer can keep it on the device). ``can_download`` says
    whether ``download=True`` can fetch missing files.
    """

    name: str
    sample_shape: tuple[int, ...] | None
    num_classes: int | None
    can_download: bool

    def load(
        self,
        root: str | Path | None = None,
        split: str = "train",
        *,
        download: bool = False,
        image_size: int | None = None,
    ) -> SampleSet: ...
