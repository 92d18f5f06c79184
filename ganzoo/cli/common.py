"""Helpers every command shares: user-facing errors, output mode, name completion.

Kept free of torch and of rich at import time so that ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import typer

from ..errors import GanzooError

__all__ = ["complete_model", "error", "is_terminal", "stderr_console", "stdout_console", "user_errors"]

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
