"""``ganzoo train MODEL``: train a registered model and export it with a model card.

This module is imported whenever the CLI starts, so torch and the trainer are imported
inside the command only: ``ganzoo --help`` stays fast.

The same command runs unchanged on every process that ``torchrun`` starts
(``torchrun --nproc-per-node N -m ganzoo train ...``); ``--nproc N`` starts them itself
through torchrun's launcher. Rank 0 prints and writes; the other ranks print only errors,
marked with their rank.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import GanzooError
from ..models.model_options import parse_options
from .common import complete_model, stdout_console, user_errors

__all__ = ["config_values", "parse_options", "register"]

_COMMAND_ENV = "GANZOO_TRAIN_COMMAND"  # the line the user typed, handed by --nproc to its workers


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


def _parameters() -> tuple[list[inspect.Parameter], dict[str, Any]]:
    """``ganzoo train``'s parameters, each a ``typer.Option`` (or the model's ``typer.Argument``) made from a row
    of the option table (:mod:`ganzoo.training.optiontable`), in the table's order: the order of ``--help``."""
    from ..training.optiontable import TRAIN_OPTIONS

    parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    annotations: dict[str, Any] = {"ctx": typer.Context, "return": None}
    completions = {"model": complete_model}
    for option in TRAIN_OPTIONS:
        for cli in option.cli:
            extra = {k: completions[v] if k == "autocompletion" else v for k, v in cli.extra.items()}
            if cli.flags:
                default = typer.Option(cli.default, *cli.flags, help=cli.help, metavar=cli.metavar,
                                       rich_help_panel=cli.panel, **extra)
            else:
                default = typer.Argument(cli.default, help=cli.help, **extra)
            name = cli.param or option.name
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=cli.type))
            annotations[name] = cli.type
    return parameters, annotations


def config_values(values: dict[str, Any]) -> dict[str, Any]:
    """The ``TrainConfig`` fields from ``ganzoo train``'s parsed parameters (by name), as the table converts them."""
    from ..training.optiontable import config_fields

    fields: dict[str, Any] = {}
    for option in config_fields():
        if option.from_cli is not None:
            fields[option.name] = option.from_cli(values)
        elif option.cli:
            fields[option.name] = values[option.cli[0].param or option.name]
    return fields


def register(app: typer.Typer) -> None:
    """Add ``ganzoo train`` to the root app; its options are the option table's (one declaration each)."""

    def train_command(ctx: typer.Context, **values: Any) -> None:
        """Train MODEL on a dataset; write samples, curves, a log, checkpoints and an export with a model card.

        Examples (the last two on 4 GPUs; --batch-size is per GPU):
          ganzoo train mlp-gan --dataset ring-8 --steps 1500
          ganzoo train dcgan-faces --data DIR --nproc 4
          torchrun --nproc-per-node 4 -m ganzoo train dcgan-faces --data DIR
        """
        nproc = values["nproc"]
        if nproc is not None and nproc > 1:
            from ..training.parallel.launch import launch_local

            os.environ[_COMMAND_ENV] = _command_line(ctx)  # the workers record the line the user typed
            try:
                launch_local(nproc, _given_arguments(ctx, leave_out=("nproc",)))
            finally:
                os.environ.pop(_COMMAND_ENV, None)
            return
        from ..training import TrainConfig, TrainingStopped, train

        config = TrainConfig(**config_values(values), command=_command_line(ctx))
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

    command = user_errors(train_command)
    parameters, annotations = _parameters()
    command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    app.command("train", no_args_is_help=True)(command)


def _rank() -> int:
    """This process's rank under torchrun (0 otherwise), read without importing torch."""
    try:
        return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0
    except ValueError:
        return 0


def _summary(result: Any) -> None:
    from rich.markup import escape

    from ..cards.folder import export_files
    from ..models.loading import path_source

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
        ("export", f"{result.export_dir}/ ({', '.join(export_files(result.export_dir))})"),
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
    source = shlex.quote(path_source(result.export_dir))
    console.print(f"  sample it: ganzoo sample {escape(source)} -n 64 -o grid.png", soft_wrap=True)
