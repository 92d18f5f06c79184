"""The declared range of every number ganzoo is given, and the one check that holds a number to it.

A number that comes from outside (a command-line option, a ``TrainConfig`` field set from
Python, a checkpoint's run record, a plugin's default hyper-parameters) is checked against
its :class:`NumberRange` before anything uses it: the right kind (a whole number where a
count, a seed or a label is meant; never a bool or a string), finite (``inf`` and ``nan``
are no setting: they end in an overflow later, or in ``Infinity`` in a JSON file, which is
not JSON), and within its bounds. A number outside is a one-line :class:`ConfigError`
naming the option, its range and the value given.

The training options' ranges are one table (:data:`ganzoo.training.config.TRAIN_RANGES`);
the commands that do not train (``sample``, ``eval``) check their options with the
ranges declared here. Importing this module imports neither torch nor anything heavy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = [
    "COUNT",
    "INT64_MAX",
    "NON_NEGATIVE",
    "POSITIVE",
    "SEED",
    "TRUNCATION",
    "NumberRange",
    "check_numbers",
]

INT64_MAX = 2**63 - 1
"""The largest count torch stores (``int64``): step counters, sizes and indices live below it."""


@dataclass(frozen=True)
class NumberRange:
    """A declared range: ``[low, high]`` (``low_open``/``high_open`` leave a bound out), always finite.

    ``integer``: only whole numbers (a float such as ``3.0`` is taken as ``3``). ``items``: the
    value is exactly that many numbers, each in the range (``--betas``). ``hint``: why the bounds
    are where they are, when the range alone does not say it; it ends the error message.
    """

    low: float | None = None
    high: float | None = None
    integer: bool = False
    low_open: bool = False
    high_open: bool = False
    items: int = 0
    hint: str = ""

    def describe(self) -> str:
        """The range in words: ``a whole number from 0 to 2**63 - 1``, ``a finite number > 0``, ``a number in [0, 1)``
        (the words every message about the option uses)."""
        one = self._describe_one()
        if not self.items:
            return one
        for kind in ("a whole number ", "a finite number ", "a number "):
            if one.startswith(kind):
                return f"{self.items} {kind[2:-1].replace('number', 'numbers')}, each {one[len(kind):]}"
        return f"{self.items} numbers"

    def _describe_one(self) -> str:
        low, high = self.low, self.high
        if self.integer:
            low = None if low is None else math.floor(low) + 1 if self.low_open else math.ceil(low)
            high = None if high is None else math.ceil(high) - 1 if self.high_open else math.floor(high)
            if low is not None and high is not None:
                return f"a whole number from {_bound(low)} to {_bound(high)}"
            if low is not None:
                return f"a whole number >= {_bound(low)}"
            if high is not None:
                return f"a whole number <= {_bound(high)}"
            return "a whole number"
        if low is not None and high is not None:
            opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"a number in {opening}{_bound(low)}, {_bound(high)}{closing}"
        if low is not None:
            return f"a finite number {'>' if self.low_open else '>='} {_bound(low)}"
        if high is not None:
            return f"a finite number {'<' if self.high_open else '<='} {_bound(high)}"
        return "a finite number"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a number of this range (for a caller with its own message)."""
        try:
            self._check_one("", value)
        except ConfigError:
            return False
        return True

    def check(self, name: str, value: Any) -> Any:
        """``value`` as a number of this range (an ``int`` for a whole-number range, else a ``float``; a tuple of
        them for an ``items`` range), or a :class:`ConfigError` naming ``name``, the range and ``value``."""
        if not self.items:
            return self._check_one(name, value)
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise self._refusal(name, value)
        values = tuple(value)
        if len(values) != self.items:
            raise self._refusal(name, value)
        try:
            return tuple(self._check_one(name, item) for item in values)
        except ConfigError:
            raise self._refusal(name, value) from None

    def _check_one(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._refusal(name, value)
        number: int | float
        if isinstance(value, numbers.Integral):
            number = int(value)
        else:
            number = float(value)
            if not math.isfinite(number) or (self.integer and not number.is_integer()):
                raise self._refusal(name, value)
            if self.integer:
                number = int(number)
        if not self.integer and isinstance(number, int):
            try:
                number = float(number)
            except OverflowError:  # an int beyond any float
                raise self._refusal(name, value) from None
        low, high = self.low, self.high
        if low is not None and (number < low or (self.low_open and number == low)):
            raise self._refusal(name, value)
        if high is not None and (number > high or (self.high_open and number == high)):
            raise self._refusal(name, value)
        return number

    def _refusal(self, name: str, value: Any) -> ConfigError:
        hint = f" ({self.hint})" if self.hint else ""
        return ConfigError(f"{name} must be {self.describe()}{hint}, got {_shown(value)}")


def check_numbers(values: Iterable[tuple[str, Any, NumberRange]]) -> None:
    """Check ``(name, value, range)`` triples in order (``None`` values are options left unset): a command's
    numeric options, checked together before the command does anything."""
    for name, value, declared in values:
        if value is not None:
            declared.check(name, value)


def _bound(value: float) -> str:
    """``2**63 - 1`` rather than 19 digits; other bounds as Python writes them."""
    if isinstance(value, int):
        if value >= 2**31 and (value + 1) & value == 0:
            return f"2**{(value + 1).bit_length() - 1} - 1"
        return str(value)
    return f"{value:g}".replace("e+0", "e").replace("e+", "e")  # 1e6, as the bound would be written


def _shown(value: Any) -> str:
    """The value as given, in one short line (an int of thousands of digits has no ``repr``)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value).bit_length() > 256:
        return f"an integer of {int(value).bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


COUNT = NumberRange(low=1, high=INT64_MAX, integer=True)
"""A count of steps, images or samples: at least one, and what an ``int64`` holds."""
POSITIVE = NumberRange(low=0, low_open=True)
NON_NEGATIVE = NumberRange(low=0)
SEED = NumberRange(low=0, high=INT64_MAX, integer=True)
"""A random seed. ``torch.manual_seed`` takes at most ``2**64 - 1``; ganzoo derives further seeds by adding
small offsets (``seed + 1`` for the noise, ``seed + 4 + rank * 1_000_003`` for a rank's augmentation, ``seed +
2 * row`` for an interpolation row), which the upper half of that range could push past it. Seeds up to
``2**63 - 1`` leave that room, and are what a signed 64-bit integer (a checkpoint, a tensor) holds."""
TRUNCATION = NumberRange(low=0.04, hint="typically 0.5 to 2; below 0.04 so few latent values lie within it that "
                         "redrawing the others would practically never end")
"""The truncation trick's bound (``--truncation``): latent values beyond it are redrawn until none is."""
