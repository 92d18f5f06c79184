"""Contract checks of losses: finite float32 scalars, the sign conventions, and any gradient penalty."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..registry.catalog import get_registry
from ..registry.records import LossSpec
from .core import fail

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["check_loss"]


def _scalar(spec: LossSpec, value: Any, what: str) -> float:
    import torch

    if not isinstance(value, torch.Tensor) or value.shape != ():
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise fail("loss", spec, f"{what} must be a scalar tensor (shape ()), got {shape}")
    if value.dtype != torch.float32:
        raise fail("loss", spec, f"{what} must be float32, got {value.dtype}")
    if not torch.isfinite(value):
        raise fail("loss", spec, f"{what} is not finite ({value.item()})")
    return float(value.detach())


def check_loss(name: str) -> None:
    """Check the registered loss ``name``: protocol, finite scalars, sign conventions and any penalty."""
    import torch

    import ganzoo
    from ganzoo.registry.loss_calls import generator_loss

    spec = get_registry().losses.get(name)
    try:
        loss = spec.build()
    except Exception as error:
        raise fail("loss", spec, f"does not build with no options: {error!r}") from error
    if not isinstance(loss, ganzoo.Loss):
        raise fail("loss", spec, "the built object lacks name, d_steps, discriminator_loss or generator_loss")
    if isinstance(loss.d_steps, bool) or not isinstance(loss.d_steps, int) or loss.d_steps < 1:
        raise fail("loss", spec, f"d_steps must be a positive int, got {loss.d_steps!r}")

    def d(real: float | torch.Tensor, fake: float | torch.Tensor, what: str) -> float:
        real = real if isinstance(real, torch.Tensor) else torch.full((4,), float(real))
        fake = fake if isinstance(fake, torch.Tensor) else torch.full((4,), float(fake))
        return _scalar(spec, loss.discriminator_loss(real, fake), f"discriminator_loss on {what}")

    def g(fake: float | torch.Tensor, what: str) -> float:
        """G's loss; a relativistic loss also gets real logits of 0, shaped like the fakes."""
        fake = fake if isinstance(fake, torch.Tensor) else torch.full((4,), float(fake))
        return _scalar(spec, generator_loss(loss, fake, torch.zeros_like(fake)), f"generator_loss on {what}")

    real = torch.tensor([0.3, -1.2, 2.0, 0.0])
    fake = torch.tensor([-0.4, 0.9, 0.2, -3.0])
    flat_d, flat_g = d(real, fake, "(N,) logits"), g(fake, "(N,) logits")
    column_d, column_g = d(real[:, None], fake[:, None], "(N, 1) logits"), g(fake[:, None], "(N, 1) logits")
    if abs(flat_d - column_d) > 1e-5 or abs(flat_g - column_g) > 1e-5:
        raise fail("loss", spec, "gives different values for logits of shape (N,) and (N, 1); flatten them")
    big = torch.tensor([60.0, -60.0, 30.0, -30.0])
    d(big, -big, "extreme logits (+-60)")
    d(-big, big, "extreme logits (+-60)")
    g(big, "extreme logits (+-60)")
    g(-big, "extreme logits (+-60)")
    # Within these values every classic loss is strictly monotone (LSGAN's D wants fake logits at 0).
    if not d(0.5, 0.0, "real 0.5, fake 0") < d(-0.5, 0.0, "real -0.5, fake 0"):
        raise fail("loss", spec, "discriminator_loss must fall as real logits rise (-0.5 -> 0.5): "
                    "D's logits are 'higher is more real'")
    if not d(0.5, 0.0, "real 0.5, fake 0") < d(0.5, 0.5, "real 0.5, fake 0.5"):
        raise fail("loss", spec, "discriminator_loss must fall as fake logits fall (0.5 -> 0): "
                    "D's logits are 'higher is more real'")
    if not g(0.5, "fake 0.5") < g(0.0, "fake 0"):
        raise fail("loss", spec, "generator_loss must fall as fake logits rise (0 -> 0.5): G wants D to score "
                    "its samples as real")
    penalty = getattr(loss, "penalty", None)
    if penalty is not None:
        _check_penalty(spec, penalty)


def _check_penalty(spec: LossSpec, penalty: Callable[..., Any]) -> None:
    import torch
    from torch import nn

    class Critic(nn.Module):
        num_classes = None

        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return self.net(x).flatten()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        critic = Critic()
        with torch.no_grad():  # steep enough that its gradient norms exceed 1: one-sided penalties act too
            for parameter in critic.parameters():
                parameter.mul_(8.0)
        real, fake = torch.rand(4, 2, 2, 2) * 2 - 1, torch.rand(4, 2, 2, 2) * 2 - 1
        value = penalty(critic, real, fake, None)
        number = _scalar(spec, value.float() if hasattr(value, "float") else value, "penalty(D, real, fake, labels)")
        if number < 0:
            raise fail("loss", spec, f"penalty must be >= 0, got {number}")
        if not value.requires_grad:
            raise fail("loss", spec, "penalty has no gradient: build it with create_graph=True so it trains D")
        value.backward()
    if all(p.grad is None or not p.grad.abs().sum() > 0 for p in critic.parameters()):
        raise fail("loss", spec, "penalty gives the discriminator no gradient")
