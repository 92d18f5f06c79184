"""``ganzoo train MODEL``: train a registered model and export it with a model card.

This module is imported whenever the CLI starts, so torch and the trainer are imported
inside the command only: ``ganzoo --help`` stays fast.

The same command runs unchanged on every process that ``torchrun`` starts
(``torchrun --nproc-per-node N -m ganzoo train ...``); ``--nproc N`` starts them itself
through torchrun's launcher. Rank 0 prints and writes; the other ranks print only errors,
marked with their rank.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import ConfigError, GanzooError
from .common import complete_model, stdout_console, user_errors

__all__ = ["parse_options", "register"]

_PANEL_DATA = "Data"
_PANEL_LENGTH = "Length and optimisation"
_PANEL_RUN = "Run folder and output"
_PANEL_PRACTICE = "Training practices (EMA, augmentation, R1/R2); a resumed run keeps its own"
_PANEL_DIST = "Several GPUs or machines (torch.distributed)"
_COMMAND_ENV = "GANZOO_TRAIN_COMMAND"  # the line the user typed, handed by --nproc to its workers


def parse_options(
    pairs: list[str], image_size: int | None = None, *, flag: str = "--option", example: str = "image_size=128"
) -> dict[str, str | int]:
    """``["image_size=128", ...]`` (and the ``--image-size`` shortcut) as a dict of model options; with
    ``flag="--loss-option"`` the loss's options. Values stay strings: the spec's declared types convert them."""
    options: dict[str, str | int] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"{flag} takes KEY=VALUE, got {pair!r} (for example {flag} {example})")
        options[key.strip().replace("-", "_")] = value.strip()
    if image_size is not None:
        given = options.get("image_size")
        if given is not None and str(given).strip() != str(image_size):
            raise ConfigError(
                f"--image-size {image_size} and {flag} image_size={given} disagree: give the size once"
            )
        options["image_size"] = image_size
    return options


def _given_arguments(ctx: typer.Context, leave_out: tuple[str, ...] = ()) -> list[str]:
    """The arguments and options given on the command line, in their order (defaults left out)."""
    parts: list[str] = []
    arguments: list[str] = []
    by_name = {parameter.name: parameter for parameter in ctx.command.params}
    for name, value in ctx.params.items():  # click fills params in command-line order
        parameter = by_name.get(name)
        source = ctx.get_parameter_source(name)
        if parameter is None or name in leave_out or getattr(source, "name", "") != "COMMANDLINE":
            continue  # (typer bundles its own click: compare the source by name)
        if parameter.param_type_name == "argument":
            arguments.append(str(value))  # click processes arguments after options; they come first
            continue
        flag = max(parameter.opts, key=len)
        if getattr(parameter, "is_flag", False):
            if value:
                parts.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return [*arguments, *parts]


def _command_line(ctx: typer.Context) -> str:
    """The command for the model card: argv when run as ``ganzoo``, else (CliRunner, embedding apps) the
    options given on the command line, in their order. Under torchrun: the torchrun command, or the
    ``ganzoo train --nproc`` line that started the workers."""
    if os.environ.get(_COMMAND_ENV):
        return os.environ[_COMMAND_ENV]
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program == "ganzoo" or sys.argv[0].endswith(("ganzoo/__main__.py", "ganzoo/cli/app.py")):
        words = ["ganzoo", *sys.argv[1:]]
    else:
        words = ["ganzoo", "train", *_given_arguments(ctx)]
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        from ..training.parallel.distributed import launcher_words, topology_from_env

        words = [*launcher_words(topology_from_env()), *words]
    return shlex.join(words)


def register(app: typer.Typer) -> None:
    """Add ``ganzoo train`` to the root app."""

    @app.command("train", no_args_is_help=True)
    @user_errors
    def train_command(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Model to train (see 'ganzoo list').", autocompletion=complete_model),
        dataset: str | None = typer.Option(
            None, "--dataset", "-d", help="Dataset (default: the model's; see 'ganzoo list --datasets').",
            rich_help_panel=_PANEL_DATA,
        ),
        data: Path | None = typer.Option(
            None, "--data", help="Data directory (default: $GANZOO_DATA_DIR or ~/.cache/ganzoo/data).",
            rich_help_panel=_PANEL_DATA,
        ),
        download: bool = typer.Option(
            False, "--download", help="Download the dataset if it is missing.", rich_help_panel=_PANEL_DATA
        ),
        data_license: str | None = typer.Option(
            None, "--data-license", metavar="LICENCE",
            help="Licence of the training data, for the card (e.g. 'CC BY 4.0'), when its folder has no LICENSE file.",
            rich_help_panel=_PANEL_DATA,
        ),
        limit: int | None = typer.Option(
            None, "--limit", help="Train on the first N samples only (quick runs).", rich_help_panel=_PANEL_DATA
        ),
        loss: str | None = typer.Option(
            None, "--loss", help="Adversarial loss (default: the model's; see 'ganzoo list --losses').",
            rich_help_panel=_PANEL_LENGTH,
        ),
        steps: int | None = typer.Option(
            None, "--steps", help="Generator updates to train for (or use --epochs).", rich_help_panel=_PANEL_LENGTH
        ),
        epochs: float | None = typer.Option(
            None, "--epochs", help="Passes over the data (default 1 unless the model says otherwise).",
            rich_help_panel=_PANEL_LENGTH,
        ),
        batch_size: int | None = typer.Option(
            None, "--batch-size", "-b",
            help="Batch size per device (default: the model's); on several processes the global batch "
            "is this times their number.", rich_help_panel=_PANEL_LENGTH
        ),
        lr: float | None = typer.Option(
            None, "--lr", help="Adam learning rate for G and D (default: the model's, usually 2e-4).",
            rich_help_panel=_PANEL_LENGTH,
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed.", rich_help_panel=_PANEL_LENGTH),
        device: str = typer.Option(
            "auto", "--device", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=_PANEL_LENGTH
        ),
        precision: str = typer.Option(
            "fp32", "--precision", help="fp32, bf16 (CPU or recent GPU) or fp16 (CUDA).", rich_help_panel=_PANEL_LENGTH
        ),
        reuse_fakes: bool | None = typer.Option(
            None, "--reuse-fakes/--fresh-noise",
            help="--reuse-fakes: update G on the fakes of the last D update, as the PyTorch DCGAN tutorial does "
            "(one G forward pass per step instead of two: faster). Default for a new run: fresh noise for G, as "
            "in Goodfellow et al.; a resumed run keeps its own.",
            rich_help_panel=_PANEL_LENGTH,
        ),
        option: list[str] = typer.Option(
            [], "--option", metavar="KEY=VALUE",
            help="Model option, repeatable (see 'ganzoo info MODEL'), e.g. --option image_size=128.",
        ),
        image_size: int | None = typer.Option(
            None, "--image-size", help="Shortcut for --option image_size=N (models that have it)."
        ),
        compile_step: bool | None = typer.Option(
            None, "--compile/--no-compile",
            help="Compile the networks the training step calls with torch.compile (faster steps after a first step "
            "that compiles for seconds to minutes; needs a C++ compiler on the CPU, Triton on CUDA). Default: off; a "
            "resumed run keeps its own.", rich_help_panel=_PANEL_LENGTH,
        ),
        compile_mode: str | None = typer.Option(
            None, "--compile-mode", metavar="MODE",
            help="--compile: torch.compile's mode (default, reduce-overhead, max-autotune, "
            "max-autotune-no-cudagraphs). Default: max-autotune-no-cudagraphs on CUDA, default on the CPU.",
            rich_help_panel=_PANEL_LENGTH,
        ),
        loss_option: list[str] = typer.Option(
            [], "--loss-option", metavar="KEY=VALUE",
            help="Loss option, repeatable (see 'ganzoo info LOSS'), e.g. --loss-option d_steps=2 or, for wgan-gp, "
            "--loss-option gp_weight=5.", rich_help_panel=_PANEL_LENGTH,
        ),
        ema: float | None = typer.Option(
            None, "--ema", metavar="IMAGES",
            help="Keep a moving average of the generator with this half-life in images (StyleGAN2's ema_kimg); "
            "sample grids, the export's metrics and ganzoo.load use it. Default 10000 for image data; 0: off.",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        ema_rampup: float | None = typer.Option(
            None, "--ema-rampup", metavar="SHARE",
            help="EMA half-life at most this share of the images seen so far (default 0.05; 0: none).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        augment: str | None = typer.Option(
            None, "--augment", metavar="KIND[:OPS]",
            help="Augment what D sees, reals and fakes alike: diffaug (DiffAugment) or ada (adaptive, "
            "StyleGAN2-ADA's p), with ops from color,translation,cutout (default all), e.g. --augment "
            "diffaug:translation,cutout. Default none.", rich_help_panel=_PANEL_PRACTICE,
        ),
        ada_target: float | None = typer.Option(
            None, "--ada-target", help="--augment ada: target of E[sign(D(real))] (default 0.6).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        ada_speed: float | None = typer.Option(
            None, "--ada-speed", metavar="IMAGES",
            help="--augment ada: images in which p can go from 0 to 1 (default 100000).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        r1_gamma: float | None = typer.Option(
            None, "--r1-gamma", help="R1 penalty gamma/2 E|grad D(real)|^2 on D (default 0: none).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        r2_gamma: float | None = typer.Option(
            None, "--r2-gamma", help="R2 penalty, the same on the fakes (default 0: none).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        reg_every: int | None = typer.Option(
            None, "--reg-every", metavar="K",
            help="Lazy R1/R2: every K steps, scaled by K, as StyleGAN2 does (default 1).",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        schedule: list[str] | None = typer.Option(
            None, "--schedule", metavar="NAME=START:END:IMAGES[:SHAPE]",
            help="Move a setting (lr, beta2, r1_gamma, r2_gamma, ema) from START to END over IMAGES images, along a "
            "cosine (default) or linear curve, as R3GAN does; repeatable, e.g. --schedule lr=2e-4:5e-5:2000000.",
            rich_help_panel=_PANEL_PRACTICE,
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Run folder (default: runs/MODEL-DATASET).", rich_help_panel=_PANEL_RUN
        ),
        callback: list[str] | None = typer.Option(
            None, "--callback", metavar="NAME",
            help="Add a registered training callback, repeatable ('ganzoo list --callbacks'). On --resume the run "
            "keeps its own unless given.", rich_help_panel=_PANEL_RUN,
        ),
        resume: bool = typer.Option(
            False, "--resume", help="Continue the run in --out from its last checkpoint.", rich_help_panel=_PANEL_RUN
        ),
        sample_every: int | None = typer.Option(
            None, "--sample-every", help="Steps between sample grids (default 500).", rich_help_panel=_PANEL_RUN
        ),
        checkpoint_every: int | None = typer.Option(
            None, "--checkpoint-every", help="Steps between checkpoints (default 1000).", rich_help_panel=_PANEL_RUN
        ),
        log_every: int | None = typer.Option(
            None, "--log-every", help="Steps between log records (default 50).", rich_help_panel=_PANEL_RUN
        ),
        tensorboard: bool = typer.Option(
            False, "--tensorboard",
            help="Also write TensorBoard events (losses, D(x), D(G(z)), images/s, learning rates, the sample "
            "grids) to OUT/tb; watch with 'tensorboard --logdir OUT/tb'. Needs pip install \"ganzoo\\[tensorboard]\". "
            "Give it again with --resume: the curves continue.", rich_help_panel=_PANEL_RUN,
        ),
        tensorboard_dir: Path | None = typer.Option(
            None, "--tensorboard-dir", metavar="DIR", help="--tensorboard, writing to DIR instead of OUT/tb.",
            rich_help_panel=_PANEL_RUN,
        ),
        quiet: bool = typer.Option(
            False, "--quiet", "-q", help="No progress display, only the final summary.", rich_help_panel=_PANEL_RUN
        ),
        nproc: int | None = typer.Option(
            None, "--nproc", min=1, metavar="N",
            help="Train on N processes of this machine (one per GPU; or CPU processes) with DDP, started through "
            "torchrun's launcher: the same as 'torchrun --standalone --nproc-per-node N -m ganzoo train ...'. "
            "--batch-size is per process: the global batch is N times it. For several machines run torchrun "
            "yourself (README: 'Training on several GPUs or machines').",
            rich_help_panel=_PANEL_DIST,
        ),
        sync_bn: bool = typer.Option(
            False, "--sync-bn",
            help="Several processes: BatchNorm statistics over the global batch (SyncBatchNorm; CUDA only). "
            "Default: each process normalises with its own batch's statistics, and rank 0's running statistics "
            "are broadcast to the others before every forward pass and saved.",
            rich_help_panel=_PANEL_DIST,
        ),
        dist_timeout: float = typer.Option(
            600.0, "--dist-timeout", metavar="SECONDS",  # = training.config.DEFAULT_DIST_TIMEOUT_S (a test
            # checks): importing it here would load the trainer's config on every CLI start
            help="Several processes: how long one waits for the others before the run stops with an error "
            "(a process that died or hangs).",
            rich_help_panel=_PANEL_DIST,
        ),
    ) -> None:
        """Train MODEL on a dataset; write samples, curves, a log, checkpoints and an export with a model card.

        Example: ganzoo train mlp-gan --dataset ring-8 --steps 1500

        On several GPUs: ganzoo train dcgan-faces --data DIR --nproc 4 (or torchrun --nproc-per-node 4 -m ganzoo
        train dcgan-faces --data DIR); --batch-size is per GPU.
        """
        if nproc is not None and nproc > 1:
            from ..training.parallel.launch import launch_local

            os.environ[_COMMAND_ENV] = _command_line(ctx)  # the workers record the line the user typed
            try:
                launch_local(nproc, _given_arguments(ctx, leave_out=("nproc",)))
            finally:
                os.environ.pop(_COMMAND_ENV, None)
            return
        from ..training import TrainConfig, TrainingStopped, train

        config = TrainConfig(
            model=model,
            dataset=dataset,
            data_dir=data,
            download=download,
            loss=loss,
            device=device,
            epochs=epochs,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            out=out,
            resume=resume,
            precision=precision,
            reuse_fakes=reuse_fakes,
            sample_every=sample_every,
            checkpoint_every=checkpoint_every,
            log_every=log_every,
            quiet=quiet,
            options=parse_options(option, image_size),
            loss_options=parse_options(loss_option, flag="--loss-option", example="d_steps=2"),
            limit=limit,
            command=_command_line(ctx),
            sync_bn=sync_bn,
            dist_timeout=dist_timeout,
            callbacks=tuple(callback) if callback else None,
            tensorboard=tensorboard_dir if tensorboard_dir is not None else (tensorboard or None),
            ema=ema,
            ema_rampup=ema_rampup,
            augment=augment,
            ada_target=ada_target,
            ada_speed=ada_speed,
            r1_gamma=r1_gamma,
            r2_gamma=r2_gamma,
            reg_every=reg_every,
            schedule=tuple(schedule) if schedule else None,
            compile=compile_step,
            compile_mode=compile_mode,
            data_license=data_license,
        )
        rank = _rank()
        try:
            result = train(config)
        except TrainingStopped as stopped:  # the trainer said where the checkpoint is
            raise typer.Exit(stopped.exit_code) from None
        except GanzooError as failure:
            if rank:  # every rank reports; torchrun shows all their lines, so say whose this is
                raise GanzooError(f"[rank {rank}] {failure}") from None
            raise
        if rank == 0:
            _summary(result)


def _rank() -> int:
    """This process's rank under torchrun (0 otherwise), read without importing torch."""
    try:
        return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0
    except ValueError:
        return 0


def _summary(result: Any) -> None:
    from rich.markup import escape

    from ..cards.folder import CARD_NAME, CONFIG_NAME, SAMPLES_NAME, WEIGHTS_NAME

    console = stdout_console()
    steps = result.steps - result.start_step
    resumed = f" (resumed at step {result.start_step})" if result.start_step else ""
    world = getattr(result, "world_size", 1)
    processes = f" on {world} processes (global batch {result.global_batch_size})" if world > 1 else ""
    console.print(
        f"[bold green]trained[/] {result.model} on {result.dataset}{processes}: {result.steps} steps{resumed}, "
        f"{steps} in this session, {result.wall_time_s:.1f} s in all, {result.images_per_s:,.0f} images/s",
        soft_wrap=True,
    )
    rows = [
        ("export", f"{result.export_dir}/ ({WEIGHTS_NAME}, {CONFIG_NAME}, {CARD_NAME}, {SAMPLES_NAME})"),
        ("samples", f"{result.final_samples}"),
        ("card", f"{result.card}"),
        ("log", f"{result.log}"),
        ("curves", f"{result.curves}"),
        ("checkpoint", f"{result.checkpoint}"),
    ]
    for name, value in rows:
        console.print(f"  {name:<11}{escape(value)}", soft_wrap=True)
    shown = {k: v for k, v in result.metrics.items() if k != "images_per_s"}
    if shown:
        console.print("  metrics    " + ", ".join(f"{k} {v}" for k, v in shown.items()), soft_wrap=True)
    console.print(f"  sample it: ganzoo sample {escape(str(result.export_dir))} -n 64 -o grid.png", soft_wrap=True)
