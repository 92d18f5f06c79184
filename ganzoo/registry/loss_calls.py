"""How the trainer calls a plugin's loss: the two signatures ``generator_loss`` may have.

A classic loss scores the fakes alone: ``generator_loss(fake_logits)``. A relativistic one (RpGAN,
RaGAN) compares them with the real batch, so it declares a second argument:
``generator_loss(fake_logits, real_logits)``, and the trainer passes the logits the *current*
discriminator gives the *current* real batch. The second form is recognised from the signature, so
losses written for the first keep working unchanged.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["generator_loss", "generator_loss_takes_real_logits"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def generator_loss_takes_real_logits(loss: Any) -> bool:
    """True when ``loss.generator_loss`` takes the real logits as its second argument.

    That is: it accepts ``*args``, or its second positional parameter is required or is named
    ``real_logits``. A second parameter with a default and another name is an option of the loss
    (``scale=1.0``), not the real logits, and is left alone.
    """
    try:
        parameters = list(inspect.signature(loss.generator_loss).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: the classic form
        return False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    if len(positional) < 2:
        return False
    second = positional[1]
    return second.default is inspect.Parameter.empty or second.name == "real_logits"


def generator_loss(loss: Any, fake_logits: Any, real_logits: Any = None) -> Any:
    """``loss.generator_loss`` called in the form it declares (the real logits only where it takes them)."""
    if not generator_loss_takes_real_logits(loss):
        return loss.generator_loss(fake_logits)
    if real_logits is None:
        from ..errors import ConfigError

        raise ConfigError(f"loss {getattr(loss, 'name', type(loss).__name__)!r} is relativistic: its "
                          "generator_loss needs the real logits too; pass them")
    return loss.generator_loss(fake_logits, real_logits)
