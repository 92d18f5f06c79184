"""The one way ganzoo reads text that someone else wrote: bounded, then parsed, then checked.

Model cards, ``config.json``, the configuration in a weights file's metadata and the records
in a checkpoint come from whoever published them. Each is read by a loader of its own kind
(:func:`ganzoo.cards.frontmatter.parse_front_matter`, :func:`ganzoo.cards.folder.read_config`,
:func:`ganzoo.models.loading.metadata_config`, :func:`ganzoo.training.checkpoint.load_checkpoint`),
and every one of them is made of the pieces here, so that none can forget a limit:

* :func:`read_text`: a regular file of at most ``limit`` bytes (the size is checked before
  anything is read, and never more than ``limit + 1`` bytes are read), decoded as UTF-8;
* :func:`parse_json`: JSON whose nesting is measured by a linear scan *before* the parser
  (which recurses) sees it;
* :func:`parse_yaml`: YAML through PyYAML's ``SafeLoader`` (plain values only, never code),
  with aliases and anchors refused (an alias bomb of a few kilobytes expands to gigabytes)
  and nesting bounded while the document is composed;
* :func:`check_fields`: the types of the fields ganzoo reads, so that a wrong one is one line
  naming the file and the field (``config.json: field 'format_version' must be an integer,
  got str "1.0"``) instead of a ``ValueError`` somewhere later.

Every failure is one line of the error class the caller names (a ``CardError`` for a card, a
``WeightsError`` for an export, a ``ConfigError`` for a checkpoint). Only the standard library
is imported here, PyYAML inside :func:`parse_yaml`: ``ganzoo list`` may load this module.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import GanzooError

__all__ = [
    "MAX_CARD_BYTES",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "Field",
    "check_fields",
    "check_size",
    "decode_text",
    "parse_json",
    "parse_yaml",
    "read_text",
]

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings accepted in a card, config or record (ganzoo's own are under 8)."""
MAX_CARD_BYTES = 1 << 20
"""Largest model card read (ganzoo's are about 10 KB; a Hub card with long tables stays well below)."""
MAX_JSON_BYTES = 4 << 20
"""Largest ``config.json``, or configuration in a weights file's metadata (ganzoo's are a few KB)."""

ErrorClass = type[GanzooError]


def check_size(size: int, limit: int, *, source: str, error: ErrorClass, unit: str = "bytes") -> None:
    """Refuse ``size`` (``unit``) over ``limit``, naming ``source``, before anything of it is read or parsed."""
    if size > limit:
        raise error(f"{source} is {size:,} {unit} long, more than the {limit:,} that ganzoo reads of such text; "
                    "it is not one ganzoo wrote")


def decode_text(data: bytes, *, source: str, error: ErrorClass) -> str:
    """``data`` as UTF-8 text; other bytes are one line naming ``source`` and where the first bad byte is."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise error(f"{source} is not UTF-8 text (byte 0x{data[failure.start]:02x} at offset {failure.start}); "
                    "save it as UTF-8") from None


def read_text(path: str | os.PathLike[str], *, limit: int, error: ErrorClass, source: str | None = None) -> str:
    """The UTF-8 text of the regular file ``path``, of at most ``limit`` bytes, else one line naming it.

    The file is opened once and its size taken from the open file, so a file that grows between
    the check and the read is still read no further than ``limit + 1`` bytes. Anything but a
    regular file (a named pipe would block the read forever, a device never ends) is refused.
    """
    source = source or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as failure:
        raise error(f"cannot read {source} ({failure.strerror or failure})") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{source} is not a regular file; ganzoo reads only regular files")
        check_size(info.st_size, limit, source=source, error=error)
        try:
            data = file.read(limit + 1)
        except OSError as failure:
            raise error(f"cannot read {source} ({failure.strerror or failure})") from None
    check_size(len(data), limit, source=source, error=error)
    return decode_text(data, source=source, error=error)


# A JSON string (with its escapes) as one unrolled-loop match: no backtracking, whatever its length.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deeply the lists and objects of the JSON ``text`` nest, measured without recursion.

    Strings are removed first (a bracket inside one does not count), then the running sum of
    opening (+1) and closing (-1) brackets gives the depth; malformed text is the parser's to refuse.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def parse_json(text: str, *, source: str, error: ErrorClass, limit: int = MAX_JSON_BYTES) -> Any:
    """The value of the JSON ``text``, at most ``limit`` characters and :data:`MAX_DEPTH` levels deep."""
    check_size(len(text), limit, source=source, error=error, unit="characters")
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise error(f"{source} nests {depth} levels deep, more than the {MAX_DEPTH} that ganzoo reads; "
                    "it is not one ganzoo wrote")
    try:
        return json.loads(text)
    except ValueError as failure:  # JSONDecodeError, or an integer of more digits than Python converts
        raise error(f"{source} is not valid JSON ({str(failure).splitlines()[0]})") from None
    except RecursionError:  # not reached by what the scan measured; kept so that no text can end in a traceback
        raise error(f"{source} nests too deeply for ganzoo to read; it is not one ganzoo wrote") from None


@functools.cache
def _bounded_loader() -> type:
    """``yaml.SafeLoader`` that refuses aliases and anchors and composes at most :data:`MAX_DEPTH` levels.

    The composer is the part of PyYAML that recurses (one call per level) and that expands
    aliases; it sees every node before anything is built, so refusing there costs nothing.
    """
    import yaml

    class Refused(yaml.composer.ComposerError):
        """Valid YAML that ganzoo does not read."""

    class BoundedLoader(yaml.SafeLoader):
        _depth = 0
        refused = Refused

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                raise Refused(None, None, f"it uses an alias (*{event.anchor}), which ganzoo does not expand",
                              event.start_mark)
            if getattr(event, "anchor", None) is not None:
                raise Refused(None, None, f"it defines an anchor (&{event.anchor}), which ganzoo does not expand",
                              event.start_mark)
            if self._depth >= MAX_DEPTH:
                raise Refused(None, None, f"it nests more than {MAX_DEPTH} levels deep", event.start_mark)
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return BoundedLoader


def parse_yaml(text: str, *, source: str, error: ErrorClass, first_line: int = 1, limit: int = MAX_CARD_BYTES) -> Any:
    """The value of the YAML ``text`` (plain values only), at most ``limit`` characters, without aliases,
    anchors or more than :data:`MAX_DEPTH` levels; ``first_line`` is the line of the file ``text`` starts
    on, so that the one-line error points at the right line of ``source``."""
    import yaml

    check_size(len(text), limit, source=source, error=error, unit="characters")
    loader_class = _bounded_loader()
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as failure:
        mark = getattr(failure, "problem_mark", None)
        where = f" on line {mark.line + first_line}" if mark is not None else ""
        problem = getattr(failure, "problem", None) or str(failure).splitlines()[0]
        if isinstance(failure, loader_class.refused):
            raise error(f"{source} is refused{where}: {problem}; write the values out plainly") from None
        raise error(f"{source} is not valid YAML{where} ({problem}); fix or remove it") from None
    except RecursionError:  # not reached with the composer's depth bound; kept so that no text ends in a traceback
        raise error(f"{source} nests too deeply for ganzoo to read; write it flatter") from None
    finally:
        loader.dispose()


# ------------------------------------------------------------------------------------------ schemas

_KINDS: dict[str, tuple[str, tuple[type, ...]]] = {
    "integer": ("an integer", (int,)),
    "number": ("a number", (int, float)),
    "string": ("a string", (str,)),
    "boolean": ("true or false", (bool,)),
    "mapping": ("a mapping", (dict,)),
    "list": ("a list", (list, tuple)),
    "any": ("present", (object,)),
}


@dataclass(frozen=True)
class Field:
    """What one field of a file must be: ``kind`` is one of integer, number, string, boolean, mapping,
    list or any (present, of whatever type, for values ganzoo checks elsewhere: tensors, RNG states)."""

    kind: str
    required: bool = False
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}; one of {', '.join(_KINDS)}")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable or self.kind == "any"
        if isinstance(value, bool) and self.kind in ("integer", "number"):
            return False  # JSON's true is no count
        return isinstance(value, _KINDS[self.kind][1])


def _shown(value: Any) -> str:
    """A short view of a wrong value for the error line: its JSON, cut to 40 characters."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=lambda v: f"<{type(v).__name__}>")
    except ValueError:  # a value that refers to itself
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def check_fields(
    document: Any,
    fields: Mapping[str, Field],
    *,
    source: str,
    error: ErrorClass,
    prefix: str = "",
    fix: str = "",
) -> None:
    """Refuse ``document`` unless it is a mapping whose ``fields`` have their declared kinds (fields not
    listed are left alone). The error names ``source`` and the field (``prefix`` + its name) and ends with
    ``fix`` (what to do about it), in one line."""
    advice = f"; {fix}" if fix else ""
    if not isinstance(document, Mapping):
        what = f"field '{prefix.rstrip('.')}'" if prefix else "its content"
        raise error(f"{source}: {what} must be a mapping, got {type(document).__name__} {_shown(document)}{advice}")
    for name, field in fields.items():
        if name not in document:
            if field.required:
                raise error(f"{source}: field '{prefix}{name}' is missing{advice}")
            continue
        value = document[name]
        if not field.accepts(value):
            raise error(f"{source}: field '{prefix}{name}' must be {_KINDS[field.kind][0]}"
                        f"{' or null' if field.nullable else ''}, got {type(value).__name__} {_shown(value)}{advice}")

