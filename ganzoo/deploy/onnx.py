"""ONNX: the generator through ``torch.onnx.export`` (the torch.export-based exporter), run by onnxruntime.

The exporter that torch documents and defaults to since 2.9 is the torch.export-based one
(``dynamo=True``), which needs onnxscript; the older TorchScript-based exporter is deprecated.
The batch dimension is dynamic (``batch``); ganzoo's metadata goes into the model's
``metadata_props``, where ``onnx.load(...).metadata_props`` and onnxruntime's
``get_modelmeta().custom_metadata_map`` read it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ExportError
from ..extras import require

__all__ = ["read_onnx_metadata", "require_onnx", "run_onnx", "write_onnx"]

_NO_FUNCTION = re.compile(r"No ONNX function found for <OpOverload\(op='([^']+)', overload='([^']+)'\)>")
_TARGET = re.compile(r"target=torch\.ops\.([\w.]+)")


def require_onnx() -> None:
    """Import the ONNX extra's modules, or say in one line that ganzoo[onnx] is missing."""
    for module in ("onnx", "onnxscript", "onnxruntime"):
        require(module, "onnx", what="ONNX export")


def _unexportable_op(error: BaseException) -> str | None:
    """The operator an ONNX export failed on (``namespace::name``), read from the exporter's chain of errors."""
    seen = error
    while seen is not None:
        text = str(seen)
        found = _NO_FUNCTION.search(text)
        if found:
            return found.group(1).replace(".", "::", 1)
        found = _TARGET.search(text)
        if found:
            return found.group(1).rsplit(".", 1)[0].replace(".", "::", 1)
        seen = seen.__cause__ or seen.__context__
    return None


def _first_line(error: BaseException) -> str:
    while error.__cause__ is not None:  # the deepest cause says what went wrong; the outer ones say where
        error = error.__cause__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def write_onnx(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    names: Sequence[str],
    path: str,
    metadata: Mapping[str, str],
    *,
    what: str,
) -> None:
    """Export ``module`` (called with ``example``) to ``path`` with a dynamic batch and ``metadata``."""
    require_onnx()
    dynamic = {name: {0: "batch"} for name in names}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*axis name.*")  # several inputs share the batch axis
            program = torch.onnx.export(
                module,
                example,
                dynamo=True,
                verbose=False,
                input_names=list(names),
                output_names=["samples"],
                dynamic_shapes=dynamic,
                external_data=False,
            )
    except Exception as failure:
        op = _unexportable_op(failure)
        if op is not None:
            raise ExportError(
                f"cannot export {what} to ONNX: the operator '{op}' has no ONNX translation; "
                "write it with standard torch operations, or export to TorchScript instead"
            ) from None
        raise ExportError(f"cannot export {what} to ONNX: {_first_line(failure)}") from None
    program.model.metadata_props.update(dict(metadata))
    program.save(path, external_data=False)


def run_onnx(path: str, batch: tuple[torch.Tensor, ...], names: Sequence[str]) -> np.ndarray:
    """The samples onnxruntime computes from the file at ``path`` for ``batch`` (on the CPU)."""
    ort: Any = require("onnxruntime", "onnx", what="Running an ONNX file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())  # as many threads as torch is allowed
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    feeds = {name: tensor.numpy() for name, tensor in zip(names, batch, strict=True)}
    return session.run(None, feeds)[0]


def read_onnx_metadata(path: str) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, as a dict."""
    onnx: Any = require("onnx", "onnx", what="Reading an ONNX file")
    model = onnx.load(path, load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}
