"""Real-image features: the stats cache and its key, and the plumbing of the extractors.

Inception, random-conv and the MNIST classifier are checked on images whose answer is known.
"""

from __future__ import annotations

import pytest
import torch
from helpers import CountingExtractor, images_uint8, stroke_digits

from ganzoo.errors import ConfigError, WeightsError
from ganzoo.metrics import (
    real_features,
    stats_dir,
    stats_key,
)

# conftest.py gives every test a private XDG_CACHE_HOME, so the stats cache starts empty.


# --------------------------------------------------------------------------- stats cache


def test_real_features_are_cached_and_the_second_call_does_not_recompute():
    extractor = CountingExtractor()
    images, labels = images_uint8(30, 0), torch.arange(30) % 3
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
    cached = real_features(images_uint8(12, 2), None, dataset="toy", split="test", extractor=CountingExtractor())
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
    images = images_uint8(12, 1)
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


def test_mnist_classifier_loads_the_shipped_weights_and_reads_drawn_digits():
    from ganzoo_plugins.extractors.mnist_classifier import build, file_sha256, weights_path

    extractor = build()
    assert extractor.weights_sha256 == file_sha256(weights_path())
    assert float(extractor.metadata["test_accuracy"]) >= 0.99
    images, labels = stroke_digits()
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


