"""The training practices as parts: the generator EMA, DiffAugment / ADA and the R1/R2 penalties."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.training.config import TrainConfig
from ganzoo.training.practices.augment import ADA_INTERVAL, LEAK_P, OPERATIONS, Augmenter, parse_augment
from ganzoo.training.practices.ema import GeneratorEMA
from ganzoo.training.practices.regularize import GradientPenalty, gradient_penalty


class TinyGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)

    def forward(self, z, labels=None):
        return self.norm(self.linear(z))


# ---------------------------------------------------------------- EMA


def test_ema_beta_follows_the_half_life_in_images_with_the_ramp_up():
    ema = GeneratorEMA(TinyGenerator(), half_life=1000, rampup=0.05)
    assert ema.beta(64) == 0.0  # no image seen yet: the average starts as a copy
    ema.images = 10_000  # ramp-up: the half-life is at most 5% of the images seen (500 here)
    assert ema.beta(500) == pytest.approx(0.5)
    ema.images = 1_000_000  # far past the ramp-up: the half-life itself
    assert ema.beta(1000) == pytest.approx(0.5)
    assert ema.beta(100) == pytest.approx(0.5 ** 0.1)
    assert GeneratorEMA(TinyGenerator(), half_life=1000, rampup=0).beta(1000) == pytest.approx(0.5)


def test_ema_update_averages_parameters_and_copies_buffers():
    torch.manual_seed(0)
    generator = TinyGenerator()
    ema = GeneratorEMA(generator, half_life=100, rampup=0)
    before = {k: v.clone() for k, v in ema.module.state_dict().items()}
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(1.0)
        generator.norm.running_mean.fill_(3.0)
    ema.update(100)  # one half-life: halfway
    for name, parameter in generator.named_parameters():
        expected = 0.5 * before[name] + 0.5 * parameter.detach()
        assert torch.allclose(dict(ema.module.named_parameters())[name], expected, atol=1e-6)
    assert torch.equal(ema.module.norm.running_mean, torch.full((4,), 3.0))  # copied, not averaged
    assert not any(p.requires_grad for p in ema.module.parameters()) and not ema.module.training


def test_ema_state_round_trip_continues_identically():
    torch.manual_seed(1)
    generator = TinyGenerator()
    first = GeneratorEMA(generator, half_life=50)
    first.update(32)
    state = first.state_dict()
    second = GeneratorEMA(TinyGenerator(), half_life=50)
    second.load_state_dict(state)
    with torch.no_grad():
        generator.linear.weight.mul_(2)
    first.update(32)
    second.sources = first.sources  # the same trained generator feeds both
    second.buffer_sources = first.buffer_sources
    second.update(32)
    for a, b in zip(first.module.state_dict().values(), second.module.state_dict().values(), strict=True):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- augmentation


def _batch(seed: int = 0, n: int = 6) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_operation_keeps_the_shape_and_passes_gradients(name):
    x = _batch().requires_grad_(True)
    rng = torch.Generator().manual_seed(0)
    out = x
    for operation in OPERATIONS[name]:
        out = operation(out, rng)
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["translation", "cutout"])
def test_geometric_operations_only_move_or_blank_values(name):
    x = _batch()
    out = OPERATIONS[name][0](x, torch.Generator().manual_seed(3))
    allowed = torch.cat([x.flatten(), torch.zeros(1)])
    assert torch.isin(out.flatten(), allowed).all()  # no new values: a shift with zero fill, or a blank square
    assert not torch.equal(out, x)


def test_translation_moves_each_image_by_its_own_offset():
    x = torch.zeros(2, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel in the middle
    out = OPERATIONS["translation"][0](x, torch.Generator().manual_seed(0))
    for image in out:
        assert image.sum() == 1.0  # moved by at most 2 pixels (1/8 of 16): never out of the frame
        row, col = (int(i) for i in image[0].nonzero()[0])
        assert abs(row - 8) <= 2 and abs(col - 8) <= 2


def test_cutout_blanks_at_most_a_quarter_of_the_image():
    x = torch.ones(8, 1, 16, 16)
    out = OPERATIONS["cutout"][0](x, torch.Generator().manual_seed(0))
    blanked = (out == 0).flatten(1).sum(dim=1)
    assert (blanked <= 64).all() and (blanked > 0).any()


def test_augmenter_is_deterministic_under_its_seed_and_differs_across_seeds():
    policy = parse_augment("diffaug")
    a, b, c = (Augmenter(policy, torch.device("cpu"), seed=s) for s in (5, 5, 6))
    x = _batch()
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


def test_augmenter_state_round_trip_resumes_the_stream():
    policy = parse_augment("ada", speed=1000)
    first = Augmenter(policy, torch.device("cpu"), seed=1)
    first.p.fill_(0.5)
    first(_batch())
    second = Augmenter(policy, torch.device("cpu"), seed=99)
    second.load_state_dict(first.state_dict())
    assert torch.equal(first(_batch(2)), second(_batch(2)))
    assert second.probability() == 0.5


def test_ada_p_rises_while_d_is_too_sure_of_the_reals_and_falls_otherwise():
    ada = Augmenter(parse_augment("ada", target=0.6, speed=1000), torch.device("cpu"), seed=0)
    for _ in range(ADA_INTERVAL):
        ada.observe(torch.full((10,), 3.0))  # every real logit positive: r_t = 1 > 0.6
        ada.step_done(100)
    assert ada.probability() == pytest.approx(100 * ADA_INTERVAL / 1000)
    for _ in range(3 * ADA_INTERVAL):
        ada.observe(torch.tensor([1.0, -1.0, -1.0, -1.0]))  # r_t = -0.5 < 0.6
        ada.step_done(100)
    assert ada.probability() == 0.0  # clamped at 0


def test_ada_says_once_in_one_line_when_p_reaches_the_leaking_strength():
    said = []
    ada = Augmenter(parse_augment("ada:color,cutout", target=0.6), torch.device("cpu"), seed=0)
    ada.notice = said.append
    ada.p.fill_(LEAK_P - 0.01)
    assert ada.probability_for_log() == pytest.approx(LEAK_P - 0.01) and said == []
    ada.p.fill_(LEAK_P)
    ada.probability_for_log()
    ada.p.fill_(0.9)
    ada.probability_for_log()
    assert len(said) == 1 and "\n" not in said[0]
    assert "p reached 0.80" in said[0] and "color,cutout" in said[0] and "--ada-target than 0.6" in said[0]
    resumed = Augmenter(parse_augment("ada:color,cutout"), torch.device("cpu"), seed=0)
    resumed.notice = said.append
    resumed.load_state_dict(ada.state_dict())
    resumed.probability_for_log()
    assert len(said) == 1  # the checkpoint remembers that the run was told
    old = ada.state_dict()
    del old["warned_of_leaks"]  # a checkpoint written before the warning existed
    resumed.load_state_dict(old)
    assert not resumed.warned_of_leaks


def test_ada_at_p_zero_changes_nothing_and_at_p_one_changes_every_sample():
    ada = Augmenter(parse_augment("ada:translation"), torch.device("cpu"), seed=0)
    x = _batch()
    assert torch.equal(ada(x), x)
    ada.p.fill_(1.0)
    changed = (ada(x) != x).flatten(1).any(dim=1)
    assert changed.float().mean() > 0.5  # an offset of (0, 0) leaves a sample as it was


def test_augmenter_refuses_point_data_in_one_line():
    with pytest.raises(ConfigError, match="image batches"):
        Augmenter(parse_augment("diffaug"), torch.device("cpu"), seed=0)(torch.zeros(4, 2))


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("cutmix", {}, "unknown kind 'cutmix'"),
    ("diffaug:color,blur", {}, "unknown operation 'blur'"),
    ("diffaug:color,color", {}, "named twice"),
    ("diffaug", {"target": 0.5}, "need --augment ada"),
    ("none:color", {}, "takes no operations"),
    ("none", {"p": 0.3}, "--augment-p needs --augment fixed"),
    ("ada", {"p": 0.3}, "with --augment ada use --ada-target to steer it"),
    ("diffaug", {"p": 0.3}, "with --augment diffaug use --augment fixed instead"),
])
def test_bad_augment_requests_get_one_line_errors(text, kwargs, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_augment(text, **kwargs)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ada_target": 1.5}, "--ada-target must be a number in (0, 1), got 1.5"),
    ({"ada_speed": 0}, "--ada-speed must be a finite number > 0, got 0"),
    ({"ada_speed": float("inf")}, "--ada-speed must be a finite number > 0, got inf"),
    ({"augment_p": 1.5}, "--augment-p must be a number in [0, 1], got 1.5"),
    ({"augment_p": -0.1}, "--augment-p must be a number in [0, 1], got -0.1"),
])
def test_the_augmentation_numbers_are_held_to_their_declared_ranges(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig("dcgan-mnist", augment="ada", **kwargs)
    assert str(caught.value) == message


def test_augment_spelling_round_trips():
    for text in ("none", "diffaug", "ada:translation,cutout", "fixed:color"):
        policy = parse_augment(text)
        assert parse_augment(policy.spelling()) == policy


def test_fixed_augmentation_applies_each_operation_to_a_share_p_of_the_images():
    x = torch.linspace(-1, 1, 4000 * 16).view(4000, 1, 4, 4)
    assert parse_augment("fixed").p == 0.2 and parse_augment("fixed", p=0.0).record()["p"] == 0.0
    for p in (0.0, 0.3, 1.0):
        fixed = Augmenter(parse_augment("fixed:translation,cutout", p=p), torch.device("cpu"), seed=0)
        changed = (fixed(x) != x).flatten(1).any(dim=1).float().mean().item()
        # an image is changed when either operation was drawn for it and moved or blanked something
        assert changed == pytest.approx(1 - (1 - p) ** 2, abs=0.04 + 0.15 * p)
        assert fixed.probability() == pytest.approx(p)
        fixed.observe(torch.full((8,), 5.0))
        fixed.step_done(8 * ADA_INTERVAL)  # fixed: nothing adapts p
        assert fixed.probability() == pytest.approx(p)
    assert parse_augment("fixed:color", p=0.25).record() == {"kind": "fixed", "operations": ["color"], "p": 0.25}


def test_ada_counts_the_reals_against_the_losss_undecided_output():
    """Least squares (targets 0 and 1) is undecided at 0.5: outputs of 0.3 are not sure of the reals."""
    least_squares = Augmenter(parse_augment("ada", target=0.6, speed=1000), torch.device("cpu"), seed=0,
                              undecided=0.5)
    logistic = Augmenter(parse_augment("ada", target=0.6, speed=1000), torch.device("cpu"), seed=0)
    for _ in range(ADA_INTERVAL):
        for augmenter in (least_squares, logistic):
            augmenter.observe(torch.full((10,), 0.3))
            augmenter.step_done(100)
    assert least_squares.probability() == 0.0 and logistic.probability() > 0


@pytest.mark.parametrize("value", [float("nan"), True, "0"])
def test_a_losss_undecided_output_must_be_a_finite_number_or_none(value):
    with pytest.raises(ConfigError, match="undecided_logit must be a finite number or None"):
        ganzoo.LossSpec(name="odd", summary="", builder=lambda: None, undecided_logit=value)
    assert ganzoo.LossSpec(name="free", summary="", builder=lambda: None, undecided_logit=None).undecided_logit is None


# ---------------------------------------------------------------- R1 / R2


class LinearCritic(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.weight


def test_gradient_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    critic = LinearCritic(torch.tensor([3.0, 4.0]))
    x = torch.randn(5, 2)
    penalty = gradient_penalty(critic, x, None)
    assert penalty.item() == pytest.approx(25.0)
    penalty.backward()  # differentiable in D's weights: d/dw |w|^2 = 2w
    assert torch.allclose(critic.weight.grad, torch.tensor([6.0, 8.0]))


def test_r1_r2_weights_and_lazy_scaling():
    critic = LinearCritic(torch.tensor([3.0, 4.0]))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    assert GradientPenalty(r1_gamma=2.0)(critic, real, fake, None, None).item() == pytest.approx(25.0)
    both = GradientPenalty(r1_gamma=2.0, r2_gamma=4.0, every=4)
    assert both(critic, real, fake, None, None).item() == pytest.approx((25.0 + 50.0) * 4)
    assert [both.due(step) for step in range(6)] == [True, False, False, False, True, False]
    assert not GradientPenalty().due(0)


def test_an_augmentation_state_from_another_device_is_reseeded_and_said():
    saved = Augmenter(parse_augment("ada"), torch.device("cpu"), seed=1).state_dict()
    saved["device"] = "cuda"  # as a GPU run saves it
    said = []
    resumed = Augmenter(parse_augment("ada"), torch.device("cpu"), seed=1)
    resumed.notice = said.append
    resumed.load_state_dict(saved)
    assert len(said) == 1 and "reseeded" in said[0] and "\n" not in said[0]
