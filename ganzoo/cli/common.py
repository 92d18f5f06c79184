"""Helpers every command shares: user-facing errors, output mode, name completion.

Kept free of torch and of rich at import time so that ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from ..errors import GanzooError

__all__ = [
    "PlainCommand", "PlainGroup", "complete_model", "error", "is_terminal", "plain_help", "plain_text", "reflow",
    "stderr_console", "stdout_console", "usage_error", "user_errors",
]

F = TypeVar("F", bound=Callable[..., Any])


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)  # ":end:" stays text


def stdout_console() -> Any:
    from rich.console import Console

    return Console(highlight=False, emoji=False)


def is_terminal() -> bool:
    """True when stdout is an interactive terminal (pretty tables); False when piped (plain text)."""
    return sys.stdout.isatty()


def error(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a user-facing error (one or two lines) on stderr and exit non-zero."""
    from rich.markup import escape

    console = stderr_console()
    console.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        console.print(f"[dim]{escape(hint)}[/]")
    raise typer.Exit(code)


def user_errors(function: F) -> F:
    """Turn a ``GanzooError`` raised by a command into a one-line message and exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except GanzooError as failure:
            error(str(failure))

    return wrapper  # type: ignore[return-value]


def complete_model(incomplete: str) -> Iterator[tuple[str, str]]:
    """Shell completion: registered model names (and their weights tags) with their summaries."""
    from ..registry.catalog import get_registry

    for spec in get_registry().models.records.values():
        names = [spec.name] + [f"{spec.name}.{w.tag}" for w in spec.weights]
        for name in names:
            if name.startswith(incomplete):
                yield name, spec.summary


def reflow(text: str | None) -> str | None:
    """A command's docstring as its help shows it: each paragraph one line, for the terminal to wrap at its own
    width (Typer 0.29 keeps the docstring's line breaks, which wrap raggedly on any other width), except a
    block whose lines after the first are indented (``Examples:`` and one command a line), which stays a
    line each, so that no command is split."""
    if not text:
        return text
    import inspect

    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.splitlines()
        if len(lines) > 1 and all(line.startswith("  ") for line in lines[1:]):
            paragraphs.append("\n".join(line.rstrip() for line in lines))
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def plain_text(text: str | None) -> str | None:
    """Help text as written: ganzoo's help is plain text, but Typer reads it as rich markup, where
    ``E[sign(D(real))]`` is a tag and vanishes ("target of E"). Every ``[`` not escaped already (``\\[``)
    is escaped here, once for every command, instead of by hand in each text that has one."""
    if not text:
        return text
    import re

    return re.sub(r"(?<!\\)\[", r"\\[", text)


def _plain_usage(command: Any, ctx: Any) -> list[str]:
    """The usage line's pieces as POSIX and click write them: ``MODEL`` for a required argument, ``[MODEL]`` for an
    optional one (Typer 0.29 writes ``{model}``, which reads as a set of choices)."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            pieces.extend(param.get_usage_pieces(ctx))
            continue
        name = (param.metavar or param.name or "").upper()
        name = name if param.required else f"[{name}]"
        pieces.append(name + ("..." if param.nargs != 1 else ""))
    return pieces


def _without_flag_types(params: list[Any]) -> list[Any]:
    """A flag takes no value, so its help row shows no type: Typer 0.29 writes ``<bool>`` there, as if the flag
    took a value. A metavar of ``""`` is what Typer shows instead of the type (nothing)."""
    for param in params:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
            param.metavar = ""
    return params


def _unset(cls: Any, default: type) -> bool:
    """Whether a command's ``cls`` is Typer's own (unset, or its default class): a plugin's own class is kept."""
    from typer.models import DefaultPlaceholder

    value = cls.value if isinstance(cls, DefaultPlaceholder) else cls
    return value is None or value is default


def usage_error(failure: typer.TyperException) -> NoReturn:
    """A usage error (unknown option, missing argument, a value of the wrong type) in the style of every other
    error: ``error: ...`` and how to get help, on stderr, exit status 2 (Typer would draw a boxed "Error" panel,
    another style for the same kind of message)."""
    context = getattr(failure, "ctx", None)
    hint = None
    if context is not None and context.help_option_names:
        hint = f"Try '{context.command_path} {context.help_option_names[0]}' for help."
    error(failure.format_message(), hint, code=failure.exit_code)


class _PlainHelp:
    """What ganzoo's commands and groups share (:func:`plain_help`): plain help text, flags without a type,
    and usage errors said as every error is (:func:`usage_error`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = plain_text(reflow(self.help))
        for param in self.params:
            if getattr(param, "help", None):
                param.help = plain_text(param.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))  # type: ignore[misc]

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[misc]
        except typer.TyperException as failure:
            _said_as_usage_error(failure)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except typer.TyperException as failure:
            _said_as_usage_error(failure)


def _said_as_usage_error(failure: typer.TyperException) -> NoReturn:
    if type(failure).__name__ == "NoArgsIsHelpError":  # not an error: the framework shows the help for it
        raise failure
    usage_error(failure)


class PlainCommand(_PlainHelp, TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _plain_usage(self, ctx)


class PlainGroup(_PlainHelp, TyperGroup):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_plain_usage(self, ctx), self.subcommand_metavar]


def plain_help(app: typer.Typer) -> None:
    """Every command of ``app`` (and of its sub-apps, plugin commands included) with ganzoo's help style
    (:class:`PlainCommand`, :class:`PlainGroup`): usage lines that name arguments as ``MODEL``, flags without
    a ``<bool>`` type, plain help text in paragraphs. One place, applied to the built app, so no command can
    be written without it; a command that chose its own class keeps it."""

    def restyle(typer_app: typer.Typer) -> None:
        if _unset(typer_app.info.cls, TyperGroup):
            typer_app.info.cls = PlainGroup
        for info in typer_app.registered_commands:
            if _unset(info.cls, TyperCommand):
                info.cls = PlainCommand
        for group in typer_app.registered_groups:
            if group.typer_instance is not None:
                restyle(group.typer_instance)

    restyle(app)
