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


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='mnist',
        dataset='mnist',
        sha256='9996420620545ea42c3eafe3691152264a4a543e14314d09fdd09b1105fbe814',
        package='ganzoo_plugins.weights',
        filename='cgan-mnist.mnist.safetensors',
        config={
            'latent_dim': 100,
            'sample_shape': [1, 28, 28],
            'num_classes': 10,
            'embedding_dim': 10,
            'bn_eps': 0.8,
        },
        num_params=1490548,
        metrics={
            'fid': 4.597,
            'kid_mean': 1.346,
            'kid_std': 1.355,
            'precision': 0.889,
            'recall': 0.7057,
            'classes_covered': 10,
            'class_tv': 0.0034,
            'class_kl': 3.992e-05,
            'conditional_accuracy': 0.9914,
        },
        recipe=(
            'ganzoo train cgan-mnist --data path/to/data --epochs 30 --seed 0 '
            '--sample-every 2000 --checkpoint-every 1000 --quiet --out '
            'runs/cgan-mnist'
        ),
        card='cgan-mnist.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 28110,
            'epochs': 30.0,
            'batch_size': 64,
            'train_time': '1 h 35 min',
            'hardware': 'AMD EPYC CPU, 2 cores (1 torch thread)',
            'storage': 'float16, generator EMA only',
            'extractor': 'mnist-classifier',
        },
    ),
)


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
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="Mirza & Osindero, Conditional Generative Adversarial Nets, 2014",
        )
    )
