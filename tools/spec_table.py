"""Print the plugin reference's tables (docs/plugins/reference.md) of every field of every plugin record.

The tables are made from the dataclasses themselves: each field's name, its type annotation,
its default and the attribute docstring written under it in ``ganzoo/registry/records.py``, the one
place its meaning is written. docs/plugins/reference.md shows them (``python tools/docs_pages.py`` writes them)
between ``<!-- spec-table -->`` and ``<!-- /spec-table -->``; ``tests/test_contributing.py``
checks that they equal what this script prints, so a new or changed field cannot go
undocumented.

    python tools/spec_table.py [--write docs/plugins/reference.md]
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import re
from pathlib import Path

import ganzoo

RECORDS = (
    ganzoo.ModelSpec, ganzoo.WeightsSpec, ganzoo.LossSpec, ganzoo.DatasetSpec, ganzoo.ExtractorSpec,
    ganzoo.CallbackSpec,
)
START, END = "<!-- spec-table -->", "<!-- /spec-table -->"


def field_docs(record: type) -> dict[str, str]:
    """The attribute docstrings of ``record``'s fields (the string literal right under each annotation)."""
    tree = ast.parse(inspect.getsource(record))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in itertools.pairwise(body):
        named = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        text = after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) else None
        if named and isinstance(text, str):
            docs[node.target.id] = _markdown(" ".join(text.split()))
    return docs


def _markdown(text: str) -> str:
    """The docstrings' reStructuredText as Markdown: ``x`` and :role:`x` become `x`."""
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")


def _default(field: dataclasses.Field) -> str:  # type: ignore[type-arg]
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:
        return f"`{field.default_factory()!r}`"
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def missing_docs() -> list[str]:
    """``Record.field`` for every public field without a docstring."""
    return [f"{r.__name__}.{f.name}" for r in RECORDS for f in dataclasses.fields(r) if f.name not in field_docs(r)]


def table() -> str:
    """One Markdown table per record: field, type, default, meaning."""
    missing = missing_docs()
    if missing:
        raise SystemExit(f"fields without a docstring: {', '.join(missing)}; write one under each field")
    parts = []
    for record in RECORDS:
        docs = field_docs(record)
        summary = _markdown(" ".join(inspect.getdoc(record).split("\n\n")[0].split()))
        rows = [f"**`ganzoo.{record.__name__}`**: {_cell(summary)}", "",
                "| field | type | default | meaning |", "|---|---|---|---|"]
        for field in dataclasses.fields(record):
            rows.append(f"| `{field.name}` | `{_cell(str(field.type))}` | {_cell(_default(field))} | "
                        f"{_cell(docs[field.name])} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def replace_between_markers(text: str, rendered: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + rendered + "\n" + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="replace the tables in this Markdown file")
    args = parser.parse_args()
    rendered = table()
    if args.write:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace_between_markers(text, rendered), encoding="utf-8")
    print(rendered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
