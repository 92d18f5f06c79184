"""The MLP GAN of the classic tutorials (Goodfellow et al. 2014, fully connected)."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
G: z(100) -> Linear 128, ReLU -> Linear 256, BatchNorm1d, ReLU -> Linear 512, BatchNorm1d, ReLU
   -> Linear prod(sample_shape), Tanh -> reshape to sample_shape (1x28x28 for MNIST)
D: flatten -> Linear 512, LeakyReLU(0.2) -> Linear 256, LeakyReLU(0.2) -> Linear 1 (logit)
BatchNorm1d: momentum 0.2 (the Keras original's momentum=0.8) and eps 0.8. The classic PyTorch port passed
0.8 as eps by mistake; we keep that eps on purpose because it measurably trains better (ring-8 covers
6-8 of 8 modes in 1200-2000 steps with eps 0.8, against 2-6 with the default 1e-5)."""


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="mlp-gan",
            summary="Fully connected GAN (Goodfellow et al. 2014) for MNIST or any flat data such as 2-D points.",
            generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
            discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
            config={"latent_dim": 100, "sample_shape": (1, 28, 28), "bn_eps": 0.8},
            options={"latent_dim": int, "bn_eps": float},
            default_dataset="mnist",
            datasets=(),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
            architecture=ARCHITECTURE,
            reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
        )
    )
