"""The ``ganzoo`` command: the root Typer app, error handling and command wiring.

Start-up must stay fast: this module and the command modules it imports do not import
torch; each command imports what it needs inside its function. Commands that plugins
add through ``register_commands`` are attached when the app is built.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from typing import Any

import typer

from .._version import __version__
from ..errors import GanzooError
from .common import error, plain_help

__all__ = ["build_app", "error", "main"]

# Command modules of ganzoo itself, each exposing ``register(app)``, with the commands it adds.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "ganzoo.cli.listing": ("list",),
    "ganzoo.cli.info": ("info",),
    "ganzoo.cli.plugins_cmd": ("plugins",),
    "ganzoo.cli.train": ("train",),
    "ganzoo.cli.sample": ("sample",),
    "ganzoo.cli.eval": ("eval",),
    "ganzoo.cli.gallery": ("gallery",),
    "ganzoo.cli.export": ("export",),
    "ganzoo.cli.push": ("push",),
    "ganzoo.cli.cache": ("cache",),
}


def _one_line_warning(message: Any, category: type[Warning], filename: str, lineno: int, line: Any = None) -> str:
    name = "warning" if category is UserWarning else category.__name__
    return f"ganzoo: {name}: {message}\n"


class _StderrLines(logging.Handler):
    """Each record as one line on the ``sys.stderr`` of the moment (tests and embedding apps replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"ganzoo: {record.getMessage()}\n")
        except Exception:  # a log line must never end the command
            self.handleError(record)


def _show_log() -> None:
    """Show the ``ganzoo`` logger's INFO lines on stderr, as ``ganzoo: ...`` (a download, a cache made).

    The library only logs (a Python user chooses with :mod:`logging` what to see); the command
    is where the user must see them. Only when nobody configured the logger already.
    """
    logger = logging.getLogger("ganzoo")
    if logger.handlers or logger.level != logging.NOTSET:
        return  # configured already: by the user, or by an earlier main() in this process
    logger.addHandler(_StderrLines())
    logger.setLevel(logging.INFO)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ganzoo {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """A fresh root app with ganzoo's commands and those of the installed plugins."""
    app = typer.Typer(
        name="ganzoo",
        help="A plugin-based zoo of GANs: list, inspect, train, sample, evaluate and export models.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", "-V", callback=_version_callback, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        """A plugin-based zoo of GANs: list, inspect, train, sample, evaluate and export models."""

    for module_name, commands in COMMAND_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except Exception as failure:  # the other commands keep working; this one says why it cannot
            for command in commands:
                _add_unavailable(app, command, module_name, failure)
            continue
        module.register(app)
    _add_plugin_commands(app)
    plain_help(app)
    return app


def _add_unavailable(app: typer.Typer, command: str, module_name: str, failure: BaseException) -> None:
    """Stand in for a command whose module failed to import: it is listed, and running it prints why."""
    from ..registry.discovery import describe_error

    reason = f"the '{command}' command is unavailable: {module_name} failed to import ({describe_error(failure)})"

    @app.command(command, help=f"(unavailable: {module_name} failed to import)", add_help_option=False,
                 context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def unavailable() -> None:
        error(reason)


def _add_plugin_commands(app: typer.Typer) -> None:
    """Let plugins add commands; a plugin whose hook raises is reported and skipped."""
    from ..registry.catalog import get_registry
    from ..registry.discovery import plugin_hook_callers, report_failure

    registry = get_registry()
    for info, caller in plugin_hook_callers(registry.manager, registry.plugins, "register_commands"):
        try:
            caller(app=app)
        except Exception as failure:
            report_failure(info, failure, "register_commands")


def _interrupted(failure: BaseException) -> bool:
    """Whether ``failure`` is, or was raised because of, a Ctrl-C no command answered itself.

    Typer turns a ``KeyboardInterrupt`` in a command into ``Exit(130)`` raised *from* it, and then
    into ``SystemExit(130)``, so the interrupt survives only in the chain of causes. A command that
    said what the interrupt did (training: where the checkpoint is) exits ``from None``, which ends
    the chain: it is not told twice.
    """
    current: BaseException | None = failure
    while current is not None:
        if isinstance(current, KeyboardInterrupt):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into one-line messages.

    The one place every command's Ctrl-C is said (``ganzoo: interrupted``, exit status 130), plugin
    commands included: no command needs to catch it.
    """
    warnings.formatwarning = _one_line_warning
    _show_log()
    try:
        application = build_app()
        command = typer.main.get_command(application)
        command.main(args=argv, prog_name="ganzoo", standalone_mode=True)
    except GanzooError as failure:
        try:
            error(str(failure))
        except typer.Exit as exit_:
            sys.exit(exit_.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("ganzoo: interrupted\n")
        sys.exit(130)
    except SystemExit as exit_:
        if _interrupted(exit_):
            sys.stderr.write("ganzoo: interrupted\n")
        raise


def __getattr__(name: str) -> Any:
    # ``from ganzoo.cli.app import app`` builds the app on demand (tests, typer's own tools)
    if name == "app":
        return build_app()
    raise AttributeError(name)
