"""Where the training data live: on the GPU when they take at most half its free memory, else in host memory with a
one-line note (the decision is tested here with made-up numbers; tests/test_cuda.py trains both ways on a GPU)."""

from __future__ import annotations

import torch

from ganzoo.training import placement
from ganzoo.training.parallel.placement import DEVICE_DATA_SHARE, decide_placement, place_data
from ganzoo.training.streams import BatchStream

GIB = 2**30


def test_data_stay_on_the_device_up_to_half_its_free_memory():
    assert DEVICE_DATA_SHARE == 0.5
    assert decide_placement(40 * GIB, 80 * GIB).on_device  # exactly half: fits
    assert not decide_placement(40 * GIB + 1, 80 * GIB).on_device
    assert decide_placement(10 * GIB, 80 * GIB, share=0.125).on_device
    assert not decide_placement(10 * GIB + 1, 80 * GIB, share=0.125).on_device
    assert decide_placement(10**15, None).on_device  # no measure of free memory (CPU, MPS): the data are there


def test_the_note_names_the_sizes_and_the_way_out():
    kept = decide_placement(3 * GIB, 4 * GIB)
    assert kept.note(torch.device("cuda", 0)) == (
        "the training data (3.0 GiB) are more than 50% of the free memory of cuda:0 (4.0 GiB): they stay in host "
        "memory and each batch is copied to the GPU, which is slower; --limit N keeps fewer samples, on the GPU"
    )
    assert decide_placement(1 * GIB, 4 * GIB).note(torch.device("cuda", 0)) is None


def test_place_data_measures_the_free_memory_of_a_cuda_device(monkeypatch):
    """With a made-up free memory of 1000 bytes: 600 bytes of samples stay in host memory, said once."""
    asked = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: asked.append(device) or (1000, 2000))
    samples, labels = torch.zeros(6, 100, dtype=torch.uint8), torch.arange(6)
    notes: list[str] = []
    kept, kept_labels = place_data(samples, None, torch.device("cuda", 0), notes.append)
    assert asked == [torch.device("cuda", 0)] and kept.device.type == "cpu" and kept_labels is None
    assert len(notes) == 1 and "(0.0 GiB) are more than 50% of the free memory of cuda:0" in notes[0]
    kept, kept_labels = place_data(samples, labels, torch.device("cuda", 0), notes.append)  # labels count too
    assert kept_labels is not None and kept_labels.device.type == "cpu" and len(notes) == 2
    monkeypatch.setattr(placement, "DEVICE_DATA_SHARE", 0.7)  # 600 + 48 bytes of labels <= 700: to the device,
    moved = []  # which this CPU-only test stands in for
    monkeypatch.setattr(torch.Tensor, "to", lambda self, device: moved.append(device) or self)
    place_data(samples, labels, torch.device("cuda", 0), notes.append)
    assert moved == [torch.device("cuda", 0)] * 2 and len(notes) == 2


def test_place_data_on_the_cpu_keeps_the_tensors_and_asks_no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (_ for _ in ()).throw(AssertionError("asked")))
    samples = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    notes: list[str] = []
    kept, labels = place_data(samples, torch.arange(4), torch.device("cpu"), notes.append)
    assert kept is samples.to("cpu") and labels is not None and notes == []


def test_a_batch_stream_draws_to_its_device():
    samples = torch.arange(8 * 4, dtype=torch.uint8).reshape(8, 1, 2, 2)
    stream = BatchStream(samples, None, batch_size=4, seed=0)
    assert stream.device == samples.device
    other = BatchStream(samples, None, batch_size=4, seed=0, device=torch.device("cpu"))
    assert torch.equal(stream.next()[0], other.next()[0])
