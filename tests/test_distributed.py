"""Training on two processes (torch.distributed, gloo, CPU): the maths of DDP, exact resume, failures, ``--nproc``.

One spawn of two workers runs several short trainings in one process group, so torch is
imported and the group joined only once; ``ganzoo train --nproc 2`` is then run once
through the real torchrun launcher, as users run it.

Tolerance of the one-process comparison: two processes see exactly the data and the noise
of one process with twice the batch (same permutation, same noise stream, rank slices),
so for a network without BatchNorm the averaged gradient is the same number, summed in a
different order (two half-batch matrix products, then gloo's all-reduce of the halves,
against one full-batch product). That is float32 rounding, about 1e-7 relative per
gradient; Adam's normalised steps of lr=2e-4 keep the weights within ``ATOL`` after a few
steps, while the weights move a thousand times more than that from their initial values.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers import install_registry, registry_with, tiny_mnist_root
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganzoo.errors import ConfigError, TrainingDivergedError, UnknownNameError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.parallel.distributed import DistributedRunError, Topology, launcher_words, setup, topology_from_env

WORLD = 2
ATOL = 1e-6
PLUGIN = "ganzoo_test_plain_mlp"
PLAIN_MLP = '''
"""A BatchNorm-free GAN: its gradient over a batch is the mean of its gradients over the halves."""
import math
from torch import nn
import ganzoo


class Generator(nn.Module):
    num_classes = None

    def __init__(self, latent_dim=4, sample_shape=(2,)):
        super().__init__()
        self.latent_dim, self.sample_shape = latent_dim, tuple(sample_shape)
        self.net = nn.Sequential(nn.Linear(latent_dim, 16), nn.ReLU(), nn.Linear(16, math.prod(self.sample_shape)))

    def forward(self, z, labels=None):
        return self.net(z).reshape(-1, *self.sample_shape)


class Discriminator(nn.Module):
    num_classes = None

    def __init__(self, sample_shape=(2,)):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(math.prod(sample_shape), 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, x, labels=None):
        return self.net(x.flatten(1)).flatten()


@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(name="plain-mlp", summary="an MLP GAN without BatchNorm", generator=Generator,
                              discriminator=Discriminator, config={"latent_dim": 4, "sample_shape": (2,)},
                              default_dataset="ring-8"))
'''


def use_plain_mlp(plugin_dir: Path) -> None:
    """Register the test's BatchNorm-free model next to the built-ins (in this process)."""
    if str(plugin_dir) not in sys.path:
        sys.path.insert(0, str(plugin_dir))
    install_registry(registry_with(PLUGIN))


def plain_config(out: Path, batch_size: int, **overrides) -> TrainConfig:
    values = dict(model="plain-mlp", dataset="ring-8", steps=6, batch_size=batch_size, limit=96, device="cpu",
                  quiet=True, out=out, log_every=3, sample_every=1000, checkpoint_every=1000, lr=2e-4)
    values.update(overrides)
    return TrainConfig(**values)


def dcgan_config(out: Path, data: Path, steps: int, **overrides) -> TrainConfig:
    # 40 samples at a global batch of 2 x 4: five steps an epoch, so the runs cross epochs before and after resuming
    values = dict(model="dcgan-mnist", dataset="mnist", data_dir=data, steps=steps, batch_size=4, limit=40,
                  device="cpu", quiet=True, out=out, log_every=2, sample_every=1000, checkpoint_every=3,
                  options={"width": 4})
    values.update(overrides)
    return TrainConfig(**values)


def parameters(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def _worker(rank: int, tmp: Path) -> None:
    """One rank: every two-process run of this file, in order, in one gloo group (a spawn costs seconds)."""
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(WORLD))
    use_plain_mlp(tmp / "plugins")
    dist.init_process_group("gloo", init_method=f"file://{tmp / 'store'}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))
    found: dict = {}
    try:
        plain = Trainer(plain_config(tmp / "plain2", batch_size=6))
        found["plain_result"] = plain.run()
        found["plain"] = (parameters(plain.generator), parameters(plain.discriminator))

        # the G update on D's fakes: G's DDP forward runs in the D update, its backward in the G update
        reuse = Trainer(plain_config(tmp / "reuse2", batch_size=6, reuse_fakes=True))
        reuse.run()
        found["reuse"] = (parameters(reuse.generator), parameters(reuse.discriminator))

        data = tmp / "data"
        whole = Trainer(dcgan_config(tmp / "whole", data, steps=7))
        found["whole_result"] = whole.run()
        found["whole"] = (parameters(whole.generator), parameters(whole.discriminator))
        train(dcgan_config(tmp / "parts", data, steps=3))
        resumed = Trainer(dcgan_config(tmp / "parts", data, steps=7, resume=True))
        found["resumed_result"] = resumed.run()

        # a NaN on rank 1 only: the window is averaged over the ranks, so both stop at the same step
        poisoned = Trainer(plain_config(tmp / "nan", batch_size=6, log_every=2)).prepare()
        state = poisoned.state
        step_once = state.train_step

        class NanOnRank1:  # the step of rank 1 returns a NaN loss_g at step 3; otherwise it is the step
            def __getattr__(self, name):
                return getattr(step_once, name)

            def __call__(self, step):
                row = step_once(step)
                if rank == 1 and state.step == 2:
                    row[1] = float("nan")
                return row

        state.train_step = NanOnRank1()
        try:
            poisoned.run()
        except TrainingDivergedError as error:
            found["nan"] = str(error)

        # what ends rank 0's part of a hand-over reaches rank 1 at once, as the same kind of error
        group = setup("cpu")
        for name, failure in (("user", UnknownNameError("model", "dcgan-mnst", ["dcgan-mnist"])),
                              ("interrupt", KeyboardInterrupt()), ("crash", ZeroDivisionError("division by zero"))):
            def fail(failure=failure):
                raise failure

            started = time.perf_counter()
            try:
                group.from_main(fail)
            except BaseException as error:
                found[f"from_main_{name}"] = (type(error).__name__, str(error), time.perf_counter() - started)

        # rank 1 crashes at its third step: rank 0 must end with a clear error, not wait forever
        crashing = Trainer(plain_config(tmp / "crash", batch_size=6)).prepare()
        crash_state = crashing.state
        step_ok = crash_state.train_step

        class CrashOnRank1:  # rank 1 fails at its third step
            images = step_ok.images

            def __call__(self, step):
                if rank == 1 and crash_state.step == 2:
                    raise RuntimeError("injected failure")
                return step_ok(step)

        crash_state.train_step = CrashOnRank1()
        started = time.perf_counter()
        try:
            crashing.run()
        except Exception as error:
            found["crash"] = (type(error).__name__, str(error), time.perf_counter() - started)
    finally:
        torch.save(found, tmp / f"rank{rank}.pt")
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Run :func:`_worker` on two spawned processes; return the folder and what each rank found."""
    tmp = tmp_path_factory.mktemp("ddp")
    (tmp / "plugins").mkdir()
    (tmp / "plugins" / f"{PLUGIN}.py").write_text(PLAIN_MLP)
    tiny_mnist_root(tmp / "data", count=40)
    mp.start_processes(_worker, args=(tmp,), nprocs=WORLD, start_method="spawn", join=True)
    found = [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    return tmp, found


@pytest.fixture
def plain_mlp(two_ranks, monkeypatch):
    tmp, _ = two_ranks
    monkeypatch.syspath_prepend(str(tmp / "plugins"))
    use_plain_mlp(tmp / "plugins")
    yield
    sys.modules.pop(PLUGIN, None)
    install_registry(None)


def test_two_processes_equal_one_process_with_the_global_batch(two_ranks, plain_mlp):
    tmp, found = two_ranks
    (g0, d0), (g1, d1) = found[0]["plain"], found[1]["plain"]
    for name in g0:
        assert torch.equal(g0[name], g1[name]), name  # the replicas are bit-for-bit equal
    for name in d0:
        assert torch.equal(d0[name], d1[name]), name

    single = Trainer(plain_config(tmp / "plain1", batch_size=12)).prepare()
    initial = parameters(single.generator)
    result = single.run()
    moved = max(float((initial[n] - g0[n]).abs().max()) for n in g0)
    assert moved > 1000 * ATOL  # the comparison below is not trivially true
    for mine, theirs in ((parameters(single.generator), g0), (parameters(single.discriminator), d0)):
        for name in mine:
            torch.testing.assert_close(theirs[name], mine[name], rtol=0, atol=ATOL, msg=name)

    two = found[0]["plain_result"]
    assert (two.world_size, two.global_batch_size, found[1]["plain_result"].rank) == (2, 12, 1)
    assert two.images_seen == result.images_seen == 6 * 12 and two.epochs == result.epochs
    document = json.loads((tmp / "plain2" / "export" / "config.json").read_text())
    facts = document["training"]
    assert (facts["world_size"], facts["batch_size_per_device"], facts["global_batch_size"]) == (2, 6, 12)
    checksums = facts["parameter_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    card = (tmp / "plain2" / "export" / "README.md").read_text()
    assert "| batch size per device | 6 |" in card and "| global batch size | 12 |" in card
    assert "| processes (devices) | 2 |" in card
    assert facts["command"].startswith("torchrun --nproc-per-node 2 -m ganzoo train plain-mlp")


def test_reuse_fakes_on_two_processes_equals_one_process(two_ranks, plain_mlp):
    tmp, found = two_ranks
    single = Trainer(plain_config(tmp / "reuse1", batch_size=12, reuse_fakes=True)).prepare()
    fresh = Trainer(plain_config(tmp / "fresh1", batch_size=12)).prepare()
    single.run()
    fresh.run()
    for rank in (0, 1):
        for mine, theirs in zip((single.generator, single.discriminator), found[rank]["reuse"], strict=True):
            for name, value in parameters(mine).items():
                torch.testing.assert_close(theirs[name], value, rtol=0, atol=ATOL, msg=name)
    pairs = zip(single.generator.parameters(), fresh.generator.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)  # the switch changes the algorithm


def test_a_resumed_two_process_run_ends_with_the_weights_of_an_uninterrupted_one(two_ranks):
    tmp, found = two_ranks
    saved_whole = load_checkpoint(tmp / "whole" / "checkpoints" / "last.pt")
    whole = saved_whole["parts"]
    resumed = load_checkpoint(tmp / "parts" / "checkpoints" / "last.pt")["parts"]
    assert found[0]["resumed_result"].start_step == 3 and whole["counters"]["step"] == resumed["counters"]["step"] == 7
    assert saved_whole["run"]["world_size"] == 2 and len(whole["global_rng"]) == 2
    assert whole["global_rng"][0]["torch"].shape == whole["global_rng"][1]["torch"].shape
    assert not torch.equal(whole["global_rng"][0]["torch"], whole["global_rng"][1]["torch"])  # each rank's own
    assert whole["batches"]["epoch"] == resumed["batches"]["epoch"] == 1
    for key in ("generator", "discriminator"):  # with BatchNorm: rank 0's running statistics
        assert whole[key].keys() == resumed[key].keys()
        for name in whole[key]:
            assert torch.equal(whole[key][name], resumed[key][name]), (key, name)
    for key in ("g_update", "d_update"):
        for index, state in whole[key]["optimizer"]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, resumed[key]["optimizer"]["state"][index][name]), (key, name)
    # the replicas of a model with BatchNorm in G and D (D scored on real and fake apart) agree too
    (g0, d0), (g1, d1) = found[0]["whole"], found[1]["whole"]
    assert all(torch.equal(g0[n], g1[n]) for n in g0) and all(torch.equal(d0[n], d1[n]) for n in d0)
    assert all(torch.equal(g0[n], whole["generator"][n]) for n in g0)
    # rank 1 wrote nothing: one run folder per run, each with one export
    assert sorted(p.name for p in (tmp / "whole").iterdir()) == [".ganzoo.lock", "checkpoints", "curves.png", "export",
                                                                 "log.jsonl", "samples"]
    records = [json.loads(line) for line in (tmp / "whole" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 7]


def test_a_run_resumes_on_as_many_processes_as_it_was_trained_on(two_ranks):
    tmp, _ = two_ranks
    with pytest.raises(ConfigError, match="trained on 2 processes, not 1 process; resume it on 2 processes"):
        train(dcgan_config(tmp / "whole", tmp / "data", steps=9, resume=True))


def test_a_nan_on_one_rank_stops_every_rank_at_the_same_step(two_ranks):
    _, found = two_ranks
    assert "loss_g became nan at step 3" in found[0]["nan"]
    assert found[0]["nan"] == found[1]["nan"]


def test_rank_0s_error_in_a_hand_over_reaches_the_others_at_once_as_the_same_kind(two_ranks):
    _, found = two_ranks
    for name, raised in (("user", "UnknownNameError"), ("interrupt", "KeyboardInterrupt"),
                         ("crash", "ZeroDivisionError")):
        assert found[0][f"from_main_{name}"][0] == raised  # rank 0 sees its own error
    kind, message, _ = found[1]["from_main_user"]
    assert kind == "UnknownNameError" and message == found[0]["from_main_user"][1]
    assert "Did you mean 'dcgan-mnist'?" in message
    assert found[1]["from_main_interrupt"][0] == "KeyboardInterrupt"  # not a wait until --dist-timeout
    kind, message, _ = found[1]["from_main_crash"]
    assert kind == "DistributedRunError" and message == "rank 1: rank 0 failed (ZeroDivisionError: division by zero)"
    assert max(found[1][f"from_main_{name}"][2] for name in ("user", "interrupt", "crash")) < 10


def test_a_crashed_rank_ends_the_others_with_a_clear_error(two_ranks):
    _, found = two_ranks
    assert found[1]["crash"][:2] == ("RuntimeError", "injected failure")
    kind, message, seconds = found[0]["crash"]
    assert kind == DistributedRunError.__name__ and "\n" not in message
    assert message.startswith("rank 0: lost contact with the other training processes")
    assert seconds < 30  # far below the 60 s timeout: gloo notices the closed connection


def test_nproc_launches_torchrun_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "12", "--batch-size", "16", "--limit", "256",
            "--device", "cpu", "--out", str(out), "--log-every", "6", "--tensorboard", "--nproc", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert "on 2 processes (global batch 32): 12 steps" in done.stdout
    assert "mlp-gan on ring-8 on 2 processes (batch 16 per device, global batch 32): 12 steps" in done.stderr
    assert done.stdout.count("trained mlp-gan") == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [".ganzoo.lock", "checkpoints", "curves.png", "export", "log.jsonl",
                                                     "samples", "tb"]
    assert len(list((out / "tb").iterdir())) == 1  # one event file: rank 0's
    board = EventAccumulator(str(out / "tb"))
    board.Reload()
    assert [e.step for e in board.Scalars("loss/D")] == [6, 12]
    facts = json.loads((out / "export" / "config.json").read_text())["training"]
    assert facts["command"] == " ".join(["ganzoo", *args])
    assert (facts["world_size"], facts["global_batch_size"], facts["images_seen"]) == (2, 32, 12 * 32)
    assert len(set(facts["parameter_checksums"])) == 1
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [6, 12] and records[-1]["epoch"] == 2  # 256 samples = 8 global batches

    failed = subprocess.run([sys.executable, "-m", "ganzoo", *args[:-2], "--out", str(tmp_path / "bad"), "--sync-bn",
                             "--nproc", "2"], capture_output=True, text=True, env=env, timeout=240)
    assert failed.returncode == 1
    text = " ".join(failed.stderr.split())
    assert "error: --sync-bn needs CUDA GPUs" in text and "[rank 1] --sync-bn needs CUDA GPUs" in text
    assert "2 of 2 training processes failed" in text and "Traceback" not in failed.stderr


def test_topology_comes_from_torchruns_environment():
    assert topology_from_env({}) == Topology()
    four = topology_from_env({"WORLD_SIZE": "8", "RANK": "5", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4"})
    assert (four.enabled, four.is_main, four.nodes) == (True, False, 2)
    assert launcher_words(four) == ["torchrun", "--nnodes", "2", "--nproc-per-node", "4", "-m"]
    with pytest.raises(ConfigError, match="RANK=3 and WORLD_SIZE=2 do not fit together"):
        topology_from_env({"WORLD_SIZE": "2", "RANK": "3"})
