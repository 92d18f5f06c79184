"""Devices and numeric precision: what ``--device`` and ``--precision`` mean on this machine.

A request the machine cannot honour (``cuda`` without a GPU, ``fp16`` on a CPU) is refused
up front with a one-line ``ConfigError`` instead of failing deep inside the first step.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import ConfigError

__all__ = [
    "NATIVE_BF16_CPUS", "PRECISIONS", "CpuBf16", "Precision", "cpu_bf16", "describe_hardware", "resolve_device",
    "resolve_precision",
]

PRECISIONS = ("fp32", "bf16", "fp16")

NATIVE_BF16_CPUS = "Intel Xeon Cooper Lake, Sapphire Rapids and later, AMD Zen 4 and later"
"""x86 CPUs with AVX-512 BF16 or AMX, which compute bf16 natively; on the others torch emulates it."""

_X86 = ("x86_64", "amd64", "i386", "i686", "x86")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit device must exist."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA GPU is available here; use --device cpu (or auto)")
        index = int(match.group(1) or torch.cuda.current_device())
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"--device {name}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
        return torch.device("cuda", index)
    if name == "mps":
        if not _mps_available():
            raise ConfigError("--device mps: Apple MPS is not available here; use --device cpu (or auto)")
        return torch.device("mps")
    raise ConfigError(f"unknown --device {name!r}; use auto, cpu, cuda, cuda:N or mps")


@dataclass(frozen=True)
class CpuBf16:
    """Whether this CPU computes bf16 natively, as torch tells it.

    On an x86 CPU without AVX-512 BF16 or AMX, torch emulates bf16 (converts to fp32 and back around
    every operation), so ``--precision bf16`` there is slower than fp32, up to ten times for the
    small matrix products of the zoo's models: a user asking for bf16 to go faster must be told.
    """

    capability: str
    """``torch.backends.cpu.get_cpu_capability()``: the vector code ATen runs (``DEFAULT``, ``AVX2``, ``AVX512``...)."""
    native: bool | None
    """True with AVX-512 BF16 or AMX and torch running its AVX-512 code; False on an x86 CPU without either, or
    where torch runs its AVX2 code (``ATEN_CPU_CAPABILITY``, a VM that hides AVX-512), whose kernels have no
    bf16 instructions; None where torch cannot tell (another architecture, whose bf16 instructions torch does
    not report, or a torch without these checks)."""

    def describe(self) -> str:
        """The capability and, where known, the bf16 hardware, for benchmark tables and notes."""
        if self.native is None:
            return f"{self.capability}, bf16 support unknown"
        return f"{self.capability}, {'native bf16 (AVX-512 BF16 or AMX)' if self.native else 'bf16 emulated'}"


def cpu_bf16() -> CpuBf16:
    """Ask torch whether this CPU has native bf16: ``torch.cpu._is_avx512_bf16_supported``, ``_is_amx_tile_supported``.

    They are private (torch has no public check yet), so their absence means "cannot tell", never "no"."""
    capability = str(torch.backends.cpu.get_cpu_capability())
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if platform.machine().lower() not in _X86 or any(check is None for check in checks):
        return CpuBf16(capability, None)
    hardware = any(bool(check()) for check in checks)  # type: ignore[misc]
    return CpuBf16(capability, hardware and capability.upper().startswith("AVX512"))


@dataclass(frozen=True)
class Precision:
    """How the forward passes run: full fp32, or autocast to bf16/fp16 (fp16 with loss scaling)."""

    name: str
    device_type: str
    note: str | None = None
    """One line the user must read about this choice (bf16 emulated on this CPU), or None."""

    @property
    def dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    @property
    def needs_scaler(self) -> bool:
        return self.name == "fp16"

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """No gradients, same precision: for sample grids during training."""
        with torch.no_grad(), self.autocast():
            yield

    def make_scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler: active for fp16 only (bf16 has fp32's range and needs none)."""
        return torch.amp.GradScaler(self.device_type if self.needs_scaler else "cpu", enabled=self.needs_scaler)


def resolve_precision(name: str, device: torch.device) -> Precision:
    """Check that ``device`` can run ``name`` (fp16 needs CUDA; bf16 needs a CPU or a bf16-capable GPU).

    bf16 on a CPU without native bf16 is allowed, with a note: it computes the same function (a bf16
    run there is reproducible and tests what a GPU run would do) and is only slower, so refusing
    would take away a working choice; the note names the CPU's capability and the fix."""
    name = (name or "fp32").strip().lower()
    if name not in PRECISIONS:
        raise ConfigError(f"unknown --precision {name!r}; use one of {', '.join(PRECISIONS)}")
    if name == "fp16" and device.type != "cuda":
        raise ConfigError(
            f"--precision fp16 needs a CUDA GPU (device is {device}); use --precision bf16 or fp32"
        )
    if name == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(
                f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16 support; use fp16 or fp32"
            )
        if device.type not in ("cpu", "cuda"):
            raise ConfigError(f"--precision bf16 is not supported on {device.type}; use fp32")
        if device.type == "cpu" and (cpu := cpu_bf16()).native is False:
            note = (
                f"--precision bf16 is emulated on this CPU (torch reports {cpu.capability}; native bf16 needs "
                "AVX512 with AVX-512 BF16 or AMX), so it is slower than fp32 here; use --precision fp32, or a CPU "
                f"with native bf16 ({NATIVE_BF16_CPUS})"
            )
            return Precision(name, device.type, note)
    return Precision(name, device.type)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def describe_hardware(device: torch.device, processes: int = 1, nodes: int = 1) -> str:
    """What the model card states as hardware: the GPU's name, or the CPU model and its cores.

    With several training processes (``torchrun``), the GPU count is the number of processes and
    the machines are counted; rank 0's GPU or CPU stands for all of them.
    """
    machines = f" on {nodes} machines" if nodes > 1 else ""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        properties = torch.cuda.get_device_properties(index)
        return f"{processes}x {properties.name} ({properties.total_memory / 2**30:.0f} GiB){machines}"
    if device.type == "mps":
        return f"Apple {platform.machine()} GPU (MPS)"
    cores = _cpu_cores()
    threads = torch.get_num_threads()
    where = f"{_cpu_model()} CPU, {_count(cores, 'core')} ({_count(threads, 'torch thread')}"
    if processes > 1:
        return f"{where} per process), {processes} processes{machines}"
    return f"{where})"
