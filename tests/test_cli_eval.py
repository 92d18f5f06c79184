"""``ganzoo eval`` end to end: table and JSON output, the stated protocol, --write-card, --real, errors.

The models are trained for a few steps on tiny random "digits" the tests write; the numbers
they get are meaningless, the plumbing from CLI to metrics to the model card is not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import tiny_image_folder, tiny_mnist_root
from typer.testing import CliRunner

from ganzoo.cards.card import parse_front_matter
from ganzoo.cli.app import build_app
from ganzoo.training import TrainConfig, train

N = 40


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tiny_mnist_root(tmp_path_factory.mktemp("data"), count=64)
    exports = {"root": root}
    for model in ("dcgan-mnist", "cgan-mnist"):
        out = tmp_path_factory.mktemp(model) / "run"
        config = TrainConfig(model, data_dir=root, steps=2, batch_size=16, out=out, quiet=True, log_every=1)
        exports[model] = train(config).export_dir
    faces = tiny_image_folder(tmp_path_factory.mktemp("faces"), count=24)
    out = tmp_path_factory.mktemp("dcgan-faces") / "run"
    config = TrainConfig(
        "dcgan-faces", data_dir=faces, steps=1, batch_size=8, out=out, quiet=True, log_every=1,
        options={"ngf": 8, "ndf": 8},
    )
    exports["dcgan-faces"] = train(config).export_dir
    exports["faces"] = faces
    return exports


def test_eval_prints_every_metric_and_the_protocol(trained):
    result = run("eval", str(trained["dcgan-mnist"]), "--data", str(trained["root"]), "--n", str(N), "--quiet")
    assert result.exit_code == 0, result.output
    for label in ("FID", "KID (mean)", "precision", "recall", "classes covered"):
        assert label in result.output
    assert "protocol:" in result.output and f"{N} generated vs {N} real mnist 'test' samples" in result.output
    assert "conditional accuracy" not in result.output


def test_eval_json_and_conditional_accuracy(trained):
    result = run(
        "eval", str(trained["cgan-mnist"]), "--data", str(trained["root"]), "--n", str(N), "--json", "--seed", "1"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    metrics = document["metrics"]
    assert {"fid", "kid_mean", "precision", "recall", "classes_covered"} <= metrics.keys()
    assert "kid_std" not in metrics and "not reported" in document["protocol"]["kid"]["std"]  # N vs N: no spread
    assert 0.0 <= metrics["conditional_accuracy"] <= 1.0
    assert document["protocol"]["reference_split"] == "test" and document["protocol"]["seed"] == 1


def test_write_card_records_the_metrics_once(trained, tmp_path):
    export = trained["dcgan-mnist"]
    for _ in range(2):  # evaluating again replaces the section instead of adding a second one
        result = run("eval", str(export), "--data", str(trained["root"]), "--n", str(N), "--write-card", "-q")
        assert result.exit_code == 0, result.output
    card = (export / "README.md").read_text()
    assert card.count("## Evaluation") == 1 and "Protocol" in card
    front = parse_front_matter(card)
    assert "fid" in front["metrics"] and "loss_d" in front["metrics"]
    config = json.loads((export / "config.json").read_text())
    assert config["metrics"]["fid"] == pytest.approx(front["ganzoo"]["results"]["fid"], rel=1e-3)
    assert "protocol_text" in config["evaluation"]


def test_write_card_refuses_a_card_it_cannot_read_in_one_line(trained, tmp_path):
    import shutil

    export = Path(shutil.copytree(trained["dcgan-mnist"], tmp_path / "export"))
    (export / "README.md").write_text('---\nlicense: "mit" # fine\ntags: [gan\n---\n# hand-edited\n')
    before = (export / "config.json").read_text()
    result = run("eval", str(export), "--data", str(trained["root"]), "--n", str(N), "--write-card", "-q")
    assert result.exit_code == 1
    assert "README.md: its front matter is not valid YAML" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (export / "config.json").read_text() == before


def test_an_image_folder_of_any_size_is_compared_at_the_models_size(trained):
    """Image folders have no fixed size: eval resizes them to what the model makes (72px files, 64px model)."""
    result = run(
        "eval", str(trained["dcgan-faces"]), "--data", str(trained["faces"]), "--n", "24",
        "--extractor", "random-conv", "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["protocol"]["generated_count"] == 24 and document["protocol"]["extractor"] == "random-conv"
    assert "64x64" in document["protocol"]["image_handling"]
    floor = run(
        "eval", "image-folder", "--real", "--data", str(trained["faces"]), "--n", "10", "--extractor", "random-conv",
        "--image-size", "32", "--json",
    )
    assert floor.exit_code == 0, floor.output
    assert "32x32" in json.loads(floor.output)["protocol"]["image_handling"]


def test_real_data_floor(trained):
    result = run("eval", "mnist", "--real", "--data", str(trained["root"]), "--n", str(N), "--quiet")
    assert result.exit_code == 0, result.output
    assert "(the floor)" in result.output and "FID" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "dcgan-mnst"], "Did you mean 'dcgan-mnist'"),
        (["eval", "mnist", "--real", "--write-card"], "--write-card needs a model export folder"),
        (["eval", "dcgan-mnist", "--n", "1"], "greater than or equal to 2"),
    ],
)
def test_eval_errors_are_short(args, message, trained):
    result = run(*args, "--data", str(trained["root"]))
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_truncation_is_scored_stated_and_tabled_in_the_card(trained, tmp_path):
    import shutil

    export = tmp_path / "export"
    shutil.copytree(trained["dcgan-mnist"], export)
    base = ["eval", str(export), "--data", str(trained["root"]), "--n", str(N), "--json", "-q"]
    plain = json.loads(run(*base).output)
    truncated = run(*base, "--truncation", "0.5")
    assert truncated.exit_code == 0, truncated.output
    document = json.loads(truncated.output)
    assert document["protocol"]["truncation"] == 0.5 and "redrawn" in document["protocol"]["latents"]
    assert document["metrics"]["fid"] != plain["metrics"]["fid"]  # other latents, other samples
    args = ["eval", str(export), "--data", str(trained["root"]), "--n", str(N), "--write-card", "-q"]
    assert run(*args).exit_code == 0
    for value in ("0.5", "0.7", "0.5"):  # measuring a truncation again replaces its row
        result = run(*args, "--truncation", value)
        assert result.exit_code == 0, result.output
    config = json.loads((export / "config.json").read_text())
    assert sorted(config["truncation"]) == ["0.5", "0.7"]
    assert config["metrics"]["fid"] == pytest.approx(plain["metrics"]["fid"])  # the untruncated numbers stay
    card = (export / "README.md").read_text()
    assert card.count("## Truncation") == 1 and card.index("## Truncation") < card.index("## Data")
    table = card[card.index("| truncation |"):].split("\n\n")[0].splitlines()
    assert [line.split("|")[1].strip() for line in table[2:]] == ["none", "0.7", "0.5"]


def test_bad_truncation_is_a_one_line_error(trained):
    result = run("eval", str(trained["dcgan-mnist"]), "--data", str(trained["root"]), "--n", str(N),
                 "--truncation", "0.01", "-q")
    assert result.exit_code != 0 and "--truncation must be a finite number >= 0.04" in result.output
