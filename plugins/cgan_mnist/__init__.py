"""A label-conditioned GAN (Mirza & Osindero 2014) for labelled 28x28 data."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
G: [z(100), embedding(label) (10)] -> Linear 256, ReLU -> Linear 512, BN, ReLU -> Linear 1024, BN, ReLU
   -> Linear prod(sample_shape), Tanh -> reshape (1x28x28)
D: [flatten(x) (784), embedding(label) (10)] -> Linear 1024, LeakyReLU(0.2) -> Linear 512, LeakyReLU(0.2)
   -> Linear 256, LeakyReLU(0.2) -> Linear 1 (logit)
Labels enter both networks through learned embeddings concatenated to the input.
BatchNorm1d: momentum 0.2, eps 0.8 (as mlp-gan; see its card)."""


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="cgan-mnist",
            summary="Conditional GAN (Mirza & Osindero 2014): draws the digit (or class) it is asked for.",
            generator="ganzoo_plugins.cgan_mnist.nets:ConditionalGenerator",
            discriminator="ganzoo_plugins.cgan_mnist.nets:ConditionalDiscriminator",
            config={
                "latent_dim": 100,
                "sample_shape": (1, 28, 28),
                "num_classes": 10,
                "embedding_dim": 10,
                "bn_eps": 0.8,
            },
            options={"latent_dim": int, "embedding_dim": int, "bn_eps": float},
            conditional=True,
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist"),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
            architecture=ARCHITECTURE,
            reference="Mirza & Osindero, Conditional Generative Adversarial Nets, 2014",
        )
    )
