"""What one training option declares: :class:`TrainOption` (and its ``ganzoo train`` spelling, :class:`Cli`).

The table of every option is :mod:`.optiontable`; this module is the vocabulary the table is written in: the
fields a row fills (type, default, range, CLI spelling, resume rule, where the run records it) and the small
builders (:func:`always`, :func:`when_set`, :func:`each`, :func:`row`) that say how a value reads in the
equivalent command and on the card. A plugin's own callbacks and losses do not use it; the trainer, the CLI,
the resume check and the run record read rows through it. Standard library only: the CLI imports it at start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..ranges import NumberRange

__all__ = [
    "Cli", "Resume", "Rows", "TrainOption", "Words", "always", "each", "each_nested", "given", "options_row", "row",
    "when_set",
]

Resume = Literal["fixed", "inherit", "session"]
"""What a resume does with an option: ``fixed``: the run keeps it for life (unset, the checkpoint's value; a
different value is refused, because exact resume depends on it); ``inherit``: unset, the checkpoint's value,
given, the new one (the learning rate of a run rescued from divergence); ``session``: this session's only,
never recorded (the device, ``--quiet``)."""
Words = Callable[[Any, Mapping[str, Any]], list[str]]
"""``(value, settings) -> words`` of the equivalent command; ``settings`` are the run's other options."""
Rows = Callable[[Mapping[str, Any]], list[tuple[str, Any]]]
"""``config.json``'s ``training`` section -> the card's hyper-parameter rows."""


@dataclass(frozen=True)
class Cli:
    """One ``ganzoo train`` parameter: ``typer.Option(default, *flags, help=..., ...)``, or the positional
    argument when ``flags`` is empty. ``param`` is the Python name Typer passes it by (default: the option's)."""

    flags: tuple[str, ...]
    type: Any
    default: Any = None
    param: str = ""
    metavar: str | None = None
    panel: str | None = None
    help: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Other ``typer.Option`` keywords (``min=1``); ``autocompletion`` is named here and set by the CLI."""


@dataclass(frozen=True)
class TrainOption:
    """One training option (see the module docstring); ``field=False``: a ``ganzoo train`` option only (``--nproc``)."""

    name: str
    annotation: str
    """The ``TrainConfig`` field's type, as written in :mod:`.config`."""
    default: Any = None
    """The field's default; None means "the model's default" (or "none") for most options."""
    help: str = ""
    """What the option does, for Python users (``TrainConfig``'s docstring); the CLI's help is :attr:`Cli.help`."""
    cli: tuple[Cli, ...] = ()
    from_cli: Callable[[Mapping[str, Any]], Any] | None = None
    """The field's value from the parsed command line (all parameters by name); default: its parameter as is."""
    range: NumberRange | None = None
    words: tuple[str, ...] = ()
    """Words a numeric option takes besides its numbers (``--threads auto``); any other text is held to ``range``."""
    resume: Resume = "session"
    before: Any = None
    """A ``fixed`` option's value for a checkpoint written before the option existed (what that run did)."""
    kind: Literal["", "path", "tuple", "dict"] = ""
    """How the value is stored in JSON and checkpoints: paths as strings, tuples as lists, dicts made plain."""
    config: str | None = None
    """The key of ``config.json``'s ``training`` section that records it (None: not recorded there)."""
    config_value: Callable[[Mapping[str, Any]], Any] | None = None
    """Its recorded value from the run's settings; default: the setting itself, made plain."""
    card: Rows | None = None
    command: Words | None = None
    field: bool = True
    default_factory: Callable[[], Any] | None = None

    @property
    def flag(self) -> str:
        """How messages name the option: its (first) long flag, or the field's name for an API-only one."""
        if not self.cli or not self.cli[0].flags:
            return self.name
        return max(self.cli[0].flags, key=len).split("/")[0]

    @property
    def recorded(self) -> bool:
        """Whether the checkpoint's run record holds it: every option a resume compares or inherits."""
        return self.resume != "session"


def always(flag: str, spell: Callable[[Any], str] = str) -> Words:
    """The flag and the value, always (the value is the run's, defaults filled in)."""
    return lambda value, settings: [flag, spell(value)]


def when_set(flag: str, spell: Callable[[Any], str] = str) -> Words:
    """The flag and the value when it is set (not None, not zero, not empty)."""
    return lambda value, settings: [flag, spell(value)] if value else []


def given(flag: str, spell: Callable[[Any], str] = str) -> Words:
    """The flag and the value when it is not None (0 included: ``--augment-p 0`` means what it says)."""
    return lambda value, settings: [flag, spell(value)] if value is not None else []


def each(flag: str, spell: Callable[[Any], str] = str) -> Words:
    """The flag once per item (``--callback A --callback B``; ``--option k=v`` for a mapping)."""
    def words(value: Any, settings: Mapping[str, Any]) -> list[str]:
        items = [f"{k}={v}" for k, v in value.items()] if isinstance(value, Mapping) else list(value or ())
        return [part for item in items for part in (flag, spell(item))]
    return words


def row(label: str, key: str, spell: Callable[[Any], Any] | None = None) -> Rows:
    """One card row ``label``: the training section's ``key`` (spelled), when it is there and not None."""
    def rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
        value = training.get(key)
        if value is None:
            return []
        return [(label, spell(value) if spell is not None else value)]
    return rows


def each_nested(flag: str) -> Words:
    """The flag once per option of each record of a mapping of mappings (``--callback-option NAME.KEY=VALUE``)."""
    def words(value: Any, settings: Mapping[str, Any]) -> list[str]:
        return [word for name, values in (value or {}).items() for key, option in values.items()
                for word in (flag, f"{name}.{key}={option}")]
    return words


def _spelled(options: Mapping[str, Any]) -> str:
    from ..cards.card import format_value  # the card's spelling of numbers; imported when a card is written

    return ", ".join(f"{key}={format_value(value)}" for key, value in options.items())


def options_row(label: str, key: str, *, by_record: bool = False) -> Rows:
    """One card row ``label`` of the options in the training section's ``key`` (``gp_weight=5, d_steps=2``; with
    ``by_record``, options by record: ``csv-log: every=10; other: k=v``); no row when none were set."""
    def rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
        options = training.get(key) or {}
        if by_record:
            text = "; ".join(f"{name}: {_spelled(values)}" for name, values in options.items() if values)
        else:
            text = _spelled(options)
        return [(label, text)] if text else []
    return rows
