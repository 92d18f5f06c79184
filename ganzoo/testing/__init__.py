"""Contract checks for plugin authors: one line in a plugin's test suite tests every record it registers.

A plugin's models, losses, datasets and feature extractors are checked against the
contract the rest of ganzoo relies on, so that a model that passes here trains with ``ganzoo train``, exports,
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
...). The single functions :func:`check_model`, :func:`check_loss`, :func:`check_dataset`
and :func:`check_extractor` (and :func:`check_callback`) run all aspects of one record. A failure raises
:class:`ContractError` (an ``AssertionError``) whose message names the plugin, the record
and what is wrong.

What is checked:

* **models**: both networks build from the spec's config and satisfy the
  ``Generator``/``Discriminator`` protocols; the generator's shape is one of the spec's
  ``sample_shapes``; its output has its declared shape (images in ``[-1, 1]``) for every
  registered dataset the model trains on (``ModelSpec.trains_on``); an image generator
  stays in ``[-1, 1]`` for latents scaled up to 1000 (a bounded output, Tanh); the
  discriminator gives one logit per sample, ``(N,)`` or ``(N, 1)``, and not a sigmoid (its
  outputs on random inputs do not all lie in ``[0, 1]``); every trainable parameter of both networks
  gets a finite, non-zero gradient (behind a zero-initialised layer of a fix-up init: once that layer
  is perturbed); two steps through the real ``Trainer`` change every
  trainable parameter (but those ``ModelSpec.unchanged_under`` declares for the loss) and write an export
  whose safetensors weights load back with ``ganzoo.load`` into a generator that reproduces the trained
  one, compared in the same memory layout (the trainer's channels-last network differs from a contiguous
  copy by float32 rounding); a second run with EMA, R1/R2, augmentation and a relativistic loss (``practices``)
  exports the average; packaged pretrained weights (``WeightsSpec``) and their cards are in the installed
  package (``importlib.resources``), load, and match their hash and record. ``model_options`` (or
  ``check_model(options=...)``) checks a smaller model than the default config, held to its ``options``.
  Training runs on tiny data the check makes itself (random images or points of the
  dataset's shape); embedded datasets are used as they are. Nothing is downloaded.
* **losses**: finite float32 scalars for ``(N,)`` and ``(N, 1)`` logits, extreme ones
  included; D's loss falls as real logits rise and as fake logits fall; G's loss falls as
  fake logits rise; a ``penalty`` (if defined) is a finite, non-negative scalar that
  trains the discriminator.
* **datasets**: each split loads as a ``SampleSet`` of the declared sample shape,
  channels and classes, with float samples in ``[-1, 1]``. A dataset that needs files is loaded from the root you pass
  (``data_roots={"name": path}``); without one, its shape check is skipped with a reason
  saying so, and what is checked instead is that loading from an empty folder fails with
  a one-line ``GanzooError`` rather than a traceback.
* **feature extractors**: build with ``device="cpu"``; carry the registered ``name``, a
  ``weights_sha256`` and an ``input_note``; give finite float ``(N, D)`` features, one
  ``D`` for every input they declare (the samples of the datasets they serve, or grey and
  colour images of several sizes when they name none), under ``torch.inference_mode``; give the
  same features for the same images on a second call and in a smaller batch; classifiers
  give ``(N,)`` predictions in ``[0, num_classes)``. An extractor whose weights are not
  on this machine (a ``WeightsError``) is skipped with that reason.

* **callbacks** (:mod:`.callbacks`): declared options are builder keywords and round-trip through the
  command line; a real run calls the four hooks once each, in order, ``on_step_end`` once per step, and
  records the options; a run stopped after the step that follows a checkpoint and resumed (the callback
  and its options not named again) ends with the weights and the callback's ``state_dict()`` of an
  uninterrupted run. ``contract_tests("ganzoo-foo", callback_options={"foo-log": {"every": 2}})`` picks
  the options the checks train with.

The package has one module per record kind (``models``, ``losses``, ``datasets``,
``extractors``, ``callbacks``), the shared ``core`` and the pytest side in ``checks``.

This package imports torch (and pytest, for the parametrising helpers) only when a check
runs or is collected.
"""

from __future__ import annotations

from .callbacks import check_callback
from .checks import Check, contract_checks, contract_tests, parametrize_plugin
from .core import ContractError
from .datasets import check_dataset
from .extractors import check_extractor
from .losses import check_loss
from .models import check_model, model_datasets

__all__ = [
    "Check",
    "ContractError",
    "check_callback",
    "check_dataset",
    "check_extractor",
    "check_loss",
    "check_model",
    "contract_checks",
    "contract_tests",
    "model_datasets",
    "parametrize_plugin",
]
