"""The MLP GAN of the classic tutorials (Goodfellow et al. 2014, fully connected)."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
G: z(100) -> Linear 128, ReLU -> Linear 256, BatchNorm1d, ReLU -> Linear 512, BatchNorm1d, ReLU
   -> Linear prod(sample_shape), Tanh -> reshape to sample_shape (1x28x28 for MNIST)
D: flatten -> Linear 512, LeakyReLU(0.2) -> Linear 256, LeakyReLU(0.2) -> Linear 1 (logit)
BatchNorm1d uses momentum 0.2 (Keras momentum=0.8, which the classic PyTorch port passed as eps)."""


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="mlp-gan",
            summary="Fully connected GAN (Goodfellow et al. 2014) for MNIST or any flat data such as 2-D points.",
            generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
            discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
            config={"latent_dim": 100, "sample_shape": (1, 28, 28)},
            options={"latent_dim": int},
            default_dataset="mnist",
            datasets=(),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
            architecture=ARCHITECTURE,
            reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
        )
    )
