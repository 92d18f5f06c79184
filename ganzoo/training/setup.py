"""From a request to a ready :class:`.run.Run`: registry lookup, data, networks, DDP, optimizers, streams.

Every check that can fail does so here, before the first step: a wrong dataset, a model that
does not fit the data, too few samples for the batch, a checkpoint from another run. The order
of what draws from torch's global generator (the data, then the networks, then the rank's own
seed) is part of what a seed means, so it is fixed here and nowhere else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..io.files import jsonable
from ..models.device import resolve_precision
from ..registry.records import call_with_accepted
from .allocator import tune_cpu_allocator
from .checkpoint import load_checkpoint
from .config import TrainConfig, default_out, model_config_for, resolve
from .memory_layout import uses_channels_last
from .parallel.compiling import check_compile, compile_networks
from .parallel.distributed import RANK_SEED_STRIDE, Group, check_world_size, launcher_words
from .parallel.placement import place_data
from .parallel.runlock import RunFolderLock
from .practices import resolve_practices
from .practices.augment import Augmenter
from .practices.ema import GeneratorEMA
from .progress_bar import Reporter, make_reporter
from .record import equivalent_command
from .resume import check_resume_compatible
from .run import Run, RunPaths
from .step import AdversarialStep, Optimisation, fused_adam
from .streams import BatchStream, FixedSamples, GlobalRandomState, NoiseStream
from .threads import apply_threads
from .window import MetricWindow

__all__ = ["build_run", "check_batch_normalisation", "restore"]

POINTS_IN_SCATTER = 1000
REAL_POINTS = 2000
MIN_BATCHNORM_BATCH = 2
"""Samples a BatchNorm layer needs per batch in training: one sample has no batch statistics to normalise by."""


def check_batch_normalisation(
    batch_size: int, model: str, networks: dict[str, nn.Module], *, processes: int = 1
) -> None:
    """Refuse a batch too small for the BatchNorm layers the built ``networks`` contain, before the first step.

    In training, BatchNorm normalises each channel by the batch's statistics: with one sample a
    ``BatchNorm1d`` raises inside the step, and a ``BatchNorm2d`` normalises each image by itself,
    which is no longer the model. The networks are inspected (any subclass of torch's BatchNorm,
    ``SyncBatchNorm`` included), so every model, built-in or plugin, gets the same rule. With
    ``--sync-bn`` the statistics are over all ``processes``' batches together."""
    if batch_size * processes >= MIN_BATCHNORM_BATCH:
        return
    using = [role for role, network in networks.items()
             if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())]
    if using:
        raise ConfigError(
            f"--batch-size {batch_size} is too small for {model}: its {' and '.join(using)} "
            f"{'use' if len(using) > 1 else 'uses'} BatchNorm, which needs at least {MIN_BATCHNORM_BATCH} samples "
            f"per batch; use --batch-size {MIN_BATCHNORM_BATCH} or more"
        )


@dataclass
class OpenedFolder:
    """What opening the run folder found: its paths, rank 0's lock, the checkpoint to resume, notes."""

    request: TrainConfig
    paths: RunPaths
    lock: RunFolderLock | None
    saved: dict[str, Any] | None
    notes: list[str]


def _open_run_folder(request: TrainConfig, group: Group) -> OpenedFolder:
    """Lock the run folder (rank 0), clear what killed writes left, and read the checkpoint to resume from
    (rank 0 reads it and hands it to the others: no shared disk needed)."""
    from ..registry.catalog import get_model_spec

    spec = get_model_spec(request.model)
    out = Path(request.out) if request.out else default_out(spec.name, request.dataset or spec.default_dataset)
    paths = RunPaths(out)
    taken: list[RunFolderLock] = []  # the lock stays on rank 0: only its error is handed to the others
    group.from_main(lambda: taken.append(RunFolderLock(paths.out).acquire()))
    lock = taken[0] if taken else None
    try:
        notes = group.from_main(lambda: _tidy(paths, request.resume))
        if not request.resume:
            return OpenedFolder(request, paths, lock, None, notes)
        saved = group.from_main(lambda: load_checkpoint(paths.checkpoint, map_location="cpu"))
        check_world_size(saved["run"], group.world_size, out)
        resumed = check_resume_compatible(request, saved["run"], out)
        if request.data_dir is None and resumed.data_dir is not None:
            notes.append(f"--data {resumed.data_dir}: the folder this run was trained on (give --data to read another)")
        request = resumed
        request.out = out
        return OpenedFolder(request, paths, lock, saved, notes)
    except BaseException:
        if lock is not None:
            lock.abandon()
        raise


def _tidy(paths: RunPaths, resume: bool) -> list[str]:
    """With the lock held: remove temporaries of killed writes, refuse links out of the folder, refuse to start
    over a run that can go on."""
    notes = []
    stale = paths.stale_temporaries()
    for path in stale:
        path.unlink(missing_ok=True)
    paths.entries()
    if stale:
        notes.append(f"removed {len(stale)} temporary file(s) that an interrupted write left in {paths.out}")
    if not resume:
        if paths.has_run():
            raise ConfigError(f"{paths.out} already holds a run; pass --resume to continue it or choose another --out")
        if paths.has_leftovers():
            notes.append(f"{paths.out} held no checkpoint or export (a run that stopped before its first "
                         "checkpoint): starting afresh")
    return notes


def state_license(data: Any, stated: str | None, data_dir: Any) -> None:
    """``--data-license`` becomes the data's licence, which the card and config.json then record; a licence
    file in the data folder that names another one wins the argument, as a one-line error."""
    if stated is None:
        return
    own = str(getattr(data, "license", "") or "")
    if own and own.strip().lower() != stated.strip().lower():
        where = f"the licence file in {data_dir}" if data_dir else "the loaded data"
        raise ConfigError(f"--data-license says {stated!r} but {where} says {own!r}; drop --data-license "
                          "or correct the licence file")
    data.license = stated


def build_run(
    request: TrainConfig, group: Group, reporter: Reporter | None = None, callbacks: Sequence[Any] = ()
) -> Run:
    """Check ``request``, load the data, build the networks and the streams; restore a checkpoint on resume.

    ``callbacks`` are added after the ones ``request.callbacks`` names (built from the registry)."""
    opened = _open_run_folder(request, group)
    try:
        run = _build(opened, group, reporter, callbacks)
        run.lock = opened.lock
        for note in opened.notes:
            run.notice(note)
        if opened.saved is not None:
            restore(run, opened.saved)
            if run.total_steps < run.step:  # nothing would be trained, and the export would be rewritten
                raise ConfigError(
                    f"{run.paths.out} has trained {run.step} steps already and --steps/--epochs asks for "
                    f"{run.total_steps}; ask for more to continue it (its export is in {run.paths.export})"
                )
    except BaseException:
        if opened.lock is not None:
            opened.lock.abandon()
        raise
    return run


def _build(opened: OpenedFolder, group: Group, reporter: Reporter | None, callbacks: Sequence[Any]) -> Run:
    paths = opened.paths
    resolved = resolve(opened.request)
    request = resolved.request  # with the model's training practices where the request leaves them unset
    # before the data are decoded and the networks built: both use torch's threads
    threads, why = apply_threads(request.threads, group.topology.local_world_size)
    if why is not None:
        opened.notes.append(f"--threads {threads} ({why})")
    device = group.device
    precision = resolve_precision(request.precision, device)
    if precision.note is not None:
        opened.notes.append(precision.note)
    if request.compile:  # what cannot compile here is refused before the data are loaded
        check_compile(request.compile_mode, device)
    # a CPU step reallocates the same tensors every time: keep them in the heap (see allocator.py)
    cpu_allocator = tune_cpu_allocator() if device.type == "cpu" else None
    reporter = reporter or make_reporter(request.quiet, main=group.is_main)

    torch.manual_seed(request.seed)
    random.seed(request.seed)
    spec = resolved.spec
    with group.local_main_first():  # one download or image-cache build per machine
        data = resolved.dataset_spec.load(
            request.data_dir,
            request.split,
            download=request.download,
            image_size=model_config_for(spec, resolved.options).get("image_size"),
        )
    if request.limit is not None and request.limit < len(data):
        data = data.subset(int(request.limit))
    state_license(data, request.data_license, request.data_dir)
    world = group.world_size
    if len(data) < resolved.batch_size * world:
        what = f"global batch size {resolved.batch_size * world} ({resolved.batch_size} per device x {world})"
        raise ConfigError(
            f"{resolved.dataset} has {len(data)} training samples, fewer than the "
            f"{what if world > 1 else f'batch size {resolved.batch_size}'}; lower --batch-size"
        )
    if spec.conditional and data.labels is None:
        raise ConfigError(f"{spec.name} is conditional and needs labelled data, but {resolved.dataset!r} has no labels")
    num_classes = data.num_classes if spec.conditional else None
    model_config = model_config_for(
        spec,
        resolved.options,
        sample_shape=data.sample_shape,
        channels=data.sample_shape[0] if data.is_image else None,
        num_classes=num_classes,
    )
    generator: nn.Module = call_with_accepted(spec.generator, model_config)
    discriminator: nn.Module = call_with_accepted(spec.discriminator, model_config)
    if request.sync_bn:
        generator = group.sync_batchnorm(generator)
        discriminator = group.sync_batchnorm(discriminator)
    check_batch_normalisation(resolved.batch_size, spec.name, {"generator": generator, "discriminator": discriminator},
                              processes=world if request.sync_bn else 1)
    produced = tuple(int(s) for s in generator.sample_shape)
    if produced != tuple(data.sample_shape):
        raise ConfigError(
            f"{spec.name} produces samples of shape {produced} but {resolved.dataset} has samples of shape "
            f"{tuple(data.sample_shape)}; choose a dataset of that shape or other model options"
        )
    pretrained = None
    if request.init_from and not request.resume:  # a resumed run's checkpoint holds its weights already
        from .init_from import init_from

        pretrained, loaded = init_from(str(request.init_from), spec.name, generator, discriminator)
        opened.notes.append(loaded)
    channels_last = uses_channels_last(request.memory_format, data.samples.dim() - 1, generator, discriminator,
                                       images=bool(data.is_image))
    memory = torch.channels_last if channels_last else torch.preserve_format
    generator.to(device, memory_format=memory)
    discriminator.to(device, memory_format=memory)
    loss = resolved.loss_spec.build(**resolved.loss_options)
    practices = resolve_practices(request, is_image=bool(data.is_image))
    ema = GeneratorEMA(generator, half_life=practices.ema_half_life, rampup=practices.ema_rampup) \
        if practices.ema_half_life else None
    if ema is not None and pretrained is not None and pretrained.generator_ema is not None:
        from .init_from import fit_state

        fit_state(ema.module, pretrained.generator_ema, "generator_ema", pretrained)
    g_update = Optimisation(fused_adam(generator.parameters(), resolved.lr, resolved.betas, device),
                            precision.make_scaler(), max_norm=request.grad_clip)
    d_update = Optimisation(fused_adam(discriminator.parameters(), resolved.lr, resolved.betas, device),
                            precision.make_scaler(), max_norm=request.grad_clip)
    # what the updates call: DDP wrappers (gradients averaged over the ranks) or the networks themselves
    g_train, d_train = group.wrap(generator), group.wrap(discriminator)
    if group.enabled:  # the networks are built alike; other randomness differs per rank
        torch.manual_seed(request.seed + group.rank * RANK_SEED_STRIDE)
        random.seed(request.seed + group.rank * RANK_SEED_STRIDE)

    conditional = bool(spec.conditional)
    # on the GPU when they fit (placement.py), else batch by batch from host memory
    samples, labels = place_data(data.samples, data.labels if conditional else None, device, opened.notes.append)
    undecided = resolved.loss_spec.undecided_logit
    if practices.augment.adaptive and undecided is None:  # only a resume gets here (resolve refuses a new run)
        opened.notes.append(f"this run's --augment ada counts D's real outputs against 0, a level that loss "
                            f"{resolved.loss_spec.name!r} leaves free: its p follows no measure of overfitting; "
                            "it is kept so that the run resumes as it began")
    augmenter = Augmenter(
        practices.augment, device, seed=request.seed + 4 + group.rank * RANK_SEED_STRIDE,
        undecided=undecided or 0.0, all_reduce=group.mean_ if group.enabled else None,
    ) if practices.augment.enabled else None
    batches = BatchStream(
        samples, labels, batch_size=resolved.batch_size, seed=request.seed,
        world_size=world, rank=group.rank, channels_last=channels_last, device=device,
    )
    latent_dim = int(generator.latent_dim)
    noise = NoiseStream(
        latent_dim, device, seed=request.seed + 1, num_classes=int(num_classes or 1) if conditional else None,
        world_size=world, rank=group.rank,
    )
    compiled = compile_networks(generator, discriminator, g_train, d_train, device=device,
                                requested_mode=request.compile_mode) if request.compile else None
    train_step = AdversarialStep(
        generator=generator, discriminator=discriminator, g_train=g_train, d_train=d_train, loss=loss,
        g_update=g_update, d_update=d_update, precision=precision, batches=batches, noise=noise,
        reuse_fakes=bool(request.reuse_fakes), augment=augmenter, regularizer=practices.penalty, ema=ema,
        compiled=compiled,
    )
    total_steps = resolved.total_steps(batches.batches_per_epoch, train_step.d_steps)
    launcher = launcher_words(group.topology) if group.enabled else None
    run = Run(
        config=resolved,
        paths=paths,
        group=group,
        precision=precision,
        reporter=reporter,
        data=data,
        model_config=model_config,
        generator=generator,
        discriminator=discriminator,
        loss=loss,
        g_update=g_update,
        d_update=d_update,
        batches=batches,
        noise=noise,
        global_rng=GlobalRandomState(device, group),
        fixed=fixed_samples(request, data, latent_dim, num_classes if conditional else None, device),
        train_step=train_step,
        window=MetricWindow(resolved.log_every, device, group),
        total_steps=total_steps,
        commands=[request.command or equivalent_command(resolved, total_steps, launcher, practices)],
        cpu_allocator=cpu_allocator,
        real_points=data.samples[: min(len(data), REAL_POINTS)] if not data.is_image else None,
        callbacks=[*_registered_callbacks(resolved.callbacks, resolved.callback_options), *callbacks],
        practices=practices,
        ema=ema,
        augmenter=augmenter,
        threads=threads,
    )
    run.noise.notice = run.global_rng.notice = run.notices.say  # type: ignore[union-attr]
    if run.augmenter is not None:
        run.augmenter.notice = run.notices.say  # type: ignore[union-attr]
    return run


def _registered_callbacks(names: Sequence[str], options: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """The ``--callback`` callbacks, each built with its ``--callback-option`` values (checked by :func:`resolve`)."""
    from ..registry.catalog import get_callback_spec

    built = []
    for name in names:
        callback = get_callback_spec(name).build(**options.get(name, {}))
        callback.registered_name = name
        built.append(callback)
    return built


def fixed_samples(
    request: TrainConfig, data: Any, latent_dim: int, num_classes: int | None, device: torch.device
) -> FixedSamples:
    """The grid's latents: one row per class for conditional models; a scatter needs more points than a grid."""
    rng = torch.Generator().manual_seed(request.seed + 2)
    if num_classes is not None:
        classes = int(num_classes or 1)
        per_row = max(1, round(request.num_samples / classes))
        labels: torch.Tensor | None = torch.arange(classes).repeat_interleave(per_row).to(device)
        count, nrow = classes * per_row, per_row
    else:
        labels = None
        nrow = max(1, int(math.sqrt(request.num_samples)))
        count = request.num_samples if data.is_image else max(request.num_samples, POINTS_IN_SCATTER)
    return FixedSamples(torch.randn(count, latent_dim, generator=rng).to(device), labels, nrow=nrow)


def checkpoint_state(run: Run) -> dict[str, Any] | None:
    """The checkpoint: every stateful part's ``state_dict()`` by name and the settings a resumed run must
    share. Every rank must call it (a part may gather from the ranks); only rank 0 gets the state."""
    parts = {name: part.state_dict() for name, part in run.stateful_parts().items()}
    if not run.is_main:
        return None
    from .._version import __version__

    return {
        "run": run_record(run),
        "request": run.config.request.to_dict(),
        "model_config": jsonable(run.model_config),
        "commands": list(run.commands),
        "total_steps": run.total_steps,
        "ganzoo_version": __version__,
        "parts": parts,
    }


def run_record(run: Run) -> dict[str, Any]:
    """The settings a resumed run must share, and the defaults it inherits: the option table's recorded options
    (:func:`.record.run_record_of`), with the TensorBoard folder relative to the run folder (a moved folder
    writes into itself, and a checkpoint names no place outside), the data folder made absolute, and the number
    of processes."""
    from .artifacts import run_settings_of
    from .record import run_record_of

    settings = run_settings_of(run)
    board = run.config.tensorboard
    settings["tensorboard"] = run.paths.guard.record(board) if board is not None else None
    given = run.config.request.data_dir  # absolute, so that a resume from another folder reads the same data
    settings["data_dir"] = str(Path(given).expanduser().resolve()) if given else None
    return {**run_record_of(settings), "world_size": run.group.world_size}


def restore(run: Run, state: dict[str, Any]) -> None:
    """Continue from ``state`` (a checkpoint in the version-2 shape, see :func:`.checkpoint.load_checkpoint`)."""
    saved_config = state.get("model_config", {})
    if jsonable(run.model_config) != saved_config:
        raise ConfigError(
            f"{run.paths.out} holds a run whose model configuration {saved_config} differs from this one "
            f"{jsonable(run.model_config)}; choose another --out"
        )
    saved = state["parts"]
    stateful = run.stateful_parts()
    for name in saved.keys() - stateful.keys():
        if name.startswith("callback:"):
            run.notice(f"the checkpoint holds the state of {name}, which this session does not use; it is dropped")
    for name, part in stateful.items():
        if name not in saved:
            if name.startswith("callback:"):  # turned on in this session: it starts afresh
                continue
            raise ConfigError(f"checkpoint {run.paths.checkpoint} holds no {name} state; it was not written by "
                              "this kind of run: choose another --out")
        try:
            part.load_state_dict(saved[name])
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ConfigError(f"checkpoint {run.paths.checkpoint} does not fit this run: its {name} state "
                              f"cannot be restored ({first}); choose another --out") from None
    run.last_checkpoint_step = run.step
    run.commands = [*state.get("commands", []), run.commands[-1]]
