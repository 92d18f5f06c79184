"""evaluate() end to end on tiny data with a counting extractor.

Floors, conditional accuracy, seeds, and the protocol as a value that the arguments must agree with.
"""

from __future__ import annotations

import pytest
import torch
from helpers import CountingExtractor, images_uint8, stroke_digits

from ganzoo.data import SampleSet
from ganzoo.errors import ConfigError
from ganzoo.metrics import (
    evaluate,
    evaluate_real,
)
from ganzoo.registry.records import DatasetSpec

# conftest.py gives every test a private XDG_CACHE_HOME, so the stats cache starts empty.


# --------------------------------------------------------------------------- evaluate


def _tiny_spec(name: str = "mnist", count: int = 48) -> DatasetSpec:
    def load(split: str) -> SampleSet:
        images = images_uint8(count, 0 if split == "test" else 1)
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
    assert set(result.metrics) >= {"fid", "kid_mean", "precision", "recall", "classes_covered", "class_tv",
                                   "class_kl"}
    # 40 against 40 with subsets of up to 1000: every subset is the whole of both sets, so KID has no spread
    assert "kid_std" not in result.metrics and "not reported" in result.protocol["kid"]["std"]
    assert "(std not reported: every subset is the whole of both sets" in result.protocol_text()
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
    drawn, _ = stroke_digits()
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
    import ganzoo.registry.catalog

    spec = _tiny_spec("kmnist")
    monkeypatch.setattr(ganzoo.registry.catalog, "get_dataset_spec", lambda name: spec if name == "kmnist" else None)
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
        return SampleSet(images_uint8(40, 0, shape=(3, image_size, image_size)), name="image-folder")

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
    assert default.metrics["kid_mean"] != result.metrics["kid_mean"]  # ... measured with other KID subsets
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
    assert model.metrics.keys() == floor.metrics.keys() - {"conditional_accuracy"}
    for name in ("fid", "kid_mean", "precision", "recall", "classes_covered", "class_tv"):
        assert model.metrics[name] == floor.metrics[name], name
    assert "conditional_accuracy" in floor.metrics and "conditional_accuracy" not in model.metrics
    assert model.protocol["requested"] == floor.protocol["requested"]
