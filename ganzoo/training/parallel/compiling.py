"""``--compile``: the networks the training step calls, compiled with ``torch.compile``, or a one-line error.

What is compiled, and why: the forward passes of G and D (and of their DDP wrappers), each as its own
``torch.compile`` object, with static shapes (the batch never changes: the last, smaller batch of an
epoch is dropped). The step itself stays eager: its backward passes, optimizer updates, EMA and
metrics are a handful of fused kernels already, and graph breaks at ``backward()`` would split it
anyway. The compiled objects are *wrappers* that share the networks' parameters: the run's networks,
the EMA copy, the checkpoint and the export stay the plain modules (their ``state_dict`` keys carry no
``_orig_mod.``). Gradient penalties that differentiate D twice (WGAN-GP, R1/R2) call the plain D:
AOTAutograd does not support double backward. Sample grids and the export's metrics use the plain
generator too: they are rare, and compiling them would only cost time.

The mode: on the CPU torch's default; on CUDA :data:`CUDA_MODE` (Triton kernels with autotuned
matrix products and convolutions, no CUDA graphs) until the GPU benchmark (``bench/gpu_speed.py``)
has measured it against ``reduce-overhead`` (CUDA graphs) and the default; ``--compile-mode``
overrides it. Compilation does not change the function a step computes, only the rounding of its
floating-point sums, so a resumed run may turn ``--compile`` on or off (it is not fixed on resume).

Where compilation is unavailable (an unsupported Python, no C++ compiler for the CPU kernels, no
Triton for the GPU kernels, or ``torch.compile`` failing when the step first calls a network), the
run stops with a one-line ``ConfigError`` naming the cause and the fix: it never trains on silently
without what was asked for.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError

__all__ = [
    "COMPILE_MODES",
    "CUDA_MODE",
    "CompiledCall",
    "CompiledNetworks",
    "check_compile",
    "check_compile_available",
    "check_compile_request",
    "compile_mode",
    "compile_networks",
]

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
"""``torch.compile``'s modes, as ``--compile-mode`` accepts them."""
CUDA_MODE = "max-autotune-no-cudagraphs"
"""The mode on CUDA when none is asked for; to be confirmed (or replaced) by ``bench/gpu_speed.py`` on a GPU."""
CPU_MODE = "default"
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")
"""The modes that record CUDA graphs: each training step must tell torch where it begins."""
BACKEND = "inductor"
"""What ``torch.compile`` compiles with (a module attribute, so tests can make it fail)."""
FIX = "train without --compile"


def check_compile_request(compile: Any, mode: Any) -> None:
    """The request's ``compile`` and ``compile_mode`` fields on their own (before any data or device)."""
    if compile not in (None, True, False):
        raise ConfigError(f"compile must be True or False, got {compile!r}")
    if mode is None:
        return
    if mode not in COMPILE_MODES:
        raise ConfigError(f"unknown --compile-mode {mode!r}; use one of {', '.join(COMPILE_MODES)}")
    if not compile:
        raise ConfigError(f"--compile-mode {mode} needs --compile; give both, or neither")


def compile_mode(requested: str | None, device: Any) -> str:
    """The mode for ``device``: the requested one (checked against the device), else the device's default."""
    if requested is None:
        return CUDA_MODE if device.type == "cuda" else CPU_MODE
    if requested in CUDA_GRAPH_MODES and device.type != "cuda":
        raise ConfigError(f"--compile-mode {requested} records CUDA graphs and needs a CUDA device (the device is "
                          f"{device}); use --compile-mode default, or {FIX}")
    return requested


def _cpp_compilers() -> tuple[str, ...]:
    """The C++ compilers inductor looks for on the CPU (``torch._inductor.config.cpp.cxx``; ``$CXX`` is one)."""
    import torch._inductor.config as inductor_config

    names = inductor_config.cpp.cxx
    names = names if isinstance(names, (list, tuple)) else (names,)
    return tuple(str(name) for name in names if name)


def check_compile_available(device: Any) -> None:
    """Refuse up front what cannot compile here: an unsupported Python, no C++ compiler (CPU), no Triton (GPU)."""
    import torch

    version = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    if not hasattr(torch, "compile") or not torch._dynamo.is_dynamo_supported():
        raise ConfigError(f"--compile: torch {torch.__version__} has no torch.compile for {version} on "
                          f"{sys.platform}; {FIX} (or use a Python and platform that torch.compile supports)")
    if device.type == "cpu":
        compilers = _cpp_compilers()
        if not any(shutil.which(name.split()[0]) for name in compilers):
            looked = ", ".join(compilers) or "g++"
            raise ConfigError(f"--compile on the CPU needs a C++ compiler (torch.compile builds C++ kernels; looked "
                              f"for {looked}): install one (e.g. apt-get install g++) or set CXX, or {FIX}")
    elif device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            raise ConfigError(f"--compile on CUDA needs Triton for its GPU kernels (pip install triton, the version "
                              f"torch {torch.__version__} names), or {FIX}")
    elif device.type != "cpu":
        raise ConfigError(f"--compile is supported on CPU and CUDA devices, not {device.type}; {FIX}")


def _is_compile_failure(error: BaseException) -> bool:
    """An exception raised by torch.compile itself (tracing or code generation), not by the computation."""
    import torch._dynamo.exc as dynamo_exc

    return isinstance(error, dynamo_exc.TorchDynamoException)


class CompiledCall:
    """One compiled network (or DDP wrapper), called as the network is; a compilation failure, at the first call
    or at a later recompilation, becomes a one-line ``ConfigError``."""

    def __init__(self, compiled: Callable[..., Any], what: str, mode: str):
        self.compiled = compiled
        self.what = what
        self.mode = mode

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.compiled(*args, **kwargs)
        except Exception as error:
            if not _is_compile_failure(error):
                raise
            raise ConfigError(f"--compile: torch.compile (mode {self.mode}) failed on the {self.what} "
                              f"({_cause(error)}); {FIX}") from error


def _cause(error: BaseException) -> str:
    """``Kind: first line`` of what made torch.compile fail (a backend's failure is wrapped with an empty first
    line: its own exception is the one that names the cause)."""
    inner = getattr(error, "inner_exception", None)
    while isinstance(inner, BaseException) and getattr(inner, "inner_exception", None) is not None:
        inner = inner.inner_exception
    cause = inner if isinstance(inner, BaseException) else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return f"{type(cause).__name__}: {(lines or ['no message'])[0][:240]}"


@dataclass
class CompiledNetworks:
    """What the step calls instead of the networks: ``generator`` / ``discriminator`` for forward passes
    outside an update's backward (fakes for D, D's scores in G's update), ``g_train`` / ``d_train`` for the
    updates (the DDP wrappers' compiled calls on several processes)."""

    mode: str
    generator: CompiledCall
    discriminator: CompiledCall
    g_train: CompiledCall
    d_train: CompiledCall

    def calls(self) -> tuple[CompiledCall, CompiledCall, CompiledCall, CompiledCall]:
        """``(generator, discriminator, g_train, d_train)``, as the step holds them."""
        return self.generator, self.discriminator, self.g_train, self.d_train

    @property
    def cuda_graphs(self) -> bool:
        return self.mode in CUDA_GRAPH_MODES

    def begin_step(self) -> None:
        """Tell CUDA graph trees that a new step begins: the last step's graph outputs are no longer read."""
        if self.cuda_graphs:
            import torch

            torch.compiler.cudagraph_mark_step_begin()

    def record(self) -> dict[str, Any]:
        """For config.json's ``training`` section and the card."""
        return {"mode": self.mode, "backend": BACKEND}


def check_compile(requested_mode: str | None, device: Any) -> str:
    """The mode for ``device``, once the device has been checked able to compile (:func:`check_compile_available`)."""
    mode = compile_mode(requested_mode, device)
    check_compile_available(device)
    return mode


def compile_networks(
    generator: Any, discriminator: Any, g_train: Any, d_train: Any, *, device: Any, requested_mode: str | None
) -> CompiledNetworks:
    """Compiled calls of the networks (and wrappers), sharing their parameters; checks that compiling is possible."""
    import torch

    mode = check_compile(requested_mode, device)

    def compiled(module: Any, what: str) -> CompiledCall:
        return CompiledCall(torch.compile(module, mode=mode, dynamic=False, backend=BACKEND), what, mode)

    g_call, d_call = compiled(generator, "generator"), compiled(discriminator, "discriminator")
    g_train_call = g_call if g_train is generator else compiled(g_train, "generator (DDP)")
    d_train_call = d_call if d_train is discriminator else compiled(d_train, "discriminator (DDP)")
    return CompiledNetworks(mode, g_call, d_call, g_train_call, d_train_call)
