"""Score shipped zoo weights in another feature space, beside (never in place of) the numbers they have.

A zoo entry's ``metrics`` were measured in one feature space (``extra['extractor']``,
e.g. ``random-conv``); a better extractor for its data (``faces-simclr`` for faces) gives
another set of numbers, which must not share a column with the first. This script

* evaluates the shipped file (``ganzoo.load(MODEL.TAG)``) and the real-data floor with
  ``--extractor`` and the protocol of ``ganzoo eval`` (``--n``, ``--seed``);
* re-measures the entry's own metrics in its own space and refuses to go on unless they
  reproduce the record (relative 1e-3), so the card's first numbers get their feature
  space named in ``model-index`` from an evaluation, not from a guess;
* writes into ``model_cards/MODEL.TAG.md``: the new metrics in ``model-index`` as
  ``FID (EXTRACTOR)`` etc. (``merge_model_index`` keeps one feature space from replacing
  another), and a section "## Evaluation in EXTRACTOR space" with the numbers, the floor,
  the protocol and the command; the ``ganzoo.results`` block and the "## Evaluation"
  section (the record's own space) are left as they are;
* prints the ``metrics_by_extractor`` entry to add to the ``WeightsSpec``'s ``extra``
  (``tools/zoo_table.py`` shows it as a row of that feature space's table).

    python tools/rescore_weights.py dcgan-faces.utkface --data ../shared/data/faces/utkface \\
        --extractor faces-simclr --n 10000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CARDS_DIR = ROOT / "model_cards"
SHOWN = ("fid", "kid_mean", "kid_std", "precision", "recall")


def _rounded(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: float(f"{metrics[key]:.4g}") for key in SHOWN
            if isinstance(metrics.get(key), float) and math.isfinite(metrics[key])}


def section_heading(extractor: str) -> str:
    return f"## Evaluation in {extractor} space"


def rescored_card(text: str, *, extractor: str, metrics: dict[str, Any], protocol: dict[str, Any],
                  protocol_text: str, floor: dict[str, Any], own_protocol: dict[str, Any], command: str) -> str:
    """``text`` with ``extractor``'s numbers added (front matter and a section of their own).

    ``own_protocol`` is the record of the evaluation that reproduced the card's numbers in their own
    space: it names that space on the ``model-index`` metrics written before metrics named one (which
    the new ones would otherwise replace); their values stay the card's, as ``ganzoo.results`` has them.
    """
    from ganzoo.cards.card import format_value, replace_section
    from ganzoo.cards.frontmatter import dump_front_matter, parse_front_matter, split_front_matter
    from ganzoo.cards.hub_metadata import merge_model_index

    front = parse_front_matter(text)
    _, body = split_front_matter(text)
    front = merge_model_index(front, dict(front.get("ganzoo", {}).get("results") or {}), own_protocol)
    front = merge_model_index(front, metrics, protocol)
    rows = "\n".join(f"| {name} | {format_value(metrics[name])} | {format_value(floor.get(name))} |"
                     for name in SHOWN if name in metrics)
    quoted = "\n".join(f"> {line}" if line else ">" for line in protocol_text.strip().splitlines())
    section = (
        f"{section_heading(extractor)}\n\n"
        f"The same weights scored in `{extractor}` space (these numbers are never compared with the ones above, "
        "which use another feature space). The floor is real training faces, disjoint from the reference, scored "
        "the same way (`ganzoo eval --real`).\n\n"
        f"| metric | value | floor |\n|---|---|---|\n{rows}\n\n"
        f"Protocol (as printed by `ganzoo eval`):\n\n{quoted}\n\n"
        f"Measured with:\n\n```bash\n{command}\n```\n\n"
    )
    return dump_front_matter(front) + replace_section(body, section_heading(extractor), section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="MODEL.TAG of a shipped zoo entry, e.g. dcgan-faces.utkface")
    parser.add_argument("--data", required=True, help="the data the entry was trained on")
    parser.add_argument("--extractor", required=True)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--card-dir", type=Path, default=CARDS_DIR)
    args = parser.parse_args(argv)

    import ganzoo
    from ganzoo.errors import ConfigError, GanzooError
    from ganzoo.metrics import evaluate_model, evaluate_real

    try:
        name, _, tag = args.weights.partition(".")
        spec = ganzoo.get_model_spec(name)
        entry = next((w for w in spec.weights if w.tag == tag), None)
        if entry is None:
            raise ConfigError(f"{name} has no weights tagged {tag!r}: ganzoo info {name}")
        primary = str(entry.extra.get("extractor") or "")
        if not primary or primary == args.extractor:
            raise ConfigError(
                f"{args.weights} records no feature space other than {args.extractor!r}: evaluate it with "
                "ganzoo eval --write-card and publish it again instead")
        model = ganzoo.load(args.weights, download=False)
        options = {"dataset": entry.dataset, "data_dir": args.data, "n": args.n, "seed": args.seed}
        own = evaluate_model(model, extractor=primary, **options)
        for key, value in entry.metrics.items():
            got = own.metrics.get(key)
            if isinstance(value, float) and not math.isclose(got, value, rel_tol=1e-3, abs_tol=1e-6):
                raise ConfigError(
                    f"{args.weights}'s {key} {value} is not reproduced in {primary} space ({got}): pass the "
                    "protocol it was measured with (--n, --seed) or publish the weights again")
        result = evaluate_model(model, extractor=args.extractor, **options)
        floor = evaluate_real(entry.dataset, data_dir=args.data, n=args.n, seed=args.seed,
                              extractor=args.extractor, image_size=model.sample_shape[-1])
    except GanzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    card = args.card_dir / entry.card
    command = (f"python tools/rescore_weights.py {args.weights} --data path/to/data --extractor {args.extractor} "
               f"--n {args.n} --seed {args.seed}")
    card.write_text(rescored_card(
        card.read_text(encoding="utf-8"), extractor=args.extractor, metrics=result.metrics,
        protocol=result.protocol, protocol_text=result.protocol_text(), floor=floor.metrics,
        own_protocol=own.protocol, command=command), encoding="utf-8")
    addition = {args.extractor: _rounded(result.metrics)}
    print(f"wrote {card}; {primary} numbers reproduced (fid {own.metrics['fid']:.4g})")
    print(f"{args.extractor}: " + ", ".join(f"{k} {v:.4g}" for k, v in _rounded(result.metrics).items())
          + "; floor " + ", ".join(f"{k} {v:.4g}" for k, v in _rounded(floor.metrics).items()))
    print("add to the WeightsSpec's extra: 'metrics_by_extractor': " + json.dumps(addition))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
