"""Model, loss and callback options as a user types them (``--option KEY=VALUE``, ``--loss-option``,
``--callback-option NAME.KEY=VALUE``), checked and typed: one mechanism for the three kinds of record.

A spec declares each option with a type (``int``, ``float``, ``bool``, ``str``) or a tuple of
allowed values; what the command line gives as strings is converted here, and an option the
spec does not declare is a one-line error naming the ones it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..ranges import COUNT, POSITIVE, NumberRange
from ..registry.records import CallbackSpec, LossSpec, ModelSpec

__all__ = [
    "coerce_callback_options",
    "coerce_declared",
    "coerce_loss_options",
    "coerce_options",
    "parse_callback_options",
    "parse_options",
]


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


def _option_names(declared: Mapping[str, Any]) -> str:
    return ", ".join(sorted(declared)) or "none"


def _coerce_to_type(value: Any, kind: type, key: str, owner: str) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError(text)
            return int(number)
        return kind(text)
    except (TypeError, ValueError):
        raise ConfigError(f"option {key}={value!r} of {owner} must be {kind.__name__}") from None


def coerce_declared(
    declared: Mapping[str, Any], values: Mapping[str, Any], *, owner: str, positive: bool = False
) -> dict[str, Any]:
    """Check ``values`` against ``declared`` options (a type or a tuple of allowed values each) and
    convert strings from the command line; numbers must be finite and, with ``positive``, above zero
    (:mod:`ganzoo.ranges`)."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        if key not in declared:
            raise ConfigError(f"{owner} has no option {key!r}; it accepts: {_option_names(declared)}")
        allowed = declared[key]
        if isinstance(allowed, tuple):
            match = [a for a in allowed if a == value or str(a) == str(value).strip()]
            if not match:
                choices = ", ".join(str(a) for a in allowed)
                raise ConfigError(f"option {key}={value} is not accepted by {owner}; choose one of {choices}")
            result[key] = match[0]
        elif isinstance(allowed, type):
            result[key] = _coerce_to_type(value, allowed, key, owner)
            if allowed in (int, float):  # finite always ('inf' converts to a float); above zero for a model's
                bounds = (COUNT if allowed is int else POSITIVE) if positive else NumberRange()
                bounds.check(f"option {key} of {owner}", result[key])
        else:
            result[key] = value
    return result


def coerce_options(spec: ModelSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check model ``options`` against the spec's accepted options and convert strings from the command line."""
    return coerce_declared(spec.options, options, owner=spec.name, positive=True)


def coerce_loss_options(spec: LossSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``--loss-option`` values against the loss's declared options (its constructor checks ranges)."""
    return coerce_declared(spec.options, options, owner=f"loss {spec.name!r}")


def coerce_callback_options(spec: CallbackSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check one callback's ``--callback-option`` values against its declared options (its builder checks
    ranges), as for a loss."""
    return coerce_declared(spec.options, options, owner=f"callback {spec.name!r}")


MAX_CALLBACK_OPTIONS = 256
"""``--callback-option`` values in one command: far more than any callback declares, few enough to print."""


def parse_callback_options(pairs: list[str]) -> dict[str, dict[str, str]]:
    """``["csv-log.every=10", ...]`` as ``{"csv-log": {"every": "10"}}``: the callback's name (which may hold
    dots, or be ``PLUGIN:NAME``), a dot, then the option as for ``--option``. Values stay strings: the callback's
    declared types convert them (:func:`coerce_callback_options`)."""
    if len(pairs) > MAX_CALLBACK_OPTIONS:
        raise ConfigError(f"--callback-option is given {len(pairs)} times; at most {MAX_CALLBACK_OPTIONS} are taken")
    options: dict[str, dict[str, str]] = {}
    for pair in pairs:
        target, separator, value = pair.partition("=")
        name, dot, key = target.strip().rpartition(".")
        if not separator or not dot or not name.strip() or not key.strip():
            raise ConfigError(
                f"--callback-option takes NAME.KEY=VALUE, got {pair!r} (for example --callback-option csv-log.every=10)"
            )
        options.setdefault(name.strip(), {})[key.strip().replace("-", "_")] = value.strip()
    return options
