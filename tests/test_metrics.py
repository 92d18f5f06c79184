"""The metrics checked against known values, the extractors' plumbing, and evaluate() end to end."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.metrics import (
    balanced_labels,
    class_coverage,
    conditional_accuracy,
    fid,
    fid_from_stats,
    kid,
    knn_radii,
    mmd2_unbiased,
    polynomial_kernel,
    precision_recall,
)

# conftest.py gives every test a private XDG_CACHE_HOME, so the stats cache starts empty.


# --------------------------------------------------------------------------- FID


def _gaussian(n: int, mu: torch.Tensor, sigma: torch.Tensor, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    root = torch.linalg.cholesky(sigma)
    return mu + torch.randn(n, len(mu), generator=generator, dtype=torch.float64) @ root.T


# Two non-commuting 2x2 covariances: S1 S2 is not symmetric, the case naive code gets wrong.
MU1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
MU2 = torch.tensor([1.5, -0.5], dtype=torch.float64)
S1 = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
S2 = torch.tensor([[1.0, -0.3], [-0.3, 0.5]], dtype=torch.float64)


def _closed_form_2x2(mu1, s1, mu2, s2) -> float:
    """For 2x2 PSD S1, S2: Tr((S1 S2)^1/2) = sqrt(Tr(S1 S2) + 2 sqrt(det S1 det S2))."""
    trace_sqrt = math.sqrt(float(torch.trace(s1 @ s2)) + 2 * math.sqrt(float(torch.det(s1) * torch.det(s2))))
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2)) - 2 * trace_sqrt


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_from_exact_stats_equals_the_closed_form():
    expected = _closed_form_2x2(MU1, S1, MU2, S2)
    assert expected > 1.0
    assert fid_from_stats(MU1, S1, MU2, S2) == pytest.approx(expected, rel=1e-10)
    assert fid_from_stats(MU2, S2, MU1, S1) == pytest.approx(expected, rel=1e-10)  # symmetric


def test_fid_of_diagonal_gaussians_in_many_dimensions():
    a = torch.linspace(0.5, 3.0, 64, dtype=torch.float64)
    b = torch.linspace(2.0, 0.1, 64, dtype=torch.float64)
    mu1, mu2 = torch.zeros(64, dtype=torch.float64), torch.full((64,), 0.25, dtype=torch.float64)
    expected = float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert fid_from_stats(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_fid_from_samples_approaches_the_closed_form():
    x = _gaussian(40000, MU1, S1, seed=1)
    y = _gaussian(40000, MU2, S2, seed=2)
    assert fid(x, y) == pytest.approx(_closed_form_2x2(MU1, S1, MU2, S2), rel=0.03)


def test_fid_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="mismatched"):
        fid_from_stats(MU1, S1, torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))


# --------------------------------------------------------------------------- KID

# Two discrete distributions on a few 3-d points: bounded kernel values, and the
# population MMD^2 is an exact finite sum.
SUPPORT_P = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [-1.0, -1.0, 1.0]], dtype=torch.float64)
PROBS_P = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
SUPPORT_Q = torch.tensor([[1.0, 0.5, 0.5], [0.5, 1.0, -0.5]], dtype=torch.float64)
PROBS_Q = torch.tensor([0.6, 0.4], dtype=torch.float64)


def _population_mmd2() -> float:
    k_pp = polynomial_kernel(SUPPORT_P, SUPPORT_P)
    k_qq = polynomial_kernel(SUPPORT_Q, SUPPORT_Q)
    k_pq = polynomial_kernel(SUPPORT_P, SUPPORT_Q)
    return float(PROBS_P @ k_pp @ PROBS_P + PROBS_Q @ k_qq @ PROBS_Q - 2 * PROBS_P @ k_pq @ PROBS_Q)


def _draw(support, probs, n, generator):
    return support[torch.multinomial(probs, n, replacement=True, generator=generator)]


def test_kid_matches_the_population_mmd_for_a_shifted_distribution():
    generator = torch.Generator().manual_seed(0)
    x = _draw(SUPPORT_P, PROBS_P, 4000, generator)
    y = _draw(SUPPORT_Q, PROBS_Q, 4000, generator)
    expected = _population_mmd2()
    mean, std = kid(x, y, subset_size=500, subsets=20, seed=0)
    assert expected > 0.5
    assert mean == pytest.approx(expected, rel=0.05)
    assert 0 < std < 0.2 * expected


def test_kid_is_near_zero_for_the_same_distribution():
    generator = torch.Generator().manual_seed(1)
    x = _draw(SUPPORT_P, PROBS_P, 3000, generator)
    y = _draw(SUPPORT_P, PROBS_P, 3000, generator)
    mean, std = kid(x, y, subset_size=500, subsets=20, seed=0)
    assert abs(mean) < 0.01 * _population_mmd2()
    assert abs(mean) < 3 * std + 1e-4


def test_unbiased_mmd_averages_to_the_population_value_even_for_tiny_samples():
    """With 8 samples per set the biased (V-statistic) estimate is far off; the unbiased one is not."""
    generator = torch.Generator().manual_seed(2)
    expected = _population_mmd2()
    unbiased, biased = [], []
    for _ in range(3000):
        x = _draw(SUPPORT_P, PROBS_P, 8, generator)
        y = _draw(SUPPORT_Q, PROBS_Q, 8, generator)
        unbiased.append(mmd2_unbiased(x, y))
        k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        biased.append(float(k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()))
    unbiased_t = torch.tensor(unbiased)
    standard_error = float(unbiased_t.std()) / math.sqrt(len(unbiased))
    assert abs(float(unbiased_t.mean()) - expected) < 4 * standard_error
    assert abs(float(torch.tensor(biased).mean()) - expected) > 10 * standard_error


def test_kid_is_seeded_and_uses_smaller_sets_whole():
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randn(20, 4, generator=torch.Generator().manual_seed(1)) + 0.5
    assert kid(x, y, seed=3) == kid(x, y, seed=3)
    assert kid(x, y, seed=3) != kid(x, y, seed=4)


# --------------------------------------------------------------------------- precision / recall


def _clusters(centres: torch.Tensor, per_mode: int, seed: int, std: float = 0.05) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    points = centres.repeat_interleave(per_mode, 0)
    return points + std * torch.randn(points.shape, generator=generator)


CENTRES = torch.tensor([[10.0 * i, 10.0 * j] for i in range(5) for j in range(2)])


def test_identical_sets_have_full_precision_and_recall():
    x = _clusters(CENTRES, 40, seed=0)
    assert precision_recall(x, x.clone()) == (1.0, 1.0)


def test_far_apart_sets_have_zero_precision_and_recall():
    real = _clusters(CENTRES, 40, seed=0)
    fake = _clusters(CENTRES + 1000.0, 40, seed=1)
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_covering_half_the_modes_gives_half_recall_and_full_precision():
    real = _clusters(CENTRES, 60, seed=0)
    fake = _clusters(CENTRES[::2], 120, seed=1)  # as many points, all on 5 of the 10 modes
    precision, recall = precision_recall(real, fake)
    assert precision > 0.97
    assert recall == pytest.approx(0.5, abs=0.04)
    assert recall <= 0.5  # no real point of an uncovered mode can be inside the fake manifold


def test_knn_radii_match_brute_force_and_batching_changes_nothing():
    x = torch.randn(57, 5, generator=torch.Generator().manual_seed(0))
    distances = torch.cdist(x.double(), x.double()) ** 2
    distances.fill_diagonal_(float("inf"))
    expected = distances.sort(1).values[:, 2]
    assert torch.allclose(knn_radii(x, k=3, batch_size=8).double(), expected, rtol=1e-4, atol=1e-5)
    y = torch.randn(43, 5, generator=torch.Generator().manual_seed(1)) * 1.3
    assert precision_recall(x, y, batch_size=7) == precision_recall(x, y, batch_size=1000)


# --------------------------------------------------------------------------- classes


def test_class_coverage_of_constructed_predictions():
    uniform = class_coverage(torch.arange(100) % 10, 10)
    assert uniform.covered == 10 and uniform.total_variation == pytest.approx(0.0)
    assert uniform.kl_to_uniform == pytest.approx(0.0)
    single = class_coverage(torch.full((50,), 7), 10)
    assert single.covered == 1 and single.shares[7] == 1.0
    assert single.total_variation == pytest.approx(0.9)
    assert single.kl_to_uniform == pytest.approx(math.log(10))
    half = class_coverage(torch.arange(100) % 5, 10)
    assert half.covered == 5 and half.total_variation == pytest.approx(0.5)
    assert half.kl_to_uniform == pytest.approx(math.log(2))
    # A class at exactly half the uniform share counts as covered; just below does not.
    edge = class_coverage(torch.cat([torch.zeros(5), torch.ones(95)]).long(), 10)
    assert edge.shares[0] == pytest.approx(0.05) and edge.covered == 2
    below = class_coverage(torch.cat([torch.zeros(4), torch.ones(96)]).long(), 10)
    assert below.covered == 1


def test_class_coverage_rejects_out_of_range_predictions():
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        class_coverage(torch.tensor([0, 10]), 10)


def test_conditional_accuracy_counts_agreement_with_requested_labels():
    requested = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    predicted = torch.tensor([0, 1, 2, 3, 4, 5, 0, 0])
    assert conditional_accuracy(predicted, requested) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="requested"):
        conditional_accuracy(predicted, requested[:3])


def test_balanced_labels_are_balanced_and_seeded():
    labels = balanced_labels(103, 10, seed=0)
    counts = torch.bincount(labels, minlength=10)
    assert int(counts.max() - counts.min()) <= 1 and int(counts.sum()) == 103
    assert torch.equal(labels, balanced_labels(103, 10, seed=0))
    assert not torch.equal(labels, balanced_labels(103, 10, seed=1))


def test_kid_has_no_spread_when_every_subset_is_the_whole_of_both_sets():
    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randn(40, 4, generator=torch.Generator().manual_seed(1)) + 0.5
    mean, std = kid(x, y, subset_size=1000, subsets=10)  # 40 <= 1000: each subset is all 40 of each set
    assert math.isnan(std) and mean == pytest.approx(kid(x, y, subset_size=40, subsets=1)[0], rel=1e-12)
    assert kid(x, y, subset_size=20, subsets=10)[1] > 1e-6  # smaller subsets do spread
    assert kid(x[:30], y, subset_size=1000, subsets=10)[1] > 1e-6  # the larger set's subsets still differ
