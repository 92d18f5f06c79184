"""The metrics checked against known values, the extractors' plumbing, and evaluate() end to end."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError, WeightsError
from ganzoo.metrics import (
    balanced_labels,
    class_coverage,
    conditional_accuracy,
    evaluate,
    evaluate_real,
    fid,
    fid_from_stats,
    kid,
    knn_radii,
    mmd2_unbiased,
    polynomial_kernel,
    precision_recall,
    real_features,
    stats_dir,
    stats_key,
)
from ganzoo.specs import DatasetSpec

# conftest.py gives every test a private XDG_CACHE_HOME, so the stats cache starts empty.


# --------------------------------------------------------------------------- FID


def _gaussian(n: int, mu: torch.Tensor, sigma: torch.Tensor, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    root = torch.linalg.cholesky(sigma)
    return mu + torch.randn(n, len(mu), generator=generator, dtype=torch.float64) @ root.T


# Two non-commuting 2x2 covariances: S1 S2 is not symmetric, the case naive code gets wrong.
MU1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
MU2 = torch.tensor([1.5, -0.5], dtype=torch.float64)
S1 = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
S2 = torch.tensor([[1.0, -0.3], [-0.3, 0.5]], dtype=torch.float64)


def _closed_form_2x2(mu1, s1, mu2, s2) -> float:
    """For 2x2 PSD S1, S2: Tr((S1 S2)^1/2) = sqrt(Tr(S1 S2) + 2 sqrt(det S1 det S2))."""
    trace_sqrt = math.sqrt(float(torch.trace(s1 @ s2)) + 2 * math.sqrt(float(torch.det(s1) * torch.det(s2))))
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2)) - 2 * trace_sqrt


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_from_exact_stats_equals_the_closed_form():
    expected = _closed_form_2x2(MU1, S1, MU2, S2)
    assert expected > 1.0
    assert fid_from_stats(MU1, S1, MU2, S2) == pytest.approx(expected, rel=1e-10)
    assert fid_from_stats(MU2, S2, MU1, S1) == pytest.approx(expected, rel=1e-10)  # symmetric


def test_fid_of_diagonal_gaussians_in_many_dimensions():
    a = torch.linspace(0.5, 3.0, 64, dtype=torch.float64)
    b = torch.linspace(2.0, 0.1, 64, dtype=torch.float64)
    mu1, mu2 = torch.zeros(64, dtype=torch.float64), torch.full((64,), 0.25, dtype=torch.float64)
    expected = float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert fid_from_stats(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_fid_from_samples_approaches_the_closed_form():
    x = _gaussian(40000, MU1, S1, seed=1)
    y = _gaussian(40000, MU2, S2, seed=2)
    assert fid(x, y) == pytest.approx(_closed_form_2x2(MU1, S1, MU2, S2), rel=0.03)


def test_fid_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="mismatched"):
        fid_from_stats(MU1, S1, torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))


# --------------------------------------------------------------------------- KID

# Two discrete distributions on a few 3-d points: bounded kernel values, and the
# population MMD^2 is an exact finite sum.
SUPPORT_P = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [-1.0, -1.0, 1.0]], dtype=torch.float64)
PROBS_P = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
SUPPORT_Q = torch.tensor([[1.0, 0.5, 0.5], [0.5, 1.0, -0.5]], dtype=torch.float64)
PROBS_Q = torch.tensor([0.6, 0.4], dtype=torch.float64)


def _population_mmd2() -> float:
    k_pp = polynomial_kernel(SUPPORT_P, SUPPORT_P)
    k_qq = polynomial_kernel(SUPPORT_Q, SUPPORT_Q)
    k_pq = polynomial_kernel(SUPPORT_P, SUPPORT_Q)
    return float(PROBS_P @ k_pp @ PROBS_P + PROBS_Q @ k_qq @ PROBS_Q - 2 * PROBS_P @ k_pq @ PROBS_Q)


def _draw(support, probs, n, generator):
    return support[torch.multinomial(probs, n, replacement=True, generator=generator)]


def test_kid_matches_the_population_mmd_for_a_shifted_distribution():
    generator = torch.Generator().manual_seed(0)
    x = _draw(SUPPORT_P, PROBS_P, 4000, generator)
    y = _draw(SUPPORT_Q, PROBS_Q, 4000, generator)
    expected = _population_mmd2()
    mean, std = kid(x, y, subset_size=500, subsets=20, seed=0)
    assert expected > 0.5
    assert mean == pytest.approx(expected, rel=0.05)
    assert 0 < std < 0.2 * expected


def test_kid_is_near_zero_for_the_same_distribution():
    generator = torch.Generator().manual_seed(1)
    x = _draw(SUPPORT_P, PROBS_P, 3000, generator)
    y = _draw(SUPPORT_P, PROBS_P, 3000, generator)
    mean, std = kid(x, y, subset_size=500, subsets=20, seed=0)
    assert abs(mean) < 0.01 * _population_mmd2()
    assert abs(mean) < 3 * std + 1e-4


def test_unbiased_mmd_averages_to_the_population_value_even_for_tiny_samples():
    """With 8 samples per set the biased (V-statistic) estimate is far off; the unbiased one is not."""
    generator = torch.Generator().manual_seed(2)
    expected = _population_mmd2()
    unbiased, biased = [], []
    for _ in range(3000):
        x = _draw(SUPPORT_P, PROBS_P, 8, generator)
        y = _draw(SUPPORT_Q, PROBS_Q, 8, generator)
        unbiased.append(mmd2_unbiased(x, y))
        k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        biased.append(float(k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()))
    unbiased_t = torch.tensor(unbiased)
    standard_error = float(unbiased_t.std()) / math.sqrt(len(unbiased))
    assert abs(float(unbiased_t.mean()) - expected) < 4 * standard_error
    assert abs(float(torch.tensor(biased).mean()) - expected) > 10 * standard_error


def test_kid_is_seeded_and_uses_smaller_sets_whole():
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randn(20, 4, generator=torch.Generator().manual_seed(1)) + 0.5
    assert kid(x, y, seed=3) == kid(x, y, seed=3)
    assert kid(x, y, seed=3) != kid(x, y, seed=4)


# --------------------------------------------------------------------------- precision / recall


def _clusters(centres: torch.Tensor, per_mode: int, seed: int, std: float = 0.05) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    points = centres.repeat_interleave(per_mode, 0)
    return points + std * torch.randn(points.shape, generator=generator)


CENTRES = torch.tensor([[10.0 * i, 10.0 * j] for i in range(5) for j in range(2)])


def test_identical_sets_have_full_precision_and_recall():
    x = _clusters(CENTRES, 40, seed=0)
    assert precision_recall(x, x.clone()) == (1.0, 1.0)


def test_far_apart_sets_have_zero_precision_and_recall():
    real = _clusters(CENTRES, 40, seed=0)
    fake = _clusters(CENTRES + 1000.0, 40, seed=1)
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_covering_half_the_modes_gives_half_recall_and_full_precision():
    real = _clusters(CENTRES, 60, seed=0)
    fake = _clusters(CENTRES[::2], 120, seed=1)  # as many points, all on 5 of the 10 modes
    precision, recall = precision_recall(real, fake)
    assert precision > 0.97
    assert recall == pytest.approx(0.5, abs=0.04)
    assert recall <= 0.5  # no real point of an uncovered mode can be inside the fake manifold


def test_knn_radii_match_brute_force_and_batching_changes_nothing():
    x = torch.randn(57, 5, generator=torch.Generator().manual_seed(0))
    distances = torch.cdist(x.double(), x.double()) ** 2
    distances.fill_diagonal_(float("inf"))
    expected = distances.sort(1).values[:, 2]
    assert torch.allclose(knn_radii(x, k=3, batch_size=8).double(), expected, rtol=1e-4, atol=1e-5)
    y = torch.randn(43, 5, generator=torch.Generator().manual_seed(1)) * 1.3
    assert precision_recall(x, y, batch_size=7) == precision_recall(x, y, batch_size=1000)


# --------------------------------------------------------------------------- classes


def test_class_coverage_of_constructed_predictions():
    uniform = class_coverage(torch.arange(100) % 10, 10)
    assert uniform.covered == 10 and uniform.total_variation == pytest.approx(0.0)
    assert uniform.kl_to_uniform == pytest.approx(0.0)
    single = class_coverage(torch.full((50,), 7), 10)
    assert single.covered == 1 and single.shares[7] == 1.0
    assert single.total_variation == pytest.approx(0.9)
    assert single.kl_to_uniform == pytest.approx(math.log(10))
    half = class_coverage(torch.arange(100) % 5, 10)
    assert half.covered == 5 and half.total_variation == pytest.approx(0.5)
    assert half.kl_to_uniform == pytest.approx(math.log(2))
    # A class at exactly half the uniform share counts as covered; just below does not.
    edge = class_coverage(torch.cat([torch.zeros(5), torch.ones(95)]).long(), 10)
    assert edge.shares[0] == pytest.approx(0.05) and edge.covered == 2
    below = class_coverage(torch.cat([torch.zeros(4), torch.ones(96)]).long(), 10)
    assert below.covered == 1


def test_class_coverage_rejects_out_of_range_predictions():
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        class_coverage(torch.tensor([0, 10]), 10)


def test_conditional_accuracy_counts_agreement_with_requested_labels():
    requested = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    predicted = torch.tensor([0, 1, 2, 3, 4, 5, 0, 0])
    assert conditional_accuracy(predicted, requested) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="requested"):
        conditional_accuracy(predicted, requested[:3])


def test_balanced_labels_are_balanced_and_seeded():
    labels = balanced_labels(103, 10, seed=0)
    counts = torch.bincount(labels, minlength=10)
    assert int(counts.max() - counts.min()) <= 1 and int(counts.sum()) == 103
    assert torch.equal(labels, balanced_labels(103, 10, seed=0))
    assert not torch.equal(labels, balanced_labels(103, 10, seed=1))


# --------------------------------------------------------------------------- stats cache


class CountingExtractor:
    """Mean and standard deviation of each image row: cheap, deterministic, and it counts its calls."""

    name = "counting"
    weights_sha256 = "0" * 64
    num_classes = 2
    input_note = "row statistics"

    def __init__(self):
        self.calls = 0

    def extract(self, x):
        self.calls += 1
        rows = x.flatten(2)
        features = torch.cat([rows.mean(2), rows.std(2), x.mean((2, 3))[:, :1] * 3], 1)
        logits = torch.stack([-x.mean((1, 2, 3)), x.mean((1, 2, 3))], 1)
        return features, logits


def _images(n: int, seed: int, shape=(1, 28, 28)) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_real_features_are_cached_and_the_second_call_does_not_recompute():
    extractor = CountingExtractor()
    images, labels = _images(30, 0), torch.arange(30) % 3
    first = real_features(images, labels, dataset="toy", split="test", extractor=extractor, batch_size=8)
    calls = extractor.calls
    assert calls == 4 and not first.cache_hit
    assert first.path is not None and first.path.parent == stats_dir() and first.path.is_file()
    assert sorted(p.name for p in stats_dir().iterdir()) == [first.path.name]  # no temporary left
    second = real_features(images, labels, dataset="toy", split="test", extractor=extractor, batch_size=8)
    assert extractor.calls == calls and second.cache_hit
    assert torch.equal(first.features, second.features) and torch.equal(first.sigma, second.sigma)
    assert torch.equal(second.labels, labels) and torch.equal(first.predictions, second.predictions)
    other = real_features(images, labels, dataset="toy", split="train", extractor=extractor, batch_size=8)
    assert extractor.calls == calls + 4 and other.key != first.key


def test_the_stats_cache_lives_in_ganzoo_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "mine"))
    assert stats_dir() == tmp_path / "mine" / "stats"
    cached = real_features(_images(12, 2), None, dataset="toy", split="test", extractor=CountingExtractor())
    assert cached.path is not None and cached.path.parent == tmp_path / "mine" / "stats" and cached.path.is_file()
    assert stats_dir(tmp_path / "other") == tmp_path / "other" / "stats"


def test_stats_key_changes_with_everything_that_changes_the_features():
    base = {"dataset": "mnist", "split": "test", "extractor": "mnist-classifier", "weights_sha256": "a" * 64,
            "count": 10000, "fingerprint": "f"}
    key = stats_key(**base)
    assert key == stats_key(**base)
    for field, value in [("split", "train"), ("dataset", "kmnist"), ("extractor", "random-conv"),
                         ("weights_sha256", "b" * 64), ("count", 9999), ("fingerprint", "g")]:
        assert stats_key(**{**base, field: value}) != key, field


def test_a_damaged_cache_entry_is_recomputed():
    extractor = CountingExtractor()
    images = _images(12, 1)
    first = real_features(images, None, dataset="toy", split="test", extractor=extractor)
    first.path.write_bytes(b"not a safetensors file")
    again = real_features(images, None, dataset="toy", split="test", extractor=extractor)
    assert not again.cache_hit and extractor.calls == 2
    assert torch.equal(again.features, first.features)


# --------------------------------------------------------------------------- extractors


def test_inception_plumbing_with_random_weights_gives_2048_features():
    from ganzoo_plugins.extractors.inception import build

    extractor = build(weights=None)
    gray = torch.rand(2, 1, 28, 28) * 2 - 1
    features = extractor.features(gray)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    assert extractor.weights_sha256 == "random-init"


def test_inception_without_cached_weights_says_where_to_put_them(tmp_path, monkeypatch):
    from ganzoo_plugins.extractors import inception

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(WeightsError, match=r"inception_v3_google-0cc3c7bd\.pth.*--download"):
        inception.build()
    path = inception.checkpoint_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="unusable"):
        inception.build()


def test_without_inception_weights_other_images_fall_back_to_labelled_random_features(tmp_path, monkeypatch):
    from ganzoo.metrics import resolve_extractor

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    resolved = resolve_extractor(None, dataset="image-folder", point_data=False)
    assert resolved.extractor.name == "random-conv"
    assert "inception-v3 unavailable" in resolved.note and "not comparable" in resolved.note
    assert resolve_extractor(None, dataset="mnist", point_data=False).extractor.name == "mnist-classifier"
    assert resolve_extractor(None, dataset="ring-8", point_data=True).extractor.name == "identity"


def test_random_conv_is_fixed_and_takes_any_image_size():
    from ganzoo_plugins.extractors.random_features import build

    first, second = build(), build()
    assert first.weights_sha256 == second.weights_sha256
    faces = torch.rand(3, 3, 128, 128) * 2 - 1
    assert torch.equal(first.features(faces), second.features(faces))
    assert first.features(faces).shape == (3, 1024)
    assert first.features(torch.rand(2, 1, 28, 28)).shape == (2, 1024)
    assert build(seed=1).weights_sha256 != first.weights_sha256


def _stroke_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Hand-drawn 1s (vertical strokes) and 0s (rings), in [-1, 1], as a person would draw them."""
    images = torch.full((4, 1, 28, 28), -1.0)
    images[0, 0, 5:23, 13:15] = 1.0
    images[1, 0, 4:24, 14:17] = 1.0
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    for index, (ry, rx) in zip((2, 3), ((8.5, 6.0), (9.0, 7.0)), strict=True):
        radius = (((yy - 13.5) / ry) ** 2 + ((xx - 13.5) / rx) ** 2).sqrt()
        images[index, 0][(radius > 0.75) & (radius < 1.05)] = 1.0
    return images, torch.tensor([1, 1, 0, 0])


def test_mnist_classifier_loads_the_shipped_weights_and_reads_drawn_digits():
    from ganzoo_plugins.extractors.mnist_classifier import build, file_sha256, weights_path

    extractor = build()
    assert extractor.weights_sha256 == file_sha256(weights_path())
    assert float(extractor.metadata["test_accuracy"]) >= 0.99
    images, labels = _stroke_digits()
    features, logits = extractor.extract(images)
    assert features.shape == (4, 128) and logits.shape == (4, 10)
    assert torch.equal(extractor.predict(images), logits.argmax(1))
    assert torch.equal(extractor.predict(images), labels)
    with pytest.raises(ConfigError, match="28x28"):
        extractor.features(torch.zeros(2, 3, 32, 32))


def test_mnist_classifier_without_its_weights_raises_a_weights_error(tmp_path):
    from ganzoo_plugins.extractors.mnist_classifier import build

    with pytest.raises(WeightsError, match=r"not found.*python -m ganzoo_plugins\.extractors\.mnist_classifier"):
        build(path=tmp_path / "missing.safetensors")


# --------------------------------------------------------------------------- evaluate


def _tiny_spec(name: str = "mnist", count: int = 48) -> DatasetSpec:
    def load(split: str) -> SampleSet:
        images = _images(count, 0 if split == "test" else 1)
        return SampleSet(images, torch.arange(count) % 10, name=name)

    return DatasetSpec(name=name, summary="tiny test data", loader=load, sample_shape=(1, 28, 28), channels=1,
                       num_classes=10, splits=("train", "test"))


def test_evaluate_end_to_end_with_a_fake_sampler():
    spec = _tiny_spec()
    real = spec.load(split="test")
    calls = []

    def copy_real(n, labels):  # "generates" the reference images themselves, in order
        start = 16 * len(calls)
        calls.append(labels)
        return real.normalise(real.samples[start : start + n])

    result = evaluate(copy_real, dataset=spec, n=40, batch_size=16)
    assert set(result.metrics) >= {"fid", "kid_mean", "kid_std", "precision", "recall", "classes_covered",
                                   "class_tv", "class_kl"}
    assert "conditional_accuracy" not in result.metrics
    assert calls == [None, None, None]
    protocol = result.protocol
    assert protocol["generated_count"] == 40 and protocol["real_count"] == 40
    assert protocol["reference_split"] == "test" and protocol["extractor"] == "mnist-classifier"
    assert len(protocol["extractor_weights_sha256"]) == 64 and protocol["kid"]["subset_size"] == 40
    assert "28x28" in protocol["image_handling"] and not protocol["stats_cache_hit"]
    assert "mnist-classifier" in result.protocol_text()
    noise = evaluate(lambda n, labels: torch.rand(n, 1, 28, 28) * 2 - 1, dataset=spec, n=40, batch_size=16)
    assert noise.protocol["stats_cache_hit"]
    assert noise.metrics["fid"] > result.metrics["fid"]
    assert result.as_dict()["metrics"] == result.metrics


def test_evaluate_conditional_requests_balanced_labels_and_reports_accuracy():
    spec = _tiny_spec()
    drawn, _ = _stroke_digits()
    requested = []

    def draws_ones_and_zeros(n, labels):
        requested.append(labels)
        return drawn[torch.where(labels % 2 == 0, 2, 0)]  # a 1 when asked for an odd digit, else a 0

    result = evaluate(draws_ones_and_zeros, dataset=spec, n=20, batch_size=8, conditional=True,
                      extractor=_classifier())
    labels = torch.cat(requested)
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), 2))
    # Only the requests for 0 (a drawn 0) and for 1 (a drawn 1) are right: 4 of 20.
    assert result.metrics["conditional_accuracy"] == pytest.approx(0.2)
    assert result.metrics["classes_covered"] == 2
    assert result.protocol["conditional"] and result.protocol["num_classes"] == 10
    assert set(result.details["class_shares"][i] for i in (0, 1)) == {0.5}


def _classifier():
    from ganzoo_plugins.extractors.mnist_classifier import build

    return build()


def test_evaluate_is_reproducible_for_a_seed():
    spec = _tiny_spec()
    extractor = CountingExtractor()

    def noise(n, labels):
        return torch.rand(n, 1, 28, 28) * 2 - 1

    first = evaluate(noise, dataset=spec, n=24, batch_size=8, extractor=extractor, seed=5)
    second = evaluate(noise, dataset=spec, n=24, batch_size=8, extractor=extractor, seed=5)
    third = evaluate(noise, dataset=spec, n=24, batch_size=8, extractor=extractor, seed=6)
    assert first.metrics == second.metrics and first.metrics != third.metrics


def test_evaluate_explains_a_shape_mismatch_and_a_broken_generator():
    spec = _tiny_spec()
    with pytest.raises(ConfigError, match=r"shape \(3, 32, 32\).*\(1, 28, 28\)"):
        evaluate(lambda n, labels: torch.zeros(n, 3, 32, 32), dataset=spec, n=8, extractor=CountingExtractor())
    with pytest.raises(ConfigError, match="NaN"):
        evaluate(lambda n, labels: torch.full((n, 1, 28, 28), float("nan")), dataset=spec, n=8,
                 extractor=CountingExtractor())
    with pytest.raises(ConfigError, match="too small"):
        evaluate(lambda n, labels: torch.zeros(n, 1, 28, 28), dataset=spec, n=3)


def test_evaluate_resolves_a_registered_dataset_name(monkeypatch):
    import ganzoo.registry

    spec = _tiny_spec("kmnist")
    monkeypatch.setattr(ganzoo.registry, "get_dataset_spec", lambda name: spec if name == "kmnist" else None)
    result = evaluate(lambda n, labels: torch.rand(n, 1, 28, 28) * 2 - 1, dataset="kmnist", n=16,
                      extractor="random-conv")
    assert result.protocol["dataset"] == "kmnist" and result.protocol["extractor"] == "random-conv"
    assert "not comparable with Inception FID" in result.protocol["image_handling"]


def test_evaluate_real_gives_the_floor_with_classifier_accuracy():
    spec = _tiny_spec(count=48)
    result = evaluate_real(spec, n=30, batch_size=16)
    assert result.protocol["floor"] and result.protocol["generated"] == "real 'train'"
    assert result.protocol["generated_count"] == 30 and result.protocol["real_count"] == 30
    assert "seeded subset" in result.protocol["real_selection"]
    assert 0.0 <= result.metrics["conditional_accuracy"] <= 1.0
    assert result.metrics["fid"] >= 0.0
    same = evaluate_real(spec, n=30, batch_size=16, split="test")  # one split: two disjoint sets
    assert same.protocol["stats_cache_hit"] and not same.protocol["generated_stats_cache_hit"]
    assert same.protocol["generated_count"] == 48 - 30
    assert "disjoint" in same.protocol["generated_selection"]


def test_floor_sets_of_a_single_split_are_disjoint():
    from ganzoo.metrics.protocol import REFERENCE_SUBSET_SEED
    from ganzoo.metrics.reference import select as _select

    reference = _select(100, 40, REFERENCE_SUBSET_SEED)
    sample = _select(100, 40, 3, exclude_seed=REFERENCE_SUBSET_SEED)
    assert len(reference) == len(sample) == 40
    assert not set(reference.tolist()) & set(sample.tolist())
    with pytest.raises(ConfigError, match="two disjoint sets"):
        _select(100, 99, 3, exclude_seed=REFERENCE_SUBSET_SEED)


def test_a_single_split_dataset_is_its_own_reference_and_its_floor_uses_disjoint_halves():
    def load(split, image_size=None):
        return SampleSet(_images(40, 0, shape=(3, image_size, image_size)), name="image-folder")

    spec = DatasetSpec(name="image-folder", summary="folder", loader=load, channels=3)
    result = evaluate(lambda n, labels: torch.rand(n, 3, 16, 16) * 2 - 1, dataset=spec, n=12,
                      extractor=CountingExtractor())
    assert result.protocol["reference_split"] == "train" and result.protocol["real_count"] == 12
    assert "16x16" in result.protocol["image_handling"]
    floor = evaluate_real(spec, n=12, image_size=16, extractor=CountingExtractor())
    assert floor.protocol["reference_split"] == "train" and "disjoint" in floor.protocol["generated_selection"]


def test_point_data_uses_the_points_as_features():
    def load(split):
        generator = torch.Generator().manual_seed(0 if split == "test" else 1)
        return SampleSet(0.3 * torch.randn(200, 2, generator=generator), name="blob")

    spec = DatasetSpec(name="blob", summary="2-d blob", loader=load, sample_shape=(2,), splits=("train", "test"))
    good = evaluate(lambda n, labels: torch.randn(n, 2) * 0.3, dataset=spec, n=200, batch_size=64)
    shifted = evaluate(lambda n, labels: torch.randn(n, 2) * 0.3 + 0.6, dataset=spec, n=200, batch_size=64)
    assert good.protocol["extractor"] == "identity"
    assert shifted.metrics["fid"] > good.metrics["fid"] + 0.2


class TinyModel:
    """The two methods evaluate_model needs from a ganzoo generator: latents and decode."""

    name = "tiny"

    def __init__(self, num_classes=None):
        self.num_classes = num_classes
        self.decoded_labels = []
        self.weight = torch.randn(8, 28 * 28, generator=torch.Generator().manual_seed(0))

    def latents(self, n, *, seed=None):
        return torch.randn(n, 8, generator=torch.Generator().manual_seed(seed))

    def decode(self, z, labels=None):
        self.decoded_labels.append(labels)
        return torch.tanh(z @ self.weight).reshape(len(z), 1, 28, 28)


def test_evaluate_model_draws_latents_from_the_seed_whatever_the_batch_size():
    from ganzoo.metrics import evaluate_model

    spec = _tiny_spec()
    small = evaluate_model(TinyModel(), dataset=spec, n=24, batch_size=8, extractor=CountingExtractor())
    large = evaluate_model(TinyModel(), dataset=spec, n=24, batch_size=24, extractor=CountingExtractor())
    assert small.metrics["fid"] == pytest.approx(large.metrics["fid"], rel=1e-6)
    assert "seed 0" in small.protocol["latents"] and small.protocol["model"] == "tiny"
    assert not small.protocol["conditional"]
    model = TinyModel(num_classes=10)
    result = evaluate_model(model, dataset=spec, n=20, batch_size=10, extractor=CountingExtractor())
    assert result.protocol["conditional"] and "conditional_accuracy" in result.metrics
    assert torch.equal(torch.bincount(torch.cat(model.decoded_labels), minlength=10), torch.full((10,), 2))


# --------------------------------------------------------------------------- the protocol as a value


def _noise(n, labels):
    return torch.rand(n, 1, 28, 28) * 2 - 1


def test_the_protocol_value_is_recorded_and_its_constants_are_the_ones_used():
    import json

    from ganzoo.metrics import EvalProtocol

    protocol = EvalProtocol(n=24, seed=5, extractor=CountingExtractor(), kid_subset_size=10, kid_subsets=7, pr_k=2)
    assert json.loads(json.dumps(protocol.as_dict())) == protocol.as_dict()
    assert protocol.as_dict()["extractor"] == "counting" and protocol.as_dict()["kid_subsets"] == 7
    result = evaluate(_noise, dataset=_tiny_spec(), protocol=protocol, batch_size=8)
    record = result.protocol
    assert record["requested"] == protocol.as_dict()
    assert record["kid"]["subsets"] == 7 and record["kid"]["subset_size"] == 10
    assert record["precision_recall"]["k"] == 2 and record["seed"] == 5
    default = evaluate(_noise, dataset=_tiny_spec(), n=24, seed=5, extractor=CountingExtractor(), batch_size=8)
    assert default.metrics["fid"] == result.metrics["fid"]  # the same samples ...
    assert default.metrics["kid_std"] != result.metrics["kid_std"]  # ... measured with other KID subsets
    assert default.protocol["kid"]["subsets"] == 100


def test_a_protocol_and_arguments_must_agree():
    from ganzoo.metrics import EvalProtocol

    protocol = EvalProtocol(n=24, seed=1, extractor="random-conv")
    given = evaluate(_noise, dataset=_tiny_spec(), protocol=protocol, n=24, seed=1)  # agreeing is fine
    assert given.protocol["generated_count"] == 24
    with pytest.raises(ConfigError, match=r"n=30 disagrees with protocol.n=24"):
        evaluate(_noise, dataset=_tiny_spec(), protocol=protocol, n=30)
    with pytest.raises(ConfigError, match=r"seed=2 disagrees with protocol.seed=1"):
        evaluate_real(_tiny_spec(), protocol=protocol, seed=2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"n": 3}, "too small"), ({"kid_subsets": 0}, "kid_subsets"), ({"seed": -1}, "seed"),
     ({"pr_k": 0}, "pr_k"), ({"n": 4.5}, "n must be an integer")],
)
def test_a_bad_protocol_is_refused_in_one_line(fields, message):
    from ganzoo.metrics import EvalProtocol

    with pytest.raises(ConfigError, match=message) as raised:
        EvalProtocol(**fields)
    assert "\n" not in str(raised.value)


def test_a_sampler_of_the_real_split_scores_exactly_as_the_floor():
    """evaluate and evaluate_real share one scoring path: only where the second set comes from differs."""
    spec = _tiny_spec()
    train = spec.load(split="train")
    position = 0

    def replay_train(n, labels):
        nonlocal position
        batch = train.normalise(train.samples[position : position + n])
        position += n
        return batch

    model = evaluate(replay_train, dataset=spec, n=48, batch_size=16, extractor=CountingExtractor())
    floor = evaluate_real(spec, n=48, batch_size=16, extractor=CountingExtractor())
    assert floor.protocol["generated"] == "real 'train'" and model.protocol["generated"] == "generated"
    for name in ("fid", "kid_mean", "kid_std", "precision", "recall", "classes_covered", "class_tv"):
        assert model.metrics[name] == floor.metrics[name], name
    assert "conditional_accuracy" in floor.metrics and "conditional_accuracy" not in model.metrics
    assert model.protocol["requested"] == floor.protocol["requested"]
