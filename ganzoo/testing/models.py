"""Contract checks of models: build, shapes per dataset, gradients, two real training steps, packaged weights."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import GanzooError
from ..registry.catalog import get_registry
from ..registry.records import DEFAULT_CARD_PACKAGE, DatasetSpec, ModelSpec, call_with_accepted, shape_text
from .core import SYNTHETIC_SAMPLES, TRAIN_BATCH, TRAIN_STEPS, ContractError, fail, one_thread, output_folder
from .datasets import dataset_for_training

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = [
    "MODEL_ASPECTS",
    "check_model",
    "check_model_aspect",
    "checked_options",
    "model_aspects",
    "model_datasets",
    "unreached_parameters",
]


def model_datasets(spec: ModelSpec) -> list[str]:
    """Registered datasets the model trains on (:meth:`ModelSpec.trains_on`, as ``ganzoo info`` and the trainer)."""
    registry = get_registry()
    return [name for name in registry.datasets.names() if spec.trains_on(registry.datasets.records[name])]


Options = Mapping[str, Any]
"""Model options the checks build and train with (``{"widths": "16,8"}``), as ``--option`` gives them."""


def checked_options(spec: ModelSpec, options: Options | None) -> dict[str, Any]:
    """``options`` held to the model's own declaration (:attr:`ModelSpec.options`), strings converted as from the
    command line: the contract trains a smaller model than the paper's (seconds, not minutes) with the options a
    user could give, and an undeclared key or a bad value is a one-line ``ConfigError`` naming the declared ones."""
    from ..models.model_options import coerce_options

    return coerce_options(spec, options or {})


def _config_for(spec: ModelSpec, data: DatasetSpec | None, options: Options | None = None) -> Mapping[str, Any]:
    """The constructor configuration for ``data`` with ``options``, as the trainer resolves it (its own function);
    with neither, the spec's ``config`` as it is."""
    from ..training.config import model_config_for

    if data is None:
        return model_config_for(spec, options) if options else spec.config
    return model_config_for(
        spec, options or {}, sample_shape=data.sample_shape, channels=data.channels, num_classes=data.num_classes
    )


def _build(spec: ModelSpec, config: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    from torch import nn

    built = []
    for role in ("generator", "discriminator"):
        try:
            module = call_with_accepted(getattr(spec, role), config)
        except Exception as error:
            raise fail("model", spec, f"the {role} does not build from config {dict(config)}: {error!r}") from error
        if not isinstance(module, nn.Module):
            raise fail("model", spec, f"the {role} builder returned a {type(module).__name__}, not a torch Module")
        built.append(module)
    return built[0], built[1]


def _labels(generator: nn.Module, count: int) -> torch.Tensor | None:
    import torch

    classes = getattr(generator, "num_classes", None)
    return None if classes is None else torch.arange(count) % int(classes)


def _expected_shape(spec: ModelSpec, data: DatasetSpec | None) -> tuple[int, ...] | None:
    return None if data is None else spec.data_shape(data)


def _check_outputs(
    spec: ModelSpec, generator: nn.Module, discriminator: nn.Module, expected: tuple[int, ...] | None, where: str
) -> None:
    import torch

    count = 3
    shape = tuple(generator.sample_shape)
    if expected is not None and shape != expected:
        raise fail("model", spec, f"{where}: generator.sample_shape is {shape}, expected {expected}")
    labels = _labels(generator, count)
    with torch.no_grad():
        samples = generator(torch.randn(count, generator.latent_dim), labels)
        if tuple(samples.shape) != (count, *shape):
            raise fail("model", spec, f"{where}: generator output has shape {tuple(samples.shape)}, "
                        f"expected {(count, *shape)} (N, *sample_shape)")
        if samples.dtype != torch.float32:
            raise fail("model", spec, f"{where}: generator output is {samples.dtype}, expected torch.float32")
        if not torch.isfinite(samples).all():
            raise fail("model", spec, f"{where}: generator output has non-finite values")
        if len(shape) == 3 and (samples.min() < -1 or samples.max() > 1):
            raise fail("model", spec, f"{where}: images must lie in [-1, 1] (end the generator with Tanh), got "
                        f"[{samples.min().item():.3g}, {samples.max().item():.3g}]")
        logits = discriminator(samples, labels)
    if tuple(logits.shape) not in ((count,), (count, 1)):
        raise fail("model", spec, f"{where}: discriminator output has shape {tuple(logits.shape)}, expected "
                    f"({count},) or ({count}, 1): one logit per sample (end forward() with .flatten())")
    if not logits.is_floating_point():
        raise fail("model", spec, f"{where}: discriminator output is {logits.dtype}: return float logits")


LATENT_SCALES = (1.0, 10.0, 100.0, 1000.0)
"""Latents (and D's random inputs) are scaled this far: only a bounded output stays in range at every scale."""


def _check_ranges(spec: ModelSpec, generator: nn.Module, discriminator: nn.Module) -> None:
    """What a fresh model's shapes cannot show: an image generator without a bounded output (no Tanh), and
    a discriminator that squashes its logit (a Sigmoid). Both networks run in eval mode, so BatchNorm uses
    its running statistics and a scaled input stays scaled, as it would for a piecewise-linear network."""
    import torch

    count = 64
    shape = tuple(generator.sample_shape)
    labels = _labels(generator, count)
    generator.eval()
    discriminator.eval()
    with torch.no_grad():
        if len(shape) == 3:
            z = torch.randn(count, generator.latent_dim, generator=torch.Generator().manual_seed(0))
            for scale in LATENT_SCALES:
                images = generator(z * scale, labels).float()
                low, high = images.min().item(), images.max().item()
                if not (low >= -1 and high <= 1):  # NaN fails too
                    raise fail("model", spec, f"images must lie in [-1, 1] for every latent: on N(0, I) latents "
                                f"times {scale:g} the generator gives [{low:.3g}, {high:.3g}] (end it with Tanh)")
        inputs = torch.rand((count, *shape), generator=torch.Generator().manual_seed(1)) * 2 - 1
        logits = torch.cat([discriminator(inputs * scale, labels).float().flatten() for scale in LATENT_SCALES])
    squashed = bool(((logits >= 0) & (logits <= 1)).all()) and bool(logits.max() > logits.min())
    if squashed:
        raise fail("model", spec, "the discriminator's outputs on random inputs (times 1 to 1000) all lie in "
                    "[0, 1], the signature of a sigmoid: return the raw logit (drop the final Sigmoid; the loss "
                    "applies it)")


def _model_build(spec: ModelSpec, options: Options | None = None) -> None:
    import ganzoo

    registry = get_registry()
    if spec.default_loss not in registry.losses.records:
        raise fail("model", spec, f"default_loss {spec.default_loss!r} is not a registered loss")
    if spec.default_dataset and spec.default_dataset not in registry.datasets.records:
        raise fail("model", spec, f"default_dataset {spec.default_dataset!r} is not a registered dataset")
    config = _config_for(spec, None, options)
    generator, discriminator = _build(spec, config)
    if not isinstance(generator, ganzoo.Generator):
        raise fail("model", spec, "the generator lacks latent_dim, num_classes or sample_shape (ganzoo.Generator)")
    if not isinstance(discriminator, ganzoo.Discriminator):
        raise fail("model", spec, "the discriminator lacks num_classes (ganzoo.Discriminator)")
    if isinstance(generator.latent_dim, bool) or not isinstance(generator.latent_dim, int) or generator.latent_dim < 1:
        raise fail("model", spec, f"generator.latent_dim must be a positive int, got {generator.latent_dim!r}")
    shape = generator.sample_shape
    if not isinstance(shape, tuple) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise fail("model", spec, f"generator.sample_shape must be a tuple of positive ints, got {shape!r}")
    if spec.sample_shapes and not spec.takes_shape(shape):
        raise fail("model", spec, f"default config: generator.sample_shape is {shape_text(shape)}, which its "
                    f"sample_shapes ({', '.join(spec.sample_shapes)}) do not admit: declare the shapes it makes")
    if spec.conditional and not generator.num_classes:
        raise fail("model", spec, "the spec says conditional=True but generator.num_classes is not set")
    if not spec.conditional and generator.num_classes is not None:
        raise fail("model", spec, "generator.num_classes is set but the spec does not say conditional=True")
    if discriminator.num_classes != generator.num_classes:
        raise fail("model", spec, f"discriminator.num_classes ({discriminator.num_classes!r}) differs from "
                    f"generator.num_classes ({generator.num_classes!r})")
    _check_outputs(spec, generator, discriminator, None, "default config" if not options else f"options {options}")
    _check_ranges(spec, generator, discriminator)
    _check_meta_build(spec, generator, config)


def _check_meta_build(spec: ModelSpec, generator: nn.Module, config: Mapping[str, Any]) -> None:
    """``ganzoo.load`` builds the generator on the meta device first, to compare a weights file's shapes before
    allocating anything (:func:`ganzoo.cards.weights.check_generator_shapes`): the builder must work there too."""
    import torch

    try:
        with torch.device("meta"):
            on_meta = call_with_accepted(spec.generator, config)
    except Exception as error:
        raise fail("model", spec, f"the generator does not build on the meta device ({error!r}); ganzoo.load "
                   "builds it there to check a file's shapes before allocating: keep data-dependent work out of "
                   "__init__") from error
    shapes = {key: tuple(value.shape) for key, value in on_meta.state_dict().items()}
    if shapes != {key: tuple(value.shape) for key, value in generator.state_dict().items()}:
        raise fail("model", spec, "the generator built on the meta device has other tensors or shapes than the one "
                   "built on the CPU; ganzoo.load compares a file's shapes with the meta build")


def _model_datasets(spec: ModelSpec, options: Options | None = None) -> None:
    registry = get_registry()
    names = model_datasets(spec)
    if not names:
        if spec.datasets:
            what = f"its datasets {', '.join(spec.datasets)}"
        elif spec.shape_patterns():
            what = f"its sample_shapes {', '.join(spec.shape_patterns())}"
        else:
            what = ("nothing declared: name them with datasets=(...) or default_dataset=, or declare "
                    "sample_shapes=('1x28x28',)")
        raise fail("model", spec, f"no registered dataset matches what it trains on ({what})")
    for name in names:
        data = registry.datasets.records[name]
        config = _config_for(spec, data, options)
        relies_on_default = not (spec.sample_shapes or spec.datasets or name == spec.default_dataset)
        try:
            generator, discriminator = _build(spec, config)
            _check_outputs(spec, generator, discriminator, _expected_shape(spec, data), f"on dataset {name!r}")
        except ContractError as error:
            if not relies_on_default:
                raise
            raise ContractError(f"{error}; datasets=() admits every dataset of a shape in sample_shapes, and a "
                                "'sample_shape' config key means any shape: a model that takes only some shapes "
                                "declares them, e.g. sample_shapes=('3x32x32',)") from error


def _zero_gradient_names(generator: nn.Module, discriminator: nn.Module, labels: torch.Tensor | None) -> set[str]:
    """Trainable parameters whose gradient from one ``mean(D(G(z)))`` is missing or all zero."""
    import torch

    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)
    fake = generator(torch.randn(4, generator.latent_dim), labels)
    discriminator(fake, labels).float().mean().backward()
    return {
        f"{role}.{name}"
        for role, module in (("generator", generator), ("discriminator", discriminator))
        for name, parameter in module.named_parameters()
        if parameter.requires_grad and (parameter.grad is None or not parameter.grad.abs().sum() > 0)
    }


def unreached_parameters(
    generator: nn.Module, discriminator: nn.Module, labels: torch.Tensor | None = None
) -> list[str]:
    """Trainable parameters of both networks that ``D(G(z))`` gives no non-zero gradient, ``role.name`` sorted.

    Fix-up initialisation (Fixup, R3GAN) starts the last layer of every residual branch at exactly zero, so
    the branch's earlier layers get an all-zero gradient at step 0 although they are in the graph and train
    from the second step on. A parameter whose gradient is zero is therefore tried again after every
    all-zero tensor of both networks is given small random values (on the networks themselves, restored
    afterwards): what still gets none is truly cut off (unused, detached, behind a constant).
    """
    import torch

    silent = _zero_gradient_names(generator, discriminator, labels)
    if not silent:
        return []
    zeros = [p for net in (generator, discriminator) for p in net.parameters() if p.requires_grad and not p.any()]
    with torch.no_grad():
        for parameter in zeros:
            parameter.normal_(0.0, 1e-2)
    try:
        still = _zero_gradient_names(generator, discriminator, labels)
    finally:
        with torch.no_grad():
            for parameter in zeros:
                parameter.zero_()
        generator.zero_grad(set_to_none=True)
        discriminator.zero_grad(set_to_none=True)
    return sorted(silent & still)


def _model_gradients(spec: ModelSpec, options: Options | None = None) -> None:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        generator, discriminator = _build(spec, _config_for(spec, None, options))
        labels = _labels(generator, 4)
        fake = generator(torch.randn(4, generator.latent_dim), labels)
        discriminator(fake, labels).float().mean().backward()
        for role, module in (("generator", generator), ("discriminator", discriminator)):
            for name, parameter in module.named_parameters():
                if not parameter.requires_grad:
                    continue
                if parameter.grad is None:
                    raise fail("model", spec, f"{role}.{name} gets no gradient from D(G(z)): is it used in forward()?")
                if not torch.isfinite(parameter.grad).all():
                    raise fail("model", spec, f"{role}.{name} gets a non-finite gradient")
        unreached = unreached_parameters(generator, discriminator, labels)
    if unreached:
        raise fail("model", spec, f"{unreached[0]} gets an all-zero gradient (also once the all-zero layers of a "
                    f"fix-up initialisation are perturbed)")


def _training_dataset(spec: ModelSpec) -> str:
    names = model_datasets(spec)
    if not names:
        raise fail("model", spec, "no registered dataset to train on (see its 'datasets' check)")
    if spec.default_dataset in names:
        return spec.default_dataset
    embedded = [n for n in names if get_registry().datasets.records[n].embedded]
    return (embedded or names)[0]


SAME_LAYOUT_TOLERANCE = 1e-6
"""How far a reloaded generator's samples may be from the trained one's, absolutely and relatively. The two hold the
same weights and are compared in the same memory layout on one thread, so they run the same kernels on the same
numbers and agree to the bit on every machine we know; 1e-6 (8 float32 steps at 1) leaves room only for a kernel
whose blocking follows a tensor's alignment. Compared across layouts, as this check once did (the trainer's
channels-last network against the contiguous one ``ganzoo.load`` gives), a correct ResNet differs by 1e-6 to 4e-6,
which is float32 rounding in another summation order, not a fault."""
ROUNDING_SIZE = 1e-4
"""A larger difference means the reloaded generator computes another function (a constructor argument missing from
the spec's config, a tensor not in the weights); a smaller one is rounding (a random draw, the thread count)."""


def _unchanged_allowed(spec: ModelSpec, loss: str, parameters: Mapping[str, Any]) -> set[str]:
    """The parameters :attr:`ModelSpec.unchanged_under` lets training with ``loss`` leave unchanged; every name it
    declares, for any loss, must be a parameter of the networks and every loss it names a registered loss."""
    losses = get_registry().losses.records
    for declared_loss, names in spec.unchanged_under.items():
        if declared_loss not in losses:
            raise fail("model", spec, f"unchanged_under names loss {declared_loss!r}, which is not a registered loss")
        for name in names:
            if name not in parameters:
                role = name.split(".")[0]
                known = ", ".join(sorted(k for k in parameters if k.startswith(role + "."))[:8])
                raise fail("model", spec, f"unchanged_under[{declared_loss!r}] names {name!r}, which is not a "
                           f"parameter of the networks (some {role} parameters: {known})")
    return set(spec.unchanged_under.get(loss, ()))


def _compare_reloaded(spec: ModelSpec, trained: nn.Module, loaded: nn.Module, channels_last: bool) -> None:
    """The reloaded generator reproduces the trained one's samples, compared like with like: in the layout
    ``ganzoo.load`` gives (contiguous) and, for a run that trained channels-last, in that layout too. A failure
    says which of the two causes it looks like (:data:`ROUNDING_SIZE`)."""
    import torch

    layouts = [("contiguous", torch.contiguous_format)]
    if channels_last:
        layouts.append(("channels-last (the run's)", torch.channels_last))
    z = torch.randn(3, trained.latent_dim)
    labels = _labels(trained, 3)
    for words, layout in layouts:
        trained.to(memory_format=layout)
        loaded.to(memory_format=layout)
        with torch.no_grad():
            expected, again = trained.eval()(z, labels), loaded.eval()(z, labels)
        if expected.shape != again.shape:
            raise fail("model", spec, f"the loaded generator makes samples of shape {tuple(again.shape)}, the trained "
                       f"one {tuple(expected.shape)}: is every constructor argument in the spec's config?")
        if torch.allclose(expected, again, rtol=SAME_LAYOUT_TOLERANCE, atol=SAME_LAYOUT_TOLERANCE):
            continue
        worst = (expected.float() - again.float()).abs().max().item()
        if not worst <= ROUNDING_SIZE:  # NaN too
            raise fail("model", spec, f"the loaded generator's samples differ from the trained one's by up to "
                       f"{worst:.3g} (same weights, both {words}): it computes another function; is every "
                       "constructor argument in the spec's config, and every tensor forward() uses a parameter or a "
                       "persistent buffer?")
        raise fail("model", spec, f"the loaded generator's samples differ from the trained one's by up to {worst:.1e}, "
                   f"rounding-sized, though both hold the same weights in the same memory layout ({words}): does "
                   "forward() depend on something the weights do not hold (a random draw, a non-persistent buffer, "
                   "the thread count)? A change of layout alone moves samples this much (ganzoo train "
                   "--memory-format), which is why the check compares like with like")


def _model_train(
    spec: ModelSpec, out: str | os.PathLike[str] | None = None, options: Options | None = None,
    steps: int = TRAIN_STEPS,
) -> None:
    import torch

    import ganzoo

    from ..cards.folder import WEIGHTS_NAME, read_export
    from ..training import TrainConfig, Trainer

    dataset = _training_dataset(spec)
    with output_folder(out) as folder, dataset_for_training(dataset), torch.random.fork_rng(devices=[]), one_thread():
        config = TrainConfig(
            spec.name, dataset=dataset, steps=steps, batch_size=TRAIN_BATCH, device="cpu", out=folder / spec.name,
            quiet=True, num_samples=4, limit=SYNTHETIC_SAMPLES, log_every=1, sample_every=10_000,
            checkpoint_every=10_000, options=dict(options or {}),
        )
        trainer = Trainer(config)

        def parameters() -> dict[str, torch.Tensor]:
            networks = (("generator", trainer.generator), ("discriminator", trainer.discriminator))
            return {f"{role}.{name}": p for role, module in networks for name, p in module.named_parameters()}

        try:
            trainer.prepare()
            before = {name: p.detach().clone() for name, p in parameters().items() if p.requires_grad}
            loss = trainer.state.config.loss_spec.name
            allowed = _unchanged_allowed(spec, loss, before)
            result = trainer.run()
        except GanzooError as error:
            raise fail("model", spec, f"training {steps} steps on {dataset!r} failed: {error}") from error
        after = parameters()
        unchanged = [name for name, value in before.items()
                     if name not in allowed and torch.equal(value, after[name].detach())]
        if unchanged:
            raise fail("model", spec, f"{steps} training steps with loss {loss!r} left {', '.join(unchanged[:5])} "
                       "unchanged: no loss term reaches it (e.g. an output bias under a Wasserstein or relativistic "
                       "loss, where it cancels); if the loss cancels it by design, declare it: "
                       f"ModelSpec(unchanged_under={{{loss!r}: ({unchanged[0]!r},)}})")
        weights = result.export_dir / WEIGHTS_NAME
        if not weights.is_file():
            raise fail("model", spec, f"training wrote no {WEIGHTS_NAME} in {result.export_dir}")
        try:
            loaded = ganzoo.load(result.export_dir, ema=False)  # the trained weights, not their average
            _, _, d_state = read_export(result.export_dir)
        except GanzooError as error:
            raise fail("model", spec, f"its export does not load back: {error}") from error
        generator = trainer.generator.cpu().eval()
        generator_state = {k: v.contiguous() for k, v in generator.state_dict().items()}
        for key, value in loaded.generator.state_dict().items():
            if key not in generator_state or not torch.equal(value, generator_state[key]):
                raise fail("model", spec, f"generator tensor {key!r} differs after the safetensors round trip")
        discriminator = trainer.discriminator.cpu()
        d_expected = {k: v.contiguous() for k, v in discriminator.state_dict().items()}
        if set(d_state) != set(d_expected) or any(not torch.equal(d_state[k], d_expected[k]) for k in d_state):
            raise fail("model", spec, "the exported discriminator tensors differ from the trained discriminator")
        _compare_reloaded(spec, generator, loaded.generator, trainer.state.batches.channels_last)


def _packaged(package: str, name: str) -> bool:
    """Whether ``name`` is a file in the *installed* ``package``, found as ``ganzoo.load`` finds it
    (``importlib.resources``): what a wheel ships, not what lies in the source tree."""
    from importlib import resources

    try:
        return (resources.files(package) / name).is_file()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return False


def _not_packaged(spec: ModelSpec, where: str, what: str, name: str, package: str, pattern: str) -> ContractError:
    """One line naming the file and the pyproject.toml fix (setuptools ships only ``.py`` files unless told)."""
    return fail("model", spec, f"{where}: {what} {name!r} is not in the installed package {package!r} "
                f"(importlib.resources finds no such file): ship it as package data, in pyproject.toml "
                f'[tool.setuptools.package-data] "{package}" = ["{pattern}"], with {package!r} in '
                "[tool.setuptools] packages")


def _model_weights(spec: ModelSpec) -> None:
    import ganzoo

    for weights in spec.weights:
        where = f"weights {spec.name}.{weights.tag}"
        if weights.package and weights.filename and not _packaged(weights.package, weights.filename):
            raise _not_packaged(spec, where, "weights file", weights.filename, weights.package, "*.safetensors")
        if weights.card:
            package = weights.card_package or DEFAULT_CARD_PACKAGE
            if not _packaged(package, weights.card):
                raise _not_packaged(spec, where, "card", weights.card, package, "*.md")
        if weights.dataset not in get_registry().datasets.records:
            raise fail("model", spec, f"{where}: dataset {weights.dataset!r} is not a registered dataset")
        if not (weights.package and weights.filename):
            continue  # download-only weights: checking them would need the network
        try:
            loaded = ganzoo.load(f"{spec.name}.{weights.tag}", download=False)
        except GanzooError as error:
            raise fail("model", spec, f"{where} do not load: {error}") from error
        if weights.num_params is not None and loaded.num_params != weights.num_params:
            raise fail("model", spec, f"{where}: the record says {weights.num_params} parameters, the generator "
                        f"has {loaded.num_params}")


def _model_practices(
    spec: ModelSpec, out: str | os.PathLike[str] | None = None, options: Options | None = None
) -> None:
    """Train with every training practice on: generator EMA, augmentation (image data), R1 and R2, a relativistic
    loss. The augmentation is ``fixed`` (R3GAN's: ``ada`` does not go with a relativistic loss), each operation on
    about half the images, so that both the changed and the unchanged path of every sample are taken."""
    import torch

    import ganzoo
    from ganzoo.training import TrainConfig, Trainer

    dataset = _training_dataset(spec)
    is_image = len(_expected_shape(spec, get_registry().datasets.get(dataset)) or (0, 0, 0)) == 3
    loss = "relativistic" if not spec.losses or "relativistic" in spec.losses else None
    with output_folder(out) as folder, dataset_for_training(dataset), torch.random.fork_rng(devices=[]), one_thread():
        config = TrainConfig(
            spec.name, dataset=dataset, steps=TRAIN_STEPS, batch_size=TRAIN_BATCH, device="cpu",
            out=folder / f"{spec.name}-practices", quiet=True, num_samples=4, limit=SYNTHETIC_SAMPLES, log_every=1,
            sample_every=10_000, checkpoint_every=10_000, loss=loss, ema=50.0, r1_gamma=1.0, r2_gamma=1.0,
            augment="fixed" if is_image else None, augment_p=0.5 if is_image else None, options=dict(options or {}),
        )
        trainer = Trainer(config)
        try:
            result = trainer.run()
            loaded = ganzoo.load(result.export_dir)
        except GanzooError as error:
            raise fail("model", spec, f"training with EMA, R1/R2{', augmentation' if is_image else ''} and loss {loss} "
                        f"failed: {error}") from error
        ema = trainer.state.ema
        if ema is None or not loaded.ema:
            raise fail("model", spec, "a run with --ema exported no generator_ema tensors")
        for key, value in loaded.generator.state_dict().items():
            if not torch.equal(value, ema.module.state_dict()[key].cpu().contiguous()):
                raise fail("model", spec, f"the exported EMA tensor {key!r} differs from the run's average")
        if not all(torch.isfinite(torch.tensor(v)) for v in result.metrics.values() if isinstance(v, float)):
            raise fail("model", spec, f"training with the practices gave non-finite metrics {result.metrics}")


MODEL_ASPECTS: dict[str, Callable[..., None]] = {
    "build": _model_build,
    "datasets": _model_datasets,
    "gradients": _model_gradients,
    "train": _model_train,
    "practices": _model_practices,
    "weights": _model_weights,
}


def model_aspects(spec: ModelSpec) -> list[str]:
    """The aspects checked for ``spec``: all, less ``weights`` when it ships none."""
    return [aspect for aspect in MODEL_ASPECTS if aspect != "weights" or spec.weights]


def check_model_aspect(
    spec: ModelSpec, aspect: str, out: str | os.PathLike[str] | None, options: Options | None = None
) -> None:
    """One aspect, with model ``options`` (:func:`checked_options`; the ``weights`` check uses each weights entry's
    own configuration); only training writes files (under ``out``, else a temporary folder)."""
    options = checked_options(spec, options)
    if aspect in ("train", "practices"):
        MODEL_ASPECTS[aspect](spec, out, options)
    elif aspect == "weights":
        MODEL_ASPECTS[aspect](spec)
    else:
        MODEL_ASPECTS[aspect](spec, options)


def check_model(
    name: str, *, out: str | os.PathLike[str] | None = None, options: Options | None = None
) -> None:
    """Run every model check on the registered model ``name`` with model ``options`` (``{"widths": "16,8"}``: a
    smaller model than the paper's trains in seconds; checked against the model's ``options``); training writes
    under ``out``, else a temporary folder."""
    spec = get_registry().models.get(name)
    options = checked_options(spec, options)
    with one_thread():
        for aspect in model_aspects(spec):
            check_model_aspect(spec, aspect, out, options)
