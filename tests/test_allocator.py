"""The CPU allocator setting: applied once on glibc, never over a choice the user made."""

from __future__ import annotations

import platform

import pytest

from ganzoo.training import allocator


class FakeLibc:
    """Stands in for ``ctypes.CDLL(None)``: records the mallopt calls and answers like glibc."""

    def __init__(self, answer: int = 1):
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

        def mallopt(parameter: int, value: int) -> int:  # a plain function: ctypes code sets .argtypes on it
            self.calls.append((parameter, value))
            return self.answer

        self.mallopt = mallopt

    def __call__(self, name):
        assert name is None
        return self


def untuned_without_user_choices(monkeypatch) -> None:
    """A process that has not tuned yet and whose environment chooses no allocator settings."""
    monkeypatch.setattr(allocator, "_result", None)
    for name in (*allocator._USER_SETTINGS, allocator.OPT_OUT_ENV, "LD_PRELOAD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh(monkeypatch):
    """Such a process on Linux with glibc, with a fake C library that records the mallopt calls."""
    untuned_without_user_choices(monkeypatch)
    monkeypatch.setattr(allocator.platform, "system", lambda: "Linux")
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("glibc", "2.36"))
    libc = FakeLibc()
    monkeypatch.setattr(allocator.ctypes, "CDLL", libc)
    return libc


def test_glibc_thresholds_are_raised_once_per_process(fresh):
    result = allocator.tune_cpu_allocator()
    assert fresh.calls == [(-3, 32 * 2**20), (-1, 256 * 2**20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    assert result == "glibc malloc: mmap threshold 32 MiB, trim threshold 256 MiB"
    assert allocator.tune_cpu_allocator() == result and len(fresh.calls) == 2


@pytest.mark.parametrize(
    "variable, value, reason",
    [
        ("GANZOO_CPU_ALLOCATOR", "system", "GANZOO_CPU_ALLOCATOR=system"),
        ("GANZOO_CPU_ALLOCATOR", " System ", "GANZOO_CPU_ALLOCATOR=system"),
        ("MALLOC_MMAP_THRESHOLD_", "65536", "MALLOC_MMAP_THRESHOLD_ is set"),
        ("MALLOC_TRIM_THRESHOLD_", "0", "MALLOC_TRIM_THRESHOLD_ is set"),
        ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536", "GLIBC_TUNABLES is set"),
        ("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "jemalloc is preloaded"),
        ("LD_PRELOAD", "/opt/lib/libtcmalloc_minimal.so.4", "tcmalloc is preloaded"),
    ],
)
def test_a_choice_of_the_user_is_left_alone(fresh, monkeypatch, variable, value, reason):
    monkeypatch.setenv(variable, value)
    assert allocator.tune_cpu_allocator() == f"system allocator ({reason})"
    assert fresh.calls == []


def test_other_c_libraries_are_left_alone(fresh, monkeypatch):
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.tune_cpu_allocator() == "system allocator (not glibc)"
    monkeypatch.setattr(allocator, "_result", None)
    monkeypatch.setattr(allocator.platform, "system", lambda: "Darwin")
    assert allocator.tune_cpu_allocator() == "system allocator (not glibc)"
    assert fresh.calls == []


def test_a_refused_setting_is_reported_not_claimed(fresh):
    fresh.answer = 0  # glibc answers 0 to a value out of range
    assert allocator.tune_cpu_allocator() == "system allocator (glibc refused mallopt)"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the real mallopt exists in glibc only")
def test_the_real_glibc_accepts_the_settings(monkeypatch):
    untuned_without_user_choices(monkeypatch)
    assert allocator.tune_cpu_allocator().startswith("glibc malloc: mmap threshold 32 MiB")
