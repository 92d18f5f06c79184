"""faces-simclr: the shipped face feature space, its sha256 check, its training, and the bench that measures it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
from helpers import tiny_image_folder
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from ganzoo.errors import WeightsError

BENCH = Path(__file__).resolve().parents[1] / "bench" / "face_features.py"


def _random_weights(path: Path, seed: int = 0) -> Path:
    from ganzoo_plugins.extractors.faces_simclr import FacesSimCLRNet

    torch.manual_seed(seed)
    net = FacesSimCLRNet()
    save_file({k: v.contiguous() for k, v in net.state_dict().items() if not k.startswith("head.")}, str(path))
    return path


def test_the_shipped_weights_match_their_sha256_and_give_fixed_256_d_features():
    from ganzoo_plugins.extractors.faces_simclr import WEIGHTS_SHA256, build, file_sha256, weights_path

    assert file_sha256(weights_path()) == WEIGHTS_SHA256
    extractor = build()
    assert extractor.weights_sha256 == WEIGHTS_SHA256 and extractor.name == "faces-simclr"
    assert extractor.metadata["extractor"] == "faces-simclr" and extractor.metadata["seed"] == "0"
    x = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features = extractor.features(x)
    assert features.shape == (6, 256) and torch.isfinite(features).all()
    # one image's features do not depend on its batch (eval-mode BatchNorm) and repeat exactly
    assert torch.equal(extractor.features(x[2:3]), extractor.features(x[2:3]))
    torch.testing.assert_close(extractor.features(x[2:3])[0], features[2], rtol=1e-5, atol=1e-5)
    # trained, not random: each of 16 generated faces is nearer its mirror image than any other face
    # (a randomly initialised net of the same shape finds 4 of 16)
    import ganzoo

    faces = ganzoo.load("dcgan-faces.utkface").sample(16, seed=0)
    own = F.normalize(extractor.features(faces), dim=1)
    mirrored = F.normalize(extractor.features(faces.flip(-1)), dim=1)
    to_mirror = (own * mirrored).sum(1)
    to_others = (own @ own.T).fill_diagonal_(-2).max(1).values
    assert bool((to_mirror > to_others).all()), (to_mirror, to_others)


def test_another_file_is_refused_in_one_line_naming_both_digests(tmp_path):
    from ganzoo_plugins.extractors.faces_simclr import WEIGHTS_SHA256, build

    wrong = _random_weights(tmp_path / "faces-simclr.safetensors")
    with pytest.raises(WeightsError) as caught:
        build(path=wrong)
    message = str(caught.value)
    assert "\n" not in message and "refusing another file" in message
    assert WEIGHTS_SHA256[:16] in message and "python -m ganzoo_plugins.extractors.faces_simclr" in message
    with pytest.raises(WeightsError, match=r"^faces-simclr weights not found at .*missing"):
        build(path=tmp_path / "missing")


def test_a_file_with_the_expected_digest_builds_and_any_size_or_grey_image_is_resized_to_64(tmp_path):
    from ganzoo_plugins.extractors.faces_simclr import build, file_sha256

    path = _random_weights(tmp_path / "w.safetensors")
    extractor = build(path=path, sha256=file_sha256(path))
    assert extractor.features(torch.zeros(2, 1, 28, 28)).shape == (2, 256)
    assert extractor.features(torch.zeros(2, 3, 128, 96)).shape == (2, 256)


def test_views_are_seeded_in_range_and_the_loss_rewards_matching_pairs():
    from ganzoo_plugins.extractors.faces_simclr import augment, nt_xent

    x = torch.rand(8, 3, 64, 64) * 2 - 1
    first = augment(x, torch.Generator().manual_seed(3))
    assert first.shape == x.shape and first.min() >= -1 and first.max() <= 1
    assert torch.equal(first, augment(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, augment(x, torch.Generator().manual_seed(4)))
    z = torch.randn(8, 16)
    matched, accuracy = nt_xent(z, z + 0.01 * torch.randn(8, 16), temperature=0.2)
    unmatched, _ = nt_xent(z, torch.randn(8, 16), temperature=0.2)
    assert accuracy == 1.0 and matched < unmatched


def test_the_training_command_writes_a_loadable_file_with_its_record(tmp_path, capsys):
    from ganzoo_plugins.extractors.faces_simclr import build, file_sha256, main
    from safetensors import safe_open

    folder = tiny_image_folder(tmp_path, count=10, size=64)
    out = tmp_path / "faces-simclr.safetensors"
    assert main(["--data", str(folder), "--out", str(out), "--steps", "2", "--batch-size", "4"]) == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.rindex("\n{") + 1 :])
    assert result["sha256"] == file_sha256(out)
    meta = build(path=out, sha256=result["sha256"]).metadata
    assert meta["steps"] == "2" and meta["seed"] == "0" and meta["objective"].startswith("SimCLR")
    assert "--steps 2 --seed 0" in meta["command"] and meta["data"].startswith("10 face crops")
    with safe_open(str(out), framework="pt") as handle:  # the projection head is for training only
        assert not [key for key in handle.keys() if key.startswith("head.")]  # noqa: SIM118
    # the seed fixes the run: the same command again gives the same tensors (the file's bytes differ only in
    # the wall time its metadata records)
    again = tmp_path / "again.safetensors"
    assert main(["--data", str(folder), "--out", str(again), "--steps", "2", "--batch-size", "4"]) == 0
    first, second = load_file(str(out)), load_file(str(again))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(out), "--steps", "1"]) == 1
    assert "error: " in capsys.readouterr().err


def test_the_bench_runs_end_to_end_on_tiny_fake_faces(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("face_features", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = tiny_image_folder(tmp_path, count=24, size=64)
    report = tmp_path / "report.json"
    code = bench.main(["--data", str(folder), "--n", "8", "--seeds", "0,1", "--json", str(report)])
    assert code == 0
    numbers = json.loads(report.read_text())
    assert set(numbers["seeds_fid"]) == {"random-conv", "faces-simclr"}
    for row in numbers["seeds_fid"].values():
        assert len(row["fid"]) == 2 and row["std"] >= 0 and row["mean"] == pytest.approx(sum(row["fid"]) / 2)
    assert set(numbers["baselines_fid"]) == {
        "floor (real faces)", "real, 5% colour cast", "real blurred to 32x32", "real blurred to 16x16",
        "uniform noise", "model, truncation 1"}
    printed = capsys.readouterr().out
    assert "| FID by seed |" in printed and "x the model)" in printed
    # the helpers the baselines use: blur keeps shape and range, and really removes detail
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    soft = bench.blurred(x)
    assert soft.shape == x.shape and soft.abs().max() <= 1
    assert soft.diff(dim=-1).abs().mean() < x.diff(dim=-1).abs().mean() / 4
    cast = bench.tinted(torch.zeros(1, 3, 2, 2))  # mid grey: red up 5%, green kept, blue down 5%
    torch.testing.assert_close(cast[0, :, 0, 0], torch.tensor([0.05, 0.0, -0.05]))


def test_the_bench_scores_each_checkpoint_of_a_short_fine_tuning_run_before_the_next_replaces_it(tmp_path):
    spec = importlib.util.spec_from_file_location("face_features", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = tiny_image_folder(tmp_path, count=24, size=64)
    report = tmp_path / "report.json"
    code = bench.main(["--data", str(folder), "--n", "8", "--seeds", "0", "--extractors", "random-conv",
                       "--chunks", "2", "--chunk-steps", "1", "--batch-size", "4", "--json", str(report)])
    assert code == 0
    checkpoints = json.loads(report.read_text())["checkpoints_fid"]
    assert checkpoints["steps"] == [1, 2]
    first, second = checkpoints["random-conv"]["fid"]
    assert first != second, "both checkpoints were scored from the same (last) export"


def test_the_bench_scores_kept_checkpoints_in_step_order_from_their_moving_average(tmp_path):
    from ganzoo import TrainConfig, train

    spec = importlib.util.spec_from_file_location("face_features", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = tiny_image_folder(tmp_path, count=24, size=64)
    run, kept = tmp_path / "run", []
    for steps in (1, 2):  # a run's last.pt is replaced at every checkpoint: keep a copy of each
        train(TrainConfig("dcgan-faces", dataset="image-folder", data_dir=folder, steps=steps, batch_size=4,
                          options={"ngf": 8, "ndf": 8}, ema=50, device="cpu", quiet=True, out=run,
                          checkpoint_every=1, sample_every=1000, resume=steps > 1))
        kept.append(tmp_path / f"kept-{steps}.pt")
        shutil.copy(run / "checkpoints" / "last.pt", kept[-1])
    step, model = bench.checkpoint_generator(str(kept[1]))
    assert step == 2 and model.ema and model.sample(2, seed=0).shape == (2, 3, 64, 64)
    torch.save({"format": "ganzoo-checkpoint", "version": 2, "run": {"model": "dcgan-faces"}, "parts": {},
                "model_config": {"ngf": 8, "ndf": 8}}, tmp_path / "empty.pt")
    with pytest.raises(WeightsError, match=r"empty.pt: not a training checkpoint of a dcgan-faces generator \("):
        bench.checkpoint_generator(str(tmp_path / "empty.pt"))
    report = tmp_path / "report.json"
    code = bench.main(["--data", str(folder), "--model", str(run / "export"), "--n", "8", "--seeds", "0",
                       "--extractors", "random-conv", "--checkpoints", str(kept[1]), str(kept[0]),
                       "--checkpoint-seeds", "0,1", "--json", str(report)])
    assert code == 0
    numbers = json.loads(report.read_text())
    checkpoints = numbers["checkpoints_fid"]
    assert checkpoints["steps"] == [1, 2]
    first, second = checkpoints["random-conv"]["fid"]
    assert first != second and numbers["checkpoints_by_seed"]["0"]["random-conv"] == [first, second]
    assert numbers["checkpoints_by_seed"]["1"]["random-conv"] != [first, second]  # other latents, other reals
    assert numbers["checkpoint_ranking"]["random-conv"]["spearman"] in (-1.0, 1.0)


def test_ranking_agreement_is_one_for_the_same_order_and_minus_one_for_the_reverse():
    spec = importlib.util.spec_from_file_location("face_features", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    same = bench.ranking_agreement([[1.0, 2.0, 3.0, 4.0], [1.1, 2.2, 2.9, 4.5]])
    assert same["spearman"] == pytest.approx(1.0)
    assert same["signal_to_noise"] == pytest.approx(1.29099 / 0.225, rel=1e-4)  # std 1.29 over mean |diff| 0.225
    # differences 0.1, 0.2, -0.1, 0.5: their spread over checkpoints, 0.2165, is the noise once the shift is removed
    assert same["signal_to_shift_free_noise"] == pytest.approx(1.29099 / 0.216506, rel=1e-4)
    shifted = bench.ranking_agreement([[1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5]])  # another seed moves all alike
    assert shifted["signal_to_noise"] == pytest.approx(1.29099 / 0.5, rel=1e-4)
    assert shifted["signal_to_shift_free_noise"] == float("inf")
    assert bench.ranking_agreement([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])["spearman"] == pytest.approx(-1.0)
