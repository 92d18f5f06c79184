"""``--eval-every N``: FID/KID of the run's sampler while it trains, the best snapshot kept and exported.

StyleGAN2-ADA scores its snapshots while it trains (``--metrics``); without that, ganzoo's shipped faces
weights were picked from eleven exports scored by hand. Every ``N`` steps and after the last one, the
sampler (the generator's moving average where the run keeps one) is scored with the machinery of
:mod:`ganzoo.metrics` (its scoring path :func:`~ganzoo.metrics.scoring.scores`, the model's default
extractor as :func:`~ganzoo.metrics.extractors.resolve_extractor` picks it for the dataset) on a small
protocol the log states once:

* ``eval_samples`` (1,000 by default) samples from fixed latents drawn once with the run's seed, so
  successive snapshots meet the same noise;
* against as many training samples, the seeded subset :mod:`ganzoo.metrics` takes of a split
  (``REFERENCE_SUBSET_SEED``), whose features are computed once per session;
* FID, KID and precision/recall, biased upward at so few samples: for comparing the snapshots of a
  run, not for a card's headline (``ganzoo eval`` with 10,000 samples is).

Each evaluation is a record in the run's history (so in ``log.jsonl``, TensorBoard and the curves),
with its cost in seconds; that time is left out of the run's images/s. The lowest FID so far is kept
as ``checkpoints/best.pt``, a full checkpoint written like ``last.pt``; when the run finishes, it is
exported to ``OUT/export-best`` (weights, config.json, card), which ``ganzoo sample``, ``ganzoo eval``,
``ganzoo export`` and ``--init-from`` take like any export folder.

The evaluation draws nothing from the training's random streams: its latents come from a private
generator, and it runs inside :func:`isolated_rng` (torch's, the device's and Python's global
generators are as they were afterwards) with the networks in eval mode, so a run with ``--eval-every``
resumes exactly, and trains the same weights as one without.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import torch

from ...metrics.extractors import resolve_extractor
from ...metrics.protocol import REFERENCE_SUBSET_SEED, EvalProtocol
from ...metrics.reference import Setting, select
from ...metrics.scoring import scores
from ...metrics.sources import GeneratedSource
from ...metrics.stats import real_features
from ..run import Run
from .base import Callback
from .builtin import MetricLog

__all__ = ["EVAL_KEYS", "SnapshotMetrics", "SnapshotScorer", "best_evaluation", "evaluations", "isolated_rng"]

EVAL_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall")
"""The scores an evaluation record holds (with ``step``, ``eval_samples`` and ``eval_seconds``)."""
LATENT_SEED_OFFSET = 5
"""The evaluation's latents are drawn with ``--seed`` plus this (the streams use +0 to +4)."""
EVAL_BATCH = 250


@contextlib.contextmanager
def isolated_rng(device: torch.device) -> Iterator[None]:
    """Torch's CPU generator, ``device``'s CUDA generator and Python's ``random`` are as they were afterwards."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    state = random.getstate()
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(state)


def evaluations(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evaluation records of a run's history (the others are the training's log records)."""
    return [record for record in history if "fid" in record]


def best_evaluation(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The evaluation record with the lowest FID (the earliest of equals), or None."""
    found = evaluations(history)
    return min(found, key=lambda record: float(record["fid"])) if found else None


class SnapshotScorer:
    """The reference features (once), the extractor and the fixed latents; :meth:`score` scores the sampler."""

    def __init__(self, run: Run):
        request, data, spec = run.config.request, run.data, run.config.dataset_spec
        self.device = run.device
        resolved = resolve_extractor(None, dataset=spec.name, point_data=not data.is_image, device=run.device)
        self.extractor, self.note = resolved.extractor, resolved.note
        self.n = min(run.config.eval_samples, len(data))
        self.total = len(data)
        self.protocol = EvalProtocol(n=self.n, seed=int(request.seed), extractor=self.extractor)
        self.setting = Setting(spec=spec, split=request.split, extractor=self.extractor, note=self.note,
                               data_dir=None, batch_size=EVAL_BATCH, device=run.device, cache=False, progress=None)
        chosen = select(len(data), self.n, REFERENCE_SUBSET_SEED)
        samples = data.samples if chosen is None else data.samples[chosen]
        labels = None if data.labels is None else (data.labels if chosen is None else data.labels[chosen])
        self.real = real_features(samples, labels, dataset=spec.name, split=request.split, extractor=self.extractor,
                                  batch_size=EVAL_BATCH, device=run.device, cache=False)
        generator = torch.Generator().manual_seed(int(request.seed) + LATENT_SEED_OFFSET)
        self.latents = torch.randn(self.n, run.noise.latent_dim, generator=generator)
        self.num_classes = run.noise.num_classes

    def describe(self, run: Run, every: int) -> str:
        """The protocol in one line, for the log."""
        name = getattr(self.extractor, "name", type(self.extractor).__name__)
        sha = str(getattr(self.extractor, "weights_sha256", "") or "").replace("none", "")[:12]
        which = "the generator's moving average" if run.ema is not None else "the generator"
        return (
            f"--eval-every {every}: FID, KID and precision/recall of {self.n} samples of {which} (fixed latents, "
            f"seed {run.config.request.seed + LATENT_SEED_OFFSET}) against {self.n} of the {self.total} training "
            f"samples (seed {REFERENCE_SUBSET_SEED}), features {name}" + (f" (weights {sha})" if sha else "")
            + (f" [{self.note}]" if self.note else "")
            + "; a small protocol to compare this run's snapshots (ganzoo eval measures 10,000); its time is left "
            "out of images/s"
        )

    def score(self, run: Run) -> dict[str, float]:
        """The sampler's scores now; draws nothing from the training's generators."""
        latents, position = self.latents, 0

        def sampler(count: int, labels: torch.Tensor | None) -> torch.Tensor:
            nonlocal position
            batch = latents[position : position + count].to(self.device)
            position += count
            return generator(batch, labels)

        with isolated_rng(self.device), run.sampling() as generator, torch.no_grad(), run.precision.inference():
            source = GeneratedSource(sampler, conditional=self.num_classes is not None, num_classes=self.num_classes)
            source.prepare(self.setting, self.protocol)
            sourced = source.features(self.setting, self.protocol, None, None)
            metrics, _ = scores(self.real, sourced.features, self.extractor, None, self.protocol, self.device)
        return {key: float(metrics[key]) for key in EVAL_KEYS if key in metrics}


class SnapshotMetrics(Callback):
    """Scores the sampler every ``--eval-every`` steps and after the last; keeps and exports the best."""

    def __init__(self) -> None:
        self.scorer: SnapshotScorer | None = None

    def on_train_start(self, run: Run) -> None:
        every = run.config.request.eval_every
        if not every:
            return
        started = time.perf_counter()

        def build() -> None:  # rank 0 scores; its failure reaches the other ranks at once
            self.scorer = SnapshotScorer(run)

        run.group.from_main(build)
        seconds = time.perf_counter() - started
        run.counters.evaluation_s += seconds
        if self.scorer is not None:
            run.reporter.message(f"{self.scorer.describe(run, every)}; reference features: {seconds:.1f} s")

    def on_step_end(self, run: Run) -> None:
        every = run.config.request.eval_every
        if every and (run.step % every == 0 or run.is_last_step):
            self.evaluate(run)

    def evaluate(self, run: Run) -> None:
        before = best_evaluation(run.counters.history)
        started = time.perf_counter()
        scored = run.group.from_main(lambda: self.scorer.score(run) if self.scorer is not None else {})
        seconds = round(time.perf_counter() - started, 3)
        run.counters.evaluation_s += seconds
        record = {"step": run.step, **{k: round(v, 6) for k, v in scored.items()}, "eval_samples": self._n(run),
                  "eval_seconds": seconds}
        run.counters.history.append(record)
        if run.is_main:
            MetricLog._write(run, "a", json.dumps(record) + "\n")
        best = before is None or record["fid"] < float(before["fid"])
        if best:
            from ..checkpoint import save_checkpoint
            from ..setup import checkpoint_state

            state = checkpoint_state(run)  # every rank takes part; rank 0 writes
            if state is not None:
                save_checkpoint(run.paths.best_checkpoint, state)
        if run.is_main and not run.config.request.quiet:
            lead = "best so far" if best else f"best FID {float(before['fid']):.4g} at step {before['step']}"
            run.reporter.message(
                f"step {run.step}: FID {record['fid']:.4g}, KID {record.get('kid_mean', float('nan')):.3g} "
                f"({record['eval_samples']} samples, {seconds:.1f} s; {lead})"
            )

    def _n(self, run: Run) -> int:
        return self.scorer.n if self.scorer is not None else min(run.config.eval_samples, len(run.data))

    def on_train_end(self, run: Run) -> None:
        if run.outcome == "finished" and run.is_main and run.config.request.eval_every:
            best = best_evaluation(run.counters.history)
            if best is not None and run.paths.best_checkpoint.is_file():
                export_best(run, best)


def export_best(run: Run, best: dict[str, Any]) -> None:
    """``OUT/export-best``: the export folder of ``checkpoints/best.pt``, as the run's own export is written,
    with the facts of the step it was taken at and its evaluation's scores."""
    from ...io.imaging import save_samples
    from ..artifacts import run_settings_of, trailing_means, training_facts
    from ..checkpoint import load_checkpoint
    from ..record import export_training

    state = load_checkpoint(run.paths.best_checkpoint)
    parts, paths = state["parts"], run.paths
    generator, discriminator = copy.deepcopy(run.generator), copy.deepcopy(run.discriminator)
    generator.load_state_dict(parts["generator"])
    discriminator.load_state_dict(parts["discriminator"])
    average = None
    if run.ema is not None:
        average = copy.deepcopy(run.ema.module)
        average.load_state_dict(parts["ema"]["module"])
    counters = parts["counters"]
    step, images = int(counters["step"]), int(counters["images_seen"])
    sampler = (average if average is not None else generator).eval()
    with torch.no_grad(), run.precision.inference():
        grid = sampler(run.fixed.noise, run.fixed.labels).float()
    save_samples(grid, paths.best_samples, real=run.real_points, nrow=run.fixed.nrow, title=f"step {step} (best FID)")
    history = [record for record in counters["history"] if "fid" not in record]
    metrics: dict[str, Any] = {**trailing_means(history, run.config.log_every),
                               **{key: best[key] for key in EVAL_KEYS if key in best}}
    facts = training_facts(run, float(counters["wall_time_s"]), None)
    chosen = (f"checkpoints/best.pt: the lowest FID ({best['fid']:.4g}) of {len(evaluations(run.counters.history))} "
              f"evaluations of {best['eval_samples']} samples (--eval-every {run.config.request.eval_every}), at step "
              f"{step} of {run.step}")
    facts.update(steps=step, images_seen=images, selected=chosen,
                 evaluation_time_s=round(float(counters.get("evaluation_s", 0.0)), 2),
                 epochs=round(images / (run.batches.batches_per_epoch * run.batches.global_batch), 3),
                 notices=[*facts.get("notices", []), f"exported from {chosen}"])
    export_training(
        paths.best_export, spec=run.config.spec, dataset_spec=run.config.dataset_spec, data=run.data,
        model_config=run.model_config, generator=generator, discriminator=discriminator, generator_ema=average,
        settings=run_settings_of(run), facts=facts, metrics=metrics, is_image=bool(run.data.is_image),
        samples_png=paths.best_samples,
        metric_notes={key: f"--eval-every's protocol ({best['eval_samples']} generated vs as many training samples): "
                      f"the lowest FID of the run's evaluations, a favourable draw; 'ganzoo eval' measures it anew"
                      for key in EVAL_KEYS},
    )
