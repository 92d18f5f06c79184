"""Model cards: Markdown with YAML front matter in the Hugging Face card format.

The front matter (``library_name``, ``tags``, ``datasets``, ``license``, ``pipeline_tag``,
``metrics``) is what hubs index; the prose is what a person reads: what the model is, the
exact command that trained it, the data and its licence, the hyper-parameters, hardware and
time, the sample grid, and what the model is (not) fit for.

The YAML is written by hand for a small subset (mappings, lists of scalars, scalars, with
strings double-quoted JSON-style whenever plain YAML could misread them) so that ganzoo
needs no YAML library; :func:`parse_front_matter` reads that subset back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .specs import DatasetSpec, ModelSpec

__all__ = [
    "dataset_license",
    "dump_front_matter",
    "license_id",
    "parse_front_matter",
    "render_card",
    "split_front_matter",
    "update_card_metrics",
]

UTKFACE_LICENSE = "UTKFace: non-commercial research only"

# Hugging Face licence identifiers for the licences ganzoo's datasets carry.
_LICENSE_IDS = {
    "cc by-sa 3.0": "cc-by-sa-3.0",
    "cc by-sa 4.0": "cc-by-sa-4.0",
    "cc by 4.0": "cc-by-4.0",
    "mit": "mit",
    "apache-2.0": "apache-2.0",
    "generated": "apache-2.0",
}

METRIC_NOTES = {
    "loss_d": "discriminator loss, mean over the last logging window of training",
    "loss_g": "generator loss, mean over the last logging window of training",
    "d_real": "D(x): mean sigmoid of D's logits on real batches, last logging window",
    "d_fake": "D(G(z)): mean sigmoid of D's logits on generated batches, last logging window",
    "images_per_s": "training throughput: real images consumed per second of training",
    "modes_covered": "modes of the 2-D mixture holding at least a quarter of a fair share of 2,000 generated "
    "samples within 3 std of their centre",
    "high_quality_share": "share of 2,000 generated samples within 3 std of some mode",
}


def dataset_license(dataset: DatasetSpec, data_dir: Any = None) -> str:
    """The licence the training data carries: the dataset spec's, or UTKFace's for a UTKFace image folder."""
    if dataset.name == "image-folder" and data_dir is not None and "utkface" in str(data_dir).lower():
        return UTKFACE_LICENSE
    return dataset.license or "unknown"


def license_id(licence: str) -> str:
    """The Hugging Face ``license:`` value: a known identifier, else ``other``."""
    return _LICENSE_IDS.get(licence.strip().lower(), "other")


_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ ./+-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~", ""}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if (
        _PLAIN.match(text)
        and text.lower() not in _RESERVED
        and not text.endswith(" ")
        and _number(text) is None
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _dump(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            lines.append(f"{pad}{key}:" + ("" if item else " {}"))
            lines.extend(_dump(item, indent + 2))
        elif isinstance(item, (list, tuple)):
            lines.append(f"{pad}{key}:" + ("" if item else " []"))
            lines.extend(f"{pad}- {_scalar(element)}" for element in item)
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def dump_front_matter(metadata: Mapping[str, Any]) -> str:
    """``---``-fenced YAML for ``metadata`` (nested mappings, lists of scalars, scalars)."""
    return "---\n" + "\n".join(_dump(metadata, 0)) + "\n---\n"


def _number(text: str) -> int | float | None:
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?|[-+]?(\.inf|\.nan)", text, flags=re.IGNORECASE):
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered.endswith(".nan"):
            return float("nan")
        return float(text)
    return None


def _parse_scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if text.startswith("[") and text.endswith("]"):
        return [_parse_scalar(part) for part in text[1:-1].split(",") if part.strip()]
    lowered = text.lower()
    if lowered in ("null", "~", ""):
        return None
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    number = _number(text)
    return text if number is None else number


def _strip_comment(line: str) -> str:
    if '"' in line or "'" in line:
        return line.rstrip()
    return re.sub(r"\s+#.*$", "", line).rstrip()


def parse_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a card as a dict (``{}`` when the card has none).

    Reads the subset :func:`dump_front_matter` writes, which is also what hand-written
    Hugging Face cards usually hold: nested mappings by indentation, ``- item`` lists of
    scalars, inline ``[a, b]`` lists, quoted or plain scalars and ``#`` comments.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    body: list[str] = []
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            break
        body.append(line)
    else:
        raise ValueError("front matter opened with '---' but never closed")

    root: dict[str, Any] = {}
    # stack of (indent, container, pending key awaiting a nested value)
    stack: list[tuple[int, Any]] = [(-1, root)]
    pending: tuple[int, dict[str, Any], str] | None = None
    for raw in body:
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        content = line.strip()
        if pending is not None:
            parent_indent, parent, key = pending
            pending = None
            if indent > parent_indent or (content.startswith("- ") and indent == parent_indent):
                parent[key] = [] if content.startswith("-") else {}
                stack.append((indent, parent[key]))
            else:
                parent[key] = None
        while len(stack) > 1 and indent < stack[-1][0]:
            stack.pop()
        container = stack[-1][1]
        if content.startswith("-"):
            if not isinstance(container, list):
                raise ValueError(f"unexpected list item in front matter: {raw!r}")
            container.append(_parse_scalar(content[1:]))
            continue
        if isinstance(container, list):  # a list ended at the same indent as its key
            stack.pop()
            container = stack[-1][1]
        key, separator, rest = content.partition(":")
        if not separator:
            raise ValueError(f"cannot read front matter line {raw!r}")
        key = key.strip().strip('"')
        if rest.strip():
            container[key] = _parse_scalar(rest)
        else:
            pending = (indent, container, key)
    if pending is not None:
        pending[1][pending[2]] = None
    return root


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(v) for v in value)
    return str(value)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _batch_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The batch size; for a run on several processes (DDP) also per device, how many, and the global batch."""
    world = training.get("world_size")
    if not world or world == 1:
        return [("batch size", training.get("batch_size_per_device", training.get("batch_size")))]
    return [
        ("batch size per device", training.get("batch_size_per_device", training.get("batch_size"))),
        ("processes (devices)", world),
        ("global batch size", training.get("global_batch_size")),
    ]


def render_card(
    *,
    spec: ModelSpec,
    dataset: DatasetSpec,
    config: Mapping[str, Any],
    training: Mapping[str, Any],
    metrics: Mapping[str, Any],
    metric_notes: Mapping[str, str] | None = None,
    num_params: Mapping[str, int] | None = None,
    licence: str | None = None,
    is_image: bool = True,
    samples: str | None = "samples.png",
    source: str | None = None,
) -> str:
    """The model card of a trained model, front matter and prose.

    ``training`` holds the run's facts (command, steps, epochs, batch_size, lr, betas, seed,
    precision, device, hardware, wall_time_s, images_seen, loss, and for runs on several
    processes world_size, batch_size_per_device, global_batch_size, ...); ``metrics`` maps
    a metric name to its value and ``metric_notes`` says how each was measured.
    ``source`` is how users load the model (an export folder path or a zoo name).
    """
    licence = licence or dataset.license or "unknown"
    notes = {**METRIC_NOTES, **(metric_notes or {})}
    kind_tag = "class-conditional-image-generation" if spec.conditional else "unconditional-image-generation"
    tags = ["ganzoo", "gan", spec.name]
    if is_image:
        tags.append(kind_tag)
        pipeline = "image-generation" if spec.conditional else "unconditional-image-generation"
    else:
        tags.append("2d-toy-data")
        pipeline = None
    front: dict[str, Any] = {"library_name": "ganzoo", "tags": tags, "datasets": [dataset.name]}
    lid = license_id(licence)
    front["license"] = lid
    if lid == "other":
        front["license_name"] = re.sub(r"[^a-z0-9]+", "-", licence.lower()).strip("-") or "unknown"
    if pipeline:
        front["pipeline_tag"] = pipeline
    front["metrics"] = list(metrics)
    front["ganzoo"] = {
        "model": spec.name,
        "dataset": dataset.name,
        "loss": training.get("loss", ""),
        "steps": training.get("steps"),
        "results": {name: value for name, value in metrics.items()},
    }

    what = "class-conditional" if spec.conditional else "unconditional"
    lines = [dump_front_matter(front)]
    lines.append(f"# {spec.name} trained on {dataset.name}\n")
    lines.append(f"{spec.summary}\n")
    lines.append(
        f"{'An' if what[0] in 'aeiou' else 'A'} {what} generative adversarial network from the "
        "[ganzoo](https://github.com/ganzoo/ganzoo) model zoo, "
        f"trained with ganzoo's own trainer for {training.get('steps')} steps on `{dataset.name}`"
        + (f" ({training.get('samples')} training samples)." if training.get("samples") else ".")
        + "\n"
    )
    if samples:
        caption = "Fixed-noise samples at the end of training" + (
            ", one class per row" if spec.conditional else ""
        )
        lines.append(f"![{caption}]({samples})\n")
        lines.append(f"*{caption}.*\n")

    lines.append("## Model\n")
    if spec.architecture:
        lines.append("```text\n" + spec.architecture.rstrip() + "\n```\n")
    config_rows = "\n".join(
        f"| `{key}` | {tuple(value) if isinstance(value, (list, tuple)) else _format_value(value)} |"
        for key, value in config.items()
    )
    lines.append("| configuration | value |\n|---|---|\n" + config_rows + "\n")
    if num_params:
        lines.append(
            "Parameters: " + ", ".join(f"{name} {count:,}" for name, count in num_params.items()) + ".\n"
        )
    if spec.reference:
        lines.append(f"Reference: {spec.reference}.\n")

    lines.append("## How it was trained\n")
    if training.get("command"):
        lines.append("```bash\n" + str(training["command"]) + "\n```\n")
    rows = [
        ("dataset", f"`{dataset.name}` ({training.get('split', 'train')} split)"),
        ("training samples", training.get("samples")),
        ("loss", training.get("loss")),
        ("steps (generator updates)", training.get("steps")),
        ("epochs", training.get("epochs")),
        ("D updates per step", training.get("d_steps")),
        ("G update on", "the last D update's fakes" if training.get("reuse_fakes") else None),
        *_batch_rows(training),
        ("optimiser", "Adam"),
        ("learning rate", training.get("lr")),
        ("betas", training.get("betas")),
        ("seed", training.get("seed")),
        ("precision", training.get("precision")),
        ("device", training.get("device")),
        ("hardware", training.get("hardware")),
        ("wall time", _duration(training["wall_time_s"]) if "wall_time_s" in training else None),
        ("images seen", training.get("images_seen")),
        ("ganzoo version", training.get("ganzoo_version")),
    ]
    table = "\n".join(f"| {name} | {_format_value(value)} |" for name, value in rows if value is not None)
    lines.append("| hyper-parameter | value |\n|---|---|\n" + table + "\n")

    if metrics:
        lines.append("## Metrics\n")
        metric_rows = "\n".join(
            f"| {name} | {_format_value(value)} | {notes.get(name, '')} |" for name, value in metrics.items()
        )
        lines.append("| metric | value | how it was measured |\n|---|---|---|\n" + metric_rows + "\n")
        lines.append(
            "Training losses and D outputs describe the adversarial game, not sample quality; "
            "use `ganzoo eval` for FID, KID and precision/recall.\n"
        )

    lines.append("## Data\n")
    data_line = f"{dataset.summary}"
    if dataset.homepage:
        data_line += f" Source: <{dataset.homepage}>."
    lines.append(data_line + "\n")
    lines.append(f"Licence of the training data: **{licence}**.\n")

    lines.append("## Use\n")
    where = source or "path/to/export"
    labels = ", labels=[0] * 16" if spec.conditional else ""
    lines.append(
        "```python\nimport ganzoo\n\n"
        f'generator = ganzoo.load("{where}")\n'
        f"samples = generator.sample(16, seed=0{labels})  # tensor in [-1, 1]\n```\n"
    )
    lines.append(f"```bash\nganzoo sample {where} -n 64 -o grid.png\n```\n")

    lines.append("## Intended use and limitations\n")
    limits = [
        "Intended for research, teaching and experiments with GANs; not for any decision about people.",
        "GANs can drop modes of the data (mode collapse) and can reproduce training examples closely; "
        "check the samples before relying on their diversity.",
        f"The weights are derived from `{dataset.name}`; its licence ({licence}) applies to their use.",
    ]
    if "non-commercial" in licence.lower():
        limits.append("Non-commercial research use only, as the training data's licence requires.")
    if spec.conditional:
        limits.append("The generator draws the class it is given; how faithfully it does so is measured by "
                      "`ganzoo eval` (conditional accuracy), not by the training losses.")
    if not is_image:
        limits.append("Trained on synthetic 2-D points: a check of the training machinery, not an image model.")
    lines.append("\n".join(f"- {item}" for item in limits) + "\n")
    return "\n".join(lines)


EVALUATION_HEADING = "## Evaluation"


def split_front_matter(text: str) -> tuple[str, str]:
    """``(front matter block including its fences, body)``; the block is ``""`` when there is none."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return "", text
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "".join(lines[: index + 1]), "".join(lines[index + 1 :])
    return "", text


def update_card_metrics(text: str, metrics: Mapping[str, Any], protocol_text: str) -> str:
    """``text`` with evaluation ``metrics`` in its front matter and an "Evaluation" section stating the protocol.

    Evaluating again replaces the previous section and values instead of piling up copies,
    and the rest of the card (prose a person may have edited) is kept as it was.
    """
    front = parse_front_matter(text)
    _, body = split_front_matter(text)
    names = list(front.get("metrics") or [])
    front["metrics"] = names + [name for name in metrics if name not in names]
    ganzoo_block = dict(front.get("ganzoo") or {})
    ganzoo_block["results"] = {**dict(ganzoo_block.get("results") or {}), **dict(metrics)}
    front["ganzoo"] = ganzoo_block
    rows = "\n".join(f"| {name} | {_format_value(value)} |" for name, value in metrics.items())
    protocol = "\n".join(f"> {line}" if line else ">" for line in protocol_text.strip().splitlines())
    section = (
        f"{EVALUATION_HEADING}\n\n| metric | value |\n|---|---|\n{rows}\n\n"
        f"Protocol (as printed by `ganzoo eval`):\n\n{protocol}\n\n"
    )
    start = body.find(EVALUATION_HEADING + "\n")
    if start >= 0:
        end = body.find("\n## ", start + len(EVALUATION_HEADING))
        body = body[:start] + section + (body[end + 1 :] if end >= 0 else "")
    else:
        anchor = body.find("## Data\n")
        body = body[:anchor] + section + body[anchor:] if anchor >= 0 else body.rstrip("\n") + "\n\n" + section
    return dump_front_matter(front) + body
