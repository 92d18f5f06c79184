"""YAML front matter of Markdown files (model cards): written, read and split off.

Cards are edited by hand (on a hub, in an editor), so they are read with a real YAML
parser (PyYAML's ``safe_load``, which builds plain values only and never runs code): any
valid YAML a person writes, comments, flow lists, block scalars, lists of mappings
(``model-index``), reads as YAML says, and anything else is refused with one line naming
the file and the line, never half-read. They are written with the same library, so what
ganzoo writes always reads back to the same value.

PyYAML is imported inside the functions: ``import ganzoo`` and ``ganzoo list`` need none of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import CardError

__all__ = ["dump_front_matter", "parse_front_matter", "split_front_matter"]

_FENCES = ("---", "...")


def _yaml_data(metadata: Mapping[str, Any]) -> Any:
    """What ``safe_dump`` takes: the one normaliser's plain data, with any other scalar as a string."""
    from .export import jsonable

    return json.loads(json.dumps(jsonable(metadata), default=str))


def dump_front_matter(metadata: Mapping[str, Any]) -> str:
    """``---``-fenced YAML for ``metadata``, keys in the order given, one value per line."""
    import yaml

    text = yaml.safe_dump(
        _yaml_data(metadata), sort_keys=False, allow_unicode=True, default_flow_style=False, width=math.inf
    )
    return "---\n" + text + "---\n"


def split_front_matter(text: str) -> tuple[str, str]:
    """``(front matter block including its fences, body)``; the block is ``""`` when there is none."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return "", text
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in _FENCES:
            return "".join(lines[: index + 1]), "".join(lines[index + 1 :])
    return "", text


def parse_front_matter(text: str, *, source: str = "the card") -> dict[str, Any]:
    """The YAML front matter of ``text`` as a dict (``{}`` when it has none).

    Raises :class:`~ganzoo.errors.CardError`, in one line naming ``source`` and the line,
    when the front matter is opened but never closed, is not valid YAML, or is not a mapping.
    """
    import yaml

    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    block, _ = split_front_matter(text)
    if not block:
        raise CardError(f"{source}: front matter opened with '---' on line 1 but never closed with '---'")
    body = "\n".join(block.splitlines()[1:-1])  # between the fences
    try:
        value = yaml.safe_load(body)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""  # +1 for the fence, +1 from 0-based
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CardError(f"{source}: its front matter is not valid YAML{where} ({problem}); fix or remove it") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CardError(f"{source}: its front matter must be a mapping of keys to values, not a {type(value).__name__}")
    return value
