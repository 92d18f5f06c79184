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
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cards.card import MAX_LICENSE_NAME
from ..errors import ConfigError
from ..io.files import jsonable
from ..models.model_options import coerce_declared, coerce_loss_options, coerce_options
from ..registry.records import DatasetSpec, LossSpec, ModelSpec
from . import optiontable
from .memory_layout import parse_memory_format
from .optiontable import TrainOption, config_fields
from .schedules import parse_schedule

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
DEFAULT_EVAL_SAMPLES = 1000
"""``--eval-every``'s samples per evaluation: cheap enough to run often, steady enough to rank snapshots."""
DEFAULT_DIST_TIMEOUT_S = optiontable.DEFAULT_DIST_TIMEOUT_S
MAX_EPOCHS = optiontable.MAX_EPOCHS
MAX_SAMPLE_GRID = optiontable.MAX_SAMPLE_GRID
MAX_DIST_TIMEOUT_S = optiontable.MAX_DIST_TIMEOUT_S
MAX_PENALTY_GAMMA = optiontable.MAX_PENALTY_GAMMA
TRAIN_RANGES = optiontable.TRAIN_RANGES
option_name = optiontable.option_name


def check_training_number(field_name: str, value: Any) -> Any:
    """``value`` held to the declared range of ``field_name`` (:data:`TRAIN_RANGES`), named by its option."""
    return TRAIN_RANGES[field_name].check(option_name(field_name), value)


def _fields_from_table(cls: type) -> type:
    """``cls`` as a dataclass whose fields are the option table's (:data:`.optiontable.TRAIN_OPTIONS`): each
    option's type, default and description are declared there once, and its docstring lists them."""
    annotations = dict(inspect.get_annotations(cls))
    lines = []
    for option in config_fields():
        annotations[option.name] = option.annotation
        if option.default_factory is not None:
            setattr(cls, option.name, field(default_factory=option.default_factory))
        elif option.default is not ...:
            setattr(cls, option.name, option.default)
        lines.append(f"    {option.name}: {option.help}")
    cls.__annotations__ = annotations
    heading = "\n\n    Fields (the option table's, :mod:`.optiontable`):\n\n"
    cls.__doc__ = (cls.__doc__ or "") + heading + "\n".join(lines)
    return dataclass(cls)


@_fields_from_table
class TrainConfig:
    """A training request. ``None`` fields take the model's defaults (see the module docstring)."""

    if TYPE_CHECKING:  # the fields come from the option table; declared here for type checkers only
        def __init__(self, model: str, **fields: Any) -> None: ...

        def __getattr__(self, name: str) -> Any: ...

    def __setattr__(self, name: str, value: Any) -> None:
        """Every numeric field is held to its declared range (:data:`TRAIN_RANGES`) whenever it is set: at
        construction, by a resume that merges in a checkpoint's record, by a caller's later assignment. So no
        request that reaches the trainer or the Lightning module holds ``inf``, ``nan`` or a seed torch refuses."""
        if name in TRAIN_RANGES and not (value is None and name in _MAY_BE_UNSET) and not _is_word(name, value):
            checked = check_training_number(name, value)
            if TRAIN_RANGES[name].integer:
                value = checked  # 3.0 -> 3: a seed or a count is an int from here on
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """JSON- and checkpoint-safe: paths as strings, tuples as lists, as the table declares each field."""
        values = dataclasses.asdict(self)
        for option in config_fields():
            values[option.name] = stored(option, values[option.name])
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """The request a checkpoint recorded (:meth:`to_dict`); keys of options since removed are left out, and
        options since added take their defaults."""
        table = {option.name: option for option in config_fields()}
        return cls(**{k: restored(table[k], v) for k, v in values.items() if k in table})


def stored(option: TrainOption, value: Any) -> Any:
    """A field's value as JSON and checkpoints hold it (:attr:`.optiontable.TrainOption.kind`)."""
    if value is None or isinstance(value, bool):
        return value
    if option.kind == "path":
        return str(value)
    if option.kind == "tuple":
        return [float(v) if option.range is not None else v for v in value]
    if option.kind == "dict":
        return jsonable(value)
    return value


def restored(option: TrainOption, value: Any) -> Any:
    """A field's value from JSON or a checkpoint, as :meth:`TrainConfig.__init__` takes it (lists as tuples)."""
    if option.kind == "tuple" and value is not None:
        return tuple(value)
    if option.kind == "dict" and value is not None:
        return dict(value)
    return value


def _is_word(name: str, value: Any) -> bool:
    """A word the option declares besides its numbers (``threads='auto'``): checked by the option's parser."""
    return isinstance(value, str) and value.strip().lower() in optiontable.TRAIN_WORDS.get(name, ())


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
    eval_samples: int
    """``eval_every``'s generated (and reference) samples per evaluation."""
    steps: int | None
    epochs: float | None
    loss_options: dict[str, Any] = field(default_factory=dict)
    """The loss's constructor options, checked: ``loss_spec.build(**loss_options)`` builds the loss."""
    callbacks: tuple[str, ...] = ()
    """Registered callbacks the run adds after the built-in ones, in order."""
    callback_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each callback's options, checked and typed (only callbacks given some): ``spec.build(**options)``."""
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


def with_model_practices(config: TrainConfig, spec: ModelSpec) -> TrainConfig:
    """``config`` with the model's training practices (``ModelSpec.hyperparameters``: R3GAN's R1 and R2, say)
    wherever it leaves one unset, held to the options' ranges like any request.

    A default schedule of a setting the request gives (``--lr`` beside a default ``lr`` schedule) is left out:
    the schedule would set the value at every step, and the user's flag would do nothing."""
    defaults = {name: spec.hyperparameters[name] for name in optiontable.PRACTICE_OPTIONS
                if name in spec.hyperparameters and getattr(config, name) is None}
    try:
        if "schedule" in defaults:
            schedules = defaults["schedule"]
            if not isinstance(schedules, tuple | list) or not all(isinstance(text, str) for text in schedules):
                raise ConfigError(f"hyperparameters['schedule'] must be a tuple of 'NAME=START:END:IMAGES' strings, "
                                  f"got {schedules!r:.100}")
            defaults["schedule"] = tuple(text for text in schedules
                                         if getattr(config, parse_schedule(text).replaces) is None) or None
        return dataclasses.replace(config, **defaults) if defaults else config
    except (ConfigError, TypeError) as error:
        raise ConfigError(f"model {spec.name!r} declares a bad training default in hyperparameters "
                          f"({str(error).splitlines()[0][:200]}); report it to the plugin's authors") from None


def resolve(config: TrainConfig) -> ResolvedConfig:
    """Check ``config`` against the registry and fill in the model's defaults."""
    from ..registry.catalog import get_model_spec, get_registry, list_datasets

    registry = get_registry()
    spec = get_model_spec(config.model)
    config = with_model_practices(config, spec)
    dataset_name = config.dataset or spec.default_dataset
    if not dataset_name:
        raise ConfigError(f"{spec.name} has no default dataset; choose one with --dataset")
    # a name the model uses means its own plugin's record first (docs/plugins/reference.md, "Names and clashes")
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

    practices = resolve_practices(config, is_image=True)  # the EMA, --augment, R1/R2 checks, before the data
    if practices.augment.adaptive and loss_spec.undecided_logit is None and not config.resume:
        raise ConfigError(f"--augment ada steers p by how sure D is of the reals, and loss {loss_spec.name!r} "
                          "leaves the level of D's outputs free, so p would drift at random; use --augment fixed "
                          "with --augment-p P or --schedule augment_p=START:END:IMAGES (as R3GAN does), or diffaug")
    from .parallel.compiling import check_compile_request

    check_compile_request(config.compile, config.compile_mode)
    check_license_name(config.data_license)
    from .threads import parse_threads

    parse_threads(config.threads)
    parse_memory_format(config.memory_format)

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
    callbacks = _callbacks(config.callbacks)
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
        eval_samples=_pick(config.eval_samples, DEFAULT_EVAL_SAMPLES),
        steps=steps,
        epochs=epochs,
        loss_options=loss_options,
        callbacks=callbacks,
        callback_options=_callback_options(config.callback_options, callbacks),
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


def _callback_options(given: Mapping[str, Any] | None, callbacks: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``--callback-option`` values, by callback: each for a callback the run uses, checked and typed against its
    declared options, then built once, so that the callback's own range checks speak before any data is loaded."""
    from ..models.model_options import coerce_callback_options
    from ..registry.catalog import get_callback_spec

    checked: dict[str, dict[str, Any]] = {}
    for name, values in (given or {}).items():
        if name not in callbacks:
            uses = f"uses {', '.join(callbacks)}" if callbacks else "uses no callback"
            raise ConfigError(f"--callback-option names callback {name!r}, but the run {uses}; add --callback {name} "
                              "or drop its options")
        if not isinstance(values, Mapping):
            raise ConfigError(f"the options of callback {name!r} must be a mapping of option to value, got {values!r}")
        spec = get_callback_spec(name)
        typed = coerce_callback_options(spec, values)
        if typed:
            spec.build(**typed)
            checked[name] = typed
    return checked


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
