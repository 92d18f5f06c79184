"""Contract checks for plugin authors: one line in a plugin's test suite tests every record it registers.

A plugin's models, losses and datasets are checked against the contract the rest of
ganzoo relies on, so that a model that passes here trains with ``ganzoo train``, exports,
and loads with ``ganzoo.load``. The built-in plugins are tested with these same checks
(``tests/test_contract.py``).

In a plugin's own tests::

    import ganzoo.testing

    test_ganzoo_contract = ganzoo.testing.contract_tests("ganzoo-foo")

or, to add fixtures or marks of your own::

    @ganzoo.testing.parametrize_plugin("ganzoo-foo")
    def test_contract(check, tmp_path):
        check(tmp_path)

``"ganzoo-foo"`` may be the plugin's entry-point name, its distribution or its module.
Each record gets one test per aspect (``model:foo-gan:train``, ``loss:foo-loss:values``,
...). The single functions :func:`check_model`, :func:`check_loss` and
:func:`check_dataset` run all aspects of one record. A failure raises
:class:`ContractError` (an ``AssertionError``) whose message names the plugin, the record
and what is wrong.

What is checked:

* **models**: both networks build from the spec's config and satisfy the
  ``Generator``/``Discriminator`` protocols; the generator's output has its declared
  shape (images in ``[-1, 1]``) for every registered dataset the model trains on; the
  discriminator gives one logit per sample; every trainable parameter of both networks
  gets a finite, non-zero gradient; two steps through the real ``Trainer`` change every
  trainable parameter and write an export whose safetensors weights load back with
  ``ganzoo.load`` into a generator that reproduces the trained one; packaged pretrained
  weights (``WeightsSpec``) load, match their hash and record, and have their card.
  Training runs on tiny data the check makes itself (random images or points of the
  dataset's shape); embedded datasets are used as they are. Nothing is downloaded.
* **losses**: finite float32 scalars for ``(N,)`` and ``(N, 1)`` logits, extreme ones
  included; D's loss falls as real logits rise and as fake logits fall; G's loss falls as
  fake logits rise; a ``penalty`` (if defined) is a finite, non-negative scalar that
  trains the discriminator.
* **datasets**: each split loads as a ``SampleSet`` of the declared sample shape,
  channels and classes. A dataset that needs files is loaded from the root you pass
  (``data_roots={"name": path}``); without one, its shape check is skipped with a reason
  saying so, and what is checked instead is that loading from an empty folder fails with
  a one-line ``GanzooError`` rather than a traceback.

This module imports torch (and pytest, for the parametrising helpers) only when a check
runs or is collected.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GanzooError
from .registry import get_registry
from .specs import DEFAULT_CARD_PACKAGE, DatasetSpec, LossSpec, ModelSpec, call_with_accepted

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = [
    "Check",
    "ContractError",
    "check_dataset",
    "check_loss",
    "check_model",
    "contract_checks",
    "contract_tests",
    "model_datasets",
    "parametrize_plugin",
]

TRAIN_STEPS = 2
TRAIN_BATCH = 4
SYNTHETIC_SAMPLES = 16
SYNTHETIC_IMAGE_SIZE = 16
"""Image size for datasets that resize to the model's size when the model fixes none."""

DataRoots = Mapping[str, "str | os.PathLike[str]"]


class ContractError(AssertionError):
    """A plugin record breaks the contract; the message names the plugin, the record and the fault."""


def _fail(kind: str, spec: Any, problem: str) -> ContractError:
    return ContractError(f"plugin {spec.plugin or '?'!r}, {kind} {spec.name!r}: {problem}")


# ---------------------------------------------------------------------------------------------
# Selecting records


def _plugin_names(plugin: str) -> set[str]:
    """Registry plugin names (``PluginInfo.name``) that ``plugin`` may refer to."""
    registry = get_registry()
    wanted = plugin.strip()
    normal = wanted.replace("_", "-").lower()
    names = set()
    for info in registry.plugins:
        module = info.module.partition(":")[0]
        keys = {info.name, info.distribution, module, module.split(".")[0]}
        if wanted in keys or normal in {k.replace("_", "-").lower() for k in keys}:
            names.add(info.name)
    if not names:
        known = sorted({p.name for p in registry.plugins} | {p.distribution for p in registry.plugins})
        raise GanzooError(
            f"no loaded plugin is called {plugin!r} (by entry-point name, distribution or module); "
            f"loaded: {', '.join(known)}. Is the package installed in this environment?"
        )
    failed = [info for info in registry.plugins if info.name in names and info.error]
    if failed:
        raise ContractError(f"plugin {failed[0].name!r} failed to load: {failed[0].error}")
    return names


def model_datasets(spec: ModelSpec) -> list[str]:
    """Registered datasets the model trains on: its ``datasets`` patterns, or any of a shape it can take."""
    registry = get_registry()
    found = []
    for name in registry.datasets.names():
        data = registry.datasets.records[name]
        if spec.datasets:
            if spec.trains_on(name):
                found.append(name)
            continue
        if spec.conditional and data.num_classes is None:
            continue
        if data.sample_shape is not None or "image_size" in spec.config:
            found.append(name)
    return found


# ---------------------------------------------------------------------------------------------
# Models


def _config_for(spec: ModelSpec, data: DatasetSpec | None) -> dict[str, Any]:
    """The constructor configuration for ``data``, as the trainer resolves it (the trainer's own function)."""
    from .training.config import model_config_for

    if data is None:
        return model_config_for(spec, {})
    return model_config_for(
        spec, {}, sample_shape=data.sample_shape, channels=data.channels, num_classes=data.num_classes
    )


def _build(spec: ModelSpec, config: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    from torch import nn

    built = []
    for role in ("generator", "discriminator"):
        try:
            module = call_with_accepted(getattr(spec, role), config)
        except Exception as error:
            raise _fail("model", spec, f"the {role} does not build from config {dict(config)}: {error!r}") from error
        if not isinstance(module, nn.Module):
            raise _fail("model", spec, f"the {role} builder returned a {type(module).__name__}, not a torch Module")
        built.append(module)
    return built[0], built[1]


def _labels(generator: nn.Module, count: int) -> torch.Tensor | None:
    import torch

    classes = getattr(generator, "num_classes", None)
    return None if classes is None else torch.arange(count) % int(classes)


def _expected_shape(spec: ModelSpec, data: DatasetSpec | None, config: Mapping[str, Any]) -> tuple[int, ...] | None:
    if data is None:
        return None
    if data.sample_shape is not None:
        return tuple(data.sample_shape)
    size = config.get("image_size")
    return (data.channels, size, size) if data.channels and size else None


def _check_outputs(
    spec: ModelSpec, generator: nn.Module, discriminator: nn.Module, expected: tuple[int, ...] | None, where: str
) -> None:
    import torch

    count = 3
    shape = tuple(generator.sample_shape)
    if expected is not None and shape != expected:
        raise _fail("model", spec, f"{where}: generator.sample_shape is {shape}, expected {expected}")
    labels = _labels(generator, count)
    with torch.no_grad():
        samples = generator(torch.randn(count, generator.latent_dim), labels)
        if tuple(samples.shape) != (count, *shape):
            raise _fail("model", spec, f"{where}: generator output has shape {tuple(samples.shape)}, "
                        f"expected {(count, *shape)} (N, *sample_shape)")
        if samples.dtype != torch.float32:
            raise _fail("model", spec, f"{where}: generator output is {samples.dtype}, expected torch.float32")
        if not torch.isfinite(samples).all():
            raise _fail("model", spec, f"{where}: generator output has non-finite values")
        if len(shape) == 3 and (samples.min() < -1 or samples.max() > 1):
            raise _fail("model", spec, f"{where}: images must lie in [-1, 1] (end the generator with Tanh), got "
                        f"[{samples.min().item():.3g}, {samples.max().item():.3g}]")
        logits = discriminator(samples, labels)
    if tuple(logits.shape) not in ((count,), (count, 1)):
        raise _fail("model", spec, f"{where}: discriminator output has shape {tuple(logits.shape)}, expected "
                    f"({count},) or ({count}, 1): one logit per sample")


def _model_build(spec: ModelSpec) -> None:
    import ganzoo

    registry = get_registry()
    if spec.default_loss not in registry.losses.records:
        raise _fail("model", spec, f"default_loss {spec.default_loss!r} is not a registered loss")
    if spec.default_dataset and spec.default_dataset not in registry.datasets.records:
        raise _fail("model", spec, f"default_dataset {spec.default_dataset!r} is not a registered dataset")
    generator, discriminator = _build(spec, spec.config)
    if not isinstance(generator, ganzoo.Generator):
        raise _fail("model", spec, "the generator lacks latent_dim, num_classes or sample_shape (ganzoo.Generator)")
    if not isinstance(discriminator, ganzoo.Discriminator):
        raise _fail("model", spec, "the discriminator lacks num_classes (ganzoo.Discriminator)")
    if isinstance(generator.latent_dim, bool) or not isinstance(generator.latent_dim, int) or generator.latent_dim < 1:
        raise _fail("model", spec, f"generator.latent_dim must be a positive int, got {generator.latent_dim!r}")
    shape = generator.sample_shape
    if not isinstance(shape, tuple) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise _fail("model", spec, f"generator.sample_shape must be a tuple of positive ints, got {shape!r}")
    if spec.conditional and not generator.num_classes:
        raise _fail("model", spec, "the spec says conditional=True but generator.num_classes is not set")
    if not spec.conditional and generator.num_classes is not None:
        raise _fail("model", spec, "generator.num_classes is set but the spec does not say conditional=True")
    if discriminator.num_classes != generator.num_classes:
        raise _fail("model", spec, f"discriminator.num_classes ({discriminator.num_classes!r}) differs from "
                    f"generator.num_classes ({generator.num_classes!r})")
    _check_outputs(spec, generator, discriminator, None, "default config")


def _model_datasets(spec: ModelSpec) -> None:
    registry = get_registry()
    names = model_datasets(spec)
    if not names:
        patterns = ", ".join(spec.datasets) or "any dataset of its sample shape"
        raise _fail("model", spec, f"no registered dataset matches what it trains on ({patterns})")
    for name in names:
        data = registry.datasets.records[name]
        config = _config_for(spec, data)
        generator, discriminator = _build(spec, config)
        _check_outputs(spec, generator, discriminator, _expected_shape(spec, data, config), f"on dataset {name!r}")


def _model_gradients(spec: ModelSpec) -> None:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        generator, discriminator = _build(spec, spec.config)
        labels = _labels(generator, 4)
        fake = generator(torch.randn(4, generator.latent_dim), labels)
        discriminator(fake, labels).float().mean().backward()
    for role, module in (("generator", generator), ("discriminator", discriminator)):
        for name, parameter in module.named_parameters():
            if not parameter.requires_grad:
                continue
            if parameter.grad is None:
                raise _fail("model", spec, f"{role}.{name} gets no gradient from D(G(z)): is it used in forward()?")
            if not torch.isfinite(parameter.grad).all():
                raise _fail("model", spec, f"{role}.{name} gets a non-finite gradient")
            if not parameter.grad.abs().sum() > 0:
                raise _fail("model", spec, f"{role}.{name} gets an all-zero gradient")


def _synthetic_loader(data: DatasetSpec) -> Callable[..., Any]:
    """A loader of random samples shaped like ``data``'s: uint8 images, or float points in [-0.9, 0.9]."""

    def load(split: str = "train", image_size: int | None = None) -> Any:
        import torch

        from .data import SampleSet

        generator = torch.Generator().manual_seed(0)
        if data.sample_shape is not None:
            shape = tuple(data.sample_shape)
        else:
            size = image_size or SYNTHETIC_IMAGE_SIZE
            shape = (data.channels or 3, size, size)
        image = data.channels is not None or len(shape) == 3
        if image:
            samples = torch.randint(0, 256, (SYNTHETIC_SAMPLES, *shape), generator=generator, dtype=torch.uint8)
        else:
            samples = torch.rand((SYNTHETIC_SAMPLES, *shape), generator=generator) * 1.8 - 0.9
        labels = None
        classes = None
        if data.num_classes:
            labels = torch.arange(SYNTHETIC_SAMPLES) % data.num_classes
            classes = [str(k) for k in range(data.num_classes)]
        return SampleSet(samples, labels, name=data.name, classes=classes)

    return load


@contextlib.contextmanager
def _dataset_for_training(name: str) -> Iterator[None]:
    """Swap the registry's record of a dataset that needs files for one of random data, then put it back."""
    records = get_registry().datasets.records
    original = records[name]
    if original.embedded:
        yield
        return
    records[name] = dataclasses.replace(original, loader=_synthetic_loader(original), embedded=True)
    try:
        yield
    finally:
        records[name] = original


def _training_dataset(spec: ModelSpec) -> str:
    names = model_datasets(spec)
    if not names:
        raise _fail("model", spec, "no registered dataset to train on (see its 'datasets' check)")
    if spec.default_dataset in names:
        return spec.default_dataset
    embedded = [n for n in names if get_registry().datasets.records[n].embedded]
    return (embedded or names)[0]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny batches run fastest on one thread, and a busy CI machine cannot make threads spin-wait."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _folder(out: str | os.PathLike[str] | None) -> Iterator[Path]:
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-") as folder:
        yield Path(folder)


def _model_train(spec: ModelSpec, out: str | os.PathLike[str] | None = None, steps: int = TRAIN_STEPS) -> None:
    import torch

    import ganzoo

    from .export import WEIGHTS_NAME, read_export
    from .training import TrainConfig, Trainer

    dataset = _training_dataset(spec)
    with _folder(out) as folder, _dataset_for_training(dataset), torch.random.fork_rng(devices=[]), _one_thread():
        config = TrainConfig(
            spec.name, dataset=dataset, steps=steps, batch_size=TRAIN_BATCH, device="cpu", out=folder / spec.name,
            quiet=True, num_samples=4, limit=SYNTHETIC_SAMPLES, log_every=1, sample_every=10_000,
            checkpoint_every=10_000,
        )
        trainer = Trainer(config)

        def parameters() -> dict[str, torch.Tensor]:
            networks = (("generator", trainer.generator), ("discriminator", trainer.discriminator))
            return {f"{role}.{name}": p for role, module in networks for name, p in module.named_parameters()}

        try:
            trainer.prepare()
            before = {name: p.detach().clone() for name, p in parameters().items() if p.requires_grad}
            result = trainer.run()
        except GanzooError as error:
            raise _fail("model", spec, f"training {steps} steps on {dataset!r} failed: {error}") from error
        after = parameters()
        unchanged = [name for name, value in before.items() if torch.equal(value, after[name].detach())]
        if unchanged:
            raise _fail("model", spec, f"{steps} training steps left {', '.join(unchanged[:5])} unchanged: no loss "
                        "term reaches it (e.g. an output bias under a Wasserstein loss, where it cancels)")
        weights = result.export_dir / WEIGHTS_NAME
        if not weights.is_file():
            raise _fail("model", spec, f"training wrote no {WEIGHTS_NAME} in {result.export_dir}")
        try:
            loaded = ganzoo.load(result.export_dir)
            _, _, d_state = read_export(result.export_dir)
        except GanzooError as error:
            raise _fail("model", spec, f"its export does not load back: {error}") from error
        generator = trainer.generator.cpu().eval()
        generator_state = {k: v.contiguous() for k, v in generator.state_dict().items()}
        for key, value in loaded.generator.state_dict().items():
            if key not in generator_state or not torch.equal(value, generator_state[key]):
                raise _fail("model", spec, f"generator tensor {key!r} differs after the safetensors round trip")
        discriminator = trainer.discriminator.cpu()
        d_expected = {k: v.contiguous() for k, v in discriminator.state_dict().items()}
        if set(d_state) != set(d_expected) or any(not torch.equal(d_state[k], d_expected[k]) for k in d_state):
            raise _fail("model", spec, "the exported discriminator tensors differ from the trained discriminator")
        z = torch.randn(3, generator.latent_dim)
        labels = _labels(generator, 3)
        with torch.no_grad():
            expected, again = generator(z, labels), loaded.generator.eval()(z, labels)
        if not torch.allclose(expected, again, atol=1e-6):
            raise _fail("model", spec, "the loaded generator does not reproduce the trained one's samples: "
                        "is every constructor argument in the spec's config?")


def _model_weights(spec: ModelSpec) -> None:
    from importlib import resources

    import ganzoo

    for weights in spec.weights:
        where = f"weights {spec.name}.{weights.tag}"
        if weights.card:
            package = weights.card_package or DEFAULT_CARD_PACKAGE
            try:
                found = (resources.files(package) / weights.card).is_file()
            except ModuleNotFoundError:
                found = False
            if not found:
                raise _fail("model", spec, f"{where}: card {weights.card!r} is not in package {package!r}")
        if weights.dataset not in get_registry().datasets.records:
            raise _fail("model", spec, f"{where}: dataset {weights.dataset!r} is not a registered dataset")
        if not (weights.package and weights.filename):
            continue  # download-only weights: checking them would need the network
        try:
            loaded = ganzoo.load(f"{spec.name}.{weights.tag}", download=False)
        except GanzooError as error:
            raise _fail("model", spec, f"{where} do not load: {error}") from error
        if weights.num_params is not None and loaded.num_params != weights.num_params:
            raise _fail("model", spec, f"{where}: the record says {weights.num_params} parameters, the generator "
                        f"has {loaded.num_params}")


_MODEL_ASPECTS: dict[str, Callable[..., None]] = {
    "build": _model_build,
    "datasets": _model_datasets,
    "gradients": _model_gradients,
    "train": _model_train,
    "weights": _model_weights,
}


def _model_aspects(spec: ModelSpec) -> list[str]:
    """The aspects checked for ``spec``: all, less ``weights`` when it ships none."""
    return [aspect for aspect in _MODEL_ASPECTS if aspect != "weights" or spec.weights]


def _check_model_aspect(spec: ModelSpec, aspect: str, out: str | os.PathLike[str] | None) -> None:
    """One aspect; only training writes files (under ``out``, else a temporary folder)."""
    if aspect == "train":
        _model_train(spec, out)
    else:
        _MODEL_ASPECTS[aspect](spec)


def check_model(name: str, *, out: str | os.PathLike[str] | None = None) -> None:
    """Run every model check on the registered model ``name`` (training writes under ``out``, else a temp dir)."""
    spec = get_registry().models.get(name)
    with _one_thread():
        for aspect in _model_aspects(spec):
            _check_model_aspect(spec, aspect, out)


# ---------------------------------------------------------------------------------------------
# Losses


def _scalar(spec: LossSpec, value: Any, what: str) -> float:
    import torch

    if not isinstance(value, torch.Tensor) or value.shape != ():
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise _fail("loss", spec, f"{what} must be a scalar tensor (shape ()), got {shape}")
    if value.dtype != torch.float32:
        raise _fail("loss", spec, f"{what} must be float32, got {value.dtype}")
    if not torch.isfinite(value):
        raise _fail("loss", spec, f"{what} is not finite ({value.item()})")
    return float(value.detach())


def check_loss(name: str) -> None:
    """Check the registered loss ``name``: protocol, finite scalars, sign conventions and any penalty."""
    import torch

    import ganzoo

    spec = get_registry().losses.get(name)
    try:
        loss = spec.build()
    except Exception as error:
        raise _fail("loss", spec, f"does not build with no options: {error!r}") from error
    if not isinstance(loss, ganzoo.Loss):
        raise _fail("loss", spec, "the built object lacks name, d_steps, discriminator_loss or generator_loss")
    if isinstance(loss.d_steps, bool) or not isinstance(loss.d_steps, int) or loss.d_steps < 1:
        raise _fail("loss", spec, f"d_steps must be a positive int, got {loss.d_steps!r}")

    def d(real: float | torch.Tensor, fake: float | torch.Tensor, what: str) -> float:
        real = real if isinstance(real, torch.Tensor) else torch.full((4,), float(real))
        fake = fake if isinstance(fake, torch.Tensor) else torch.full((4,), float(fake))
        return _scalar(spec, loss.discriminator_loss(real, fake), f"discriminator_loss on {what}")

    def g(fake: float | torch.Tensor, what: str) -> float:
        fake = fake if isinstance(fake, torch.Tensor) else torch.full((4,), float(fake))
        return _scalar(spec, loss.generator_loss(fake), f"generator_loss on {what}")

    real = torch.tensor([0.3, -1.2, 2.0, 0.0])
    fake = torch.tensor([-0.4, 0.9, 0.2, -3.0])
    flat_d, flat_g = d(real, fake, "(N,) logits"), g(fake, "(N,) logits")
    column_d, column_g = d(real[:, None], fake[:, None], "(N, 1) logits"), g(fake[:, None], "(N, 1) logits")
    if abs(flat_d - column_d) > 1e-5 or abs(flat_g - column_g) > 1e-5:
        raise _fail("loss", spec, "gives different values for logits of shape (N,) and (N, 1); flatten them")
    big = torch.tensor([60.0, -60.0, 30.0, -30.0])
    d(big, -big, "extreme logits (+-60)")
    d(-big, big, "extreme logits (+-60)")
    g(big, "extreme logits (+-60)")
    g(-big, "extreme logits (+-60)")
    # Within these values every classic loss is strictly monotone (LSGAN's D wants fake logits at 0).
    if not d(0.5, 0.0, "real 0.5, fake 0") < d(-0.5, 0.0, "real -0.5, fake 0"):
        raise _fail("loss", spec, "discriminator_loss must fall as real logits rise (-0.5 -> 0.5): "
                    "D's logits are 'higher is more real'")
    if not d(0.5, 0.0, "real 0.5, fake 0") < d(0.5, 0.5, "real 0.5, fake 0.5"):
        raise _fail("loss", spec, "discriminator_loss must fall as fake logits fall (0.5 -> 0): "
                    "D's logits are 'higher is more real'")
    if not g(0.5, "fake 0.5") < g(0.0, "fake 0"):
        raise _fail("loss", spec, "generator_loss must fall as fake logits rise (0 -> 0.5): G wants D to score "
                    "its samples as real")
    penalty = getattr(loss, "penalty", None)
    if penalty is not None:
        _check_penalty(spec, penalty)


def _check_penalty(spec: LossSpec, penalty: Callable[..., Any]) -> None:
    import torch
    from torch import nn

    class Critic(nn.Module):
        num_classes = None

        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return self.net(x).flatten()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        critic = Critic()
        with torch.no_grad():  # steep enough that its gradient norms exceed 1: one-sided penalties act too
            for parameter in critic.parameters():
                parameter.mul_(8.0)
        real, fake = torch.rand(4, 2, 2, 2) * 2 - 1, torch.rand(4, 2, 2, 2) * 2 - 1
        value = penalty(critic, real, fake, None)
        number = _scalar(spec, value.float() if hasattr(value, "float") else value, "penalty(D, real, fake, labels)")
        if number < 0:
            raise _fail("loss", spec, f"penalty must be >= 0, got {number}")
        if not value.requires_grad:
            raise _fail("loss", spec, "penalty has no gradient: build it with create_graph=True so it trains D")
        value.backward()
    if all(p.grad is None or not p.grad.abs().sum() > 0 for p in critic.parameters()):
        raise _fail("loss", spec, "penalty gives the discriminator no gradient")


# ---------------------------------------------------------------------------------------------
# Datasets


def _needs_files(spec: DatasetSpec) -> bool:
    return not spec.embedded


def _dataset_missing(spec: DatasetSpec) -> None:
    """Loading a file-backed dataset from an empty folder is a one-line GanzooError, not a traceback."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-empty-") as empty:
        try:
            spec.load(empty, spec.splits[0], download=False, image_size=SYNTHETIC_IMAGE_SIZE)
        except GanzooError as error:
            if "\n" in str(error).strip():
                raise _fail("dataset", spec, f"its missing-data error spans lines: {str(error)!r}") from error
            return
        except Exception as error:
            raise _fail("dataset", spec, f"loading from an empty folder raised {error!r}; raise "
                        "ganzoo.DataNotFoundError saying where the files go") from error
    raise _fail("dataset", spec, "loading from an empty folder succeeded; a dataset that needs files should "
                "raise ganzoo.DataNotFoundError (or set embedded=True if it needs none)")


def _dataset_load(spec: DatasetSpec, root: str | os.PathLike[str] | None = None) -> None:
    import torch

    from .data import SampleSet

    if _needs_files(spec) and root is None:
        import pytest

        pytest.skip(
            f"plugin {spec.plugin!r}, dataset {spec.name!r} needs external data files: its shapes are not checked "
            "here; pass data_roots={" + repr(spec.name) + ": folder} to check them"
        )
    for split in spec.splits:
        where = f"split {split!r}"
        try:
            data = spec.load(root, split, download=False, image_size=SYNTHETIC_IMAGE_SIZE)
        except GanzooError as error:
            raise _fail("dataset", spec, f"{where} does not load: {error}") from error
        if not isinstance(data, SampleSet):
            raise _fail("dataset", spec, f"{where}: the loader returned a {type(data).__name__}, not a SampleSet")
        if len(data) == 0:
            raise _fail("dataset", spec, f"{where} is empty")
        if spec.sample_shape is not None and data.sample_shape != spec.sample_shape:
            raise _fail("dataset", spec, f"{where} has samples of shape {data.sample_shape}, declared "
                        f"{spec.sample_shape}")
        if spec.sample_shape is None and data.sample_shape[1:] != (SYNTHETIC_IMAGE_SIZE,) * 2:
            raise _fail("dataset", spec, f"{where}: asked for image_size={SYNTHETIC_IMAGE_SIZE}, got samples of "
                        f"shape {data.sample_shape}")
        if spec.channels is not None and data.sample_shape[0] != spec.channels:
            raise _fail("dataset", spec, f"{where} has {data.sample_shape[0]} channels, declared {spec.channels}")
        if data.is_image and len(data.sample_shape) != 3:
            raise _fail("dataset", spec, f"{where}: uint8 samples must be (N, C, H, W) images")
        if not data.is_image and not torch.isfinite(data.samples).all():
            raise _fail("dataset", spec, f"{where} has non-finite samples")
        if spec.num_classes is not None:
            if data.labels is None:
                raise _fail("dataset", spec, f"{where} has no labels but declares num_classes={spec.num_classes}")
            if data.num_classes != spec.num_classes:
                raise _fail("dataset", spec, f"{where} has {data.num_classes} classes, declared {spec.num_classes}")
            if data.labels.min() < 0 or data.labels.max() >= spec.num_classes:
                raise _fail("dataset", spec, f"{where} has labels outside [0, {spec.num_classes})")


def check_dataset(name: str, root: str | os.PathLike[str] | None = None) -> None:
    """Check the registered dataset ``name``; a dataset that needs files is loaded from ``root``.

    Without ``root`` such a dataset's missing-data error is checked and the shape check
    is skipped (``pytest.skip``) with a reason that says so.
    """
    spec = get_registry().datasets.get(name)
    if _needs_files(spec):
        _dataset_missing(spec)
    _dataset_load(spec, root)


# ---------------------------------------------------------------------------------------------
# Parametrising pytest


@dataclass(frozen=True)
class Check:
    """One aspect of one record, runnable as ``check()`` or ``check(tmp_path)``."""

    kind: str
    name: str
    aspect: str
    plugin: str
    root: str | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}:{self.aspect}"

    def __call__(self, tmp_path: str | os.PathLike[str] | None = None) -> None:
        with _one_thread():
            self._run(tmp_path)

    def _run(self, tmp_path: str | os.PathLike[str] | None) -> None:
        registry = get_registry()
        if self.kind == "model":
            _check_model_aspect(registry.models.get(self.name), self.aspect, tmp_path)
        elif self.kind == "loss":
            check_loss(self.name)
        elif self.aspect == "missing-data":
            _dataset_missing(registry.datasets.get(self.name))
        else:
            _dataset_load(registry.datasets.get(self.name), self.root)


def contract_checks(plugin: str | None = None, *, data_roots: DataRoots | None = None) -> list[Check]:
    """Every check of the records ``plugin`` registered (all plugins when None), in a stable order."""
    registry = get_registry()
    plugins = _plugin_names(plugin) if plugin is not None else None
    roots = {k: os.fspath(v) for k, v in (data_roots or {}).items()}
    unknown = sorted(set(roots) - set(registry.datasets.records))
    if unknown:
        raise GanzooError(f"data_roots names unknown datasets: {', '.join(unknown)}")

    def mine(spec: Any) -> bool:
        return plugins is None or spec.plugin in plugins

    checks: list[Check] = []
    for name in registry.models.names():
        spec = registry.models.records[name]
        if mine(spec):
            checks += [Check("model", name, aspect, spec.plugin) for aspect in _model_aspects(spec)]
    for name in registry.losses.names():
        spec = registry.losses.records[name]
        if mine(spec):
            checks.append(Check("loss", name, "values", spec.plugin))
    for name in registry.datasets.names():
        spec = registry.datasets.records[name]
        if mine(spec):
            if _needs_files(spec):
                checks.append(Check("dataset", name, "missing-data", spec.plugin))
            checks.append(Check("dataset", name, "load", spec.plugin, roots.get(name)))
    if plugin is not None and not checks:
        raise ContractError(f"plugin {plugin!r} registers no model, loss or dataset")
    return checks


def parametrize_plugin(plugin: str | None = None, *, data_roots: DataRoots | None = None) -> Any:
    """``@parametrize_plugin("ganzoo-foo")``: parametrise a test's ``check`` argument over the plugin's checks."""
    import pytest

    checks = contract_checks(plugin, data_roots=data_roots)
    return pytest.mark.parametrize("check", checks, ids=[c.id for c in checks])


def contract_tests(plugin: str | None = None, *, data_roots: DataRoots | None = None) -> Callable[..., None]:
    """A ready pytest test function: ``test_contract = ganzoo.testing.contract_tests("ganzoo-foo")``."""

    @parametrize_plugin(plugin, data_roots=data_roots)
    def test_contract(check: Check, tmp_path: Path) -> None:
        check(tmp_path)

    return test_contract

