"""Training on several processes with PyTorch's own engine: ``torch.distributed`` and DDP under ``torchrun``.

``torchrun`` (or ``ganzoo train --nproc N``, which runs torchrun's launcher for one machine)
starts one process per device and sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``. The
trainer then asks :func:`setup` for a :class:`Group`: it joins the process group (``nccl``
on CUDA, ``gloo`` on the CPU) with a timeout, so that a rank that died or stalls ends the
run with an error instead of a hang, and picks ``cuda:LOCAL_RANK`` on GPUs. Without those
variables (or with ``WORLD_SIZE=1``) the group is a no-op and the trainer is the
single-process trainer, bit for bit.

How the work is split, and why:

* **Data.** Every rank keeps the whole split as one tensor and draws the same seeded
  permutation per epoch; of each *global* batch (``--batch-size`` x world size) rank ``r``
  takes the ``r``-th slice. That is ``DistributedSampler`` for tensor-resident data:
  disjoint shards, reshuffled every epoch, the epoch ending when less than a global batch
  is left.
* **Noise.** Every rank draws the noise of the whole global batch from the same seeded
  stream and keeps its slice: the ranks' noise differs, and a run on N processes sees
  exactly the data and noise of a one-process run with N times the batch. Other
  randomness (the WGAN-GP interpolation weights, say) uses torch's global generator,
  seeded ``seed + rank * RANK_SEED_STRIDE`` after the networks are built.
* **Weights.** Both networks are built from the same seed and wrapped in
  ``DistributedDataParallel``, which broadcasts rank 0's weights and buffers at
  construction and averages the gradients of every backward pass that went through the
  wrapper. The trainer runs D's update through D's wrapper and G's update through G's
  wrapper, with D called *unwrapped* (and frozen) inside G's update, so each backward
  pass averages exactly the gradients its optimizer steps on.
* **BatchNorm.** By default each rank normalises with its own batch's statistics and DDP
  broadcasts rank 0's running statistics before every wrapped forward pass (what is saved
  and exported are rank 0's). ``--sync-bn`` converts the layers to ``SyncBatchNorm``
  (statistics over the global batch; torch runs it on GPUs only).

Only rank 0 writes files; the others stay quiet. See :mod:`.launch` for ``--nproc``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from ...errors import ConfigError, GanzooError
from . import DEFAULT_DIST_TIMEOUT_S

__all__ = [
    "RANK_SEED_STRIDE",
    "DistributedRunError",
    "Group",
    "Topology",
    "check_world_size",
    "launcher_words",
    "parameter_checksum",
    "setup",
    "topology_from_env",
]

RANK_SEED_STRIDE = 1_000_003
"""Rank ``r`` seeds torch's global generator with ``seed + r * RANK_SEED_STRIDE`` (a prime far from small seeds,
so the streams of neighbouring seeds and ranks do not coincide)."""

T = TypeVar("T")


class DistributedRunError(GanzooError):
    """A process of a multi-process run failed or stopped answering; the run ended on every rank."""


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not a whole number (set by torchrun)") from None


@dataclass(frozen=True)
class Topology:
    """Who this process is among the processes of a run."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def nodes(self) -> int:
        return max(1, self.world_size // max(1, self.local_world_size))


def topology_from_env(env: Mapping[str, str] | None = None) -> Topology:
    """``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` as torchrun sets them (absent: one process)."""
    env = os.environ if env is None else env
    world = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    local_rank = _env_int(env, "LOCAL_RANK", rank)
    local_world = _env_int(env, "LOCAL_WORLD_SIZE", world)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={world} do not fit together; launch with torchrun")
    return Topology(world, rank, local_rank, local_world)


def launcher_words(topology: Topology) -> list[str]:
    """The torchrun command words that repeat this topology (for the command in the model card)."""
    words = ["torchrun"]
    if topology.nodes > 1:
        words += ["--nnodes", str(topology.nodes)]
    return [*words, "--nproc-per-node", str(topology.local_world_size), "-m"]


def _device_for(name: str, topology: Topology) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` on GPUs, else the CPU."""
    from ...models.device import resolve_device

    name = (name or "auto").strip().lower()
    if name == "mps":
        raise ConfigError("--device mps cannot train on several processes (no torch.distributed backend); "
                          "use one process or --device cpu")
    if name not in ("auto", "cpu", "cuda"):
        resolve_device(name)  # unknown names get their usual error
        raise ConfigError(f"--device {name}: with several processes each one uses cuda:LOCAL_RANK; pass --device "
                          "cuda (or auto) and choose the GPUs with CUDA_VISIBLE_DEVICES")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available here; use --device cpu (or auto)")
    count = torch.cuda.device_count()
    if topology.local_rank >= count:
        raise ConfigError(f"local rank {topology.local_rank} needs cuda:{topology.local_rank} but this machine has "
                          f"{count} GPU(s); start at most {count} processes per machine")
    return torch.device("cuda", topology.local_rank)


class Group:
    """This process's view of the run: a no-op for one process, torch.distributed collectives otherwise."""

    def __init__(self, topology: Topology, device: torch.device, *, owns: bool = False, timeout_s: float = 0.0):
        self.topology = topology
        self.device = device
        self.owns = owns
        self.timeout_s = timeout_s

    # the shape of the run
    @property
    def enabled(self) -> bool:
        return self.topology.enabled

    @property
    def world_size(self) -> int:
        return self.topology.world_size

    @property
    def rank(self) -> int:
        return self.topology.rank

    @property
    def is_main(self) -> bool:
        return self.topology.is_main

    def shutdown(self) -> None:
        """Leave the process group if this object joined it (a group the caller made stays theirs)."""
        if self.owns and dist.is_initialized():
            dist.destroy_process_group()
        self.owns = False

    # networks
    def wrap(self, module: nn.Module) -> nn.Module:
        """``DistributedDataParallel(module)`` on several processes, ``module`` itself on one."""
        if not self.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)  # buffers: rank 0's, before each forward

    def sync_batchnorm(self, module: nn.Module) -> nn.Module:
        """BatchNorm layers as ``SyncBatchNorm`` (several CUDA processes only; one process: unchanged)."""
        if not self.enabled:
            return module
        if self.device.type != "cuda":
            raise ConfigError("--sync-bn needs CUDA GPUs (torch's SyncBatchNorm does not run on the CPU); drop it")
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)

    # collectives (every rank must call them, in the same order)
    def mean_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Average ``tensor`` over the ranks in place (non-finite values stay non-finite on every rank)."""
        if self.enabled and tensor.numel():
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            tensor.div_(self.world_size)
        return tensor

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on one."""
        if not self.enabled:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def gather(self, value: T) -> list[T]:
        """``value`` of every rank, in rank order, on every rank (small picklable values)."""
        if not self.enabled:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def from_main(self, function: Callable[[], T]) -> T:
        """Run ``function`` on rank 0 only (it sees rank 0's files) and give every rank its result or its error.

        Whatever ends ``function`` on rank 0 reaches the others at once, as the same kind of error: a
        ganzoo error as the same class with the same message, Ctrl-C as ``KeyboardInterrupt``, anything
        else as :class:`DistributedRunError`. Nobody waits for an answer that never comes.
        """
        if not self.enabled:
            return function()
        payload: list[Any] = [None]
        if self.is_main:
            try:
                payload[0] = ("ok", function())
            except BaseException as error:
                payload[0] = _failure(error)
                dist.broadcast_object_list(payload, src=0)
                raise
        dist.broadcast_object_list(payload, src=0)
        kind, value = payload[0]
        if kind == "ok":
            return value
        raise _rebuilt(kind, value, self.rank)

    @contextlib.contextmanager
    def local_main_first(self) -> Iterator[None]:
        """Let local rank 0 of each machine go first (a download or a decoded-image cache), then the others."""
        first = self.topology.local_rank == 0
        if self.enabled and not first:
            dist.barrier()
        yield
        if self.enabled and first:
            dist.barrier()

    @contextlib.contextmanager
    def failures_explained(self) -> Iterator[None]:
        """Turn a broken collective (a rank died, or stalled past the timeout) into a one-line error."""
        if not self.enabled:
            yield
            return
        try:
            yield
        except dist.DistError as error:
            raise DistributedRunError(self._lost_message(error)) from None
        except RuntimeError as error:
            if not _looks_like_communication(error):
                raise
            raise DistributedRunError(self._lost_message(error)) from None

    def _lost_message(self, error: BaseException) -> str:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        first = re.sub(r"^\[[^\]]*\]\s*", "", first)[:200]  # gloo and NCCL start with [source file:line]
        return (
            f"rank {self.rank}: lost contact with the other training processes ({first}); another process failed "
            f"(see its message) or stalled for more than {self.timeout_s:g} s (--dist-timeout)"
        )


def _failure(error: BaseException) -> tuple[str, Any]:
    """What rank 0 tells the others about an error: its kind and what is needed to raise it again there."""
    if isinstance(error, KeyboardInterrupt):
        return ("interrupt", "")
    if isinstance(error, GanzooError):
        return ("user", (type(error).__module__, type(error).__qualname__, str(error)))
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return ("crash", f"{type(error).__name__}: {first}")


def _rebuilt(kind: str, value: Any, rank: int) -> BaseException:
    """The error of rank 0 on another rank (see :meth:`Group.from_main`)."""
    if kind == "interrupt":
        return KeyboardInterrupt()
    if kind == "user":
        module, qualname, message = value
        try:
            cls: Any = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            cls = ConfigError
        if not (isinstance(cls, type) and issubclass(cls, GanzooError)):
            cls = ConfigError
        error = cls.__new__(cls)  # its constructor may take other arguments than the message
        Exception.__init__(error, message)
        return error
    return DistributedRunError(f"rank {rank}: rank 0 failed ({value})")


def _looks_like_communication(error: RuntimeError) -> bool:
    text = str(error).lower()
    return any(word in text for word in ("gloo", "nccl", "connection", "timed out", "timeout", "socket", "peer"))


def setup(
    device: str = "auto", timeout_s: float = DEFAULT_DIST_TIMEOUT_S, env: Mapping[str, str] | None = None
) -> Group:
    """This process's :class:`Group`: join the process group when torchrun started several processes."""
    from ...models.device import resolve_device

    topology = topology_from_env(env)
    if dist.is_available() and dist.is_initialized():  # the caller made the group: use it and leave it to them
        world, rank = dist.get_world_size(), dist.get_rank()
        if topology.world_size != world:  # not started by torchrun: take it for one machine
            topology = Topology(world, rank, rank, world)
        where = _device_for(device, topology) if topology.enabled else resolve_device(device)
        return Group(topology, where, owns=False, timeout_s=timeout_s)
    if not topology.enabled:
        return Group(topology, resolve_device(device))
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; train on one process")
    if not timeout_s > 0:
        raise ConfigError(f"--dist-timeout must be a positive number of seconds, got {timeout_s!r}")
    where = _device_for(device, topology)
    backend = "nccl" if where.type == "cuda" else "gloo"
    if where.type == "cuda":
        torch.cuda.set_device(where)
    options: dict[str, Any] = {"timeout": datetime.timedelta(seconds=timeout_s)}
    if where.type == "cuda":
        options["device_id"] = where
    try:
        dist.init_process_group(backend, **options)
    except (RuntimeError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise DistributedRunError(f"rank {topology.rank}: could not join the other processes ({first})") from None
    return Group(topology, where, owns=True, timeout_s=timeout_s)


def check_world_size(saved_run: Mapping[str, Any], world_size: int, out: Any) -> None:
    """A run resumes on as many processes as it was trained on: the data order, the noise streams and the
    global batch all depend on it."""
    saved = int(saved_run.get("world_size") or 1)
    if saved != world_size:
        def processes(n: int) -> str:
            return "1 process" if n == 1 else f"{n} processes"

        raise ConfigError(
            f"{out} holds a run trained on {processes(saved)}, not {processes(world_size)}; resume it on "
            f"{processes(saved)} (torchrun --nproc-per-node / ganzoo train --nproc) or choose another --out"
        )


def parameter_checksum(modules: Sequence[nn.Module]) -> str:
    """A short SHA-256 of the modules' parameters (bytes, in order): equal on every rank of a healthy run."""
    digest = hashlib.sha256()
    for module in modules:
        for name, parameter in module.named_parameters():
            digest.update(name.encode())
            digest.update(parameter.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
