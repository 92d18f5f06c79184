"""Contract checks of training callbacks: their options, their events in a real run, and a resume.

A callback is plugin code that runs inside every step of someone's training run, so what it must
not do is what these checks look for, each through the real :class:`ganzoo.training.Trainer` on a
tiny embedded data set (``mlp-gan`` on ``ring-8`` unless the check is told otherwise):

* ``options``: every declared option is a keyword of the builder; the callback builds with none
  (its defaults) and with the author's ``options``; those options survive the trip through the
  command line (``--callback-option NAME.KEY=VALUE`` written as the equivalent command writes it, parsed
  and typed back as ``ganzoo train`` does) unchanged; the built object has the four hooks, and
  ``state_dict`` only together with ``load_state_dict``.
* ``events``: a run of three steps calls ``on_train_start`` once, first; ``on_step_end`` after each
  step with ``run.step`` 1, 2, 3; ``on_train_end`` once, with ``run.outcome == "finished"``;
  ``teardown`` once, last; and ``config.json`` records the options.
* ``resume``: a run stopped after the step that follows a checkpoint (a ``kill -9`` there) and
  resumed, with neither the callback nor its options named again, ends with the weights, and the
  callback's ``state_dict()``, of the same run trained without a stop: the callback survives the resume
  and does not break exact resume (it must not, say, change the networks or draw from torch's
  random state in ``on_train_start``, which a resumed session calls again).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import GanzooError
from ..registry.catalog import get_registry
from ..registry.records import CallbackSpec
from .core import ContractError, fail, one_thread, output_folder

__all__ = ["CALLBACK_ASPECTS", "CALLBACK_MODEL", "check_callback", "check_callback_aspect"]

CALLBACK_ASPECTS = ("options", "events", "resume")
CALLBACK_MODEL = ("mlp-gan", "ring-8")
"""What the callback checks train by default: a built-in model on embedded 2-D data, a second a run."""
HOOKS = ("on_train_start", "on_step_end", "on_train_end", "teardown")
EVENT_STEPS = 3
RESUME_STEPS = 4
"""The resume check trains this many steps, with a checkpoint every two and a stop after the third."""


def _typed(spec: CallbackSpec, options: Mapping[str, Any] | None) -> dict[str, Any]:
    from ..models.model_options import coerce_callback_options

    try:
        return coerce_callback_options(spec, dict(options or {}))
    except GanzooError as error:
        raise fail("callback", spec, f"the options given to the check are not the declared ones: {error}") from None


def _build(spec: CallbackSpec, options: Mapping[str, Any]) -> Any:
    try:
        return spec.build(**options)
    except GanzooError as error:
        raise fail("callback", spec, f"does not build with options {dict(options)}: {error}") from None


def _check_options(spec: CallbackSpec, options: Mapping[str, Any] | None) -> None:
    from ..models.model_options import parse_callback_options
    from ..registry.builders import accepted_keywords, resolve
    from ..training.optiontable import options_by_name

    accepted = accepted_keywords(resolve(spec.builder))
    if accepted is not None:
        missing = [key for key in spec.options if key not in accepted]
        if missing:
            raise fail("callback", spec, f"declares option(s) {', '.join(missing)} that its builder does not take "
                       f"(it takes {', '.join(sorted(accepted)) or 'none'}): add them to the builder's signature")
    typed = _typed(spec, options)
    for built in (_build(spec, {}), _build(spec, typed)):
        lacking = [hook for hook in HOOKS if not callable(getattr(built, hook, None))]
        if lacking:
            raise fail("callback", spec, f"the builder returned a {type(built).__name__} without "
                       f"{', '.join(lacking)}: derive the callback from ganzoo.training.Callback")
        if hasattr(built, "state_dict") != hasattr(built, "load_state_dict"):
            raise fail("callback", spec, "has only one of state_dict and load_state_dict; a checkpoint needs both "
                       "(or neither)")
    words = options_by_name()["callback_options"].command({spec.name: typed}, {})  # the equivalent command's words
    given = parse_callback_options([word for word in words if word != "--callback-option"])
    again = _typed(spec, given.get(spec.name, {}))
    if again != typed or any(type(again[k]) is not type(typed[k]) for k in typed):
        raise fail("callback", spec, f"options {typed} come back from the command line as {again}: use values "
                   "whose text reads back as the same value (declare the type the builder expects)")


def _config(spec: CallbackSpec, options: Mapping[str, Any], model: str, dataset: str, out: Any, **more: Any) -> Any:
    from ..registry.catalog import reference_name
    from ..training import TrainConfig

    name = reference_name(spec)  # PLUGIN:NAME where another plugin holds the bare name
    return TrainConfig(model, dataset=dataset, batch_size=16, device="cpu", quiet=True, out=out, num_samples=4,
                       log_every=1, sample_every=10_000, callbacks=(name,),
                       callback_options={name: dict(options)} if options else {}, **more)


def _registered(trainer: Any, spec: CallbackSpec) -> Any:
    from ..registry.catalog import reference_name
    from ..training.run import callback_name

    names = {spec.name, reference_name(spec)}
    return next(c for c in trainer.state.callbacks if callback_name(c) in names)


def _train(spec: CallbackSpec, config: Any, what: str, extra: tuple[Any, ...] = ()) -> Any:
    from ..training import Trainer

    trainer = Trainer(config, callbacks=extra)
    try:
        trainer.prepare()
        return trainer, _registered(trainer, spec), trainer.run()
    except (GanzooError, KeyboardInterrupt) as error:
        raise fail("callback", spec, f"{what} failed: {type(error).__name__}: {error}") from error


def _check_events(spec: CallbackSpec, options: Mapping[str, Any] | None, model: str, dataset: str,
                  out: str | os.PathLike[str] | None) -> None:
    import json

    from ..cards.folder import CONFIG_NAME
    from ..training import Trainer

    typed = _typed(spec, options)
    with output_folder(out) as folder:
        trainer = Trainer(_config(spec, typed, model, dataset, folder / "events", steps=EVENT_STEPS))
        try:
            trainer.prepare()
        except GanzooError as error:
            raise fail("callback", spec, f"a run with it does not start: {error}") from error
        callback, seen = _registered(trainer, spec), []
        for hook in HOOKS:  # each call is noted, then the callback's own method runs
            def noted(run: Any, _hook: str = hook, _own: Any = getattr(callback, hook)) -> None:
                seen.append((_hook, run.step, run.outcome))
                _own(run)
            setattr(callback, hook, noted)
        try:
            result = trainer.run()
        except GanzooError as error:
            raise fail("callback", spec, f"a run of {EVENT_STEPS} steps with it failed: {error}") from error
        except KeyboardInterrupt as error:  # TrainingStopped: run.outcome = "interrupted" (or a real Ctrl-C)
            raise fail("callback", spec, f"a run of {EVENT_STEPS} steps with it did not finish ({error}): give the "
                       "check options under which the callback lets a short run finish") from error
        expected = [("on_train_start", 0, "running"), *(("on_step_end", s, "running") for s in
                    range(1, EVENT_STEPS + 1)), ("on_train_end", EVENT_STEPS, "finished"),
                    ("teardown", EVENT_STEPS, "finished")]
        if seen != expected:
            raise fail("callback", spec, f"its hooks were called as {seen}, expected {expected}: a callback must "
                       "not call its own hooks or replace the run's")
        recorded = json.loads((result.export_dir / CONFIG_NAME).read_text())["training"].get("callback_options")
        if (recorded or {}).get(spec.name, {}) != json.loads(json.dumps(typed)):
            raise fail("callback", spec, f"config.json records its options as {recorded}, not {typed}")


class _StopAfter:
    """Stands for ``kill -9`` after step ``step``: the run ends there, with no checkpoint of its own."""

    def __init__(self, step: int):
        self.step = step

    def on_train_start(self, run: Any) -> None:
        pass

    def on_step_end(self, run: Any) -> None:
        if run.step == self.step:
            raise _Killed

    def on_train_end(self, run: Any) -> None:
        pass

    def teardown(self, run: Any) -> None:
        pass


class _Killed(Exception):
    pass


def _state(callback: Any) -> Any:
    return callback.state_dict() if hasattr(callback, "state_dict") else None


def _check_resume(spec: CallbackSpec, options: Mapping[str, Any] | None, model: str, dataset: str,
                  out: str | os.PathLike[str] | None) -> None:
    import torch

    from ..training import Trainer

    typed = _typed(spec, options)
    more = {"steps": RESUME_STEPS, "checkpoint_every": 2}
    with output_folder(out) as folder:
        whole, whole_callback, _ = _train(spec, _config(spec, typed, model, dataset, folder / "whole", **more),
                                          f"a run of {RESUME_STEPS} steps")
        stopped = Trainer(_config(spec, typed, model, dataset, folder / "resumed", **more),
                          callbacks=[_StopAfter(RESUME_STEPS - 1)])
        try:
            stopped.run()
            raise fail("callback", spec, "the run to be resumed was not stopped: does the callback end runs?")
        except _Killed:
            pass
        except GanzooError as error:
            raise fail("callback", spec, f"a run with it failed: {error}") from error
        from ..training import TrainConfig

        resumed_config = TrainConfig(model, dataset=dataset, device="cpu", quiet=True, out=folder / "resumed",
                                     resume=True, steps=RESUME_STEPS)  # neither the callback nor its options named
        resumed, resumed_callback, _ = _train(spec, resumed_config, "resuming a run that was stopped after step "
                                              f"{RESUME_STEPS - 1} (checkpoint at step 2)")
        if type(resumed_callback) is not type(whole_callback):
            raise fail("callback", spec, "the resumed run did not keep the callback")
        for role in ("generator", "discriminator"):
            ours, theirs = getattr(whole, role).state_dict(), getattr(resumed, role).state_dict()
            differ = [k for k in ours if not torch.equal(ours[k], theirs[k])]
            if differ:
                raise fail("callback", spec, f"with it, a resumed run does not end with the weights of an "
                           f"uninterrupted one ({role}.{differ[0]} differs): does it change the networks, or draw "
                           "from torch's random state, in on_train_start (which a resumed session calls again)?")
        before, after = _state(whole_callback), _state(resumed_callback)
        if not _same(before, after):
            raise fail("callback", spec, f"its state_dict() after a resume, {after!r}, is not the uninterrupted "
                       f"run's {before!r}: save in state_dict() what it needs to go on, and nothing that "
                       "depends on the session (a clock time, a count of sessions)")


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check_callback_aspect(
    spec: CallbackSpec,
    aspect: str,
    out: str | os.PathLike[str] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    model: str = CALLBACK_MODEL[0],
    dataset: str = CALLBACK_MODEL[1],
) -> None:
    """One aspect (:data:`CALLBACK_ASPECTS`) of the callback ``spec``, with its ``options`` (as Python values or
    as the command line's text), trained on ``model`` and ``dataset``; runs in ``out`` or a temporary folder."""
    import torch

    if aspect not in CALLBACK_ASPECTS:
        raise ContractError(f"no callback check {aspect!r}; choose one of {', '.join(CALLBACK_ASPECTS)}")
    with one_thread(), torch.random.fork_rng(devices=[]):
        if aspect == "options":
            _check_options(spec, options)
        elif aspect == "events":
            _check_events(spec, options, model, dataset, out)
        else:
            _check_resume(spec, options, model, dataset, out)


def check_callback(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    model: str = CALLBACK_MODEL[0],
    dataset: str = CALLBACK_MODEL[1],
) -> None:
    """Every aspect of the registered callback ``name``, with ``options`` (its ``--callback-option`` values)."""
    spec = get_registry().callbacks.get(name)
    for aspect in CALLBACK_ASPECTS:
        check_callback_aspect(spec, aspect, out, options, model=model, dataset=dataset)
