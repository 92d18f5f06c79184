"""Every registered model, parametrised over the registry: builds, shapes, gradients, init, options, training.

A model registered by a new plugin is tested here without a line of new test code (timm's
practice): the parameters come from ``ganzoo.list_models()`` and each spec's own config.
Training goes through the real :class:`ganzoo.training.Trainer`, with every loss the model
accepts, on tiny data the tests write (``helpers.tiny_dataset_for``).
"""

from __future__ import annotations

import fnmatch
import functools
import itertools

import pytest
import torch
from helpers import tiny_dataset_for
from torch import nn

import ganzoo
from ganzoo.cards.folder import read_export
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.nn import count_parameters, dcgan_init
from ganzoo.registry.records import call_with_accepted, resolve
from ganzoo.testing.models import unreached_parameters
from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.callbacks import Callback
from ganzoo.training.config import model_config_for

MODELS = ganzoo.list_models()
BATCH = 3


def spec_of(name: str) -> ganzoo.ModelSpec:
    return ganzoo.get_model_spec(name)


def build(spec: ganzoo.ModelSpec, config: dict | None = None) -> tuple[nn.Module, nn.Module]:
    config = dict(spec.config) if config is None else config
    networks = (spec.generator, spec.discriminator)  # one configuration feeds both
    return tuple(call_with_accepted(network, config, shared_with=networks) for network in networks)


def labels_for(generator: nn.Module, count: int = BATCH) -> torch.Tensor | None:
    if generator.num_classes is None:
        return None
    return torch.arange(count) % generator.num_classes


def generate(generator: nn.Module, count: int = BATCH) -> tuple[torch.Tensor, torch.Tensor | None]:
    labels = labels_for(generator, count)
    return generator(torch.randn(count, generator.latent_dim), labels), labels


def dataset_config(spec: ganzoo.ModelSpec, dataset: ganzoo.DatasetSpec) -> dict:
    """The model configuration for ``dataset``, resolved by the trainer's own function."""
    return model_config_for(
        spec, {}, sample_shape=dataset.sample_shape, channels=dataset.channels, num_classes=dataset.num_classes
    )


def fits(spec: ganzoo.ModelSpec, dataset: ganzoo.DatasetSpec) -> bool:
    if spec.datasets:
        return any(fnmatch.fnmatchcase(dataset.name, pattern) for pattern in spec.datasets)
    if spec.conditional and dataset.num_classes is None:
        return False
    # "Any dataset of the right shape": a fixed-size model needs a dataset with a fixed sample shape.
    return dataset.sample_shape is not None or "image_size" in spec.config


MODEL_DATASETS = [
    (model, dataset)
    for model, dataset in itertools.product(MODELS, ganzoo.list_datasets())
    if fits(spec_of(model), ganzoo.get_dataset_spec(dataset))
]

OPTION_VALUES = [
    (model, key, value)
    for model in MODELS
    for key, allowed in spec_of(model).options.items()
    if isinstance(allowed, tuple)
    for value in allowed
]


MODEL_LOSSES = [(model, loss) for model in MODELS for loss in spec_of(model).losses or ganzoo.list_losses()]
"""Each model with each loss it trains with (a spec without ``losses`` takes every registered one)."""


def is_builtin(spec: ganzoo.ModelSpec) -> bool:
    return resolve(spec.generator).__module__.startswith("ganzoo_plugins.")


DEFAULT_GENERATORS = {name: build(spec_of(name))[0] for name in MODELS}
"""Each model's generator at its default config, built once at collection to pick the parameter sets below."""

IMAGE_MODELS = [name for name in MODELS if len(DEFAULT_GENERATORS[name].sample_shape) == 3]

CONV_MODELS = [
    name
    for name in MODELS
    if is_builtin(spec_of(name))
    and any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in DEFAULT_GENERATORS[name].modules())
]


def test_registry_has_the_built_in_models():
    assert {"mlp-gan", "dcgan-mnist", "dcgan-faces", "cgan-mnist"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_protocol_attributes_and_output_shapes(name):
    spec = spec_of(name)
    generator, discriminator = build(spec)
    assert isinstance(generator, ganzoo.Generator) and isinstance(discriminator, ganzoo.Discriminator)
    assert isinstance(generator.latent_dim, int) and generator.latent_dim > 0
    assert isinstance(generator.sample_shape, tuple) and all(isinstance(s, int) for s in generator.sample_shape)
    if "latent_dim" in spec.config:
        assert generator.latent_dim == spec.config["latent_dim"]
    if "sample_shape" in spec.config:
        assert generator.sample_shape == tuple(spec.config["sample_shape"])
    if "image_size" in spec.config:
        assert generator.sample_shape[-2:] == (spec.config["image_size"],) * 2
    expected_classes = spec.config.get("num_classes") if spec.conditional else None
    assert generator.num_classes == expected_classes
    assert discriminator.num_classes == expected_classes

    samples, labels = generate(generator)
    assert samples.shape == (BATCH, *generator.sample_shape)
    assert samples.dtype == torch.float32
    if len(generator.sample_shape) == 3:  # images live in [-1, 1]
        assert samples.min() >= -1 and samples.max() <= 1
    logits = discriminator(samples, labels)
    assert logits.shape == (BATCH,)


@pytest.mark.parametrize(("name", "dataset"), MODEL_DATASETS)
def test_shapes_for_each_dataset_the_model_trains_on(name, dataset):
    spec, data = spec_of(name), ganzoo.get_dataset_spec(dataset)
    config = dataset_config(spec, data)
    generator, discriminator = build(spec, config)
    if data.sample_shape is not None:
        expected = data.sample_shape
    else:
        expected = (data.channels, config["image_size"], config["image_size"])
    assert generator.sample_shape == expected
    samples, labels = generate(generator, 2)
    assert samples.shape == (2, *expected)
    real = torch.rand(2, *expected) * 2 - 1
    assert discriminator(real, labels).shape == (2,)


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_finite_nonzero_gradient(name):
    torch.manual_seed(0)
    generator, discriminator = build(spec_of(name))
    samples, labels = generate(generator, 4)
    discriminator(samples, labels).mean().backward()
    for module_name, module in (("generator", generator), ("discriminator", discriminator)):
        for parameter_name, parameter in module.named_parameters():
            where = f"{name} {module_name}.{parameter_name}"
            assert parameter.grad is not None, f"{where} gets no gradient"
            assert torch.isfinite(parameter.grad).all(), f"{where} has a non-finite gradient"
    # an all-zero gradient is allowed only behind a zero-initialised layer (fix-up init), which moves at step 1
    assert unreached_parameters(generator, discriminator, labels) == [], f"{name}: all-zero gradients"


@pytest.mark.parametrize("name", MODELS)
def test_labels_are_required_by_conditional_models_and_ignored_by_others(name):
    spec = spec_of(name)
    generator, discriminator = build(spec)
    generator.eval()
    z = torch.randn(4, generator.latent_dim)
    if spec.conditional:
        with pytest.raises(GanzooError, match="labels"):
            generator(z)
        with pytest.raises(GanzooError, match="labels"):
            discriminator(torch.zeros(4, *generator.sample_shape))
        with pytest.raises(GanzooError, match="shape"):
            generator(z, torch.zeros(3, dtype=torch.long))
        zeros, ones = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
        assert not torch.allclose(generator(z, zeros), generator(z, ones))
    else:
        with torch.no_grad():
            assert torch.equal(generator(z), generator(z, torch.arange(4)))
            x = generator(z)
            discriminator.eval()
            assert torch.equal(discriminator(x), discriminator(x, torch.arange(4)))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_channels_last_gives_the_same_results(name):
    torch.manual_seed(0)
    generator, discriminator = build(spec_of(name))
    generator.eval()
    discriminator.eval()
    z = torch.randn(2, generator.latent_dim)
    labels = labels_for(generator, 2)
    with torch.no_grad():
        expected_images = generator(z, labels)
        expected_logits = discriminator(expected_images, labels)
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
        images = generator(z, labels)
        logits = discriminator(expected_images.contiguous(memory_format=torch.channels_last), labels)
    assert torch.allclose(images, expected_images, atol=1e-5)
    assert torch.allclose(logits, expected_logits, atol=1e-5)


@pytest.mark.parametrize(("name", "key", "value"), OPTION_VALUES)
def test_every_allowed_option_value_builds(name, key, value):
    """E.g. dcgan-faces at image_size=128 (with its preset latent_dim=200)."""
    spec = spec_of(name)
    config = {**spec.config, key: value, **spec.presets.get(f"{key}={value}", {})}
    generator, discriminator = build(spec, config)
    if "latent_dim" in config:
        assert generator.latent_dim == config["latent_dim"]
    samples, labels = generate(generator, 2)
    if key == "image_size":
        assert samples.shape[-2:] == (value, value)
    assert discriminator(samples, labels).shape == (2,)


def test_dcgan_faces_128_layout():
    spec = spec_of("dcgan-faces")
    generator, discriminator = build(spec, {**spec.config, "image_size": 128, "latent_dim": 200})
    assert generator.latent_dim == 200 and generator.sample_shape == (3, 128, 128)
    first = next(m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d))
    assert (first.in_channels, first.out_channels) == (200, 64 * 16)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6 and convs[-1].in_channels == 64 * 16


def test_dcgan_faces_rejects_other_image_sizes():
    spec = spec_of("dcgan-faces")
    for builder in (spec.generator, spec.discriminator):
        with pytest.raises(ConfigError, match=r"image_size must be one of 64, 128"):
            networks = (spec.generator, spec.discriminator)
            call_with_accepted(builder, {**spec.config, "image_size": 96}, shared_with=networks)


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="latent_dim"):
        call_with_accepted(spec_of("mlp-gan").generator, {"latent_dim": 0})
    with pytest.raises(ConfigError, match="sample_shape"):
        call_with_accepted(spec_of("mlp-gan").discriminator, {"sample_shape": ()})


def test_dcgan_mnist_layer_sizes_follow_width():
    spec = spec_of("dcgan-mnist")
    generator, discriminator = build(spec)
    g_channels = [m.out_channels for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    d_channels = [m.out_channels for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert g_channels == [112, 56, 28, 1]
    assert d_channels == [28, 56, 112, 1]


def _layers(module: nn.Module) -> list[str]:
    """Each leaf layer as ``Type(in->out, k, s, p)``: the architecture as the issue writes it."""
    words = []
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            words.append(f"{type(layer).__name__}({layer.in_channels}->{layer.out_channels}, k{layer.kernel_size[0]}, "
                         f"s{layer.stride[0]}, p{layer.padding[0]})")
        elif isinstance(layer, nn.Linear):
            words.append(f"Linear({layer.in_features}->{layer.out_features})")
        elif isinstance(layer, (nn.MaxPool2d, nn.ReLU, nn.Tanh, nn.Dropout, nn.Dropout2d)):
            words.append(type(layer).__name__ + (f"({layer.p})" if hasattr(layer, "p") else ""))
    return words


def test_cnn_gan_is_the_lightning_tutorial_architecture_with_a_tanh():
    generator, discriminator = build(spec_of("cnn-gan"))
    assert _layers(generator) == [
        "Linear(100->3136)", "ReLU", "ConvTranspose2d(64->32, k4, s2, p1)", "ReLU",
        "ConvTranspose2d(32->16, k4, s2, p1)", "ReLU", "Conv2d(16->1, k7, s1, p3)", "Tanh",
    ]
    assert _layers(discriminator) == [
        "Conv2d(1->10, k5, s1, p0)", "MaxPool2d", "ReLU", "Conv2d(10->20, k5, s1, p0)", "Dropout2d(0.5)",
        "MaxPool2d", "ReLU", "Linear(320->50)", "ReLU", "Dropout(0.5)", "Linear(50->1)",
    ]
    assert (count_parameters(generator), count_parameters(discriminator)) == (358529, 21381)
    images = generator(torch.full((2, 100), 50.0))
    assert images.shape == (2, 1, 28, 28) and images.abs().max() <= 1  # the Tanh: far latents saturate, never leave
    discriminator.eval()
    assert discriminator(images).shape == (2,)
    spec = spec_of("cnn-gan")
    assert spec.hyperparameters == {"batch_size": 128, "lr": 2e-4, "betas": (0.5, 0.999)}
    assert spec.default_dataset == "mnist" and set(spec.datasets) == {"mnist", "fashion-mnist", "kmnist"}


def test_mlp_gan_on_2d_points_and_its_batchnorm_momentum():
    generator, discriminator = build(spec_of("mlp-gan"), {"latent_dim": 8, "sample_shape": (2,)})
    points = generator(torch.randn(5, 8))
    assert points.shape == (5, 2)
    assert discriminator(points).shape == (5,)
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 2
    assert all(m.momentum == pytest.approx(0.2) and m.eps == pytest.approx(1e-5) for m in norms)
    classic = call_with_accepted(spec_of("mlp-gan").generator, {"sample_shape": (2,), "bn_eps": 0.8})
    assert [m.eps for m in classic.modules() if isinstance(m, nn.BatchNorm1d)] == [0.8, 0.8]
    with pytest.raises(ConfigError, match="bn_eps"):
        call_with_accepted(spec_of("mlp-gan").generator, {"bn_eps": 0})


def test_the_convolutional_built_ins_are_found():
    assert {"dcgan-mnist", "dcgan-faces"} <= set(CONV_MODELS)


# r3gan follows its paper's variance-scaled init with zero-initialised branches instead (tests/test_r3gan.py)
DCGAN_INIT_MODELS = [name for name in CONV_MODELS if name != "r3gan"]


@pytest.mark.parametrize("name", DCGAN_INIT_MODELS)
def test_convolutional_built_ins_use_the_dcgan_init(name):
    torch.manual_seed(0)
    for module in build(spec_of(name)):
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if layer.weight.numel() >= 400:
                    assert layer.weight.std().item() == pytest.approx(0.02, rel=0.15), layer
                    assert abs(layer.weight.mean().item()) < 0.005, layer
                if layer.bias is not None:
                    assert torch.count_nonzero(layer.bias) == 0, layer
            elif isinstance(layer, nn.BatchNorm2d):
                assert abs(layer.weight.mean().item() - 1.0) < 0.02, layer
                assert 0.005 < layer.weight.std().item() < 0.04, layer
                assert torch.count_nonzero(layer.bias) == 0, layer


def test_dcgan_init_and_count_parameters():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 64, 4), nn.BatchNorm2d(64), nn.Linear(64, 64), nn.Embedding(10, 4))
    embedding_before = model[3].weight.clone()
    assert dcgan_init(model) is model
    assert model[0].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert model[2].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.count_nonzero(model[0].bias) == 0 and torch.count_nonzero(model[1].bias) == 0
    assert model[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(model[3].weight, embedding_before)  # embeddings keep their own init
    expected = (3 * 64 * 16 + 64) + 2 * 64 + (64 * 64 + 64) + 10 * 4
    assert count_parameters(model) == expected
    model[3].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == expected - 40


# ---------------------------------------------------------------- training, by the real trainer


class GradientProbe(Callback):
    """Watches every parameter of G and D through the run's real steps: which got a gradient at all (is in
    the graph), which a non-zero one in some backward pass, and which ever a non-finite one. A tensor hook
    only observes: it returns None, so the gradients are the trainer's own."""

    def on_train_start(self, run) -> None:
        self.computed: set[str] = set()
        self.reached: dict[str, bool] = {}
        self.non_finite: set[str] = set()
        self.handles = []
        for role, network in (("generator", run.generator), ("discriminator", run.discriminator)):
            for name, parameter in network.named_parameters():
                key = f"{role}.{name}"
                self.reached[key] = False
                self.handles.append(parameter.register_hook(functools.partial(self._record, key)))

    def _record(self, key: str, grad: torch.Tensor) -> None:
        self.computed.add(key)
        if not torch.isfinite(grad).all():
            self.non_finite.add(key)
        elif grad.abs().sum() > 0:
            self.reached[key] = True

    def teardown(self, run) -> None:
        for handle in self.handles:
            handle.remove()


def parameters_of(trainer: Trainer) -> dict[str, torch.Tensor]:
    networks = (("generator", trainer.generator), ("discriminator", trainer.discriminator))
    return {f"{role}.{name}": p.detach().clone() for role, net in networks for name, p in net.named_parameters()}


def states_equal(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k].cpu()) for k in first)


def test_the_training_cases_cover_every_loss():
    assert {(model, loss) for model in ("mlp-gan", "dcgan-mnist") for loss in ganzoo.list_losses()} <= set(MODEL_LOSSES)


@pytest.mark.parametrize(("name", "loss"), MODEL_LOSSES)
def test_the_trainer_trains_each_model_with_each_loss_and_exports_what_it_trained(name, loss, tmp_path):
    """Two real steps: gradients reach every parameter of G and D, every weight moves, and the export
    holds exactly the trained weights, which load and save back unchanged."""
    spec = spec_of(name)
    dataset, root = tiny_dataset_for(spec, tmp_path)
    probe = GradientProbe()
    trainer = Trainer(
        TrainConfig(
            name, dataset=dataset, data_dir=root, loss=loss, steps=2, batch_size=4, limit=8, device="cpu",
            quiet=True, out=tmp_path / "run", num_samples=4, log_every=1000, sample_every=1000,
            checkpoint_every=1000,
        ),
        callbacks=[probe],
    ).prepare()
    before = parameters_of(trainer)
    result = trainer.run()

    assert result.steps == 2 and trainer.state.config.loss == loss
    assert probe.non_finite == set(), f"non-finite gradients in {sorted(probe.non_finite)}"
    assert probe.reached.keys() == before.keys()
    missing = sorted(before.keys() - probe.computed)
    assert missing == [], f"{name} with {loss}: no gradient was computed for {missing}"
    after = parameters_of(trainer)
    zero = [key for key, reached in probe.reached.items() if not reached]
    unchanged = [key for key in before if torch.equal(before[key], after[key])]
    assert unchanged == zero, f"{name} with {loss}: unchanged {unchanged}, zero gradients {zero}: they must match"
    # A loss may be blind to a parameter: the Wasserstein loss (and hinge, while every margin is active)
    # does not change when all logits shift alike, so the critic's output bias gets exactly zero gradient.
    # The generator is seen by every loss, and the model's own loss sees every parameter.
    allowed = [] if loss == spec.default_loss else [key for key in zero if key.startswith("discriminator.")]
    assert zero == allowed, f"{name} with {loss}: no gradient reached {zero}"

    document, g_state, d_state = read_export(result.export_dir, ema=False)
    assert document["model"] == name and document["loss"] == loss
    assert states_equal(g_state, trainer.generator.state_dict())
    assert states_equal(d_state, trainer.discriminator.state_dict())
    assert states_equal(ganzoo.load(result.export_dir, ema=False).generator.state_dict(),
                        trainer.generator.state_dict())
    loaded = ganzoo.load(result.export_dir)  # the moving average, which image runs keep by default
    expected = trainer.state.sampler.state_dict()
    assert loaded.ema == (trainer.state.ema is not None)
    assert states_equal(loaded.generator.state_dict(), expected)
    again = ganzoo.load(ganzoo.save(loaded, tmp_path / "saved", samples=False))
    assert states_equal(again.generator.state_dict(), loaded.generator.state_dict())
    assert torch.equal(again.sample(4, seed=0), loaded.sample(4, seed=0))
