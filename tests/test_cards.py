"""Model cards: the template and its CardData, front matter a person edited, and the licence of the data.

The licence a card states comes with the data (the dataset's spec, or the SampleSet its loader
returned), never from the spelling of a path; front matter is YAML, read by a YAML parser, and
what cannot be read is refused in one line.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from helpers import tiny_image_folder

import ganzoo
from ganzoo.cards.card import CARD_TEMPLATE, CardData, data_license, render_card, update_card_metrics
from ganzoo.cards.folder import CARD_NAME, CONFIG_NAME, export_config, read_config, record_evaluation, write_config
from ganzoo.cards.frontmatter import dump_front_matter, parse_front_matter
from ganzoo.data import SampleSet
from ganzoo.errors import CardError, ConfigError

ROOT = Path(__file__).resolve().parent.parent

# --- front matter a person edited --------------------------------------------------------------------------------

HAND_EDITED = """---
library_name: ganzoo
license: "cc-by-4.0"   # changed after training
tags: ['gan', "ganzoo"]  # flow list, mixed quotes
description: >
  Folded text
  on two lines.
model-index:
- name: dcgan-mnist
  results:
  - task: {type: unconditional-image-generation}
    metrics:
    - {type: fid, value: 3.5}
---
# A card

## Data

Digits.
"""


def test_a_quoted_value_with_a_trailing_comment_and_other_hand_written_yaml_read_as_yaml():
    front = parse_front_matter(HAND_EDITED)
    assert front["license"] == "cc-by-4.0" and front["tags"] == ["gan", "ganzoo"]
    assert front["description"] == "Folded text on two lines.\n"
    assert front["model-index"][0]["results"][0]["metrics"][0] == {"type": "fid", "value": 3.5}


def test_recording_metrics_keeps_what_a_person_wrote():
    text = update_card_metrics(HAND_EDITED, {"fid": 2.5}, "40 generated vs 40 real")
    front = parse_front_matter(text)
    assert front["license"] == "cc-by-4.0" and front["model-index"][0]["name"] == "dcgan-mnist"
    assert front["metrics"] == ["fid"] and front["ganzoo"]["results"] == {"fid": 2.5}
    assert text.index("## Evaluation") < text.index("## Data") and "# A card" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('---\nlicense: "mit" trailing words\n---\n', r"README.md: its front matter is not valid YAML on line 2"),
        ("---\ntags: [gan, ganzoo\n---\n", r"README.md: its front matter is not valid YAML"),
        ("---\nlicense: mit\n", r"README.md: front matter opened with '---' on line 1 but never closed"),
        ("---\n- just\n- a list\n---\n", r"README.md: its front matter must be a mapping"),
    ],
)
def test_front_matter_that_is_not_yaml_is_refused_in_one_line(text, message):
    with pytest.raises(CardError, match=message) as raised:
        parse_front_matter(text, source="README.md")
    assert "\n" not in str(raised.value)
    with pytest.raises(CardError):
        update_card_metrics(text, {"fid": 1.0}, "protocol", source="README.md")


def test_what_ganzoo_writes_reads_back_to_the_same_value():
    metadata = {"tags": ["yes", "3.0", "1e-05", "2024-01-01", "a: b", "#x", "null"], "values": [1e-05, 0.25, None],
                "nested": {"flag": False, "long": "word " * 40, "quote": "it's \"quoted\""}}
    assert parse_front_matter(dump_front_matter(metadata) + "\n# Title\n") == metadata


@pytest.mark.parametrize("card", sorted((ROOT / "model_cards").glob("*.*.md")), ids=lambda p: p.name)
def test_the_shipped_cards_parse(card):
    front = parse_front_matter(card.read_text(encoding="utf-8"), source=card.name)
    assert front["library_name"] == "ganzoo" and front["license"] and front["ganzoo"]["results"]


def test_listing_does_not_import_yaml():
    import subprocess

    code = (
        "import sys\nfrom ganzoo.cli.app import main\n"
        "for argv in (['--help'], ['list'], ['info', 'dcgan-faces']):\n"
        "    try:\n        main(argv)\n"
        "    except SystemExit as done:\n        assert not done.code, (argv, done.code)\n"
        "print('YAML', 'yaml' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "YAML False" in done.stdout


# --- the template and its data -------------------------------------------------------------------------------------


def test_a_card_is_the_template_filled_from_card_data():
    card = CardData(model="m", dataset="d", licence="CC BY 4.0", summary="A model.", conditional=True,
                    metrics={"fid": 1.23456}, training={"steps": 7, "command": "ganzoo train m"}, source="zoo-m")
    text = render_card(card)
    front = parse_front_matter(text)
    assert front == card.front_matter()
    assert front["license"] == "cc-by-4.0" and front["pipeline_tag"] == "unconditional-image-generation"
    assert "# m trained on d" in text and "for 7 steps on `d`" in text and "| fid | 1.235 |" in text
    assert 'ganzoo.load("zoo-m")' in text and "labels=[0] * 16" in text and "**CC BY 4.0**" in text
    assert "{front_matter}" in CARD_TEMPLATE and not re.search(r"\{[a-z_]+\}", text)  # every field filled


def test_card_data_of_a_run_takes_the_loaded_datas_licence_over_its_specs():
    spec, dataset = ganzoo.get_model_spec("dcgan-faces"), ganzoo.get_dataset_spec("image-folder")
    import torch

    data = SampleSet(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), license="UTKFace: non-commercial research only")
    card = CardData.of_run(spec=spec, dataset=dataset, data=data)
    assert card.licence == "UTKFace: non-commercial research only"
    text = render_card(card)
    assert parse_front_matter(text)["license_name"] == "utkface-non-commercial-research-only"
    assert "Non-commercial research use only" in text
    plain = CardData.of_run(spec=spec, dataset=dataset, data=SampleSet(data.samples))
    assert plain.licence == "unknown: the licence of your images"
    assert CardData.of_run(spec=spec, dataset=dataset, data=data, licence="MIT").licence == "MIT"


# --- the licence travels with the data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "licence"),
    [("mnist", "CC BY-SA 3.0"), ("fashion-mnist", "MIT"), ("kmnist", "CC BY-SA 4.0"),
     ("celeba", "non-commercial research only"), ("image-folder", "unknown: the licence of your images")],
)
def test_built_in_datasets_state_their_licence(name, licence):
    assert ganzoo.get_dataset_spec(name).license == licence
    assert data_license(ganzoo.get_dataset_spec(name)) == licence


def test_an_image_folder_names_its_licence_in_a_license_file(tmp_path):
    folder = tiny_image_folder(tmp_path / "utkface", count=4, size=8)
    spec = ganzoo.get_dataset_spec("image-folder")
    unlabelled = spec.load(folder, image_size=8)
    assert unlabelled.license == "" and data_license(spec, unlabelled) == "unknown: the licence of your images"
    (folder / "LICENSE.txt").write_text("# UTKFace: non-commercial research only\n\nThe full terms ...\n")
    data = spec.load(folder, image_size=8)
    assert data.license == "UTKFace: non-commercial research only"
    assert data.to("cpu").license == data.subset(2).license == data.license
    assert data_license(spec, data) == "UTKFace: non-commercial research only"


@pytest.mark.parametrize(
    ("files", "message"),
    [({"LICENSE": ""}, "is empty"), ({"LICENSE": "x" * 300}, "has 300 characters"),
     ({"LICENSE": "MIT", "licence.md": "MIT"}, "keep one file"), ({"LICENSE": b"\xff\xfe\x00"}, "UTF-8")],
)
def test_a_licence_file_that_cannot_serve_is_refused_in_one_line(tmp_path, files, message):
    folder = tiny_image_folder(tmp_path, count=2, size=8)
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(ConfigError, match=message) as raised:
        ganzoo.get_dataset_spec("image-folder").load(folder, image_size=8)
    assert "\n" not in str(raised.value)


def test_training_on_an_image_folder_states_the_licence_its_file_names(tmp_path):
    from ganzoo.training import TrainConfig, train

    folder = tiny_image_folder(tmp_path / "utkface", count=8)  # the path's spelling decides nothing
    config = dict(data_dir=folder, steps=1, batch_size=8, quiet=True, log_every=1, options={"ngf": 8, "ndf": 8})
    unknown = train(TrainConfig("dcgan-faces", out=tmp_path / "a", **config)).export_dir
    assert "**unknown: the licence of your images**" in (unknown / CARD_NAME).read_text()
    (folder / "LICENSE").write_text("UTKFace: non-commercial research only\n")
    export = train(TrainConfig("dcgan-faces", out=tmp_path / "b", **config)).export_dir
    card = (export / CARD_NAME).read_text()
    assert "Licence of the training data: **UTKFace: non-commercial research only**." in card
    assert "Non-commercial research use only" in card
    assert read_config(export)["training"]["data_license"] == "UTKFace: non-commercial research only"


# --- config.json: made in one place, edited through it -------------------------------------------------------------


def test_record_evaluation_merges_metrics_and_updates_the_card(tmp_path):
    document = export_config(model="m", config={"width": (2, 3)}, latent_dim=4, num_classes=None,
                             sample_shape=(1, 4, 4), metrics={"loss_d": 1.0})
    write_config(tmp_path, document)
    (tmp_path / CARD_NAME).write_text(HAND_EDITED)
    record_evaluation(tmp_path, metrics={"fid": 2.0}, protocol={"seed": 0, "path": tmp_path}, protocol_text="text")
    config = read_config(tmp_path)
    assert config["config"] == {"width": [2, 3]} and config["metrics"] == {"loss_d": 1.0, "fid": 2.0}
    assert config["evaluation"] == {"protocol": {"seed": 0, "path": str(tmp_path)}, "protocol_text": "text"}
    assert parse_front_matter((tmp_path / CARD_NAME).read_text())["ganzoo"]["results"] == {"fid": 2.0}


def test_a_broken_card_stops_record_evaluation_before_anything_is_written(tmp_path):
    write_config(tmp_path, export_config(model="m", config={}, latent_dim=4, num_classes=None, sample_shape=(2,)))
    before = (tmp_path / CONFIG_NAME).read_text()
    (tmp_path / CARD_NAME).write_text('---\nlicense: "mit" oops\n---\n')
    with pytest.raises(CardError, match=r"README.md: its front matter is not valid YAML"):
        record_evaluation(tmp_path, metrics={"fid": 2.0}, protocol={}, protocol_text="text")
    assert (tmp_path / CONFIG_NAME).read_text() == before
    assert json.loads(before)["metrics"] == {}


def test_save_writes_the_config_export_config_makes(tmp_path):
    gan = ganzoo.create("mlp-gan")
    loaded = ganzoo.load(ganzoo.save(gan, tmp_path / "gan", samples=False))
    folder = ganzoo.save(loaded, tmp_path / "generator", samples=False)
    document = read_config(folder)
    expected = export_config(model="mlp-gan", config=loaded.config, latent_dim=loaded.latent_dim, num_classes=None,
                             sample_shape=loaded.sample_shape, dataset=document["dataset"], loss=document["loss"],
                             training=document["training"], metrics=document["metrics"], generator_only=True)
    assert document == expected


# --- a packaged card that is there must be readable ----------------------------------------------------------------


def test_a_packaged_card_is_none_when_absent_and_an_error_when_unreadable(tmp_path, monkeypatch):
    from ganzoo.models.sampling import packaged_card

    package = tmp_path / "ganzoo_test_cards"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.md").write_text("---\nlibrary_name: ganzoo\n---\n")
    (package / "latin1.md").write_bytes(b"caf\xe9")
    broken = tmp_path / "ganzoo_test_broken_cards"
    broken.mkdir()
    (broken / "__init__.py").write_text("import ganzoo_no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert packaged_card("ganzoo_test_cards", "good.md").startswith("---")
    assert packaged_card("ganzoo_test_cards", "absent.md") is None
    assert packaged_card("ganzoo_test_no_such_package", "card.md") is None
    with pytest.raises(CardError, match=r"the model card latin1.md in ganzoo_test_cards is not UTF-8 text"):
        packaged_card("ganzoo_test_cards", "latin1.md")
    with pytest.raises(CardError, match=r"importing ganzoo_test_broken_cards failed"):
        packaged_card("ganzoo_test_broken_cards", "card.md")
    for name in ("ganzoo_test_cards", "ganzoo_test_broken_cards"):
        sys.modules.pop(name, None)


def test_the_hyper_parameter_table_states_the_loss_options_only_when_some_were_set():
    def hyper_rows(training):
        from ganzoo.training.optiontable import card_rows

        section = {"steps": 3, "loss": "wgan-gp", **training}  # the option rows come from the table, as on export
        text = render_card(CardData(model="m", dataset="d", training=section, settings=tuple(card_rows(section))))
        return [line for line in text.splitlines() if line.startswith("| loss")]

    assert hyper_rows({"loss_options": {"gp_weight": 2.5, "d_steps": 2}}) == [
        "| loss | wgan-gp |",
        "| loss options | gp_weight=2.5, d_steps=2 |",
    ]
    assert hyper_rows({"loss_options": {}}) == ["| loss | wgan-gp |"]
    assert hyper_rows({}) == ["| loss | wgan-gp |"]  # a training section written before loss options existed


# --- the front matter as the Hugging Face Hub reads it -------------------------------------------------------------


def test_measured_metrics_go_into_model_index_and_training_statistics_do_not():
    from huggingface_hub.repocard_data import model_index_to_eval_results

    card = CardData(model="m", dataset="d", conditional=True,
                    metrics={"fid": 7.5, "loss_d": 1.2, "modes_covered": "8/8", "precision": 0.5})
    front = card.front_matter()
    name, results = model_index_to_eval_results(front["model-index"])
    assert name == "m" and [(r.task_type, r.dataset_type, r.metric_type, r.metric_value) for r in results] == [
        ("unconditional-image-generation", "d", "fid", 7.5), ("unconditional-image-generation", "d", "precision", 0.5)
    ]
    assert front["pipeline_tag"] == "unconditional-image-generation"
    assert "class-conditional-image-generation" in front["tags"]
    assert "model-index" not in CardData(model="m", dataset="d", metrics={"loss_d": 1.0}).front_matter()
    assert "model-index" not in CardData(model="m", dataset="ring-8", is_image=False, metrics={"x": 1.0}).front_matter()


def test_evaluating_again_replaces_the_model_index_values_instead_of_adding_copies():
    text = render_card(CardData(model="m", dataset="d", metrics={"fid": 9.0, "loss_d": 1.0}))
    text = update_card_metrics(text, {"fid": 4.0, "recall": 0.5}, "first")
    text = update_card_metrics(text, {"fid": 3.0}, "second")
    metrics = parse_front_matter(text)["model-index"][0]["results"][0]["metrics"]
    assert sorted((m["type"], m["value"]) for m in metrics) == [("fid", 3.0), ("recall", 0.5)]


def _protocol(extractor: str) -> dict:
    return {"extractor": extractor, "generated_count": 10000, "reference_split": "test", "real_count": 10000,
            "image_handling": "resized to 299x299 (tf1)" if extractor == "fid-inception" else "as is"}


def test_model_index_metrics_name_their_feature_space_and_another_extractor_never_replaces_them():
    """An FID in mnist-classifier space and one in fid-inception space are two measurements (issue 32)."""
    from huggingface_hub.repocard_data import model_index_to_eval_results

    text = render_card(CardData(model="m", dataset="d", metrics={"loss_d": 1.0}))
    text = update_card_metrics(text, {"fid": 6.0, "recall": 0.8}, "first", protocol=_protocol("mnist-classifier"))
    text = update_card_metrics(text, {"fid": 30.0}, "second", protocol=_protocol("fid-inception"))
    text = update_card_metrics(text, {"fid": 5.0}, "third", protocol=_protocol("mnist-classifier"))
    metrics = parse_front_matter(text)["model-index"][0]["results"][0]["metrics"]
    assert sorted((m["type"], m["args"]["extractor"], m["value"]) for m in metrics) == [
        ("fid", "fid-inception", 30.0), ("fid", "mnist-classifier", 5.0), ("recall", "mnist-classifier", 0.8)]
    named = {m["name"] for m in metrics}
    assert named == {"FID (fid-inception)", "FID (mnist-classifier)", "Recall (mnist-classifier)"}
    inception = next(m for m in metrics if m["args"]["extractor"] == "fid-inception")
    assert inception["args"] == {"extractor": "fid-inception", "samples": 10000,
                                 "reference": "test split, 10000 samples", "image_handling": "resized to 299x299 (tf1)"}
    _, results = model_index_to_eval_results(parse_front_matter(text)["model-index"])  # the Hub reads the args
    assert {r.metric_args["extractor"] for r in results} == {"fid-inception", "mnist-classifier"}


def test_an_old_card_whose_metrics_name_no_extractor_has_them_replaced_by_the_next_evaluation():
    tag = "pipeline_tag: unconditional-image-generation"
    old = HAND_EDITED.replace("library_name: ganzoo", f"library_name: ganzoo\n{tag}")
    text = update_card_metrics(old, {"fid": 2.5}, "text", protocol=_protocol("random-conv"))
    metrics = parse_front_matter(text)["model-index"][0]["results"][0]["metrics"]
    assert [(m["type"], m["value"], m["args"]["extractor"]) for m in metrics] == [("fid", 2.5, "random-conv")]


def test_record_evaluation_names_the_extractor_in_the_cards_model_index(tmp_path):
    write_config(tmp_path, {"format": "ganzoo-export", "model": "m", "config": {}})
    (tmp_path / CARD_NAME).write_text(render_card(CardData(model="m", dataset="d")), encoding="utf-8")
    record_evaluation(tmp_path, metrics={"fid": 2.0}, protocol=_protocol("random-conv"), protocol_text="text")
    front = parse_front_matter((tmp_path / CARD_NAME).read_text(encoding="utf-8"))
    assert front["model-index"][0]["results"][0]["metrics"][0]["args"]["extractor"] == "random-conv"


@pytest.mark.parametrize(
    ("licence", "identifier"),
    [("CC0-1.0", "cc0-1.0"), ("cc0-1.0", "cc0-1.0"), ("CC BY 4.0", "cc-by-4.0"), ("CC BY-SA 3.0", "cc-by-sa-3.0"),
     ("cc by-sa 4.0", "cc-by-sa-4.0"), ("MIT License", "mit"), ("Apache License 2.0", "apache-2.0"),
     ("GPL-3.0-only", "gpl-3.0"), ("BSD-3-Clause", "bsd-3-clause"), ("CC BY-NC 4.0", "cc-by-nc-4.0"),
     ("generated", "apache-2.0"), ("UTKFace: non-commercial research only", "other"), ("unknown", "other")],
)
def test_a_data_licence_becomes_the_hubs_identifier_whatever_its_case(licence, identifier):
    from ganzoo.cards.card import license_id

    assert license_id(licence) == identifier
