"""A card's sections that evaluations write: replaced where they are, else put before "## Data".

``ganzoo eval --write-card`` refreshes the "Evaluation" section and, with ``--truncation``, the
"Truncation" one; evaluating again must replace a section rather than pile up copies, and leave the
rest of the card (prose a person may have edited) as it was.
"""

from __future__ import annotations

__all__ = ["replace_section"]

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
