"""``ganzoo.testing``'s callback checks: a well-made callback passes each aspect, and each kind of broken one
fails with a message that names the plugin, the callback and what to change.

tests/test_contract.py runs ``contract_checks()`` over the whole registry, so every callback a plugin
registers is checked there too; the example plugin's own suite runs them for its callback
(tests/test_example_plugin.py).
"""

from __future__ import annotations

import pytest
import torch
from helpers import plugin_object

import ganzoo
import ganzoo.testing
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.testing import ContractError
from ganzoo.training import Callback


class Counting(Callback):
    """Sums the D loss of every ``every``-th step: state that a resume must carry on exactly."""

    def __init__(self, every: int = 1, scale: float = 1.0):
        if every < 1:
            raise ConfigError("option every of callback 'counting' must be at least 1")
        self.every, self.scale = every, scale
        self.total, self.seen = 0.0, 0

    def on_step_end(self, run):
        if run.step % self.every == 0:
            self.total += self.scale * run.step_metrics["loss_d"]
            self.seen += 1

    def state_dict(self):
        return {"total": self.total, "seen": self.seen}

    def load_state_dict(self, state):
        self.total, self.seen = float(state["total"]), int(state["seen"])


class Sessions(Counting):
    """Counts its sessions in its state: a resumed run's state differs from an uninterrupted one's."""

    def on_train_start(self, run):
        self.seen += 1000


class Nudges(Callback):
    """Rescales a generator weight when a session starts: a resumed run ends with other weights."""

    def on_train_start(self, run):
        with torch.no_grad():
            next(run.generator.parameters()).mul_(1.001)


class StopsEarly(Callback):
    def on_step_end(self, run):
        if run.step == 2:
            run.outcome = "interrupted"


def no_options():
    return Callback()


CALLBACKS = {
    "counting": (Counting, {"every": int, "scale": float, "label": str}),
    "sessions": (Sessions, {}),
    "nudges": (Nudges, {}),
    "stops-early": (StopsEarly, {}),
    "undeclared": (no_options, {"every": int}),
}


@pytest.fixture
def callbacks_plugin(use_plugins):
    @ganzoo.hookimpl
    def register_callbacks(register):
        for name, (builder, options) in CALLBACKS.items():
            if name == "counting":  # its 'label' is declared and taken through **kwargs
                def builder(every: int = 1, scale: float = 1.0, **rest):
                    return Counting(every, scale)
            register(ganzoo.CallbackSpec(name=name, summary=f"{name}.", builder=builder, options=options))

    module = plugin_object(register_callbacks=register_callbacks)
    use_plugins(module)
    return module.__name__


def check(plugin: str, name: str, aspect: str, **options):
    found = ganzoo.testing.contract_checks(plugin, callback_options={name: options} if options else None)
    return next(c for c in found if c.id == f"callback:{name}:{aspect}")


def test_every_callback_of_a_plugin_gets_the_three_checks(callbacks_plugin):
    ids = [c.id for c in ganzoo.testing.contract_checks(callbacks_plugin)]
    assert ids == [f"callback:{name}:{aspect}" for name in sorted(CALLBACKS) for aspect in
                   ("options", "events", "resume")]
    registry_wide = {c.id for c in ganzoo.testing.contract_checks()}  # what tests/test_contract.py runs
    assert set(ids) <= registry_wide and any(i.startswith("model:mlp-gan:") for i in registry_wide)
    with pytest.raises(GanzooError, match="callback_options names unknown callbacks: nope"):
        ganzoo.testing.contract_checks(callbacks_plugin, callback_options={"nope": {}})


@pytest.mark.parametrize("aspect", ["options", "events", "resume"])
def test_a_well_made_callback_with_options_passes(callbacks_plugin, aspect, tmp_path):
    check(callbacks_plugin, "counting", aspect, every=2, scale="0.5", label="with spaces inside")(tmp_path)


def test_check_callback_runs_every_aspect(callbacks_plugin, tmp_path):
    ganzoo.testing.check_callback("counting", {"every": 3}, out=tmp_path)
    with pytest.raises(ContractError, match=r"the options given to the check are not the declared ones: .*no option"):
        ganzoo.testing.check_callback("counting", {"evry": 3}, out=tmp_path)


@pytest.mark.parametrize(("name", "aspect", "options", "message"), [
    ("undeclared", "options", {}, "declares option\\(s\\) every that its builder does not take"),
    ("counting", "options", {"label": "  padded "}, "come back from the command line as"),
    ("counting", "options", {"every": 0}, "does not build with options {'every': 0}: option every of callback"),
    ("stops-early", "events", {}, "a run of 3 steps with it did not finish \\(stopped at step 2\\): give the"),
    ("nudges", "resume", {}, "a resumed run does not end with the weights of an uninterrupted one"),
    ("sessions", "resume", {}, "its state_dict\\(\\) after a resume, .* is not the uninterrupted run's"),
])
def test_a_broken_callback_fails_with_what_to_change(callbacks_plugin, tmp_path, name, aspect, options, message):
    with pytest.raises(ContractError, match=message) as failure:
        check(callbacks_plugin, name, aspect, **options)(tmp_path)
    plugin = ganzoo.get_callback_spec(name).plugin
    assert str(failure.value).startswith(f"plugin '{plugin}', callback '{name}': ")
