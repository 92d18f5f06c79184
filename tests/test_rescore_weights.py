"""tools/rescore_weights.py and the zoo table: numbers of a second feature space sit beside the first, never in it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ganzoo
from ganzoo.cards.frontmatter import parse_front_matter

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _protocol(extractor: str) -> dict:
    return {"extractor": extractor, "generated_count": 10000, "reference_split": "train", "real_count": 10000,
            "image_handling": "resized to 64x64"}


def _card() -> str:
    return (ROOT / "model_cards" / "dcgan-faces.utkface.md").read_text(encoding="utf-8")


def _metrics(front: dict) -> dict[tuple[str, str | None], float]:
    listed = front["model-index"][0]["results"][0]["metrics"]
    return {(m["type"], (m.get("args") or {}).get("extractor")): m["value"] for m in listed}


def test_a_rescored_card_keeps_its_own_numbers_and_names_both_feature_spaces():
    tool = _tool("rescore_weights")
    text = _card()
    before = parse_front_matter(text)
    new = {"fid": 2.5, "kid_mean": 0.001, "precision": 0.6, "recall": 0.5}
    arguments = {"extractor": "faces-simclr", "metrics": new, "protocol": _protocol("faces-simclr"),
                 "protocol_text": "10000 generated vs 10000 real", "floor": {"fid": 0.9},
                 "own_protocol": _protocol("random-conv"), "command": "python tools/rescore_weights.py dcgan-faces"}
    once = tool.rescored_card(text, **arguments)
    twice = tool.rescored_card(once, **arguments)
    assert once == twice, "rescoring again must replace its section and metrics, not pile up copies"
    front = parse_front_matter(once)
    assert front["ganzoo"]["results"] == before["ganzoo"]["results"], "the record's own numbers changed"
    metrics = _metrics(front)
    assert metrics[("fid", "random-conv")] == before["ganzoo"]["results"]["fid"]
    assert metrics[("fid", "faces-simclr")] == 2.5 and ("fid", None) not in metrics
    own_section = once[once.index("## Evaluation\n") : once.index("\n## ", once.index("## Evaluation\n") + 5)]
    assert own_section in text, "the record's own Evaluation section must stay as it was"
    added = once[once.index("## Evaluation in faces-simclr space") :]
    assert "| fid | 2.5 | 0.9 |" in added and once.count("## Evaluation in faces-simclr space") == 1


def test_the_zoo_table_shows_a_rescored_entry_in_each_space_it_was_measured_in():
    table = _tool("zoo_table").table()
    spec = ganzoo.get_model_spec("dcgan-faces")
    weights = next(w for w in spec.weights if w.tag == "utkface")
    spaces = dict(weights.extra.get("metrics_by_extractor") or {})
    assert "faces-simclr" in spaces, "dcgan-faces.utkface has not been rescored in faces-simclr space"
    blocks = table.split("\n\n")
    for extractor in [weights.extra["extractor"], *spaces]:
        block = next(b for b in blocks if f"FID ↓ ({extractor})" in b)
        assert "dcgan-faces.utkface" in block
        assert all(f"FID ↓ ({other})" not in block for other in spaces if other != extractor)


def test_rescoring_refuses_the_space_the_record_already_uses(capsys):
    tool = _tool("rescore_weights")
    code = tool.main(["dcgan-faces.utkface", "--data", "nowhere", "--extractor", "random-conv"])
    assert code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "records no feature space other than 'random-conv'" in error
