"""ganzoo-wgan: a third-party ganzoo plugin written only against ganzoo's public API.

It registers one model (``wgan-gp-dcgan``), one loss (``wgan-lp``), one dataset
(``shapes-28``), one training callback with options (``wgan-steps-csv``) and one command
(``ganzoo wgan-info``). Importing this module is cheap:
the records name their networks, loss and loader lazily as ``"module:attribute"``
strings, so ``ganzoo list`` never imports torch on this plugin's account.
"""

from __future__ import annotations

import ganzoo

__version__ = "0.1.0"

ARCHITECTURE = """\
G: z(128) as 128x1x1 -> ConvT(k7 s1 p0) 4w x7x7, BN, ReLU -> ConvT(k4 s2 p1) 2w x14x14, BN, ReLU
   -> ConvT(k4 s2 p1) channels x28x28, Tanh
Critic (no BatchNorm, as WGAN-GP requires): Conv(k4 s2 p1) w x14x14, LeakyReLU(0.2)
   -> Conv(k4 s2 p1) 2w x7x7, LeakyReLU -> Conv(k3 s2 p1) 4w x4x4, LeakyReLU -> Linear 1 (unbounded score)
w = width (default 32)."""


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="wgan-gp-dcgan",
            summary="WGAN-GP (Gulrajani et al. 2017) with a DCGAN generator and a BatchNorm-free critic, 28x28 grey.",
            generator="ganzoo_wgan.nets:WGANGenerator",
            discriminator="ganzoo_wgan.nets:WGANCritic",
            config={"latent_dim": 128, "channels": 1, "width": 32},
            options={"latent_dim": int, "width": int},
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist", "shapes-28"),
            default_loss="wgan-gp",
            losses=("wgan-gp", "wgan-lp"),
            hyperparameters={"batch_size": 64, "lr": 1e-4, "betas": (0.5, 0.9)},
            architecture=ARCHITECTURE,
            reference="Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
        )
    )


@ganzoo.hookimpl
def register_losses(register):
    register(
        ganzoo.LossSpec(
            name="wgan-lp",
            summary="Wasserstein loss with a one-sided Lipschitz penalty (lambda 10, 5 critic steps).",
            builder="ganzoo_wgan.losses:WGANLPLoss",
            formula="D: D(G(z)) - D(x) + 10 max(0, ||grad D(x_hat)||_2 - 1)^2;  G: -D(G(z))",
            reference="Petzka, Fischer & Lukovnikov, On the regularization of Wasserstein GANs, ICLR 2018",
            options={"lp_weight": float, "d_steps": int},  # --loss-option lp_weight=5
        )
    )


@ganzoo.hookimpl
def register_datasets(register):
    register(
        ganzoo.DatasetSpec(
            name="shapes-28",
            summary="28x28 grey discs, squares and crosses at random places and sizes: generated, no download.",
            loader="ganzoo_wgan.data:load_shapes",
            sample_shape=(1, 28, 28),
            channels=1,
            num_classes=3,
            embedded=True,
            splits=("train", "test"),
            license="generated",
        )
    )


@ganzoo.hookimpl
def register_callbacks(register):
    register(
        ganzoo.CallbackSpec(
            name="wgan-steps-csv",
            summary="Every N steps' critic and generator losses in OUT/steps.csv (option every, default 1).",
            builder="ganzoo_wgan.callback:StepCSV",
            options={"every": int, "file": str},  # --callback-option wgan-steps-csv.every=5
        )
    )


@ganzoo.hookimpl
def register_commands(app):
    from .cli import register

    register(app)
