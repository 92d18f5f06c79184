"""What a run states about itself in its export: the data licence given on the command line, the training
metrics of a run stopped and resumed, and its wall time in the one format cards and the zoo table share."""

from __future__ import annotations

import json

import pytest
from helpers import tiny_image_folder
from typer.testing import CliRunner

from ganzoo.cards.card import format_wall_time
from ganzoo.cards.folder import CARD_NAME, read_config
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, train

UTKFACE = "UTKFace: non-commercial research only"
RING = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu"}


def train_faces(folder, out, *extra: str):
    args = ["train", "dcgan-faces", "--data", str(folder), "--batch-size", "8", "--option", "ngf=8",
            "--option", "ndf=8", "--quiet", "--out", str(out), *extra]
    return CliRunner().invoke(build_app(), args)


def stated_licence(export) -> tuple[str, str]:
    card = (export / CARD_NAME).read_text(encoding="utf-8")
    return read_config(export)["training"]["data_license"], card


# --- --data-license ------------------------------------------------------------------------------------------------


def test_data_license_states_the_licence_of_a_folder_that_has_no_licence_file(tmp_path):
    folder = tiny_image_folder(tmp_path, count=8)
    result = train_faces(folder, tmp_path / "run", "--steps", "1", "--data-license", UTKFACE)
    assert result.exit_code == 0, result.output
    recorded, card = stated_licence(tmp_path / "run" / "export")
    assert recorded == UTKFACE
    assert f"Licence of the training data: **{UTKFACE}**." in card
    assert "license_name: utkface-non-commercial-research-only" in card
    assert f"--data-license '{UTKFACE}'" in card  # the command in the card repeats the run, licence and all


def test_a_resume_may_state_the_licence_the_run_lacked_and_later_sessions_keep_it(tmp_path):
    folder = tiny_image_folder(tmp_path, count=8)
    out = tmp_path / "run"
    assert train_faces(folder, out, "--steps", "1").exit_code == 0
    assert stated_licence(out / "export")[0] == "unknown: the licence of your images"
    stated = train_faces(folder, out, "--steps", "1", "--resume", "--data-license", UTKFACE)
    assert stated.exit_code == 0, stated.output
    assert stated_licence(out / "export")[0] == UTKFACE
    assert train_faces(folder, out, "--steps", "2", "--resume").exit_code == 0
    assert stated_licence(out / "export")[0] == UTKFACE


def test_data_license_may_not_contradict_the_folders_licence_file(tmp_path):
    folder = tiny_image_folder(tmp_path, count=8)
    (folder / "LICENSE").write_text("CC BY 4.0\n")
    result = train_faces(folder, tmp_path / "run", "--steps", "1", "--data-license", "MIT")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()  # the decoded-images cache, made first, is announced in its own line
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    message = errors[0]
    assert "'MIT'" in message and "'CC BY 4.0'" in message and "drop --data-license" in message
    agreeing = train_faces(folder, tmp_path / "same", "--steps", "1", "--data-license", "cc by 4.0")
    assert agreeing.exit_code == 0, agreeing.output


@pytest.mark.parametrize("licence", ["", "   ", "CC BY 4.0\nand more", "x" * 201])
def test_a_data_license_that_is_no_licence_name_is_refused_before_any_data_is_read(tmp_path, licence):
    config = TrainConfig(**RING, steps=1, out=tmp_path / "run", data_license=licence)
    with pytest.raises(ConfigError, match="--data-license must name the licence on one line") as raised:
        train(config)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "run" / "export").exists()


# --- the training metrics at the end of a run ----------------------------------------------------------------------


def log_records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_a_run_ending_just_after_a_record_reports_a_full_window_and_a_resume_that_trains_nothing_keeps_it(tmp_path):
    out = tmp_path / "run"
    first = train(TrainConfig(**RING, steps=21, log_every=10, out=out))
    records = log_records(out)
    assert [r["step"] for r in records] == [10, 20, 21]  # the last record holds one step
    for name in ("loss_d", "loss_g", "d_real", "d_fake"):
        expected = (records[1][name] * 10 + records[2][name] * 1) / 11
        assert first.metrics[name] == pytest.approx(expected, abs=2e-6), name
    assert first.images_per_s == pytest.approx(first.images_seen / first.wall_time_s, rel=0.02)

    again = train(TrainConfig(**RING, steps=21, log_every=10, out=out, resume=True))  # only re-exports
    assert again.steps == again.start_step == 21
    assert again.images_per_s > 0
    assert again.images_per_s == pytest.approx(again.images_seen / again.wall_time_s, rel=0.02)
    for name in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert again.metrics[name] == first.metrics[name]
    assert read_config(again.export_dir)["metrics"]["images_per_s"] == round(again.images_per_s, 1)


# --- wall time -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42.46, "42.5 s"), (119.9, "119.9 s"), (120, "2 min 00 s"), (3038.4, "50 min 38 s"), (3599.6, "1 h 00 min"),
     (7439, "2 h 04 min"), (7409, "2 h 03 min"), (9420, "2 h 37 min")],
)
def test_wall_time_reads_the_same_on_every_card_and_in_the_zoo_table(seconds, text):
    assert format_wall_time(seconds) == text


def test_a_huge_log_every_costs_the_memory_of_the_steps_held_not_of_the_number_typed():
    """--log-every 10**9 once preallocated 16 GB of metric rows (a killed process); now the window grows."""
    import torch

    from ganzoo.training.parallel.distributed import Group, Topology
    from ganzoo.training.window import INITIAL_ROWS, MetricWindow

    window = MetricWindow(10**9, torch.device("cpu"), Group(Topology(), torch.device("cpu")))
    assert len(window.rows) == INITIAL_ROWS
    for step in range(3 * INITIAL_ROWS + 5):
        window.add(torch.full((4,), float(step)), images=2)
    assert len(window.rows) == 4 * INITIAL_ROWS  # doubled twice, no more
    means, count, images = window.take(window.values())
    assert count == 3 * INITIAL_ROWS + 5 and images == 2 * count
    assert means == [pytest.approx((count - 1) / 2)] * 4
    restored = MetricWindow(50, torch.device("cpu"), Group(Topology(), torch.device("cpu")))
    restored.load_state_dict({"rows": torch.ones(70, 4), "images": 140})
    restored.add(torch.zeros(4), images=2)
    assert restored.fill == 71 and restored.images == 142
