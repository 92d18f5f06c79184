"""Model cards: a Markdown template filled from a :class:`CardData` value.

A card is Markdown with YAML front matter in the Hugging Face card format. The front matter
(``library_name``, ``tags``, ``datasets``, ``license``, ``pipeline_tag``, ``metrics``, and the
measured results as ``model-index``, see :mod:`ganzoo.cards.hub_metadata`) is what hubs index; the prose
is what a person reads: what the model is, the exact command that trained it, the data and
its licence, the hyper-parameters, hardware and time, the sample grid, and what the model is
(not) fit for. :data:`CARD_TEMPLATE` shows that prose in one
place; :class:`CardData` holds every fact it needs, and :func:`render_card` joins the two.

The licence of the training data comes with the data (:func:`data_license`): the
``SampleSet`` a loader returned, else the dataset's spec. Nothing here guesses it from a name.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .frontmatter import dump_front_matter, parse_front_matter, split_front_matter

__all__ = [
    "CARD_TEMPLATE",
    "MAX_LICENSE_NAME",
    "METRIC_NOTES",
    "TRADEOFF_METRICS",
    "TRUNCATION_HEADING",
    "CardData",
    "data_license",
    "dump_front_matter",
    "format_value",
    "format_wall_time",
    "license_id",
    "parse_front_matter",
    "practice_rows",
    "render_card",
    "replace_section",
    "split_front_matter",
    "truncation_table",
    "update_card_metrics",
    "update_card_truncation",
]

UNKNOWN_LICENSE = "unknown"
MAX_LICENSE_NAME = 200
"""A card names the data's licence ('CC BY 4.0'), not its text: a licence file's first line and --data-license."""
TRAINER = "ganzoo's own trainer"
"""What trained the weights, unless the run's facts name another (``training["trainer"]``: a Lightning fit)."""

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
    "loss_d": "discriminator loss, mean over the last logging window of training (at least --log-every steps)",
    "loss_g": "generator loss, mean over the last logging window of training (at least --log-every steps)",
    "d_real": "D(x): mean sigmoid of D's logits on real batches, last logging window",
    "d_fake": "D(G(z)): mean sigmoid of D's logits on generated batches, last logging window",
    "images_per_s": "training throughput: images seen over the wall time of training, all sessions",
    "modes_covered": "modes of the 2-D mixture holding at least a quarter of a fair share of 2,000 generated "
    "samples within 3 std of their centre",
    "high_quality_share": "share of 2,000 generated samples within 3 std of some mode",
}

CARD_TEMPLATE = """\
{front_matter}
# {model} trained on {dataset}

{summary}

{intro}
{samples}## Model

{architecture}{config_table}
{parameters}{reference}## How it was trained

{command}{hyper_table}
{metrics}## Data

{data_line}

Licence of the training data: **{licence}**.

## Use

```python
import ganzoo

generator = ganzoo.load({source_python})
samples = generator.sample(16, seed=0{labels})  # tensor in [-1, 1]
```

```bash
ganzoo sample {source_shell} -n 64 -o grid.png
```

## Intended use and limitations

{limits}
"""
"""The card's prose; each ``{field}`` is one fact or one block made from a :class:`CardData`."""


def data_license(dataset: Any, data: Any = None) -> str:
    """The licence the training data carries: the loaded ``data``'s (a ``SampleSet``), else its spec's.

    A loader that knows more than its spec (an image folder with a ``LICENSE`` file) says so
    on the ``SampleSet`` it returns; ``"unknown"`` when neither states one.
    """
    return str(getattr(data, "license", "") or getattr(dataset, "license", "") or UNKNOWN_LICENSE)


def license_id(licence: str) -> str:
    """The Hugging Face ``license:`` value: a known identifier, else ``other``."""
    return _LICENSE_IDS.get(licence.strip().lower(), "other")


@dataclass(frozen=True)
class CardData:
    """Every fact a model card states, as plain values (no registry records, no tensors).

    ``training`` holds the run's facts (command, steps, epochs, batch_size, lr, betas, seed,
    precision, device, hardware, wall_time_s, images_seen, loss, and for runs on several
    processes world_size, batch_size_per_device, global_batch_size, ...); ``metrics`` maps
    a metric name to its value and ``metric_notes`` says how each was measured (defaults:
    :data:`METRIC_NOTES`). ``source`` is how users load the model (an export folder path
    as ``ganzoo.load`` reads one, :func:`ganzoo.models.loading.path_source`, or a zoo name), quoted by the card for
    Python and the shell; ``samples`` the sample grid's file name, None for no picture; ``progress`` the
    animation of the grids during training (``progress.gif``), None for none.
    """

    model: str
    dataset: str
    licence: str = UNKNOWN_LICENSE
    summary: str = ""
    architecture: str = ""
    reference: str = ""
    conditional: bool = False
    dataset_summary: str = ""
    dataset_homepage: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    metric_notes: Mapping[str, str] = field(default_factory=dict)
    num_params: Mapping[str, int] | None = None
    is_image: bool = True
    samples: str | None = "samples.png"
    source: str | None = None
    progress: str | None = None
    settings: tuple[tuple[str, Any], ...] = ()
    """The hyper-parameter rows of the run's options, ``(label, value)`` each: the option table's card rows
    (:func:`ganzoo.training.optiontable.card_rows`), which the export's writer makes from ``training``."""

    @classmethod
    def of_run(
        cls,
        *,
        spec: Any,
        dataset: Any,
        data: Any = None,
        licence: str | None = None,
        **facts: Any,
    ) -> CardData:
        """The card facts of a trained ``spec`` (a ``ModelSpec``) on ``dataset`` (a ``DatasetSpec``).

        ``data`` is the loaded ``SampleSet``: its licence, when it has one, is the card's
        (see :func:`data_license`); ``licence`` overrides both. ``facts`` are the other fields.
        """
        return cls(
            model=spec.name,
            dataset=dataset.name,
            licence=licence or data_license(dataset, data),
            summary=spec.summary,
            architecture=spec.architecture or "",
            reference=spec.reference or "",
            conditional=bool(spec.conditional),
            dataset_summary=dataset.summary,
            dataset_homepage=dataset.homepage or "",
            **facts,
        )

    def front_matter(self) -> dict[str, Any]:
        """The card's YAML front matter, in the Hugging Face card format."""
        from .hub_metadata import IMAGE_PIPELINE, model_index

        tags = ["ganzoo", "gan", self.model]
        if self.is_image:
            tags.append("class-conditional-image-generation" if self.conditional else "unconditional-image-generation")
            pipeline = IMAGE_PIPELINE  # the Hub has no class-conditional task; the tag above says it
        else:
            tags.append("2d-toy-data")
            pipeline = None
        front: dict[str, Any] = {"library_name": "ganzoo", "tags": tags, "datasets": [self.dataset]}
        lid = license_id(self.licence)
        front["license"] = lid
        if lid == "other":
            front["license_name"] = re.sub(r"[^a-z0-9]+", "-", self.licence.lower()).strip("-") or UNKNOWN_LICENSE
        if pipeline:
            front["pipeline_tag"] = pipeline
        front["metrics"] = list(self.metrics)
        if pipeline and model_index(self.model, self.dataset, self.metrics):
            front["model-index"] = model_index(self.model, self.dataset, self.metrics, task=pipeline)
        front["ganzoo"] = {
            "model": self.model,
            "dataset": self.dataset,
            "loss": self.training.get("loss", ""),
            "steps": self.training.get("steps"),
            "results": dict(self.metrics),
        }
        return front


def format_value(value: Any) -> str:
    """A value as a card's table states it: floats to 4 significant digits, sequences comma-separated."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def format_wall_time(seconds: float) -> str:
    """A training time as a card, a weights record and the README table all state it: ``42.5 s``,
    ``50 min 38 s``, or to the nearest minute from an hour on (``2 h 04 min``). One formatter, so a
    card never disagrees with the zoo table about the same run."""
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if round(seconds) < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


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


def _table(header: str, rows: list[tuple[Any, ...]]) -> str:
    columns = header.count("|") - 1
    return header + "\n|" + "---|" * columns + "\n" + "\n".join("| " + " | ".join(map(str, r)) + " |" for r in rows)


def _intro(card: CardData) -> str:
    what = "class-conditional" if card.conditional else "unconditional"
    samples = card.training.get("samples")
    return (
        f"{'An' if what[0] in 'aeiou' else 'A'} {what} generative adversarial network from the "
        "[ganzoo](https://github.com/ganzoo/ganzoo) model zoo, "
        f"trained with {card.training.get('trainer', TRAINER)} "
        f"for {card.training.get('steps')} steps on `{card.dataset}`"
        + (f" ({samples} training samples)." if samples else ".")
        + "\n"
    )


def _samples(card: CardData) -> str:
    if not card.samples:
        return ""
    caption = "Fixed-noise samples at the end of training" + (", one class per row" if card.conditional else "")
    text = f"![{caption}]({card.samples})\n\n*{caption}.*\n\n"
    if card.progress:
        during = "The same noise during training, one frame per sample grid"
        text += f"![{during}]({card.progress})\n\n*{during}.*\n\n"
    return text


def _hyper_rows(card: CardData) -> list[tuple[str, str]]:
    """The facts of the run (data, length, batch, hardware, time) around its options' rows (``card.settings``)."""
    training = card.training
    rows = [
        ("dataset", f"`{card.dataset}` ({training.get('split', 'train')} split)"),
        ("training samples", training.get("samples")),
        ("loss", training.get("loss")),
        ("steps (generator updates)", training.get("steps")),
        ("epochs", training.get("epochs")),
        ("D updates per step", training.get("d_steps")),
        *_batch_rows(training),
        *card.settings,
        ("device", training.get("device")),
        ("hardware", training.get("hardware")),
        ("wall time", format_wall_time(training["wall_time_s"]) if "wall_time_s" in training else None),
        ("images seen", training.get("images_seen")),
        ("ganzoo version", training.get("ganzoo_version")),
    ]
    return [(name, format_value(value)) for name, value in rows if value is not None]


def _metrics(card: CardData) -> str:
    if not card.metrics:
        return ""
    notes = {**METRIC_NOTES, **card.metric_notes}
    rows = [(name, format_value(value), notes.get(name, "")) for name, value in card.metrics.items()]
    return (
        "## Metrics\n\n" + _table("| metric | value | how it was measured |", rows) + "\n\n"
        "Training losses and D outputs describe the adversarial game, not sample quality; "
        "use `ganzoo eval` for FID, KID and precision/recall.\n\n"
    )


def _limits(card: CardData) -> str:
    limits = [
        "Intended for research, teaching and experiments with GANs; not for any decision about people.",
        "GANs can drop modes of the data (mode collapse) and can reproduce training examples closely; "
        "check the samples before relying on their diversity.",
        f"The weights are derived from `{card.dataset}`; its licence ({card.licence}) applies to their use.",
    ]
    if "non-commercial" in card.licence.lower():
        limits.append("Non-commercial research use only, as the training data's licence requires.")
    if card.conditional:
        limits.append("The generator draws the class it is given; how faithfully it does so is measured by "
                      "`ganzoo eval` (conditional accuracy), not by the training losses.")
    if not card.is_image:
        limits.append("Trained on synthetic 2-D points: a check of the training machinery, not an image model.")
    return "\n".join(f"- {item}" for item in limits)


def render_card(card: CardData) -> str:
    """The model card of ``card``: :data:`CARD_TEMPLATE` filled with its front matter, tables and prose."""
    config_rows = [
        (f"`{key}`", tuple(value) if isinstance(value, (list, tuple)) else format_value(value))
        for key, value in card.config.items()
    ]
    params = card.num_params
    command = card.training.get("command")
    homepage = f" Source: <{card.dataset_homepage}>." if card.dataset_homepage else ""
    return CARD_TEMPLATE.format(
        front_matter=dump_front_matter(card.front_matter()),
        model=card.model,
        dataset=card.dataset,
        summary=card.summary,
        intro=_intro(card),
        samples=_samples(card),
        architecture=f"```text\n{card.architecture.rstrip()}\n```\n\n" if card.architecture else "",
        config_table=_table("| configuration | value |", config_rows) + "\n",
        parameters=(
            "Parameters: " + ", ".join(f"{name} {count:,}" for name, count in params.items()) + ".\n\n"
            if params else ""
        ),
        reference=f"Reference: {card.reference}.\n\n" if card.reference else "",
        command=f"```bash\n{command}\n```\n\n" if command else "",
        hyper_table=_table("| hyper-parameter | value |", _hyper_rows(card)) + "\n",
        metrics=_metrics(card),
        data_line=card.dataset_summary + homepage,
        licence=card.licence,
        source_python=json.dumps(card.source or "path/to/export"),
        source_shell=shlex.quote(card.source or "path/to/export"),
        labels=", labels=[0] * 16" if card.conditional else "",
        limits=_limits(card),
    )


EVALUATION_HEADING = "## Evaluation"


def update_card_metrics(text: str, metrics: Mapping[str, Any], protocol_text: str, *, source: str = "the card") -> str:
    """``text`` with evaluation ``metrics`` in its front matter and an "Evaluation" section stating the protocol.

    Evaluating again replaces the previous section and values instead of piling up copies,
    and the rest of the card (prose a person may have edited) is kept as it was. A card
    whose front matter cannot be read raises :class:`~ganzoo.errors.CardError` naming ``source``.
    """
    from .hub_metadata import merge_model_index

    front = parse_front_matter(text, source=source)
    _, body = split_front_matter(text)
    names = list(front.get("metrics") or [])
    front["metrics"] = names + [name for name in metrics if name not in names]
    ganzoo_block = dict(front.get("ganzoo") or {})
    ganzoo_block["results"] = {**dict(ganzoo_block.get("results") or {}), **dict(metrics)}
    front["ganzoo"] = ganzoo_block
    front = merge_model_index(front, metrics)
    rows = "\n".join(f"| {name} | {format_value(value)} |" for name, value in metrics.items())
    protocol = "\n".join(f"> {line}" if line else ">" for line in protocol_text.strip().splitlines())
    section = (
        f"{EVALUATION_HEADING}\n\n| metric | value |\n|---|---|\n{rows}\n\n"
        f"Protocol (as printed by `ganzoo eval`):\n\n{protocol}\n\n"
    )
    return dump_front_matter(front) + replace_section(body, EVALUATION_HEADING, section)


# ---- The rows of the training practices ----
# The model card's rows for a run's training practices: generator EMA, D's augmentation, R1/R2, schedules.
#
# Read from the ``training`` section that ``ganzoo train`` writes (``ganzoo.training.practices``), so a
# card states exactly what trained its weights; a run that used none of them gets no rows.


def practice_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The EMA, augmentation and R1/R2 a run used (``ganzoo train --ema/--augment/--r1-gamma``)."""
    ema, augment, penalty = training.get("ema"), training.get("augment") or {}, training.get("gradient_penalty")
    rows: list[tuple[str, Any]] = []
    if ema:
        rows.append(("generator EMA", f"half-life {ema['half_life_images']:,.0f} images, ramp-up {ema['rampup']:g} "
                     "(the shipped generator is the average)"))
    if augment.get("kind", "none") != "none":
        text = f"{augment['kind']}: {', '.join(augment.get('operations', []))}"
        if augment["kind"] == "ada":
            text += f" (target {augment['target']:g}, p crosses [0, 1] in {augment['speed_images']:,.0f} images)"
        rows.append(("D augmentation", text))
    if penalty:
        weights = (("R1", penalty["r1_gamma"]), ("R2", penalty["r2_gamma"]))
        parts = [f"{name} gamma {gamma:g}" for name, gamma in weights if gamma]
        every = penalty.get("every", 1)
        rows.append(("gradient penalty", ", ".join(parts) + (f", every {every} steps (lazy)" if every > 1 else "")))
    for schedule in training.get("schedules") or ():
        rows.append((f"schedule of {schedule['name']}", f"{schedule['start']:g} to {schedule['end']:g} over "
                     f"{schedule['images']:,} images ({schedule['shape']}), then held"))
    return rows


# ---- Sections that evaluations write ----
# A card's sections that evaluations write: replaced where they are, else put before "## Data".
#
# ``ganzoo eval --write-card`` refreshes the "Evaluation" section and, with ``--truncation``, the
# "Truncation" one; evaluating again must replace a section rather than pile up copies, and leave the
# rest of the card (prose a person may have edited) as it was.


ANCHOR = "## Data\n"


def replace_section(text: str, heading: str, section: str) -> str:
    """``text`` with the section under ``heading`` (up to the next ``## ``) replaced by ``section``, or with
    ``section`` inserted before "## Data" (at the end when there is none)."""
    start = text.find(heading + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        return text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    anchor = text.find(ANCHOR)
    return text[:anchor] + section + text[anchor:] if anchor >= 0 else text.rstrip("\n") + "\n\n" + section


# ---- The truncation trade-off ----
# The truncation trade-off of a model card: FID, precision and recall with and without truncated latents.
#
# Truncation (``ganzoo eval --truncation T``) redraws every latent value beyond ``T``: samples from the
# dense middle of the prior look better (precision rises) and vary less (recall falls), and FID, which
# weighs both, shows where the balance lies. A card states the trade-off as one table that each
# evaluation refreshes: the untruncated row from the card's own metrics, one row per ``T`` measured.


TRUNCATION_HEADING = "## Truncation"
TRADEOFF_METRICS = ("fid", "precision", "recall", "classes_covered", "conditional_accuracy")


def _value(value: Any) -> str:
    return "" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


def truncation_table(sweep: Mapping[str, Mapping[str, Any]], untruncated: Mapping[str, Any]) -> str:
    """The Markdown table: a row ``none`` for ``untruncated``, then one per truncation, widest first."""
    columns = [m for m in TRADEOFF_METRICS if m in untruncated or any(m in row for row in sweep.values())]
    ordered = sorted(sweep.items(), key=lambda item: -float(item[0]))
    rows = [("none", untruncated), *ordered]
    lines = ["| truncation | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(_value(row.get(m)) for m in columns) + " |" for name, row in rows]
    return "\n".join(lines)


def update_card_truncation(text: str, sweep: Mapping[str, Mapping[str, Any]], untruncated: Mapping[str, Any]) -> str:
    """``text`` with its truncation section replaced (or added before "## Data"); the rest is kept."""
    section = (
        f"{TRUNCATION_HEADING}\n\nThe same protocol as the evaluation above, with every latent value beyond "
        "the truncation redrawn (`ganzoo eval --truncation T`): fidelity (precision) for variety (recall).\n\n"
        f"{truncation_table(sweep, untruncated)}\n\n"
    )
    return replace_section(text, TRUNCATION_HEADING, section)
