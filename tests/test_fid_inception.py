"""``fid-inception`` against the reference tools, with random weights: no download needed.

pytorch-fid and torch-fidelity build their own FID Inception; the same random state dict is
loaded into theirs and ganzoo's, and the features of random images, each tool preprocessing
them its own way, must agree. Equal features with arbitrary weights prove the architecture
(every block, every pooling) and the preprocessing (quantisation, resize, scaling); the
published weights then only fill in the numbers. The Fréchet distance and KID are compared
with the tools' own on the same features in float64. The weights file's checks (sha256,
bounds, names and shapes) and ``ganzoo eval --extractor fid-inception`` end to end use a
random-weights file whose digest is injected as the expected one for each test only.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from ganzoo_plugins.extractors import fid_inception
from ganzoo_plugins.extractors.fid_inception_net import FIDInceptionNet
from helpers import fid_inception_random_state, tiny_mnist_root
from typer.testing import CliRunner

from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, WeightsError
from ganzoo.metrics import feature_stats, fid_from_stats, kid, mmd2_unbiased
from ganzoo.nn import uint8_to_unit


def pixels(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return fid_inception_random_state(0)


@pytest.fixture(scope="module")
def ours(state):
    net = FIDInceptionNet()
    net.load_state_dict(state, strict=False)  # the random state, like the published file, has no num_batches_tracked
    return net.eval()


def extractor(net, resize: str) -> fid_inception.FIDInceptionExtractor:
    return fid_inception.FIDInceptionExtractor(net, "random", "cpu", resize)


# ------------------------------------------------------------------------ the network and preprocessing


def test_features_equal_torch_fidelity_on_uint8_images_of_any_size(state, ours, tmp_path):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = tmp_path / "random.pth"
    torch.save(state, path)
    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))
    colour = pixels((1, 3, 64, 48), 1)  # upsampled, not square: torch-fidelity's TF1 bilinear resize
    grey = pixels((1, 1, 300, 320), 2)  # downsampled, grey: repeated to RGB before the network
    for images in (colour, grey):
        expected = theirs(images.expand(-1, 3, -1, -1).contiguous())[0]
        got = extractor(ours, "tf1").features(uint8_to_unit(images))
        assert got.shape == (len(images), 2048) and expected.abs().max() > 1
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_features_equal_pytorch_fid_with_its_resize(state, ours, monkeypatch):
    import pytorch_fid.inception as reference

    monkeypatch.setattr(reference, "load_state_dict_from_url", lambda *args, **kwargs: state)  # never downloads
    theirs = reference.InceptionV3([reference.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    images = pixels((2, 3, 40, 40), 3)
    with torch.no_grad():  # pytorch-fid's input: images as floats in [0, 1], as its ToTensor gives them
        expected = theirs(images.float() / 255)[0].flatten(1)
    got = extractor(ours, "pytorch-fid").features(uint8_to_unit(images))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert (extractor(ours, "tf1").features(uint8_to_unit(images)) - expected).abs().max() > 1e-3  # a choice


def test_tf1_resize_is_torch_fidelity_s_on_any_scale():
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as theirs

    for shape in ((1, 3, 28, 28), (2, 1, 512, 300), (1, 3, 299, 17)):
        x = pixels(shape, 4).float()
        expected = theirs(x, size=(299, 299), align_corners=False)
        assert torch.equal(fid_inception.resize_tf1(x, 299), expected), shape


def test_generated_images_are_quantised_to_the_real_images_pixels():
    every = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(fid_inception.quantise(uint8_to_unit(every)), every.float())  # real pixels come back exactly
    generated = torch.tensor([-1.5, -1.0, -0.999, 0.0, 0.3, 0.999, 1.0, 2.0])
    expected = (generated * 127.5 + 128).clamp(0, 255).to(torch.uint8).float()  # StyleGAN2-ADA's conversion
    assert torch.equal(fid_inception.quantise(generated), expected)


def test_clean_resize_is_pil_bicubic_per_channel():
    flat = torch.full((1, 3, 32, 32), 0.2)
    prepared = fid_inception.prepare(flat, "clean")
    level = (fid_inception.quantise(torch.tensor(0.2)) - 128) / 128
    assert prepared.shape == (1, 3, 299, 299) and torch.allclose(prepared, level.expand_as(prepared), atol=1e-5)
    edge = torch.zeros(1, 1, 16, 16)
    edge[..., 8:] = 1.0
    clean, tf1 = fid_inception.prepare(edge, "clean"), fid_inception.prepare(edge, "tf1")
    assert clean.min() >= -1.0001 and clean.max() <= 1.0 and (clean - tf1).abs().max() > 0.01  # cubic, not linear
    with pytest.raises(ConfigError, match="tf1, pytorch-fid, clean"):
        fid_inception.FIDInceptionExtractor(FIDInceptionNet(), "x", "cpu", "bicubic")


# ------------------------------------------------------------------------ the maths, against the tools


def features_pair(seed: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(24, 24, generator=generator, dtype=torch.float64)
    first = torch.randn(300, 24, generator=generator, dtype=torch.float64) @ mixing
    second = torch.randn(260, 24, generator=generator, dtype=torch.float64) @ (mixing * 0.8) + 0.5
    return first, second


def test_frechet_distance_equals_pytorch_fid_and_torch_fidelity_in_float64():
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    first, second = features_pair()
    (mu1, sigma1), (mu2, sigma2) = feature_stats(first), feature_stats(second)
    stats1, stats2 = fid_features_to_statistics(first), fid_features_to_statistics(second)
    np.testing.assert_allclose(mu1.numpy(), stats1["mu"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sigma1.numpy(), stats1["sigma"], rtol=1e-12, atol=1e-12)
    ours = fid_from_stats(mu1, sigma1, mu2, sigma2)
    pytorch_fid = calculate_frechet_distance(stats1["mu"], stats1["sigma"], stats2["mu"], stats2["sigma"])
    fidelity = fid_statistics_to_metric(stats1, stats2, verbose=False)["frechet_inception_distance"]
    assert ours > 1 and ours == pytest.approx(pytorch_fid, rel=1e-9) and ours == pytest.approx(fidelity, rel=1e-9)


def test_kid_equals_torch_fidelity_in_float64():
    from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

    first, second = features_pair(6)
    options = {"kid_kernel": "poly", "kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None,
               "kid_kernel_poly_coef0": 1}
    first = first[:260]  # torch-fidelity's MMD takes sets of one size
    assert mmd2_unbiased(first, second) == pytest.approx(kernel_mmd(first.numpy(), second.numpy(), **options),
                                                         rel=1e-10)
    # one subset as large as the smaller set: torch-fidelity's subsets are numpy's, ours torch's, but every
    # subset of all 260 samples of a set is that set, so both average the same MMD over the same samples
    theirs = kid_features_to_metric(first, second, kid_subsets=1, kid_subset_size=260, verbose=False,
                                    rng_seed=0, **options)["kernel_inception_distance_mean"]
    assert kid(first, second, subset_size=260, subsets=1)[0] == pytest.approx(theirs, rel=1e-10)


# ------------------------------------------------------------------------ the weights file


def test_a_file_with_another_sha256_is_refused_in_one_line(fid_weights_file, monkeypatch):
    path, digest = fid_weights_file
    with pytest.raises(WeightsError) as refused:
        fid_inception.build(weights_path=path)  # the published digest, not this file's
    message = str(refused.value)
    assert "\n" not in message and f"sha256 {digest[:16]}" in message and "6726825d" in message
    assert fid_inception.WEIGHTS_URL in message


def test_a_missing_file_is_one_line_saying_where_to_put_it_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    for call in (lambda: fid_inception.build(), lambda: fid_inception.build(weights_path=tmp_path / "none.pth")):
        with pytest.raises(WeightsError) as missing:
            call()
        message = str(missing.value)
        assert "\n" not in message and str(tmp_path / "hub" / "checkpoints" / fid_inception.WEIGHTS_FILENAME) in message
        assert fid_inception.WEIGHTS_URL in message and "--download" in message and "--extractor-weights" in message


def test_weights_from_the_hub_cache_or_a_download(fid_weights, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    asked = []

    def download(url, destination, hash_prefix=None, progress=True):
        asked.append((url, hash_prefix))
        with open(destination, "wb") as out:
            out.write(fid_weights.read_bytes())

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    built = fid_inception.build(download=True)
    assert asked == [(fid_inception.WEIGHTS_URL, fid_inception.SHA256_PREFIX)]
    assert built.weights_sha256 == hashlib.sha256(fid_weights.read_bytes()).hexdigest()
    assert fid_inception.build().weights_sha256 == built.weights_sha256 and len(asked) == 1  # now in the cache


def test_weights_are_read_without_code_and_checked_against_the_network(tmp_path, monkeypatch):
    def refused(obj, match: str) -> None:
        path = tmp_path / "file.pth"
        torch.save(obj, path)
        monkeypatch.setattr(fid_inception, "SHA256_PREFIX", hashlib.sha256(path.read_bytes()).hexdigest()[:8])
        with pytest.raises(WeightsError, match=match) as error:
            fid_inception.build(weights_path=path)
        assert "\n" not in str(error.value)

    state = fid_inception_random_state(1)
    refused(Exploit(), "cannot be read as tensors")  # weights_only: the pickle's code never runs
    assert not (tmp_path / "pwned").exists()
    wrong_names = {**{k: v for k, v in state.items() if k != "fc.bias"}, "extra.weight": torch.zeros(1)}
    refused(wrong_names, r"missing \['fc.bias'\], unexpected \['extra.weight'\]")
    refused({**state, "fc.bias": torch.zeros(1000)}, r"fc.bias has shape \(1000,\)")
    refused({**state, "fc.bias": torch.full((1008,), float("nan"))}, "finite floats")
    refused([1, 2], "not a state dict")
    with pytest.raises(WeightsError, match="not a regular file"):
        fid_inception.build(weights_path=tmp_path)
    monkeypatch.setattr(fid_inception, "MAX_WEIGHTS_BYTES", 100)
    refused({"a": torch.zeros(100)}, "more than the 100")


class Exploit:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(__file__).parent / "pwned",))


# ------------------------------------------------------------------------ ganzoo eval end to end


@pytest.fixture(scope="module")
def mnist_export(tmp_path_factory):
    from ganzoo.training import TrainConfig, train

    root = tiny_mnist_root(tmp_path_factory.mktemp("data"), count=24)
    out = tmp_path_factory.mktemp("run") / "run"
    config = TrainConfig("dcgan-mnist", data_dir=root, steps=1, batch_size=8, out=out, quiet=True, log_every=1)
    return root, train(config).export_dir


def run(*args: str):
    return CliRunner().invoke(build_app(), [str(a) for a in args])


def test_eval_with_fid_inception_and_the_statistics_files(mnist_export, fid_weights, tmp_path, monkeypatch):
    from pytorch_fid.fid_score import compute_statistics_of_path

    # the plumbing from the CLI to the files, at a tenth of the work: the network is fully convolutional up to
    # its global pooling, and the tests above prove the 299x299 path against the reference tools
    monkeypatch.setattr(fid_inception, "INPUT_SIZE", 96)
    root, export = mnist_export
    common = ("--data", root, "-n", "5", "--extractor", "fid-inception", "--extractor-weights", fid_weights, "--json")
    saved = tmp_path / "mnist-test.npz"
    model = run("eval", export, *common, "--save-stats", saved)
    assert model.exit_code == 0, model.output
    document = json.loads(model.output)
    protocol = document["protocol"]
    assert protocol["extractor"] == "fid-inception" and protocol["extractor_resize"] == "tf1"
    assert protocol["extractor_weights_sha256"] == hashlib.sha256(fid_weights.read_bytes()).hexdigest()
    assert "quantised to uint8" in protocol["image_handling"] and "TensorFlow-1 bilinear" in protocol["image_handling"]
    assert {"fid", "kid_mean", "precision", "recall"} <= document["metrics"].keys()

    mu, sigma = compute_statistics_of_path(str(saved), None, 1, 2048, "cpu")  # pytorch-fid's own loader
    assert mu.shape == (2048,) and sigma.shape == (2048, 2048)
    scored = run("eval", export, *common, "--reference-stats", saved)
    assert scored.exit_code == 0, scored.output
    against_file = json.loads(scored.output)
    assert set(against_file["metrics"]) == {"fid"}  # a mean and a covariance allow nothing else
    assert against_file["metrics"]["fid"] == pytest.approx(document["metrics"]["fid"], rel=1e-6)
    assert against_file["protocol"]["reference_stats"]["made_with"]["extractor"] == "fid-inception"

    other = run("eval", export, *common, "--extractor-resize", "pytorch-fid", "--reference-stats", saved)
    assert other.exit_code == 1 and "made with resize 'tf1'" in other.output and "not be comparable" in other.output
    mine = run("eval", export, "--data", root, "-n", "6", "--extractor-weights", fid_weights)
    assert mine.exit_code == 1 and "--extractor fid-inception" in mine.output


def test_reference_statistics_from_elsewhere_are_bounded(tmp_path, monkeypatch):
    from ganzoo.metrics import refstats
    from ganzoo.metrics.refstats import load_reference_stats

    def refused(match: str, **arrays) -> None:
        path = tmp_path / "stats.npz"
        np.savez_compressed(path, **arrays)
        with pytest.raises(ConfigError, match=match):
            load_reference_stats(path)

    refused("need arrays 'mu' and 'sigma'", mu=np.zeros(3))
    refused(r"expected \(D,\) and \(D, D\)", mu=np.zeros(3), sigma=np.zeros((3, 4)))
    refused("not floats", mu=np.zeros(3, dtype=np.int64), sigma=np.zeros((3, 3)))
    refused("NaN", mu=np.full(3, np.nan), sigma=np.zeros((3, 3)))
    refused("without unpickling", mu=np.array([{"a": 1}], dtype=object), sigma=np.zeros((1, 1)))
    bomb = tmp_path / "bomb.npz"  # a few hundred bytes on disk, over the (lowered) bound once unpacked
    np.savez_compressed(bomb, mu=np.zeros(200), sigma=np.zeros((200, 200)))
    monkeypatch.setattr(refstats, "MAX_STATS_BYTES", 20_000)
    assert bomb.stat().st_size < 20_000
    with pytest.raises(ConfigError, match="unpack to 321,"):
        load_reference_stats(bomb)
    monkeypatch.undo()
    (tmp_path / "text.npz").write_text("no zip")
    with pytest.raises(ConfigError, match=r"not an \.npz file"):
        load_reference_stats(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", mu=np.ones(2, dtype=np.float32), sigma=np.eye(2, dtype=np.float32))
    loaded = load_reference_stats(tmp_path / "plain.npz")
    assert loaded.dim == 2 and loaded.sigma.dtype == torch.float64 and loaded.made_with == {}
