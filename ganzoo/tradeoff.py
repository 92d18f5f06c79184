"""The truncation trade-off of a model card: FID, precision and recall with and without truncated latents.

Truncation (``ganzoo eval --truncation T``) redraws every latent value beyond ``T``: samples from the
dense middle of the prior look better (precision rises) and vary less (recall falls), and FID, which
weighs both, shows where the balance lies. A card states the trade-off as one table that each
evaluation refreshes: the untruncated row from the card's own metrics, one row per ``T`` measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cardsections import replace_section

__all__ = ["TRADEOFF_METRICS", "TRUNCATION_HEADING", "truncation_table", "update_card_truncation"]

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
