"""What a training run is asked to do (``TrainConfig``) and what that means once checked (``ResolvedConfig``).

``TrainConfig`` holds the user's request as given: ``None`` means "the model's default".
:func:`resolve` checks it against the registry (model, dataset, loss, options, device,
precision) and fills the defaults from the model's spec, so that every mistake is a
one-line ``ConfigError`` before any data is loaded or any network built. The model's
final constructor configuration also needs facts only the loaded data knows (sample shape,
channels, classes): :func:`model_config_for` adds them.

Defaults, in one place:

* ``dataset``, ``loss``: the spec's ``default_dataset`` / ``default_loss``; ``loss_options``: none (the
  loss constructor's own defaults, e.g. wgan-gp's ``gp_weight=10, d_steps=5``).
* ``batch_size``, ``lr``, ``betas``: the spec's ``hyperparameters`` (else 64, 2e-4, (0.5, 0.999)).
* length: ``--steps`` or ``--epochs``, one of them; with neither, the spec's
  ``hyperparameters["steps"]`` or ``["epochs"]``, else **one epoch**. A step is one
  generator update (with ``loss.d_steps`` discriminator updates, each on its own real batch).
* ``sample_every`` 500 steps, ``checkpoint_every`` 1000 steps, ``log_every`` 50 steps.
* ``out``: ``runs/<model>-<dataset>``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cards.card import MAX_LICENSE_NAME
from ..errors import ConfigError
from ..io.files import jsonable
from ..models.model_options import coerce_declared, coerce_loss_options, coerce_options
from ..ranges import COUNT, NON_NEGATIVE, POSITIVE, SEED, NumberRange
from ..registry.records import DatasetSpec, LossSpec, ModelSpec
from .parallel import DEFAULT_DIST_TIMEOUT_S

__all__ = [
    "TRAIN_RANGES",
    "ResolvedConfig",
    "TrainConfig",
    "coerce_declared",
    "coerce_loss_options",
    "coerce_options",
    "model_config_for",
    "option_name",
    "resolve",
]

DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 2e-4
DEFAULT_BETAS = (0.5, 0.999)
DEFAULT_SAMPLE_EVERY = 500
DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_LOG_EVERY = 50
MAX_EPOCHS = 1e9
"""More passes over the data than any run makes; it keeps ``epochs x batches`` within the step counter."""
MAX_SAMPLE_GRID = 4096
"""Images in the fixed-noise grid (a 64 x 64 grid): more is unreadable, and is drawn every ``--sample-every`` steps."""
MAX_DIST_TIMEOUT_S = 7 * 24 * 3600.0
"""A week: any wait longer than that is a hang, and ``datetime.timedelta`` refuses what is far larger."""
MAX_PENALTY_GAMMA = 1e6
"""R1/R2 weights beyond any published recipe (StyleGAN2 uses up to 100, R3GAN less): larger ones overflow the
penalty in float32 at once, which the divergence check would then blame on the learning rate."""

TRAIN_RANGES: dict[str, NumberRange] = {
    "epochs": NumberRange(low=0, low_open=True, high=MAX_EPOCHS),
    "steps": COUNT,
    "batch_size": COUNT,
    "lr": POSITIVE,
    "betas": NumberRange(low=0, high=1, high_open=True, items=2),
    "seed": SEED,
    "sample_every": COUNT,
    "checkpoint_every": COUNT,
    "log_every": COUNT,
    "limit": COUNT,
    "num_samples": NumberRange(low=1, high=MAX_SAMPLE_GRID, integer=True),
    "dist_timeout": NumberRange(low=0, low_open=True, high=MAX_DIST_TIMEOUT_S),
    "ema": NON_NEGATIVE,
    "ema_rampup": NON_NEGATIVE,
    "ada_target": NumberRange(low=0, high=1, low_open=True, high_open=True),
    "ada_speed": POSITIVE,
    "r1_gamma": NumberRange(low=0, high=MAX_PENALTY_GAMMA),
    "r2_gamma": NumberRange(low=0, high=MAX_PENALTY_GAMMA),
    "reg_every": COUNT,
}
"""The range of every numeric training option, keyed by its ``TrainConfig`` field: the one declaration that
:class:`TrainConfig` holds each value to when it is set (from the command line, from Python, from a resumed
checkpoint's record) and :func:`resolve` holds a model's default hyper-parameters to."""

_API_ONLY = frozenset({"num_samples"})
"""Fields without a command-line option: messages name the field itself."""


def option_name(field_name: str) -> str:
    """How a message names a training option: its flag (``--batch-size``), or the field for API-only ones."""
    return field_name if field_name in _API_ONLY else "--" + field_name.replace("_", "-")


def check_training_number(field_name: str, value: Any) -> Any:
    """``value`` held to the declared range of ``field_name`` (:data:`TRAIN_RANGES`), named by its option."""
    return TRAIN_RANGES[field_name].check(option_name(field_name), value)


@dataclass
class TrainConfig:
    """A training request. ``None`` fields take the model's defaults (see the module docstring)."""

    model: str
    dataset: str | None = None
    data_dir: str | Path | None = None
    download: bool = False
    loss: str | None = None
    device: str = "auto"
    epochs: float | None = None
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    seed: int = 0
    out: str | Path | None = None
    resume: bool = False
    precision: str = "fp32"
    reuse_fakes: bool | None = None
    """True: the generator update scores the fakes of the last discriminator update again, as the PyTorch
    DCGAN tutorial does (one generator forward pass per step instead of two). False (the default for a new
    run; a resumed run keeps its own): fresh noise for the generator update, as in Goodfellow et al."""
    sample_every: int | None = None
    checkpoint_every: int | None = None
    log_every: int | None = None
    quiet: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    """Model options (``--option key=value``), checked against the spec's ``options``."""
    loss_options: dict[str, Any] = field(default_factory=dict)
    """Loss constructor options (``--loss-option key=value``: ``d_steps``, ``gp_weight``, ...), checked
    against the loss's ``LossSpec.options``."""
    limit: int | None = None
    """Train on the first ``limit`` samples only (quick runs, tests)."""
    num_samples: int = 64
    """Images in the fixed-noise sample grid."""
    split: str = "train"
    command: str | None = None
    """The command line recorded in the model card (the CLI passes its argv)."""
    sync_bn: bool = False
    """Several processes: BatchNorm statistics over the global batch (``SyncBatchNorm``, CUDA only)."""
    dist_timeout: float = DEFAULT_DIST_TIMEOUT_S
    """Several processes: seconds a collective waits for the others before the run stops with an error."""
    callbacks: tuple[str, ...] | None = None
    """Registered callbacks to add (``--callback NAME``). None: a new run has none, a resumed run keeps its own."""
    ema: float | None = None
    """Half-life of the generator's EMA in images (``--ema``); 0 turns it off. None: 10,000 for image data, off
    for other data (a resumed run keeps its own). See :mod:`.ema`."""
    ema_rampup: float | None = None
    """StyleGAN2's EMA ramp-up: the half-life is at most this share of the images seen (default 0.05; 0: none)."""
    augment: str | None = None
    """D's augmentation: ``none`` (default), ``diffaug[:ops]`` or ``ada[:ops]`` (see :mod:`.practices.augment`)."""
    ada_target: float | None = None
    """``--augment ada``: the target of ``r_t = E[sign(D(real))]`` (default 0.6)."""
    ada_speed: float | None = None
    """``--augment ada``: images in which ``p`` can go from 0 to 1 (default 100,000)."""
    r1_gamma: float | None = None
    """R1 penalty weight on D's gradient at the reals (default 0: none); see :mod:`.regularize`."""
    r2_gamma: float | None = None
    """R2 penalty weight on D's gradient at the fakes (default 0: none)."""
    reg_every: int | None = None
    """Lazy regularisation: R1/R2 every this many steps, scaled by it (default 1: every step)."""
    schedule: tuple[str, ...] | None = None
    """``--schedule NAME=START:END:IMAGES[:SHAPE]``: settings that move over the run (:mod:`.schedules`)."""
    tensorboard: str | Path | bool | None = None
    """TensorBoard events of this session (``--tensorboard``, ``--tensorboard-dir DIR``): True writes them to
    ``OUT/tb``, a path to that folder; False: none; None: none for a new run, the run's own on resume.
    Needs ``pip install "ganzoo[tensorboard]"``."""
    compile: bool | None = None
    """Compile the networks the training step calls with ``torch.compile`` (``--compile``, see :mod:`.compiling`).
    None: off for a new run, the run's own on resume (a resumed run may change it: it changes no result but the
    rounding)."""
    data_license: str | None = None
    """``--data-license``: the licence of the training data, for a folder that cannot hold a ``LICENSE`` file (a
    read-only share). None: the data's own (a folder's ``LICENSE`` file, else the dataset's spec); a resumed run
    keeps its own. It changes nothing in training, so a resume may add it; it may not contradict a licence file."""
    compile_mode: str | None = None
    """``--compile-mode``: ``torch.compile``'s mode; None: the device's default (:func:`.compiling.compile_mode`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Every numeric field is held to its declared range (:data:`TRAIN_RANGES`) whenever it is set: at
        construction, by a resume that merges in a checkpoint's record, by a caller's later assignment. So no
        request that reaches the trainer or the Lightning module holds ``inf``, ``nan`` or a seed torch refuses."""
        if name in TRAIN_RANGES and not (value is None and name in _MAY_BE_UNSET):
            checked = check_training_number(name, value)
            if TRAIN_RANGES[name].integer:
                value = checked  # 3.0 -> 3: a seed or a count is an int from here on
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """JSON- and checkpoint-safe: paths as strings, tuples as lists."""
        values = dataclasses.asdict(self)
        for key in ("data_dir", "out", "tensorboard"):
            if values[key] is not None and not isinstance(values[key], bool):
                values[key] = str(values[key])
        if values["betas"] is not None:
            values["betas"] = [float(b) for b in values["betas"]]
        values["options"] = jsonable(values["options"])
        values["loss_options"] = jsonable(values["loss_options"])
        for key in ("callbacks", "schedule"):
            if values[key] is not None:
                values[key] = list(values[key])
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if kwargs.get("betas") is not None:
            kwargs["betas"] = tuple(kwargs["betas"])
        for key in ("callbacks", "schedule"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


_MAY_BE_UNSET = frozenset(f.name for f in dataclasses.fields(TrainConfig) if f.default is None)
"""Fields where None means "the model's default" (or "none"), rather than a number left out."""


@dataclass
class ResolvedConfig:
    """A checked request with every default filled in (the data-dependent model config comes later)."""

    request: TrainConfig
    spec: ModelSpec
    dataset_spec: DatasetSpec
    loss_spec: LossSpec
    options: dict[str, Any]
    batch_size: int
    lr: float
    betas: tuple[float, float]
    out: Path
    sample_every: int
    checkpoint_every: int
    log_every: int
    steps: int | None
    epochs: float | None
    loss_options: dict[str, Any] = field(default_factory=dict)
    """The loss's constructor options, checked: ``loss_spec.build(**loss_options)`` builds the loss."""
    callbacks: tuple[str, ...] = ()
    """Registered callbacks the run adds after the built-in ones, in order."""
    tensorboard: Path | None = None
    """The folder of this session's TensorBoard events; None for none."""

    # the names a run records (checkpoint, config.json, card, equivalent command): PLUGIN:NAME for a record whose
    # bare name another plugin holds, so that a resume or a rerun finds the same record again
    @property
    def model(self) -> str:
        from ..registry.catalog import reference_name

        return reference_name(self.spec)

    @property
    def dataset(self) -> str:
        from ..registry.catalog import reference_name

        return reference_name(self.dataset_spec)

    @property
    def loss(self) -> str:
        from ..registry.catalog import reference_name

        return reference_name(self.loss_spec)

    def total_steps(self, batches_per_epoch: int, d_steps: int) -> int:
        """Generator updates in the run: ``steps``, or ``epochs`` of data at ``d_steps`` batches per step."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * batches_per_epoch / d_steps))  # type: ignore[operator]


def _checked(field_name: str, value: Any) -> Any:
    """A request's value or a model's default, held to the option's declared range (None stays None)."""
    return None if value is None else check_training_number(field_name, value)


def _pick(given: Any, default: Any) -> Any:
    """The request's value, or the default when it left the option unset."""
    return default if given is None else given


def default_out(model: str, dataset: str) -> Path:
    return Path("runs") / f"{model}-{dataset}"


def resolve(config: TrainConfig) -> ResolvedConfig:
    """Check ``config`` against the registry and fill in the model's defaults."""
    from ..registry.catalog import get_model_spec, get_registry, list_datasets

    registry = get_registry()
    spec = get_model_spec(config.model)
    dataset_name = config.dataset or spec.default_dataset
    if not dataset_name:
        raise ConfigError(f"{spec.name} has no default dataset; choose one with --dataset")
    # a name the model uses means its own plugin's record first (CONTRIBUTING.md, "Names and clashes")
    dataset_spec = registry.datasets.get(dataset_name, prefer=spec.plugin)
    if not spec.trains_on(dataset_spec):
        accepted = [n for n in list_datasets() if spec.trains_on(n)] or list(spec.datasets)
        raise ConfigError(
            f"{spec.name} does not train on dataset {dataset_spec.name!r}; use one of: {', '.join(accepted)}"
        )
    if config.split not in dataset_spec.splits:
        raise ConfigError(
            f"dataset {dataset_spec.name!r} has no split {config.split!r}; use one of {', '.join(dataset_spec.splits)}"
        )
    loss_spec = registry.losses.get(config.loss or spec.default_loss, prefer=spec.plugin)
    if spec.losses and loss_spec.name not in spec.losses:
        raise ConfigError(
            f"{spec.name} does not train with loss {loss_spec.name!r}; use one of: {', '.join(spec.losses)}"
        )
    options = coerce_options(spec, config.options)
    loss_options = coerce_loss_options(loss_spec, config.loss_options)
    if loss_options:  # the loss's own range checks (d_steps >= 1, ...), before any data is loaded
        loss_spec.build(**loss_options)
    from .practices import resolve_practices

    resolve_practices(config, is_image=True)  # the EMA, --augment and R1/R2 settings' checks, before the data
    from .parallel.compiling import check_compile_request

    check_compile_request(config.compile, config.compile_mode)
    check_license_name(config.data_license)

    if config.steps is not None and config.epochs is not None:
        raise ConfigError("give --steps or --epochs, not both")
    # the request's numbers were held to TRAIN_RANGES when they were set; the model's defaults are held here
    steps = _checked("steps", config.steps)
    epochs = _checked("epochs", config.epochs)
    hyper = spec.hyperparameters
    if steps is None and epochs is None:
        steps = _checked("steps", hyper.get("steps"))
        epochs = None if steps is not None else _checked("epochs", hyper.get("epochs", 1))
    batch_size = _checked("batch_size", _pick(config.batch_size, hyper.get("batch_size", DEFAULT_BATCH_SIZE)))
    lr = _checked("lr", _pick(config.lr, hyper.get("lr", DEFAULT_LR)))
    betas = _checked("betas", _pick(config.betas, hyper.get("betas", DEFAULT_BETAS)))

    out = Path(config.out) if config.out else default_out(spec.name, dataset_spec.name)
    return ResolvedConfig(
        request=config,
        spec=spec,
        dataset_spec=dataset_spec,
        loss_spec=loss_spec,
        options=options,
        batch_size=batch_size,
        lr=lr,
        betas=betas,
        out=out,
        sample_every=_pick(config.sample_every, DEFAULT_SAMPLE_EVERY),
        checkpoint_every=_pick(config.checkpoint_every, DEFAULT_CHECKPOINT_EVERY),
        log_every=_pick(config.log_every, DEFAULT_LOG_EVERY),
        steps=steps,
        epochs=epochs,
        loss_options=loss_options,
        callbacks=_callbacks(config.callbacks),
        tensorboard=_tensorboard(config.tensorboard, out),
    )


def check_license_name(value: str | None) -> None:
    """``--data-license`` names a licence in one line ('CC BY 4.0'), as a card's front matter needs."""
    if value is None:
        return
    text = str(value)
    if not text.strip() or "\n" in text or len(text) > MAX_LICENSE_NAME:
        raise ConfigError(
            f"--data-license must name the licence on one line of at most {MAX_LICENSE_NAME} characters "
            f"(e.g. 'CC BY 4.0'), got {text[:60]!r}{'...' if len(text) > 60 else ''}"
        )


def _tensorboard(value: Any, out: Path) -> Path | None:
    """The events folder asked for (True: ``OUT/tb``), which needs the ``tensorboard`` extra installed."""
    if value is None or value is False:
        return None
    from ..extras import require_tensorboard
    from ..io.files import check_output_folder

    require_tensorboard()
    return check_output_folder(out / "tb" if value is True else Path(value), what="--tensorboard-dir")


def _callbacks(names: Any) -> tuple[str, ...]:
    """The requested callbacks, each registered (an unknown name gets suggestions), each once."""
    from ..registry.catalog import get_callback_spec

    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    checked: list[str] = []
    for name in names:
        get_callback_spec(name)
        if name in checked:
            raise ConfigError(f"--callback {name} is given twice; give each callback once")
        checked.append(name)
    return tuple(checked)


def model_config_for(
    spec: ModelSpec,
    options: Mapping[str, Any],
    *,
    sample_shape: tuple[int, ...] | None = None,
    channels: int | None = None,
    num_classes: int | None = None,
) -> dict[str, Any]:
    """The constructor configuration: spec config, then the user's options, then presets for the chosen
    options, then what the data dictates (keys the config does not have are left out). One function
    assembles every model configuration (:func:`ganzoo.models.model_config.assemble_config`); this is its
    trainer-side spelling."""
    from ..models.model_config import assemble_config

    return assemble_config(
        spec,
        arguments=options,
        sample_shape=sample_shape,
        channels=channels,
        num_classes=num_classes,
        arguments_label="the options",
        data_label="the dataset",
    )
