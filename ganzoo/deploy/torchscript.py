"""TorchScript: the generator traced with ``torch.jit.trace`` and saved with its metadata as an extra file.

Tracing records the operations one call performs, so a generator with Python control flow
that depends on its inputs would be recorded for one case only: the written file is
therefore run on other batches than the traced one and compared with the eager generator
(:mod:`ganzoo.deploy`). ganzoo's metadata is the extra file ``ganzoo.json``, read back with
``torch.jit.load(path, _extra_files={"ganzoo.json": ""})``. TorchScript is deprecated in
favour of torch.export, and torch says so on every trace; that warning is not repeated
here, since TorchScript is what was asked for.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ExportError

__all__ = ["EXTRA_FILE", "read_torchscript_metadata", "run_torchscript", "write_torchscript"]

EXTRA_FILE = "ganzoo.json"
_PYTHON_CALL = re.compile(r"Could not export Python function call '([^']+)'")


def write_torchscript(
    module: nn.Module, example: tuple[torch.Tensor, ...], path: str, metadata: Mapping[str, str], *, what: str
) -> None:
    """Trace ``module`` called with ``example`` and save it at ``path`` with ``metadata`` as ``ganzoo.json``."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit.*deprecated")
            traced = torch.jit.trace(module, example, check_trace=False)
            torch.jit.save(traced, path, _extra_files={EXTRA_FILE: json.dumps(dict(metadata), sort_keys=True)})
    except Exception as failure:
        text = str(failure)
        found = _PYTHON_CALL.search(text)
        if found:
            raise ExportError(
                f"cannot export {what} to TorchScript: it calls the Python function '{found.group(1)}' "
                "(a torch.autograd.Function or other Python code), which a TorchScript file cannot hold; "
                "write it with torch operations, or export to ONNX instead"
            ) from None
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        raise ExportError(
            f"cannot export {what} to TorchScript: {type(failure).__name__}: {lines[0] if lines else ''}"
        ) from None


def _load(path: str, extra: dict[str, str] | None = None) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit.*deprecated")
        return torch.jit.load(path, map_location="cpu", _extra_files=extra if extra is not None else {})


def run_torchscript(path: str, batch: tuple[torch.Tensor, ...]) -> np.ndarray:
    """The samples the TorchScript file at ``path`` computes for ``batch``, loaded as a user loads it."""
    module = _load(path)
    with torch.no_grad():
        return module(*batch).numpy()


def read_torchscript_metadata(path: str) -> dict[str, str]:
    """The ``ganzoo.json`` extra file of a TorchScript file, as a dict."""
    extra = {EXTRA_FILE: ""}
    _load(path, extra)
    if not extra[EXTRA_FILE]:
        return {}
    return json.loads(extra[EXTRA_FILE])
