"""YAML front matter of Markdown files (model cards): written, read and split off.

Cards are edited by hand (on a hub, in an editor), so they are read with a real YAML
parser (PyYAML's ``SafeLoader``, which builds plain values only and never runs code): any
valid YAML a person writes, comments, flow lists, block scalars, lists of mappings
(``model-index``), reads as YAML says, and anything else is refused with one line naming
the file and the line, never half-read. They are written with the same library, so what
ganzoo writes always reads back to the same value.

A card is someone else's text, so it is read as :mod:`ganzoo.io.untrusted` reads all such text:
:func:`read_card_text` takes at most :data:`~ganzoo.io.untrusted.MAX_CARD_BYTES` of UTF-8, and
:func:`parse_front_matter` refuses aliases, anchors and deep nesting (a few kilobytes of
aliases expand to gigabytes) and checks the types of the fields ganzoo reads (:data:`CARD_FIELDS`).

PyYAML is imported inside the functions: ``import ganzoo`` and ``ganzoo list`` need none of it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from ..errors import CardError
from ..io.untrusted import MAX_CARD_BYTES, Field, check_fields, parse_yaml, read_text

__all__ = ["CARD_FIELDS", "dump_front_matter", "parse_front_matter", "read_card_text", "split_front_matter"]

_FENCES = ("---", "...")

CARD_FIELDS = {
    "library_name": Field("string", nullable=True),
    "license": Field("string", nullable=True),
    "metrics": Field("list", nullable=True),
    "model-index": Field("list", nullable=True),
    "ganzoo": Field("mapping", nullable=True),
}
"""The front matter's fields that ganzoo reads, and what each must be (the Hub's card format)."""
_GANZOO_FIELDS = {"results": Field("mapping", nullable=True)}


def read_card_text(path: str | os.PathLike[str], *, source: str | None = None) -> str:
    """The text of the card at ``path``: at most :data:`~ganzoo.io.untrusted.MAX_CARD_BYTES` of UTF-8, else a
    :class:`~ganzoo.errors.CardError` naming the card. Read it only where the card is needed."""
    return read_text(path, limit=MAX_CARD_BYTES, error=CardError, source=f"the model card {source or path}")


def _yaml_data(metadata: Mapping[str, Any]) -> Any:
    """What ``safe_dump`` takes: the one normaliser's plain data, with any other scalar as a string."""
    from ..io.files import jsonable

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
    when the front matter is opened but never closed, is not valid YAML (aliases, anchors and
    deep nesting included, see :func:`ganzoo.io.untrusted.parse_yaml`), is not a mapping, or has a
    field of :data:`CARD_FIELDS` of another type.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    block, _ = split_front_matter(text)
    if not block:
        raise CardError(f"{source}: front matter opened with '---' on line 1 but never closed with '---'")
    body = "\n".join(block.splitlines()[1:-1])  # between the fences
    value = parse_yaml(body, source=f"{source}: its front matter", error=CardError, first_line=2)  # after the fence
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CardError(f"{source}: its front matter must be a mapping of keys to values, not a {type(value).__name__}")
    check_fields(value, CARD_FIELDS, source=source, error=CardError, fix="correct the card's front matter")
    check_fields(value.get("ganzoo") or {}, _GANZOO_FIELDS, source=source, error=CardError, prefix="ganzoo.",
                 fix="correct the card's front matter")
    return value
