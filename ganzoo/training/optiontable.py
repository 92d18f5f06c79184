"""Every option of a training run, declared once: the table the CLI, the config, the resume and the records read.

A :class:`~.option_declaration.TrainOption` says, for one setting, everything ganzoo does with it: its type and default
(a :class:`~ganzoo.training.config.TrainConfig` field), its numeric range (:mod:`ganzoo.ranges`), its
``ganzoo train`` spelling (flags, help, panel), what a resume does with it (:attr:`TrainOption.resume`),
and where a run records it: the checkpoint's run record (every option a resume compares or inherits),
``config.json``'s ``training`` section, the card's hyper-parameter rows and the equivalent command.
:data:`TRAIN_OPTIONS` is the table; :mod:`ganzoo.cli.train`, :mod:`.config`, :mod:`.resume` and
:mod:`.record` derive their parts from it, so adding an option is one entry here plus the code that
uses the option (Lightning Fabric declares each argument once; StyleGAN2-ADA's ``training_loop``
takes keyword arguments each with one comment).

Rows are in ``ganzoo train --help``'s order. Importing this module imports neither torch nor the
trainer: the CLI builds its signature from it on every start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..ranges import COUNT, NON_NEGATIVE, POSITIVE, SEED, NumberRange
from .option_declaration import Cli, TrainOption, always, each, each_nested, given, options_row, row, when_set
from .parallel import DEFAULT_DIST_TIMEOUT_S
from .threads import THREADS, parse_threads

__all__ = [
    "PANELS",
    "PRACTICE_OPTIONS",
    "TRAIN_OPTIONS",
    "TRAIN_RANGES",
    "TRAIN_WORDS",
    "Cli",
    "TrainOption",
    "card_rows",
    "config_fields",
    "option_name",
    "options_by_name",
]

PANEL_DATA = "Data"
PANEL_LENGTH = "Length and optimisation"
PANEL_RUN = "Run folder and output"
PANEL_PRACTICE = "Training practices (EMA, augmentation, R1/R2); a resumed run keeps its own"
PANEL_DIST = "Several GPUs or machines (torch.distributed)"
PANELS = (PANEL_DATA, PANEL_LENGTH, PANEL_RUN, PANEL_PRACTICE, PANEL_DIST)

MAX_EPOCHS = 1e9
"""More passes over the data than any run makes; it keeps ``epochs x batches`` within the step counter."""
MAX_SAMPLE_GRID = 4096
"""Images in the fixed-noise grid (a 64 x 64 grid): more is unreadable, and is drawn every ``--sample-every`` steps."""
MAX_DIST_TIMEOUT_S = 7 * 24 * 3600.0
"""A week: any wait longer than that is a hang, and ``datetime.timedelta`` refuses what is far larger."""
MAX_PENALTY_GAMMA = 1e6
"""R1/R2 weights beyond any published recipe (StyleGAN2 uses up to 100, R3GAN less): larger ones overflow the
penalty in float32 at once, which the divergence check would then blame on the learning rate."""
MAX_EVAL_SAMPLES = 50_000
"""Samples per ``--eval-every`` evaluation: the published FID's 50k at most (a cheap protocol is far fewer)."""
DEFAULT_EMA_RAMPUP = 0.05
"""StyleGAN2's EMA ramp-up (:mod:`.ema` uses it)."""
def _g(value: Any) -> str:
    return f"{value:g}"


def _practice_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    from ..cards.card import practice_rows

    return practice_rows(training)


def _ema_record(settings: Mapping[str, Any]) -> Any:
    half_life = settings.get("ema")
    return {"half_life_images": half_life, "rampup": settings.get("ema_rampup")} if half_life else None


def _augment_record(settings: Mapping[str, Any]) -> Any:
    from .practices.augment import parse_augment

    return parse_augment(settings.get("augment"), target=settings.get("ada_target"), speed=settings.get("ada_speed"),
                         p=settings.get("augment_p")).record()


def _penalty_record(settings: Mapping[str, Any]) -> Any:
    from .practices.regularize import GradientPenalty

    penalty = GradientPenalty(float(settings.get("r1_gamma") or 0.0), float(settings.get("r2_gamma") or 0.0),
                              int(settings.get("reg_every") or 1))
    return penalty.record() if penalty.enabled else None


def _schedules_record(settings: Mapping[str, Any]) -> Any:
    from .schedules import parse_schedules

    return [schedule.record() for schedule in parse_schedules(settings.get("schedule"))] or None


def _ema_rampup_words(value: Any, settings: Mapping[str, Any]) -> list[str]:
    return ["--ema-rampup", f"{value:g}"] if settings.get("ema") and value != DEFAULT_EMA_RAMPUP else []


def _reg_every_words(value: Any, settings: Mapping[str, Any]) -> list[str]:
    enabled = bool(settings.get("r1_gamma") or settings.get("r2_gamma"))
    return ["--reg-every", str(value)] if enabled and value != 1 else []


def _compile_words(value: Any, settings: Mapping[str, Any]) -> list[str]:
    mode = settings.get("compile_mode")
    return ["--compile", *(["--compile-mode", mode] if mode else [])] if value else []


def _tensorboard_words(value: Any, settings: Mapping[str, Any]) -> list[str]:
    if value is None or value is False:
        return []
    return ["--tensorboard"] if Path(value) == Path(settings["out"]) / "tb" else ["--tensorboard-dir", str(value)]


def _options_from_cli(values: Mapping[str, Any]) -> Any:
    from ..models.model_options import parse_options

    return parse_options(values["option"], values["image_size"])


def _loss_options_from_cli(values: Mapping[str, Any]) -> Any:
    from ..models.model_options import parse_options

    return parse_options(values["loss_option"], flag="--loss-option", example="d_steps=2")


def _callback_options_from_cli(values: Mapping[str, Any]) -> Any:
    from ..models.model_options import parse_callback_options

    return parse_callback_options(values["callback_option"])


def _tensorboard_from_cli(values: Mapping[str, Any]) -> Any:
    return values["tensorboard_dir"] if values["tensorboard_dir"] is not None else (values["tensorboard"] or None)


def _threads_from_cli(values: Mapping[str, Any]) -> Any:
    return parse_threads(values["threads"])


def _tuple_or_none(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda values: tuple(values[name]) if values[name] else None


# ---------------------------------------------------------------------------------------------------- the table
TRAIN_OPTIONS: tuple[TrainOption, ...] = (
    TrainOption(
        "model", "str", default=..., resume="fixed", help="The registered model to train ('ganzoo list').",
        cli=(Cli((), str, ..., help="Model to train (see 'ganzoo list').", extra={"autocompletion": "model"}),),
        command=lambda value, settings: [str(value)],
    ),
    TrainOption(
        "dataset", "str | None", resume="fixed", config="dataset",
        help="The dataset (None: the model's default).",
        cli=(Cli(("--dataset", "-d"), str | None, panel=PANEL_DATA,
                 help="Dataset (default: the model's; see 'ganzoo list --datasets')."),),
        command=always("--dataset"),
    ),
    TrainOption(
        "data_dir", "str | Path | None", kind="path", resume="inherit",
        help="Where the data is (None: $GANZOO_DATA_DIR or ~/.cache). A resumed run reads the folder it recorded "
        "unless given another.",
        cli=(Cli(("--data",), Path | None, param="data", panel=PANEL_DATA,
                 help="Data directory (default: $GANZOO_DATA_DIR or ~/.cache/ganzoo/data; resumed: the run's own)."),),
        command=when_set("--data"),
    ),
    TrainOption(
        "download", "bool", default=False, help="Download the dataset if it is missing.",
        cli=(Cli(("--download",), bool, False, panel=PANEL_DATA, help="Download the dataset if it is missing."),),
    ),
    TrainOption(
        "data_license", "str | None", resume="inherit",
        help="The licence of the training data, for a folder that cannot hold a ``LICENSE`` file (a read-only "
        "share). None: the data's own (a folder's ``LICENSE`` file, else the dataset's spec). It changes nothing in "
        "training, so a resume may add it; it may not contradict a licence file.",
        cli=(Cli(("--data-license",), str | None, metavar="LICENCE", panel=PANEL_DATA,
                 help="Licence of the training data, for the card (e.g. 'CC BY 4.0'), when its folder has no "
                 "LICENSE file."),),
        command=given("--data-license"),
    ),
    TrainOption(
        "limit", "int | None", range=COUNT, resume="fixed", help="Train on the first ``limit`` samples only.",
        cli=(Cli(("--limit",), int | None, panel=PANEL_DATA, help="Train on the first N samples only (quick runs)."),),
        command=when_set("--limit"),
    ),
    TrainOption(
        "loss", "str | None", resume="fixed", config="loss", help="The adversarial loss (None: the model's).",
        cli=(Cli(("--loss",), str | None, panel=PANEL_LENGTH,
                 help="Adversarial loss (default: the model's; see 'ganzoo list --losses')."),),
        command=always("--loss"),
    ),
    TrainOption(
        "steps", "int | None", range=COUNT, resume="inherit",
        help="Generator updates to train for (or ``epochs``; with neither, the model's length, else one epoch).",
        cli=(Cli(("--steps",), int | None, panel=PANEL_LENGTH,
                 help="Generator updates to train for (or use --epochs)."),),
        command=always("--steps"),
    ),
    TrainOption(
        "epochs", "float | None", range=NumberRange(low=0, low_open=True, high=MAX_EPOCHS), resume="inherit",
        help="Passes over the data (the equivalent command states the steps they came to).",
        cli=(Cli(("--epochs",), float | None, panel=PANEL_LENGTH,
                 help="Passes over the data (default 1 unless the model says otherwise)."),),
    ),
    TrainOption(
        "batch_size", "int | None", range=COUNT, resume="fixed", config="batch_size",
        help="Batch size per device (None: the model's).",
        cli=(Cli(("--batch-size", "-b"), int | None, panel=PANEL_LENGTH,
                 help="Batch size per device (default: the model's); on several processes the global batch "
                 "is this times their number."),),
        command=always("--batch-size"),
    ),
    TrainOption(
        "lr", "float | None", range=POSITIVE, resume="inherit", config="lr",
        help="Adam's learning rate for G and D (None: the model's); a resumed run may lower it.",
        cli=(Cli(("--lr",), float | None, panel=PANEL_LENGTH,
                 help="Adam learning rate for G and D (default: the model's, usually 2e-4)."),),
        card=lambda training: [("optimiser", "Adam"), *row("learning rate", "lr")(training)],
        command=always("--lr", _g),
    ),
    TrainOption(
        "betas", "tuple[float, float] | None", range=NumberRange(low=0, high=1, high_open=True, items=2),
        resume="inherit", kind="tuple", config="betas", help="Adam's betas (None: the model's, else (0.5, 0.999)).",
        card=row("betas", "betas"),
    ),
    TrainOption(
        "seed", "int", default=0, range=SEED, resume="fixed", config="seed", help="The random seed.",
        cli=(Cli(("--seed",), int, 0, panel=PANEL_LENGTH, help="Random seed."),),
        card=row("seed", "seed"), command=always("--seed"),
    ),
    TrainOption(
        "device", "str", default="auto", help="``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.",
        cli=(Cli(("--device",), str, "auto", panel=PANEL_LENGTH, help="auto, cpu, cuda, cuda:N or mps."),),
        command=lambda value, settings: ["--device", value] if value != "auto" else [],
    ),
    TrainOption(
        "threads", "int | str | None", resume="inherit", config="threads", from_cli=_threads_from_cli,
        range=THREADS, words=("auto",),
        help="torch's CPU threads: N, or ``auto`` (the cores this process may use, less the load); None: torch's "
        "default. A resumed run keeps its count unless given (it may change the rounding). See :mod:`.threads`.",
        cli=(Cli(("--threads",), str | None, metavar="N|auto", panel=PANEL_LENGTH,
                 help="CPU threads torch uses: N, or auto (the cores this process may use, less the load of other "
                 "work). Default: torch's, one per core, which on a busy machine can be many times slower than "
                 "--threads 1. A resumed run keeps its own."),),
        command=when_set("--threads"),
    ),
    TrainOption(
        "precision", "str", default="fp32", config="precision", help="``fp32``, ``bf16`` or ``fp16``.",
        cli=(Cli(("--precision",), str, "fp32", panel=PANEL_LENGTH,
                 help="fp32, bf16 (a recent GPU, or a CPU with AVX-512 BF16 or AMX: other CPUs emulate it, "
                      "slower than fp32) or fp16 (CUDA)."),),
        card=row("precision", "precision"), command=always("--precision"),
    ),
    TrainOption(
        "memory_format", "str | None", resume="inherit", config="memory_format",
        help="The memory layout of the networks and of image batches: ``channels-last`` (NHWC), ``contiguous`` "
        "(NCHW, PyTorch's default and what ``ganzoo.load`` gives) or ``auto`` (None for a new run): channels-last "
        "when the data are images and either network has a convolution, on every device. It changes no result "
        "but float32 rounding (about 1e-6 in a ResNet's samples); a resumed run keeps its own unless given. "
        "``config.json`` records the layout the run used. See :func:`.memory_layout.parse_memory_format`.",
        cli=(Cli(("--memory-format",), str | None, metavar="auto|channels-last|contiguous", panel=PANEL_LENGTH,
                 help="Memory layout of the networks and image batches: channels-last (NHWC, faster convolutions "
                 "on the CPU and on GPUs), contiguous (PyTorch's default NCHW) or auto (default: channels-last for "
                 "image data when a network has a convolution). It changes only float32 rounding; a resumed run "
                 "keeps its own."),),
        command=when_set("--memory-format"),
    ),
    TrainOption(
        "reuse_fakes", "bool | None", resume="fixed", config="reuse_fakes",
        help="True: the generator update scores the fakes of the last discriminator update again, as the PyTorch "
        "DCGAN tutorial does (one generator forward pass per step instead of two). False (the default for a new "
        "run; a resumed run keeps its own): fresh noise for the generator update, as in Goodfellow et al.",
        cli=(Cli(("--reuse-fakes/--fresh-noise",), bool | None, panel=PANEL_LENGTH,
                 help="--reuse-fakes: update G on the fakes of the last D update, as the PyTorch DCGAN tutorial "
                 "does (one G forward pass per step instead of two: faster). Default for a new run: fresh noise for "
                 "G, as in Goodfellow et al.; a resumed run keeps its own."),),
        card=lambda training: [("G update on", "the last D update's fakes")] if training.get("reuse_fakes") else [],
        command=lambda value, settings: ["--reuse-fakes"] if value else [],
    ),
    TrainOption(
        "options", "dict[str, Any]", default_factory=dict, resume="fixed", kind="dict",
        help="Model options (``--option key=value``), checked against the spec's ``options``.",
        cli=(
            Cli(("--option",), list[str], [], param="option", metavar="KEY=VALUE",
                help="Model option, repeatable (see 'ganzoo info MODEL'), e.g. --option image_size=128."),
            Cli(("--image-size",), int | None, param="image_size",
                help="Shortcut for --option image_size=N (models that have it)."),
        ),
        from_cli=_options_from_cli, command=each("--option"),
    ),
    TrainOption(
        "compile", "bool | None", resume="inherit",
        help="Compile the networks the training step calls with ``torch.compile`` (see :mod:`.compiling`). None: "
        "off for a new run, the run's own on resume (a resumed run may change it: it changes no result but the "
        "rounding).",
        cli=(Cli(("--compile/--no-compile",), bool | None, param="compile_step", panel=PANEL_LENGTH,
                 help="Compile the networks the training step calls with torch.compile (faster steps after a first "
                 "step that compiles for seconds to minutes; needs a C++ compiler on the CPU, Triton on CUDA). "
                 "Default: off; a resumed run keeps its own."),),
        from_cli=lambda values: values["compile_step"],
        card=lambda training: [("torch.compile", f"mode {training['compile']['mode']}")] if training.get("compile")
        else [],
        command=_compile_words,
    ),
    TrainOption(
        "compile_mode", "str | None", resume="inherit",
        help="``torch.compile``'s mode; None: the device's default (:func:`.compiling.compile_mode`).",
        cli=(Cli(("--compile-mode",), str | None, metavar="MODE", panel=PANEL_LENGTH,
                 help="--compile: torch.compile's mode (default, reduce-overhead, max-autotune, "
                 "max-autotune-no-cudagraphs). Default: max-autotune-no-cudagraphs on CUDA, default on the CPU."),),
    ),
    TrainOption(
        "grad_clip", "float | None", range=POSITIVE, resume="inherit", config="grad_clip",
        help="Clip the global norm of G's gradients, and of D's, at this value before each update (an unstable "
        "run's remedy, as StyleGAN-T and BigGAN-deep use it). None: no clipping. A resumed run keeps its own unless "
        "given: like the learning rate, it is what one changes to carry a diverging run past its last good "
        "checkpoint.",
        cli=(Cli(("--grad-clip",), float | None, metavar="NORM", panel=PANEL_LENGTH,
                 help="Clip the global gradient norm of G and of D at NORM before each update (unstable runs; "
                 "e.g. 10). Default: off; a resumed run keeps its own unless given."),),
        card=row("gradient clipping", "grad_clip", lambda norm: f"global norm of G's and of D's gradients at most "
                 f"{norm:g}"),
        command=when_set("--grad-clip", _g),
    ),
    TrainOption(
        "loss_options", "dict[str, Any]", default_factory=dict, resume="fixed", kind="dict", config="loss_options",
        help="Loss constructor options (``--loss-option key=value``: ``d_steps``, ``gp_weight``, ...), checked "
        "against the loss's ``LossSpec.options``.",
        cli=(Cli(("--loss-option",), list[str], [], param="loss_option", metavar="KEY=VALUE", panel=PANEL_LENGTH,
                 help="Loss option, repeatable (see 'ganzoo info LOSS'), e.g. --loss-option d_steps=2 or, for "
                 "wgan-gp, --loss-option gp_weight=5."),),
        from_cli=_loss_options_from_cli,
        card=options_row("loss options", "loss_options"),
        command=each("--loss-option"),
    ),
    TrainOption(
        "ema", "float | None", range=NON_NEGATIVE, resume="fixed", before=0.0, config="ema", config_value=_ema_record,
        help="Half-life of the generator's EMA in images; 0 turns it off. None: 10,000 for image data, off for "
        "other data (a resumed run keeps its own). See :mod:`.ema`.",
        cli=(Cli(("--ema",), float | None, metavar="IMAGES", panel=PANEL_PRACTICE,
                 help="Keep a moving average of the generator with this half-life in images (StyleGAN2's ema_kimg); "
                 "sample grids, the export's metrics and ganzoo.load use it. Default 10000 for image data; 0: off."),),
        card=_practice_rows, command=always("--ema", _g),
    ),
    TrainOption(
        "ema_rampup", "float | None", range=NON_NEGATIVE, resume="fixed",
        help="StyleGAN2's EMA ramp-up: the half-life is at most this share of the images seen (default 0.05; 0: none).",
        cli=(Cli(("--ema-rampup",), float | None, metavar="SHARE", panel=PANEL_PRACTICE,
                 help="EMA half-life at most this share of the images seen so far (default 0.05; 0: none)."),),
        command=_ema_rampup_words,
    ),
    TrainOption(
        "augment", "str | None", resume="fixed", before="none", config="augment", config_value=_augment_record,
        help="D's augmentation: ``none`` (default), ``diffaug[:ops]``, ``ada[:ops]`` or ``fixed[:ops]`` "
        "(:mod:`.practices.augment`).",
        cli=(Cli(("--augment",), str | None, metavar="KIND[:OPS]", panel=PANEL_PRACTICE,
                 help="Augment what D sees, reals and fakes alike: diffaug (DiffAugment), ada (StyleGAN2-ADA's "
                 "adaptive p) or fixed (p from --augment-p or --schedule augment_p=..., R3GAN's way), with ops from "
                 "color,translation,cutout (default all), e.g. --augment diffaug:translation,cutout. Default none."),),
        command=lambda value, settings: ["--augment", value] if value and value != "none" else [],
    ),
    TrainOption(
        "ada_target", "float | None", range=NumberRange(low=0, high=1, low_open=True, high_open=True),
        resume="fixed", help="``--augment ada``: the target of ``r_t = E[sign(D(real))]`` (default 0.6).",
        cli=(Cli(("--ada-target",), float | None, panel=PANEL_PRACTICE,
                 help="--augment ada: target of E[sign(D(real))] (default 0.6)."),),
        command=given("--ada-target", _g),
    ),
    TrainOption(
        "ada_speed", "float | None", range=POSITIVE, resume="fixed",
        help="``--augment ada``: images in which ``p`` can go from 0 to 1 (default 100,000).",
        cli=(Cli(("--ada-speed",), float | None, metavar="IMAGES", panel=PANEL_PRACTICE,
                 help="--augment ada: images in which p can go from 0 to 1 (default 100000)."),),
        command=given("--ada-speed", _g),
    ),
    TrainOption(
        "augment_p", "float | None", range=NumberRange(low=0, high=1), resume="fixed",
        help="``--augment fixed``: the probability of each operation on each image (default 0.2).",
        cli=(Cli(("--augment-p",), float | None, metavar="P", panel=PANEL_PRACTICE,
                 help="--augment fixed: probability of each operation on each image (default 0.2)."),),
        command=given("--augment-p", _g),
    ),
    TrainOption(
        "r1_gamma", "float | None", range=NumberRange(low=0, high=MAX_PENALTY_GAMMA), resume="fixed", before=0.0,
        config="gradient_penalty", config_value=_penalty_record,
        help="R1 penalty weight on D's gradient at the reals (default 0: none); see :mod:`.regularize`.",
        cli=(Cli(("--r1-gamma",), float | None, panel=PANEL_PRACTICE,
                 help="R1 penalty gamma/2 E|grad D(real)|^2 on D (default 0: none)."),),
        command=when_set("--r1-gamma", _g),
    ),
    TrainOption(
        "r2_gamma", "float | None", range=NumberRange(low=0, high=MAX_PENALTY_GAMMA), resume="fixed", before=0.0,
        help="R2 penalty weight on D's gradient at the fakes (default 0: none).",
        cli=(Cli(("--r2-gamma",), float | None, panel=PANEL_PRACTICE,
                 help="R2 penalty, the same on the fakes (default 0: none)."),),
        command=when_set("--r2-gamma", _g),
    ),
    TrainOption(
        "reg_every", "int | None", range=COUNT, resume="fixed", before=1,
        help="Lazy regularisation: R1/R2 every this many steps, scaled by it (default 1: every step).",
        cli=(Cli(("--reg-every",), int | None, metavar="K", panel=PANEL_PRACTICE,
                 help="Lazy R1/R2: every K steps, scaled by K, as StyleGAN2 does (default 1)."),),
        command=_reg_every_words,
    ),
    TrainOption(
        "schedule", "tuple[str, ...] | None", resume="fixed", before=(), kind="tuple", config="schedules",
        config_value=_schedules_record,
        help="``--schedule NAME=START:END:IMAGES[:SHAPE]``: settings that move over the run (:mod:`.schedules`).",
        cli=(Cli(("--schedule",), list[str] | None, metavar="NAME=START:END:IMAGES[:SHAPE]", panel=PANEL_PRACTICE,
                 help="Move a setting (lr, beta2, r1_gamma, r2_gamma, ema, augment_p) from START to END over IMAGES "
                 "images, along a cosine (default) or linear curve, as R3GAN does; repeatable, e.g. --schedule "
                 "lr=2e-4:5e-5:2000000."),),
        from_cli=_tuple_or_none("schedule"), command=each("--schedule"),
    ),
    TrainOption(
        "out", "str | Path | None", kind="path", help="The run folder (None: ``runs/<model>-<dataset>``).",
        cli=(Cli(("--out",), Path | None, panel=PANEL_RUN, help="Run folder (default: runs/MODEL-DATASET)."),),
        command=always("--out"),
    ),
    TrainOption(
        "callbacks", "tuple[str, ...] | None", resume="inherit", kind="tuple", config="callbacks",
        help="Registered callbacks to add (``--callback NAME``). None: a new run has none, a resumed run keeps "
        "its own.",
        cli=(Cli(("--callback",), list[str] | None, param="callback", metavar="NAME", panel=PANEL_RUN,
                 help="Add a registered training callback, repeatable ('ganzoo list --callbacks'). On --resume the "
                 "run keeps its own unless given."),),
        from_cli=_tuple_or_none("callback"), command=each("--callback"),
    ),
    TrainOption(
        "callback_options", "dict[str, dict[str, Any]]", default_factory=dict, resume="fixed", before={},
        kind="dict", config="callback_options",
        help="Options of the registered callbacks, by callback (``{'csv-log': {'every': 10}}``; on the command line "
        "``--callback-option csv-log.every=10``), checked against each one's ``CallbackSpec.options``. A resumed run "
        "keeps a callback's options for as long as it keeps the callback, as it keeps the model's and the loss's: "
        "unset, the recorded ones; different ones are refused (the callback's saved state was made under them).",
        cli=(Cli(("--callback-option",), list[str], [], param="callback_option", metavar="NAME.KEY=VALUE",
                 panel=PANEL_RUN,
                 help="Option of a --callback, repeatable (see 'ganzoo info NAME'), e.g. --callback-option "
                 "csv-log.every=10. A resumed run keeps its callbacks' options."),),
        from_cli=_callback_options_from_cli,
        card=options_row("callback options", "callback_options", by_record=True),
        command=each_nested("--callback-option"),
    ),
    TrainOption(
        "init_from", "str | None", resume="inherit", config="init_from",
        help="Start a new run from pretrained weights: any source ``ganzoo.load`` takes (a zoo name, an export "
        "folder, ``hf://``, a URL); G, its EMA and D where the source has them (:mod:`.init_from`).",
        cli=(Cli(("--init-from",), str | None, metavar="SOURCE", panel=PANEL_RUN,
                 help="Fine-tune: start this new run from pretrained weights, a zoo name (dcgan-faces.utkface), an "
                 "export folder, hf://OWNER/REPO or a URL; the discriminator too where the source has one. The "
                 "model and its options must match the source's."),),
        card=row("initialised from", "init_from"), command=when_set("--init-from"),
    ),
    TrainOption(
        "resume", "bool", default=False, help="Continue the run in ``out`` from its last checkpoint.",
        cli=(Cli(("--resume",), bool, False, panel=PANEL_RUN,
                 help="Continue the run in --out from its last checkpoint."),),
    ),
    TrainOption(
        "sample_every", "int | None", range=COUNT, resume="inherit", help="Steps between sample grids (default 500).",
        cli=(Cli(("--sample-every",), int | None, panel=PANEL_RUN, help="Steps between sample grids (default 500)."),),
    ),
    TrainOption(
        "checkpoint_every", "int | None", range=COUNT, resume="inherit",
        help="Steps between checkpoints (default 1000).",
        cli=(Cli(("--checkpoint-every",), int | None, panel=PANEL_RUN,
                 help="Steps between checkpoints (default 1000)."),),
    ),
    TrainOption(
        "log_every", "int | None", range=COUNT, resume="inherit", help="Steps between log records (default 50).",
        cli=(Cli(("--log-every",), int | None, panel=PANEL_RUN, help="Steps between log records (default 50)."),),
    ),
    TrainOption(
        "eval_every", "int | None", range=COUNT, resume="inherit", config="eval_every",
        help="Steps between FID/KID evaluations of the sampler, the best kept as ``checkpoints/best.pt`` and "
        "exported to ``OUT/export-best`` (:mod:`.callbacks.snapshot_metrics`); None: none.",
        cli=(Cli(("--eval-every",), int | None, metavar="STEPS", panel=PANEL_RUN,
                 help="Score FID/KID (and precision/recall) every STEPS steps and at the end, on a small protocol the "
                 "log states, with the model's default extractor; log.jsonl, TensorBoard and the curves show them, "
                 "checkpoints/best.pt keeps the best and OUT/export-best exports it. Default: off."),),
        card=row("evaluated every", "eval_every", lambda steps: f"{steps} steps (best FID: export-best/)"),
        command=when_set("--eval-every"),
    ),
    TrainOption(
        "eval_samples", "int | None", range=NumberRange(low=5, high=MAX_EVAL_SAMPLES, integer=True),
        resume="inherit", help="``eval_every``: generated and reference samples per evaluation (default 1000).",
        cli=(Cli(("--eval-samples",), int | None, metavar="N", panel=PANEL_RUN,
                 help="--eval-every: generated and as many reference samples per evaluation (default 1000; more is "
                 "steadier and slower). A resumed run keeps its own."),),
        command=when_set("--eval-samples"),
    ),
    TrainOption(
        "tensorboard", "str | Path | bool | None", resume="inherit", kind="path", config="tensorboard",
        config_value=lambda settings: str(settings["tensorboard"]) if settings.get("tensorboard") is not None else None,
        help="TensorBoard events of this session: True writes them to ``OUT/tb``, a path to that folder; False: none; "
        "None: none for a new run, the run's own on resume. Needs ``pip install \"ganzoo[tensorboard]\"``.",
        cli=(
            Cli(("--tensorboard",), bool, False, panel=PANEL_RUN,
                help="Also write TensorBoard events (losses, D(x), D(G(z)), images/s, learning rates, the sample "
                "grids) to OUT/tb; watch with 'tensorboard --logdir OUT/tb'. Needs pip install "
                "\"ganzoo\\[tensorboard]\". A resumed run keeps writing them: the curves continue."),
            Cli(("--tensorboard-dir",), Path | None, param="tensorboard_dir", metavar="DIR", panel=PANEL_RUN,
                help="--tensorboard, writing to DIR instead of OUT/tb."),
        ),
        from_cli=_tensorboard_from_cli, command=_tensorboard_words,
    ),
    TrainOption(
        "quiet", "bool", default=False, help="No progress display, only the final summary.",
        cli=(Cli(("--quiet", "-q"), bool, False, panel=PANEL_RUN,
                 help="No progress display, only the final summary."),),
    ),
    TrainOption(
        "nproc", "int | None", field=False,
        cli=(Cli(("--nproc",), int | None, metavar="N", panel=PANEL_DIST, extra={"min": 1},
                 help="Train on N processes of this machine (one per GPU; or CPU processes) with DDP, started through "
                 "torchrun's launcher: the same as 'torchrun --standalone --nproc-per-node N -m ganzoo train ...'. "
                 "--batch-size is per process: the global batch is N times it. For several machines run torchrun "
                 "yourself (docs/distributed.md: 'Training on several GPUs or machines')."),),
    ),
    TrainOption(
        "sync_bn", "bool", default=False,
        help="Several processes: BatchNorm statistics over the global batch (``SyncBatchNorm``, CUDA only).",
        cli=(Cli(("--sync-bn",), bool, False, panel=PANEL_DIST, help="Several processes: BatchNorm statistics over "
                 "the global batch (SyncBatchNorm; CUDA only). Default: each process uses its own batch's, and rank "
                 "0's running statistics are broadcast before every forward pass and saved."),),
    ),
    TrainOption(
        "dist_timeout", "float", default=DEFAULT_DIST_TIMEOUT_S,
        range=NumberRange(low=0, low_open=True, high=MAX_DIST_TIMEOUT_S),
        help="Several processes: seconds a collective waits for the others before the run stops with an error.",
        cli=(Cli(("--dist-timeout",), float, DEFAULT_DIST_TIMEOUT_S, metavar="SECONDS", panel=PANEL_DIST,
                 help="Several processes: how long one waits for the others before the run stops with an error "
                 "(a process that died or hangs)."),),
    ),
    TrainOption(
        "split", "str", default="train", resume="fixed", config="split", help="The dataset's split to train on.",
    ),
    TrainOption(
        "num_samples", "int", default=64, range=NumberRange(low=1, high=MAX_SAMPLE_GRID, integer=True),
        help="Images in the fixed-noise sample grid.",
    ),
    TrainOption(
        "command", "str | None", help="The command line recorded in the model card (the CLI passes its argv).",
    ),
)
"""Every training option, in ``ganzoo train --help``'s order (API-only ones last)."""


def options_by_name() -> dict[str, TrainOption]:
    return {option.name: option for option in TRAIN_OPTIONS}


def config_fields() -> tuple[TrainOption, ...]:
    """The options that are ``TrainConfig`` fields (all but the command's own, such as ``--nproc``)."""
    return tuple(option for option in TRAIN_OPTIONS if option.field)


PRACTICE_OPTIONS = tuple(option.name for option in TRAIN_OPTIONS if any(c.panel == PANEL_PRACTICE for c in option.cli))
"""The training practices (EMA, augmentation, R1/R2, schedules): what a model may default in its
``ModelSpec.hyperparameters`` (R3GAN's R1 and R2), each overridden by its flag."""
TRAIN_RANGES: dict[str, NumberRange] = {option.name: option.range for option in TRAIN_OPTIONS if option.range}
"""The range of every numeric option by its ``TrainConfig`` field: what ``TrainConfig`` holds a value to when it is
set (command line, Python, a resumed checkpoint's record) and ``resolve`` holds a model's defaults to."""
TRAIN_WORDS: dict[str, tuple[str, ...]] = {option.name: option.words for option in TRAIN_OPTIONS if option.words}
"""The words a numeric option takes besides its numbers (``--threads auto``), keyed like :data:`TRAIN_RANGES`."""


def option_name(field_name: str) -> str:
    """How a message names a training option: its flag (``--batch-size``), or the field for API-only ones."""
    option = options_by_name().get(field_name)
    return option.flag if option is not None else field_name


def card_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The card's hyper-parameter rows of the options, in the table's order, from ``config.json``'s ``training``."""
    return [entry for option in TRAIN_OPTIONS if option.card is not None for entry in option.card(training)]

