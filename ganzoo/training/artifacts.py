"""What a finished run leaves behind: its final metrics and the export folder (weights, config.json, card).

The facts recorded here (the exact command, data, hyper-parameters, hardware, time) are what
make a model card honest, so they are gathered from the run itself, never retyped.
"""

from __future__ import annotations

from typing import Any

import torch

from .._version import __version__
from ..models.device import describe_hardware
from .parallel.distributed import DistributedRunError, parameter_checksum
from .run import Run
from .window import METRICS

__all__ = ["export_run", "final_metrics", "run_settings_of", "sample_metrics", "training_facts"]

METRIC_SAMPLES = 2000


def sample_metrics(run: Run) -> dict[str, Any]:
    """The data set's own score of the trained generator's samples (``DatasetSpec.sample_metrics``).

    A data set without one has none; one whose function fails is named in a one-line notice, and the
    run is exported without them rather than lost at its last moment.
    """
    spec = run.config.dataset_spec
    if spec.sample_metrics is None:
        return {}
    from ..registry.records import resolve

    try:
        score = resolve(spec.sample_metrics)
        rng = torch.Generator(device=run.device).manual_seed(run.config.request.seed + 3)
        z = torch.randn(METRIC_SAMPLES, run.noise.latent_dim, generator=rng, device=run.device)
        labels = None
        if run.noise.num_classes is not None:
            labels = torch.randint(run.noise.num_classes, (METRIC_SAMPLES,), generator=rng, device=run.device)
        with run.sampling() as generator, torch.no_grad():
            samples = generator(z, labels).float().cpu()
        metrics = dict(score(samples, run.config.dataset))
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        owner = f"plugin {spec.plugin!r}" if spec.plugin else "its plugin"
        run.notice(f"the sample metrics of dataset {spec.name!r} ({owner}) failed and are left out: "
                   f"{type(error).__name__}: {first}")
        return {}
    return metrics


def final_metrics(run: Run, wall: float) -> dict[str, Any]:
    """The losses of the last full logging window, the run's speed and, for toy data, mode coverage.

    A run stopped just after a log record (Ctrl-C, SIGTERM) ends with a record of a step or two, and a
    resume that trains nothing adds none: neither may stand for the end of training on a card, so the
    losses are averaged back over at least ``--log-every`` steps, and the speed is that of the whole run
    (``wall``: its training time over all sessions, the one the card states beside it).
    """
    metrics: dict[str, Any] = dict(trailing_means(run.counters.history, run.config.log_every))
    if run.augmenter is not None and run.augmenter.policy.per_image:
        metrics["augment_p"] = round(run.augmenter.probability(), 5)
    training = wall - run.counters.evaluation_s  # --eval-every's evaluations are not training
    metrics["images_per_s"] = round(run.counters.images_seen / training, 1) if training > 0 else 0.0
    if run.is_main:
        metrics.update(sample_metrics(run))
    return metrics


def trailing_means(history: list[dict[str, Any]], min_steps: int) -> dict[str, float]:
    """:data:`METRICS` averaged, weighted by steps, over the last log records that span ``min_steps`` steps
    (or all of them); a record spans the steps since the one before it."""
    history = [record for record in history if all(name in record for name in METRICS)]  # not evaluations
    if not history:
        return {}
    sums = dict.fromkeys(METRICS, 0.0)
    covered = 0
    for index in range(len(history) - 1, -1, -1):
        record = history[index]
        before = history[index - 1]["step"] if index > 0 else 0
        steps = max(1, int(record["step"]) - int(before))
        for name in METRICS:
            sums[name] += float(record[name]) * steps
        covered += steps
        if covered >= min_steps:
            break
    return {name: round(total / covered, 6) for name, total in sums.items()}


def replica_checksums(run: Run) -> list[str] | None:
    """Several processes: every rank's parameter checksum; they must agree (DDP keeps the replicas equal)."""
    if not run.group.enabled:
        return None
    checksums = run.group.gather(parameter_checksum([run.generator, run.discriminator]))
    if len(set(checksums)) != 1:
        raise DistributedRunError(f"the processes ended with different weights (checksums {checksums}); "
                                  "this is a bug in ganzoo's distributed training, please report it")
    return checksums


def training_facts(run: Run, wall: float, checksums: list[str] | None) -> dict[str, Any]:
    """What the run measured, for the ``training`` section of config.json and the card; the options' part of
    that section comes from the option table (:func:`.record.training_section`)."""
    group, batches = run.group, run.batches
    facts: dict[str, Any] = {
        "command": "\n".join(run.commands),
        "samples": batches.count,
        "steps": run.step,
        "epochs": run.epochs_done(),
        "d_steps": run.train_step.d_steps,
        "batch_size_per_device": batches.batch_size,
        "world_size": group.world_size,
        "global_batch_size": batches.global_batch,
        "precision": run.precision.name,
        "compile": run.train_step.compiled.record() if run.train_step.compiled is not None else None,
        "device": str(run.device),
        "hardware": describe_hardware(run.device, processes=group.world_size, nodes=group.topology.nodes),
        "wall_time_s": round(wall, 2),
        "images_seen": run.counters.images_seen,
        "ganzoo_version": __version__,
    }
    if run.counters.evaluation_s:
        facts["evaluation_time_s"] = round(run.counters.evaluation_s, 2)  # --eval-every's, part of wall_time_s
    if run.cpu_allocator is not None:
        facts["cpu_allocator"] = run.cpu_allocator
    if checksums is not None:
        facts["parameter_checksums"] = checksums  # one per rank, all equal: the replicas stayed in step
    if run.notices is not None and run.notices.lines:
        facts["notices"] = list(run.notices.lines)
    facts["num_params"] = {
        "generator": sum(p.numel() for p in run.generator.parameters()),
        "discriminator": sum(p.numel() for p in run.discriminator.parameters()),
    }
    return facts


def run_settings_of(run: Run) -> dict[str, Any]:
    """The run's settings (:func:`.record.run_settings`) with what only the built run knows."""
    from .memory_layout import layout_word
    from .record import run_settings

    return run_settings(run.config, run.practices, reuse_fakes=run.train_step.reuse_fakes, steps=run.total_steps,
                        epochs=None, compile=run.train_step.compiled is not None, threads=run.threads,
                        memory_format=layout_word(run.batches.channels_last))


def export_run(run: Run) -> None:
    """Final metrics into ``run.metrics``; on rank 0, the export folder with weights, config.json and card."""
    from .record import export_training

    wall = run.counters.wall_time()
    run.metrics = final_metrics(run, wall)
    run.wall_time_s = wall
    checksums = replica_checksums(run)
    if not run.is_main:
        return
    resolved = run.config
    export_training(
        run.paths.export, spec=resolved.spec, dataset_spec=resolved.dataset_spec, data=run.data,
        model_config=run.model_config, generator=run.generator, discriminator=run.discriminator,
        generator_ema=run.ema.module if run.ema is not None else None, settings=run_settings_of(run),
        facts=training_facts(run, wall, checksums), metrics=run.metrics, is_image=bool(run.data.is_image),
        samples_png=run.paths.final_samples, progress_gif=run.paths.guard.file(run.paths.progress),
    )
