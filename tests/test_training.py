"""The trainer: every registered model trains, mlp-gan learns ring-8, exact resume, NaN stop, config checks.

Tiny data only: embedded 2-D toys, a few random IDX "digits" and a few PNG "faces" that the
tests write. Everything runs on the CPU, where a run is bit-for-bit reproducible.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from ganzoo_plugins.datasets.mnist_family import TORCHVISION_CLASSES
from helpers import tiny_dataset_for, tiny_image_folder, tiny_mnist_root

import ganzoo
from ganzoo.cards.card import parse_front_matter
from ganzoo.cards.folder import read_export
from ganzoo.errors import ConfigError, TrainingDivergedError
from ganzoo.models.device import describe_hardware, resolve_device, resolve_precision
from ganzoo.registry.records import call_with_accepted
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.config import coerce_options, model_config_for, resolve
from ganzoo.training.progress_bar import Reporter

MODELS = ganzoo.list_models()
MNIST_FOLDERS = TORCHVISION_CLASSES


def config(tmp_path: Path, **overrides) -> TrainConfig:
    values = dict(
        model="mlp-gan", dataset="ring-8", steps=4, batch_size=16, limit=256, device="cpu", quiet=True,
        out=tmp_path / "run", log_every=2, sample_every=1000, checkpoint_every=1000,
    )
    values.update(overrides)
    return TrainConfig(**values)


def states_equal(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


# ---------------------------------------------------------------- every model trains
@pytest.mark.parametrize("name", MODELS)
def test_every_registered_model_trains_a_few_steps(name, tmp_path):
    spec = ganzoo.get_model_spec(name)
    dataset, root = tiny_dataset_for(spec, tmp_path)
    trainer = Trainer(
        TrainConfig(
            name, dataset=dataset, data_dir=root, steps=2, batch_size=4, limit=16, device="cpu", quiet=True,
            out=tmp_path / "run", log_every=1, sample_every=1, checkpoint_every=1,
        )
    ).prepare()
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    before_d = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    result = trainer.run()

    assert result.steps == 2 and result.images_seen == 2 * 4 * trainer.d_steps
    history = [json.loads(line) for line in result.log.read_text().splitlines()]
    assert [r["step"] for r in history] == [1, 2]
    assert all(np.isfinite(r[k]) for r in history for k in ("loss_d", "loss_g", "d_real", "d_fake"))
    for name_, tensor in trainer.generator.named_parameters():
        assert not torch.equal(tensor.detach(), before[name_]), f"generator {name_} did not change"
    for name_, tensor in trainer.discriminator.named_parameters():
        assert not torch.equal(tensor.detach(), before_d[name_]), f"discriminator {name_} did not change"

    document, g_state, d_state = read_export(result.export_dir)
    assert document["model"] == name and document["dataset"] == dataset
    assert g_state.keys() == before.keys() and d_state.keys() == before_d.keys()
    rebuilt = call_with_accepted(spec.generator, document["config"], shared_with=(spec.discriminator,))
    rebuilt.load_state_dict(g_state)  # strict: the config alone rebuilds the exported network
    assert tuple(rebuilt.sample_shape) == tuple(document["sample_shape"])
    assert (result.samples_dir / "step_000001.png").is_file() and result.final_samples.is_file()
    assert (result.export_dir / "samples.png").is_file() and result.curves.is_file()
    front = parse_front_matter((result.export_dir / "README.md").read_text())
    assert front["library_name"] == "ganzoo" and name in front["tags"] and front["datasets"] == [dataset]


# ---------------------------------------------------------------- it learns
def readme_main_job() -> dict[str, str]:
    """The options of the README's main-job command (``ganzoo train ...`` after ``<!-- main-command -->``)."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- main-command -->", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    words = shlex.split(block.split("&& ganzoo train ", 1)[1])
    options = {"model": words[0]}
    options.update({flag.lstrip("-"): value for flag, value in zip(words[1::2], words[2::2], strict=False)})
    return options


def test_mlp_gan_covers_the_modes_of_ring_8(tmp_path):
    """The README's main job, as written there, must learn ring-8 (a sign error in a loss fails this)."""
    from ganzoo_plugins.datasets.toy2d import count_covered_modes, mode_centres

    job = readme_main_job()
    assert job["model"] == "mlp-gan" and job["dataset"] == "ring-8"
    result = train(
        config(
            tmp_path,
            steps=int(job["steps"]),
            batch_size=int(job["batch-size"]),
            lr=float(job["lr"]),
            seed=int(job.get("seed", 0)),
            limit=None,
            log_every=100,
        )
    )
    document, g_state, _ = read_export(result.export_dir)
    generator = call_with_accepted(ganzoo.get_model_spec("mlp-gan").generator, document["config"])
    generator.load_state_dict(g_state)
    generator.eval()
    with torch.no_grad():
        points = generator(torch.randn(2000, generator.latent_dim, generator=torch.Generator().manual_seed(5)))
    covered = count_covered_modes(points, mode_centres("ring-8"))
    assert covered >= 6, f"only {covered}/8 modes covered"
    assert result.metrics["modes_covered"].split("/")[1] == "8"


# ---------------------------------------------------------------- exact resume
@pytest.mark.parametrize("model,dataset", [("mlp-gan", "ring-8"), ("cgan-mnist", "mnist")])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(model, dataset, tmp_path):
    root = tiny_mnist_root(tmp_path / "data", dataset, count=40) if dataset in MNIST_FOLDERS else None
    common = dict(model=model, dataset=dataset, data_dir=root, batch_size=12, limit=40, checkpoint_every=3)
    # 40 samples at 12 a batch: 3 batches an epoch, so the run crosses epochs before and after the resume
    whole = train(config(tmp_path, steps=7, out=tmp_path / "whole", **common))
    train(config(tmp_path, steps=3, out=tmp_path / "parts", **common))
    resumed = train(config(tmp_path, steps=7, out=tmp_path / "parts", resume=True, **common))
    assert resumed.start_step == 3 and resumed.steps == 7
    a = load_checkpoint(whole.checkpoint)
    b = load_checkpoint(resumed.checkpoint)
    a, b = a["parts"], b["parts"]
    for key in ("generator", "discriminator"):
        assert states_equal(a[key], b[key]), key
    for key in ("g_update", "d_update"):
        for index, state in a[key]["optimizer"]["state"].items():
            assert states_equal(state, b[key]["optimizer"]["state"][index]), key
    assert torch.equal(a["noise"]["rng"], b["noise"]["rng"]) and torch.equal(a["batches"]["rng"], b["batches"]["rng"])
    assert a["batches"]["epoch"] == b["batches"]["epoch"] == 2
    assert [r["step"] for r in a["counters"]["history"]] == [2, 4, 6, 7]
    assert [r["step"] for r in b["counters"]["history"]] == [2, 3, 4, 6, 7]  # the first part ended with one at 3


def test_ctrl_c_stops_with_a_checkpoint_and_the_run_resumes_exactly(tmp_path):
    class InterruptAtStep2(Reporter):
        def report(self, step, metrics):
            if step == 2:
                os.kill(os.getpid(), signal.SIGINT)

    whole = train(config(tmp_path, steps=5, out=tmp_path / "whole", log_every=1))
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config(tmp_path, steps=5, out=tmp_path / "cut", log_every=1), reporter=InterruptAtStep2()).run()
    assert load_checkpoint(tmp_path / "cut" / "checkpoints" / "last.pt")["parts"]["counters"]["step"] == 2
    assert signal.getsignal(signal.SIGINT) is handler
    resumed = train(config(tmp_path, steps=5, out=tmp_path / "cut", log_every=1, resume=True))
    expected = load_checkpoint(whole.checkpoint)["parts"]["generator"]
    assert states_equal(expected, load_checkpoint(resumed.checkpoint)["parts"]["generator"])


def test_an_existing_run_is_never_overwritten_and_resume_checks_settings(tmp_path):
    train(config(tmp_path, steps=2))
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        train(config(tmp_path, steps=2))
    with pytest.raises(ConfigError, match="batch_size 16 run, not 32"):
        train(config(tmp_path, steps=4, batch_size=32, resume=True))
    with pytest.raises(ConfigError, match="dataset 'ring-8' run, not 'grid-25'"):
        train(config(tmp_path, steps=4, dataset="grid-25", resume=True))
    with pytest.raises(ConfigError, match="options"):
        train(config(tmp_path, steps=4, options={"latent_dim": 8}, resume=True))
    with pytest.raises(ConfigError, match=r"no checkpoint at .*drop --resume"):
        train(config(tmp_path, steps=2, out=tmp_path / "empty", resume=True))
    # unset settings come from the checkpoint: batch size, limit and steps are the run's own
    again = train(TrainConfig("mlp-gan", dataset="ring-8", out=tmp_path / "run", device="cpu", quiet=True, resume=True))
    assert again.steps == 2 and again.start_step == 2


# ---------------------------------------------------------------- divergence
def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    train(config(tmp_path, steps=3, checkpoint_every=3, log_every=1))
    checkpoint = tmp_path / "run" / "checkpoints" / "last.pt"
    good = checkpoint.read_bytes()
    with pytest.raises(TrainingDivergedError) as caught:
        # Adam moves every weight by about lr per step: 1e30 overflows the next forward pass
        train(config(tmp_path, steps=9, checkpoint_every=3, log_every=4, lr=1e30, resume=True))
    message = str(caught.value)
    assert "became nan at step 4" in message and "at step 3" in message  # D moved first, then G met it
    assert str(checkpoint) in message and "lower --lr" in message
    assert checkpoint.read_bytes() == good
    assert load_checkpoint(checkpoint)["parts"]["counters"]["step"] == 3
    # the advice works: resuming with a sane learning rate continues from the good checkpoint
    assert train(config(tmp_path, steps=5, resume=True, lr=2e-4)).steps == 5


# ---------------------------------------------------------------- configuration
def test_resolve_fills_defaults_from_the_spec(tmp_path):
    resolved = resolve(TrainConfig("dcgan-mnist"))
    assert (resolved.dataset, resolved.loss, resolved.batch_size) == ("mnist", "non-saturating", 128)
    assert resolved.lr == 2e-4 and resolved.betas == (0.5, 0.999) and resolved.epochs == 1
    assert resolved.out == Path("runs/dcgan-mnist-mnist")
    assert resolved.total_steps(468, 1) == 468
    assert resolve(TrainConfig("mlp-gan", dataset="ring-8", epochs=2.5)).total_steps(100, 5) == 50


def test_options_are_checked_coerced_and_presets_applied():
    faces = ganzoo.get_model_spec("dcgan-faces")
    assert coerce_options(faces, {"image_size": "128", "ngf": "32"}) == {"image_size": 128, "ngf": 32}
    with pytest.raises(ConfigError, match="no option 'width'; it accepts: image_size, latent_dim, ndf, ngf"):
        coerce_options(faces, {"width": "3"})
    with pytest.raises(ConfigError, match="image_size=96 is not accepted by dcgan-faces; choose one of 64, 128"):
        coerce_options(faces, {"image_size": "96"})
    with pytest.raises(ConfigError, match="must be int"):
        coerce_options(faces, {"ngf": "wide"})
    assert model_config_for(faces, {"image_size": 128})["latent_dim"] == 200
    assert model_config_for(faces, {"image_size": 128, "latent_dim": 64})["latent_dim"] == 64
    mlp = ganzoo.get_model_spec("mlp-gan")
    assert model_config_for(mlp, {}, sample_shape=(2,))["sample_shape"] == (2,)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"model": "dcgan-mnist", "dataset": "ring-8"}, "does not train on dataset 'ring-8'; use one of: .*mnist"),
        ({"loss": "hinj"}, "unknown loss 'hinj'. Did you mean 'hinge'"),
        ({"options": {"image_size": 64}}, "mlp-gan has no option 'image_size'; it accepts: .*latent_dim"),
        ({"steps": 3, "epochs": 1}, "--steps or --epochs, not both"),
        ({"batch_size": 0}, r"--batch-size must be a whole number from 1 to 2\*\*63 - 1, got 0"),
        ({"precision": "fp8"}, "unknown --precision 'fp8'"),
        ({"precision": "fp16"}, "fp16 needs a CUDA GPU"),
        ({"device": "tpu"}, "unknown --device 'tpu'"),
        ({"limit": 8}, "8 training samples, fewer than the batch size 16"),
    ],
)
def test_bad_requests_are_one_line_config_errors(overrides, match, tmp_path):
    with pytest.raises(ganzoo.GanzooError, match=match) as caught:
        train(config(tmp_path, **overrides))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cuda_and_mps_are_refused_when_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU is available here; use --device cpu"):
        resolve_device("cuda:1")
    with pytest.raises(ConfigError, match="MPS is not available"):
        resolve_device("mps")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_precision("bf16", torch.device("cpu")).dtype == torch.bfloat16
    assert "core" in describe_hardware(torch.device("cpu"))


@pytest.mark.parametrize(("threads", "said"), [(1, "(1 torch thread)"), (2, "(2 torch threads)")])
def test_hardware_counts_threads_in_words(threads: int, said: str) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert describe_hardware(torch.device("cpu")).endswith(said)
    finally:
        torch.set_num_threads(before)


CONDITIONAL_ANYWHERE = """
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(
        name="cond-any", summary="a conditional model that accepts any dataset",
        generator="ganzoo_plugins.cgan_mnist.nets:ConditionalGenerator",
        discriminator="ganzoo_plugins.cgan_mnist.nets:ConditionalDiscriminator",
        config={"latent_dim": 8, "sample_shape": (1, 28, 28), "num_classes": 10}, conditional=True,
        default_dataset="image-folder"))
    register(ganzoo.ModelSpec(
        name="fixed-shape", summary="an MLP that always makes 1x28x28 images",
        generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
        discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
        config={"latent_dim": 8}, default_dataset="ring-8"))
"""


def test_data_the_model_cannot_use_is_refused(tmp_path, plugin_module, use_plugins):
    use_plugins(plugin_module(CONDITIONAL_ANYWHERE))
    folder = tiny_image_folder(tmp_path)
    with pytest.raises(ConfigError, match="cond-any is conditional and needs labelled data, but 'image-folder'"):
        train(config(tmp_path, model="cond-any", dataset="image-folder", data_dir=folder, limit=None, batch_size=4))
    shapes = r"produces samples of shape \(1, 28, 28\) but ring-8 has samples of shape \(2,\)"
    with pytest.raises(ConfigError, match=shapes):
        train(config(tmp_path, model="fixed-shape"))


# ---------------------------------------------------------------- reusing the fakes for G
def _training_forwards(trainer: Trainer) -> list[int]:
    """Counts the generator's forward passes in training mode (the sample grids run in eval mode)."""
    calls: list[int] = []
    trainer.generator.register_forward_hook(lambda module, args, out: calls.append(1) if module.training else None)
    return calls


@pytest.mark.parametrize("loss,d_steps", [("non-saturating", 1), ("wgan-gp", 5)])
def test_reuse_fakes_runs_one_generator_forward_per_step(loss, d_steps, tmp_path):
    counts = {}
    for reuse in (False, True):
        trainer = Trainer(config(tmp_path, loss=loss, steps=3, reuse_fakes=reuse, out=tmp_path / f"run-{reuse}"))
        calls = _training_forwards(trainer.prepare())
        before = [p.detach().clone() for p in trainer.generator.parameters()]
        result = trainer.run()
        counts[reuse] = len(calls)
        # G still learns from the reused fakes: every one of its weights moved
        assert all(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))
        assert result.images_seen == 3 * d_steps * 16
        saved = json.loads((result.export_dir / "config.json").read_text())["training"]
        assert saved["reuse_fakes"] is reuse
        command = saved["command"]
        assert ("--reuse-fakes" in shlex.split(command)) is reuse, command
        assert ("the last D update's fakes" in (result.export_dir / "README.md").read_text()) is reuse
    assert counts == {False: 3 * (d_steps + 1), True: 3 * d_steps}


def test_a_reuse_fakes_run_resumes_exactly_and_keeps_its_setting(tmp_path):
    common = dict(batch_size=12, limit=40, checkpoint_every=3)
    whole = train(config(tmp_path, steps=6, out=tmp_path / "whole", reuse_fakes=True, **common))
    train(config(tmp_path, steps=3, out=tmp_path / "parts", reuse_fakes=True, **common))
    # resumed without repeating the switch: the run keeps the setting it was started with
    resumed = train(config(tmp_path, steps=6, out=tmp_path / "parts", resume=True, **common))
    a, b = load_checkpoint(whole.checkpoint)["parts"], load_checkpoint(resumed.checkpoint)["parts"]
    for key in ("generator", "discriminator"):
        assert states_equal(a[key], b[key]), key
    fresh = load_checkpoint(train(config(tmp_path, steps=6, out=tmp_path / "fresh", **common)).checkpoint)["parts"]
    assert not states_equal(a["generator"], fresh["generator"])  # the switch changes the algorithm
    with pytest.raises(ConfigError, match="reuse_fakes True run, not False"):
        train(config(tmp_path, steps=8, out=tmp_path / "parts", resume=True, reuse_fakes=False, **common))


# ---------------------------------------------------------------- precision and losses
def test_bf16_on_the_cpu_and_a_penalty_loss_with_several_d_steps(tmp_path):
    root = tiny_mnist_root(tmp_path / "data")
    bf16 = train(config(tmp_path, model="dcgan-mnist", dataset="mnist", data_dir=root, precision="bf16", steps=2,
                        batch_size=8, limit=None, out=tmp_path / "bf16"))
    assert bf16.steps == 2 and np.isfinite(bf16.metrics["loss_d"])
    training = json.loads((bf16.export_dir / "config.json").read_text())["training"]
    assert training["precision"] == "bf16"
    assert training["cpu_allocator"].startswith(("glibc malloc: ", "system allocator ("))
    wgan = train(config(tmp_path, loss="wgan-gp", steps=2, out=tmp_path / "wgan"))
    assert wgan.images_seen == 2 * 5 * 16  # five critic batches per generator step
    assert np.isfinite(wgan.metrics["loss_d"])
