"""The classic adversarial losses, registered as a plugin like any other."""

from __future__ import annotations

import ganzoo

_MODULE = "ganzoo_plugins.losses.functions"
_D_STEPS = {"d_steps": int}
"""Every loss here takes ``d_steps`` (discriminator updates per generator update): ``--loss-option d_steps=2``."""


@ganzoo.hookimpl
def register_losses(register):
    register(
        ganzoo.LossSpec(
            name="minimax",
            summary="Goodfellow's original saturating minimax loss.",
            builder=f"{_MODULE}:MinimaxLoss",
            formula="D: -[log D(x) + log(1 - D(G(z)))];  G: log(1 - D(G(z)))",
            reference="Goodfellow et al. 2014",
            options=_D_STEPS,
        )
    )
    register(
        ganzoo.LossSpec(
            name="non-saturating",
            summary="Goodfellow's non-saturating generator loss (the practical default).",
            builder=f"{_MODULE}:NonSaturatingLoss",
            formula="D: -[log D(x) + log(1 - D(G(z)))];  G: -log D(G(z))",
            reference="Goodfellow et al. 2014, section 3",
            options=_D_STEPS,
        )
    )
    register(
        ganzoo.LossSpec(
            name="least-squares",
            summary="LSGAN: mean squared error against targets 1 (real) and 0 (fake) on raw outputs.",
            builder=f"{_MODULE}:LeastSquaresLoss",
            formula="D: 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2;  G: 1/2 (D(G(z)) - 1)^2",
            reference="Mao et al., Least Squares GANs, ICCV 2017",
            options=_D_STEPS,
            undecided_logit=0.5,  # halfway between the targets 0 and 1
        )
    )
    register(
        ganzoo.LossSpec(
            name="hinge",
            summary="Hinge loss (geometric GAN / SAGAN).",
            builder=f"{_MODULE}:HingeLoss",
            formula="D: relu(1 - D(x)) + relu(1 + D(G(z)));  G: -D(G(z))",
            reference="Lim & Ye 2017; Zhang et al. 2019",
            options=_D_STEPS,
        )
    )
    register(
        ganzoo.LossSpec(
            name="wgan-gp",
            summary="Wasserstein loss with a per-sample gradient penalty (lambda 10, 5 critic steps).",
            builder=f"{_MODULE}:WGANGPLoss",
            formula="D: D(G(z)) - D(x) + 10 (||grad D(x_hat)||_2 - 1)^2;  G: -D(G(z))",
            reference="Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
            options={"gp_weight": float, **_D_STEPS},
            undecided_logit=None,  # only differences of D's outputs count: their level is free
        )
    )
    register(
        ganzoo.LossSpec(
            name="relativistic",
            summary="Relativistic pairing loss (RpGAN): each real sample against one fake; R3GAN's loss.",
            builder="ganzoo_plugins.losses.relativistic:RelativisticPairingLoss",
            formula="D: softplus(-(D(x) - D(G(z))));  G: softplus(-(D(G(z)) - D(x)))",
            reference="Jolicoeur-Martineau, ICLR 2019; Huang et al., R3GAN, NeurIPS 2024",
            options=_D_STEPS,
            undecided_logit=None,  # only differences of D's outputs count: their level is free
        )
    )
    register(
        ganzoo.LossSpec(
            name="relativistic-average",
            summary="Relativistic average loss (RaGAN): each sample against the other batch's mean logit.",
            builder="ganzoo_plugins.losses.relativistic:RelativisticAverageLoss",
            formula="D: softplus(-(D(x) - mean D(G(z)))) + softplus(D(G(z)) - mean D(x));  "
            "G: softplus(-(D(G(z)) - mean D(x))) + softplus(D(x) - mean D(G(z)))",
            reference="Jolicoeur-Martineau, The relativistic discriminator, ICLR 2019",
            options=_D_STEPS,
            undecided_logit=None,  # only differences of D's outputs count: their level is free
        )
    )
