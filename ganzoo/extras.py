"""Optional dependencies: import one, or say in one line which extra of ganzoo brings it.

ONNX export needs ``onnx``, ``onnxscript`` and ``onnxruntime`` (``ganzoo[onnx]``); the
Hugging Face Hub needs ``huggingface_hub`` (``ganzoo[hub]``). None of them is imported
until the feature runs, so ``import ganzoo`` and ``ganzoo --help`` never pay for them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .errors import ConfigError, MissingExtraError

__all__ = ["EXTRAS", "EXTRA_HINT", "require", "require_tensorboard"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx", "onnxscript", "onnxruntime"),
    "hub": ("huggingface_hub",),
}
"""Each optional extra of the ``ganzoo`` distribution and the modules it brings (pyproject.toml lists them)."""


def require(module: str, extra: str, *, what: str) -> ModuleType:
    """``import module``, or a :class:`MissingExtraError` naming ``what`` needs it and ``pip install "ganzoo[extra]"``.

    Only a missing module itself is reported this way; a module that is there but fails
    inside its own import raises its own error, which is not a missing extra.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as failure:
        if failure.name is None or not (module == failure.name or module.startswith(failure.name + ".")):
            raise
        raise MissingExtraError(
            f'{what} needs the optional extra ganzoo[{extra}] ({failure.name} is not installed): '
            f'pip install "ganzoo[{extra}]"'
        ) from None


EXTRA_HINT = 'pip install "ganzoo[tensorboard]"'
"""How to get TensorBoard (``--tensorboard``), which torch only imports when it is installed."""


def require_tensorboard() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line :class:`ConfigError` naming the extra to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ConfigError(f"--tensorboard needs the tensorboard package ({error}); install it with "
                          f"{EXTRA_HINT}") from None
    return SummaryWriter
