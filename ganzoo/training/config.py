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

from ..cards import MAX_LICENSE_NAME
from ..errors import ConfigError
from ..export import jsonable
from ..specs import DatasetSpec, LossSpec, ModelSpec
from .options import coerce_declared, coerce_loss_options, coerce_options

__all__ = [
    "ResolvedConfig",
    "TrainConfig",
    "coerce_declared",
    "coerce_loss_options",
    "coerce_options",
    "model_config_for",
    "resolve",
]

DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 2e-4
DEFAULT_BETAS = (0.5, 0.999)
DEFAULT_SAMPLE_EVERY = 500
DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_LOG_EVERY = 50
DEFAULT_DIST_TIMEOUT_S = 600.0
"""How long a collective waits for the other processes of a multi-process run (``--dist-timeout``): longer
than any rank-0-only work (sample grids, checkpoints, the export) or a first decoding of an image folder,
short enough that a stalled rank does not hold the others' GPUs for torch's default half hour."""



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
    """D's augmentation: ``none`` (default), ``diffaug[:ops]`` or ``ada[:ops]`` (see :mod:`ganzoo.augment`)."""
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

    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def dataset(self) -> str:
        return self.dataset_spec.name

    @property
    def loss(self) -> str:
        return self.loss_spec.name

    def total_steps(self, batches_per_epoch: int, d_steps: int) -> int:
        """Generator updates in the run: ``steps``, or ``epochs`` of data at ``d_steps`` batches per step."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * batches_per_epoch / d_steps))  # type: ignore[operator]


def _positive(name: str, value: Any, kind: type = int) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")
    if kind is int and float(value) != int(value):
        raise ConfigError(f"--{name.replace('_', '-')} must be a whole number, got {value!r}")
    return kind(value)


def default_out(model: str, dataset: str) -> Path:
    return Path("runs") / f"{model}-{dataset}"


def resolve(config: TrainConfig) -> ResolvedConfig:
    """Check ``config`` against the registry and fill in the model's defaults."""
    from ..registry import get_dataset_spec, get_loss_spec, get_model_spec, list_datasets

    spec = get_model_spec(config.model)
    dataset_name = config.dataset or spec.default_dataset
    if not dataset_name:
        raise ConfigError(f"{spec.name} has no default dataset; choose one with --dataset")
    dataset_spec = get_dataset_spec(dataset_name)
    if not spec.trains_on(dataset_spec.name):
        accepted = [n for n in list_datasets() if spec.trains_on(n)] or list(spec.datasets)
        raise ConfigError(
            f"{spec.name} does not train on dataset {dataset_spec.name!r}; use one of: {', '.join(accepted)}"
        )
    if config.split not in dataset_spec.splits:
        raise ConfigError(
            f"dataset {dataset_spec.name!r} has no split {config.split!r}; use one of {', '.join(dataset_spec.splits)}"
        )
    loss_spec = get_loss_spec(config.loss or spec.default_loss)
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
    from .compiling import check_compile_request

    check_compile_request(config.compile, config.compile_mode)
    check_license_name(config.data_license)

    if config.steps is not None and config.epochs is not None:
        raise ConfigError("give --steps or --epochs, not both")
    steps = _positive("steps", config.steps)
    epochs = _positive("epochs", config.epochs, float)
    if steps is None and epochs is None:
        hyper = spec.hyperparameters
        steps = _positive("steps", hyper.get("steps"))
        epochs = None if steps is not None else _positive("epochs", hyper.get("epochs", 1), float)

    hyper = spec.hyperparameters
    batch_size = config.batch_size if config.batch_size is not None else hyper.get("batch_size", DEFAULT_BATCH_SIZE)
    batch_size = _positive("batch_size", batch_size)
    lr = _positive("lr", config.lr if config.lr is not None else hyper.get("lr", DEFAULT_LR), float)
    betas = tuple(config.betas if config.betas is not None else hyper.get("betas", DEFAULT_BETAS))
    if len(betas) != 2 or not all(0 <= float(b) < 1 for b in betas):
        raise ConfigError(f"--betas must be two numbers in [0, 1), got {betas!r}")
    if not isinstance(config.seed, int) or isinstance(config.seed, bool) or config.seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {config.seed!r}")
    if config.limit is not None:
        _positive("limit", config.limit)
    if not (isinstance(config.num_samples, int) and config.num_samples > 0):
        raise ConfigError(f"num_samples must be a positive integer, got {config.num_samples!r}")

    out = Path(config.out) if config.out else default_out(spec.name, dataset_spec.name)
    return ResolvedConfig(
        request=config,
        spec=spec,
        dataset_spec=dataset_spec,
        loss_spec=loss_spec,
        options=options,
        batch_size=batch_size,
        lr=lr,
        betas=(float(betas[0]), float(betas[1])),
        out=out,
        sample_every=_positive("sample_every", config.sample_every) or DEFAULT_SAMPLE_EVERY,
        checkpoint_every=_positive("checkpoint_every", config.checkpoint_every) or DEFAULT_CHECKPOINT_EVERY,
        log_every=_positive("log_every", config.log_every) or DEFAULT_LOG_EVERY,
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
    from ..outputs import check_output_folder
    from .tensorboard_log import require_tensorboard

    require_tensorboard()
    return check_output_folder(out / "tb" if value is True else Path(value), what="--tensorboard-dir")


def _callbacks(names: Any) -> tuple[str, ...]:
    """The requested callbacks, each registered (an unknown name gets suggestions), each once."""
    from ..registry import get_callback_spec

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
    assembles every model configuration (:func:`ganzoo.modelconfig.assemble_config`); this is its
    trainer-side spelling."""
    from ..modelconfig import assemble_config

    return assemble_config(
        spec,
        arguments=options,
        sample_shape=sample_shape,
        channels=channels,
        num_classes=num_classes,
        arguments_label="the options",
        data_label="the dataset",
    )
