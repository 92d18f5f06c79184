"""The records plugins register: models, losses, datasets, feature extractors, weights, training callbacks.

Records are plain frozen dataclasses that import nothing heavy: building the registry
(and so ``ganzoo list``) never imports torch. Anything that needs torch is named lazily
as a ``"package.module:attribute"`` string (or given as a callable) and imported only
when a model is actually built, a loss computed or a dataset loaded.

Calling those builders (:func:`call_with_accepted`, :func:`resolve`) lives in
:mod:`ganzoo.registry.builders`; the names are re-exported here, where plugins have imported them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .builders import (
    Builder,
    SharedConfig,
    accepted_keywords,
    call_with_accepted,
    current_registry,
    describe_builder,
    resolve,
)
from .shapes import check_patterns, check_shape_patterns, data_shape, shape_matches, shape_text

__all__ = [
    "DEFAULT_CARD_PACKAGE",
    "MAX_RECIPE_COMMANDS",
    "MAX_RECIPE_COMMAND_CHARS",
    "Builder",
    "CallbackSpec",
    "DatasetSpec",
    "ExtractorSpec",
    "LossSpec",
    "ModelSpec",
    "SharedConfig",
    "WeightsSpec",
    "accepted_keywords",
    "call_with_accepted",
    "describe_builder",
    "resolve",
    "shape_text",
]

DEFAULT_CARD_PACKAGE = "ganzoo_plugins.model_cards"
"""Where a :class:`WeightsSpec`'s card is looked up when it names no ``card_package`` (the zoo's cards)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
"""Model names have no ``.``: in ``"dcgan-mnist.mnist"`` everything after the first dot is the weights tag."""
_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"invalid {kind} name {name!r}: use lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )


def _check_model_name(name: str) -> None:
    _check_name("model", name)
    if not _MODEL_NAME.match(name):
        raise ConfigError(
            f"invalid model name {name!r}: a model name may not contain '.', which separates a weights tag "
            f"('name.tag'); use '-' instead, e.g. {name.replace('.', '-')!r}"
        )


def _check_options(kind: str, name: str, options: Mapping[str, Any]) -> None:
    for key, allowed in options.items():
        if not isinstance(allowed, (tuple, type)):
            raise ConfigError(
                f"{kind} {name!r}: option {key!r} must declare a type (int, float, bool, str) or a tuple of "
                f"allowed values, got {allowed!r}"
            )


def _check_unchanged_under(model: str, declared: Mapping[str, Any]) -> Mapping[str, tuple[str, ...]]:
    """``ModelSpec.unchanged_under`` as loss name -> parameter names, each ``generator.`` or ``discriminator.``
    something; whether each is a parameter is for the contract, which builds the networks."""
    checked: dict[str, tuple[str, ...]] = {}
    for loss, names in dict(declared or {}).items():
        names = (names,) if isinstance(names, str) else tuple(names)
        if not isinstance(loss, str) or not loss or not names:
            raise ConfigError(f"model {model!r}: unchanged_under maps a loss name to parameter names, "
                              f"e.g. {{'relativistic': ('discriminator.linear.bias',)}}; got {loss!r}: {names!r}")
        for name in names:
            if not isinstance(name, str) or not name.startswith(("generator.", "discriminator.")):
                raise ConfigError(f"model {model!r}: unchanged_under[{loss!r}] names {name!r}; name a parameter "
                                  "as generator.NAME or discriminator.NAME (as named_parameters() gives NAME)")
        checked[loss] = names
    return _freeze(checked)


def _check_builder(kind: str, name: str, field_name: str, builder: Any) -> None:
    if callable(builder):
        return
    if not isinstance(builder, str) or not _REFERENCE.match(builder):
        raise ConfigError(
            f"{kind} {name!r}: {field_name} must be a callable or a 'package.module:attribute' "
            f"string, got {builder!r}"
        )


@dataclass(frozen=True)
class WeightsSpec:
    """One set of pretrained weights for a model, with the facts its model card states.

    Like torchvision's weights enums, the record carries its own metadata (hash, size,
    metrics, recipe) so that tools can show them without reading the card, and a test
    can check that record, card and file agree.
    """

    tag: str
    """Short name appended to the model name: ``dcgan-mnist.mnist``."""
    dataset: str
    """The registered dataset the weights were trained on (``ganzoo info`` and the card show it)."""
    sha256: str
    """SHA-256 of the safetensors file, 64 lower-case hex digits: ``ganzoo.load`` checks it before use."""
    package: str | None = None
    """Package holding the weights file (``importlib.resources``), or None for download only."""
    filename: str | None = None
    """Name of the weights file inside ``package`` (give ``filename``, ``url`` or both)."""
    url: str | None = None
    """Where the file is downloaded from when it is not packaged (or not yet in the cache)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Model configuration the weights were trained with (constructor arguments)."""
    num_params: int | None = None
    """The generator's parameter count; the contract's ``weights`` check compares it with the file."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """Evaluation results (``fid``, ``kid_mean``, ``precision``, ...), shown by ``ganzoo info`` and the zoo table."""
    recipe: str | Sequence[str] = ""
    """The exact command that produced the weights; for a run that was resumed, its lineage: every session's
    command in order, as a sequence (``("ganzoo train ... --steps 5000", "ganzoo train ... --steps 9000 --resume")``)
    or one a line. Stored as the commands one a line (what a run's ``config.json`` records as ``command``);
    :attr:`lineage` gives them as a tuple. At most :data:`MAX_RECIPE_COMMANDS` commands of one line each."""
    card: str | None = None
    """File name of the model card inside the card package."""
    card_package: str | None = None
    """Package holding the card (``importlib.resources``); None means :data:`DEFAULT_CARD_PACKAGE`."""
    license: str = ""
    """Licence of the weights (also shown on the card), e.g. ``"Apache-2.0"``."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further facts: seed, steps, training time, hardware, storage dtype."""

    def __post_init__(self) -> None:
        _check_name("weights tag", self.tag)
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256 or ""):
            raise ConfigError(f"weights {self.tag!r}: sha256 must be 64 lower-case hex digits")
        if not (self.filename or self.url):
            raise ConfigError(f"weights {self.tag!r}: give a packaged filename, a url, or both")
        object.__setattr__(self, "recipe", "\n".join(_lineage(self.tag, self.recipe)))
        object.__setattr__(self, "config", _freeze(self.config))
        object.__setattr__(self, "metrics", _freeze(self.metrics))
        object.__setattr__(self, "extra", _freeze(self.extra))

    @property
    def lineage(self) -> tuple[str, ...]:
        """The commands that trained the weights, in order: one for a run trained in one go, one per session for
        a resumed run; empty when the record states none."""
        return tuple(self.recipe.splitlines()) if self.recipe else ()


MAX_RECIPE_COMMANDS = 100
"""Sessions in a recipe's lineage: a run resumed a hundred times is already a story, not a recipe."""
MAX_RECIPE_COMMAND_CHARS = 4096
"""Characters of one command of a recipe: the longest recorded ``ganzoo train`` lines are a few hundred."""


def _lineage(tag: str, recipe: Any) -> list[str]:
    """A recipe as its commands: a string (one command a line) or a sequence of one-line strings, each bounded."""
    if isinstance(recipe, str):
        if len(recipe) > MAX_RECIPE_COMMANDS * (MAX_RECIPE_COMMAND_CHARS + 1):  # bounded before it is split
            raise ConfigError(f"weights {tag!r}: the recipe has {len(recipe)} characters, more than "
                              f"{MAX_RECIPE_COMMANDS} commands of {MAX_RECIPE_COMMAND_CHARS}")
        commands = [line.strip() for line in recipe.splitlines() if line.strip()]
    elif isinstance(recipe, (list, tuple)) and all(isinstance(c, str) for c in recipe):
        commands = [command.strip() for command in recipe]
        for number, command in enumerate(commands, 1):
            if not command or "\n" in command or "\r" in command:
                raise ConfigError(f"weights {tag!r}: command {number} of the recipe must be one non-empty line "
                                  "(give a resumed run's sessions as separate commands)")
    else:
        raise ConfigError(f"weights {tag!r}: recipe must be a command (a string) or a sequence of commands, the "
                          f"sessions of a resumed run in order; got {type(recipe).__name__}")
    if len(commands) > MAX_RECIPE_COMMANDS:
        raise ConfigError(f"weights {tag!r}: the recipe has {len(commands)} commands, more than "
                          f"{MAX_RECIPE_COMMANDS}; keep the sessions that made the weights")
    for number, command in enumerate(commands, 1):
        if len(command) > MAX_RECIPE_COMMAND_CHARS or any(ord(c) < 32 and c != "\t" for c in command):
            raise ConfigError(f"weights {tag!r}: command {number} of the recipe must be printable and at most "
                              f"{MAX_RECIPE_COMMAND_CHARS} characters")
    return commands


@dataclass(frozen=True)
class ModelSpec:
    """A GAN model that ganzoo can build, train, export and load."""

    name: str
    """Registry name: lower-case letters, digits, ``-`` and ``_``, no ``.`` (``name.tag`` picks weights)."""
    summary: str
    """One line for ``ganzoo list`` and the model card."""
    generator: str | Callable[..., Any]
    """Builds the generator; called with the accepted keys of the resolved configuration."""
    discriminator: str | Callable[..., Any]
    """Builds the discriminator, called like ``generator``; it returns raw logits (no Sigmoid)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Default constructor arguments shared by generator and discriminator. The keys
    ``sample_shape``, ``channels``, ``image_size`` and ``num_classes`` are filled in from
    the dataset where present."""
    options: Mapping[str, tuple[Any, ...] | type] = field(default_factory=dict)
    """Configuration keys a user may set (``--option image_size=128``), each with its
    allowed values (a tuple) or its type."""
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Configuration tied to an option value, e.g. ``{"image_size=128": {"latent_dim": 200}}``."""
    conditional: bool = False
    """True when both networks take class labels (``num_classes`` is then filled in from the dataset);
    a conditional model trains only on labelled data."""
    default_dataset: str = ""
    """What ``ganzoo train NAME`` trains on without ``--dataset``; the model always trains on it."""
    datasets: tuple[str, ...] = ()
    """Datasets the model trains on (fnmatch patterns, e.g. ``"*mnist"``), besides its ``default_dataset``;
    empty means every registered dataset of a shape in ``sample_shapes`` (labelled ones only when
    ``conditional``)."""
    sample_shapes: tuple[str, ...] = ()
    """Shapes of one sample the networks make and take, written ``"1x28x28"`` (fnmatch patterns:
    ``"*x64x64"``, ``"*"`` for any; tuples of ints are accepted). Empty means any shape when ``config``
    has a ``sample_shape`` key (the data's shape is filled in), else none declared."""
    default_loss: str = "non-saturating"
    """What ``ganzoo train NAME`` trains with without ``--loss``."""
    losses: tuple[str, ...] = ()
    """Losses the model accepts; empty means any registered loss."""
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    """Training defaults, each overridden by its ``ganzoo train`` flag: ``batch_size`` (else 64), ``lr`` (else
    2e-4), ``betas`` (else ``(0.5, 0.999)``), the run's length as ``steps`` or ``epochs`` (else one epoch),
    and the training practices by their ``TrainConfig`` names (``r1_gamma``, ``r2_gamma``, ``reg_every``,
    ``ema``, ``augment``, ``augment_p``, ``schedule`` as a tuple of ``--schedule`` strings, ...: a recipe such
    as R3GAN's needs its R1 and R2 to be itself). Other keys are only shown by ``ganzoo info``; D's updates per
    G update are the loss's ``d_steps``."""
    unchanged_under: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Parameters that training with a loss is expected to leave unchanged, by loss name, each ``role.name``
    as ``named_parameters`` gives it: ``{"relativistic": ("discriminator.linear.bias",)}`` (a relativistic loss
    compares D's logits of reals and fakes, so the bias of D's last layer cancels and gets no gradient). The
    contract's ``train`` check fails a parameter that two steps leave unchanged unless it is named here for the
    loss it trains with, and fails a name that is no parameter of the networks."""
    architecture: str = ""
    """A human-readable summary of both networks (shown by ``ganzoo info``)."""
    reference: str = ""
    """The paper or source the model follows (shown by ``ganzoo info`` and on the model card)."""
    weights: tuple[WeightsSpec, ...] = ()
    """Pretrained weights: ``ganzoo.load("NAME.TAG")`` loads one, ``ganzoo.load("NAME")`` the default."""
    default_weights: str | None = None
    """The tag ``ganzoo.load("NAME")`` loads; None means the first of ``weights``."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this model."""

    def __post_init__(self) -> None:
        _check_model_name(self.name)
        for field_name in ("generator", "discriminator"):
            _check_builder("model", self.name, field_name, getattr(self, field_name))
        networks = (self.generator, self.discriminator)
        object.__setattr__(self, "config", SharedConfig(self.config or {}, model=self.name, networks=networks))
        object.__setattr__(self, "options", _freeze(self.options))
        object.__setattr__(self, "presets", _freeze({k: _freeze(v) for k, v in self.presets.items()}))
        object.__setattr__(self, "hyperparameters", _freeze(self.hyperparameters))
        object.__setattr__(self, "datasets", check_patterns(self.name, "datasets", self.datasets))
        object.__setattr__(self, "sample_shapes", check_shape_patterns(self.name, self.sample_shapes))
        object.__setattr__(self, "losses", tuple(self.losses))
        object.__setattr__(self, "unchanged_under", _check_unchanged_under(self.name, self.unchanged_under))
        object.__setattr__(self, "weights", tuple(self.weights))
        tags = [w.tag for w in self.weights]
        if len(set(tags)) != len(tags):
            raise ConfigError(f"model {self.name!r}: weights tags must be unique, got {tags}")
        if self.default_weights is None and self.weights:
            object.__setattr__(self, "default_weights", self.weights[0].tag)
        if self.default_weights is not None and self.default_weights not in tags:
            raise ConfigError(
                f"model {self.name!r}: default_weights {self.default_weights!r} is not one of {tags}"
            )

    @property
    def kind(self) -> str:
        return "conditional" if self.conditional else "unconditional"

    def shape_patterns(self) -> tuple[str, ...]:
        """The sample shapes the model supports: ``sample_shapes``, else any (``"*"``) when the data fills
        its ``sample_shape`` config key, else none."""
        if self.sample_shapes:
            return self.sample_shapes
        return ("*",) if "sample_shape" in self.config else ()

    def data_shape(self, data: DatasetSpec) -> tuple[int, ...] | None:
        """The shape of one sample of ``data`` for this model (:func:`ganzoo.registry.shapes.data_shape`)."""
        return data_shape(data.sample_shape, data.channels, self.config.get("image_size"))

    def takes_shape(self, shape: tuple[int, ...] | None) -> bool:
        """Whether ``shape`` (None: unknown, which only ``"*"`` admits) is one of :meth:`shape_patterns`."""
        return shape_matches(self.shape_patterns(), shape)

    def trains_on(self, dataset: str | DatasetSpec) -> bool:
        """Whether the model trains on ``dataset`` (a registered name or its record).

        Its ``default_dataset`` always; else a dataset that ``datasets`` names (fnmatch patterns);
        when ``datasets`` is empty, a registered dataset whose sample shape :meth:`takes_shape`
        admits and, for a conditional model, that has labels (``num_classes``).
        """
        import fnmatch

        name = dataset if isinstance(dataset, str) else dataset.name
        if name == self.default_dataset:
            return True
        if self.datasets:
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.datasets)
        if isinstance(dataset, str):
            found = current_registry().datasets.records.get(name)
            if found is None:
                return False
            dataset = found
        if self.conditional and dataset.num_classes is None:
            return False
        return self.takes_shape(self.data_shape(dataset))

    def get_weights(self, tag: str | None = None) -> WeightsSpec:
        """The weights entry with ``tag`` (the default entry when ``tag`` is None)."""
        from ..errors import UnknownNameError

        tag = tag or self.default_weights
        for weights in self.weights:
            if weights.tag == tag:
                return weights
        known = [f"{self.name}.{w.tag}" for w in self.weights]
        hint = (
            f"{self.name} has weights {', '.join(repr(k) for k in known)}."
            if known
            else f"{self.name} has no pretrained weights."
        )
        raise UnknownNameError("weights", f"{self.name}.{tag}", known, hint=hint)


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss. ``builder`` returns an object with the ``ganzoo.Loss`` protocol."""

    name: str
    """Registry name (``--loss NAME``): lower-case letters, digits, ``-``, ``_`` or ``.``."""
    summary: str
    """One line for ``ganzoo list --losses``."""
    builder: str | Callable[..., Any]
    """Returns the ``ganzoo.Loss`` object, called with the chosen ``options`` as keywords."""
    formula: str = ""
    """The two objectives in plain text (``D: ...;  G: ...``), shown by ``ganzoo info``."""
    reference: str = ""
    """The paper the loss comes from."""
    options: Mapping[str, tuple[Any, ...] | type] = field(default_factory=dict)
    """Constructor keywords a user may set (``--loss-option gp_weight=5``), each with its type or a tuple
    of allowed values, like ``ModelSpec.options``; the constructor itself checks their ranges."""
    undecided_logit: float | None = 0.0
    """D's output where the loss has it unable to tell real from fake: 0 for logistic and hinge losses, 0.5
    for least squares (targets 0 and 1). ``--augment ada`` measures D's confidence on the reals against it
    (StyleGAN2-ADA's ``E[sign(D(real))]``). None where the loss leaves the level of D's outputs free (WGAN,
    relativistic losses: only differences count), so that no such measure exists and ``ada`` is refused."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this loss."""

    def __post_init__(self) -> None:
        _check_name("loss", self.name)
        _check_builder("loss", self.name, "builder", self.builder)
        _check_options("loss", self.name, self.options)
        undecided = self.undecided_logit
        if undecided is not None and (isinstance(undecided, bool) or not isinstance(undecided, int | float)
                                      or not math.isfinite(undecided)):
            raise ConfigError(f"loss {self.name!r}: undecided_logit must be a finite number or None, "
                              f"got {undecided!r}")
        object.__setattr__(self, "options", _freeze(self.options))

    def build(self, **options: Any) -> Any:
        """The loss object, built with ``options``; a keyword its constructor lacks is a ConfigError."""
        return call_with_accepted(self.builder, options, owner=f"loss {self.name!r}", record=self)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset description; it satisfies the ``ganzoo.Dataset`` protocol.

    ``loader`` is called as ``loader(root=..., split=..., download=..., image_size=...)``
    (only the keywords it accepts) and returns a ``ganzoo.data.SampleSet``.
    """

    name: str
    """Registry name (``--dataset NAME``): lower-case letters, digits, ``-``, ``_`` or ``.``."""
    summary: str
    """One line for ``ganzoo list --datasets``."""
    loader: str | Callable[..., Any]
    """Returns a split as a ``ganzoo.data.SampleSet``: uint8 images in [0, 255] or float samples in
    [-1, 1]; called with the keywords it accepts among ``root``, ``split``, ``download``, ``image_size``."""
    sample_shape: tuple[int, ...] | None = None
    """Shape of one sample; None when the loader resizes to the model's ``image_size``."""
    channels: int | None = None
    """Image channels (1 grey, 3 colour), None for data that are not images; fills a model's ``channels``."""
    num_classes: int | None = None
    """Number of label classes, None for unlabelled data; a conditional model needs it."""
    can_download: bool = False
    """True when the loader fetches missing files itself with ``download=True`` (``ganzoo train --download``)."""
    embedded: bool = False
    """True for data generated in code (needs no files at all)."""
    splits: tuple[str, ...] = ("train",)
    """The splits the loader knows; training uses ``train`` unless ``--split`` says otherwise."""
    license: str = ""
    """Licence of the data, stated on every model card trained on it (a loader's ``SampleSet.license`` wins)."""
    homepage: str = ""
    """Where the data come from (shown by ``ganzoo info`` and on model cards)."""
    sample_metrics: str | Callable[..., Any] | None = None
    """Optional ``metrics(samples, dataset) -> dict``: scores 2,000 of a trained generator's samples (a float
    tensor in model units, [-1, 1]) on this data set; the trainer puts the result in the run's final metrics and card
    (the toy sets report the modes covered)."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this dataset."""

    def __post_init__(self) -> None:
        _check_name("dataset", self.name)
        _check_builder("dataset", self.name, "loader", self.loader)
        if self.sample_metrics is not None:
            _check_builder("dataset", self.name, "sample_metrics", self.sample_metrics)
        if self.sample_shape is not None:
            object.__setattr__(self, "sample_shape", tuple(int(s) for s in self.sample_shape))
        object.__setattr__(self, "splits", tuple(self.splits))

    def load(
        self,
        root: Any = None,
        split: str = "train",
        *,
        download: bool = False,
        image_size: int | None = None,
    ) -> Any:
        """Load ``split`` under ``root`` as a ``ganzoo.data.SampleSet``."""
        if split not in self.splits:
            raise ConfigError(
                f"dataset {self.name!r} has no split {split!r}; choose one of {', '.join(self.splits)}"
            )
        offered = {"root": root, "split": split, "download": download, "image_size": image_size}
        return call_with_accepted(
            self.loader, offered, optional=offered, owner=f"dataset {self.name!r}", record=self
        )


@dataclass(frozen=True)
class ExtractorSpec:
    """A feature extractor for evaluation metrics (FID features, class predictions)."""

    name: str
    """Registry name (``ganzoo eval --extractor NAME``); the built object's ``name`` must equal it."""
    summary: str
    """One line for ``ganzoo list --extractors``."""
    builder: str | Callable[..., Any]
    """Returns the extractor (``name``, ``weights_sha256``, ``input_note``, ``features(x)``); offered ``device``."""
    datasets: tuple[str, ...] = ()
    """Datasets the extractor serves (fnmatch patterns); empty means any image data."""
    classifier: bool = False
    """True when the extractor also predicts class labels (class coverage, conditional accuracy)."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this extractor."""

    def __post_init__(self) -> None:
        _check_name("feature extractor", self.name)
        _check_builder("feature extractor", self.name, "builder", self.builder)
        object.__setattr__(self, "datasets", tuple(self.datasets))

    def build(self, **options: Any) -> Any:
        """The extractor on ``device`` (offered to every builder, which may ignore it), with ``options``."""
        return call_with_accepted(
            self.builder, options, optional=("device",), owner=f"feature extractor {self.name!r}", record=self
        )


# ---- Training callbacks ----
# The record of a training callback a plugin registers (``register_callbacks``), turned on by ``--callback NAME``.
#
# Like the other records it imports nothing heavy: the callback class is named lazily and
# imported only when a run asks for it. The callback itself derives from
# :class:`ganzoo.training.Callback` (see :mod:`ganzoo.training.callbacks` for the events).


@dataclass(frozen=True)
class CallbackSpec:
    """A training callback: ``ganzoo train ... --callback NAME`` adds one, built by ``builder(**options)``.

    ``builder`` (a callable or ``"module:attribute"``) is called with the options the user gave
    (``--callback-option NAME.KEY=VALUE``, checked against ``options``; none given: no keywords, so the
    builder's own defaults hold) and returns a :class:`ganzoo.training.Callback`. A callback with
    ``state_dict()``/``load_state_dict()`` is saved in the checkpoint under ``callback:NAME`` and restored on
    ``--resume``.
    """

    name: str
    """Registry name, turned on by ``ganzoo train ... --callback NAME``."""
    summary: str
    """One line for ``ganzoo list --callbacks``."""
    builder: str | Callable[..., Any]
    """Returns a :class:`ganzoo.training.Callback`, called with the chosen ``options`` as keywords."""
    options: Mapping[str, tuple[Any, ...] | type] = field(default_factory=dict)
    """Keywords of ``builder`` a user may set (``--callback-option NAME.every=10``), each with its type or a
    tuple of allowed values, exactly like ``ModelSpec.options`` and ``LossSpec.options``; the builder itself
    checks their ranges (raise ``ganzoo.ConfigError`` naming the option and the fix)."""
    plugin: str = ""
    """Set by the registry: the plugin that registered this callback."""

    def __post_init__(self) -> None:
        _check_name("callback", self.name)
        _check_builder("callback", self.name, "builder", self.builder)
        _check_options("callback", self.name, self.options)
        object.__setattr__(self, "options", _freeze(self.options))

    def build(self, **options: Any) -> Any:
        """The callback, built with ``options`` (checked ones: :func:`ganzoo.models.model_options.coerce_declared`);
        a keyword the builder lacks is a ConfigError."""
        return call_with_accepted(self.builder, options, owner=f"callback {self.name!r}", record=self)
