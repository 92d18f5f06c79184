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


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='mnist',
        dataset='mnist',
        sha256='7c6a53eae40a593ae8b4bc9a63c42910f69f133deb9c093292689bbec0400f52',
        package='ganzoo_plugins.weights',
        filename='mlp-gan.mnist.safetensors',
        config={'latent_dim': 100, 'sample_shape': [1, 28, 28], 'bn_eps': 0.8},
        num_params=580496,
        metrics={
            'fid': 24.28,
            'kid_mean': 9.539,
            'kid_std': 2.816,
            'precision': 0.7679,
            'recall': 0.5979,
            'classes_covered': 10,
            'class_tv': 0.0478,
            'class_kl': 0.005152,
        },
        recipe=(
            'ganzoo train mlp-gan --data path/to/data --epochs 10 --seed 0 '
            '--sample-every 2000 --checkpoint-every 1000 --quiet --out '
            'runs/mlp-rp-r1r2 --ema 10000 --loss relativistic --r1-gamma 0.1 '
            '--r2-gamma 0.1 --reg-every 4\nganzoo train mlp-gan --data path/to/data '
            '--epochs 40 --resume --quiet --out runs/mlp-rp-r1r2\nganzoo train mlp-gan '
            '--data path/to/data --epochs 55 --resume --quiet --out '
            'runs/mlp-rp-r1r2\nganzoo train mlp-gan --data path/to/data --epochs 90 '
            '--resume --quiet --out runs/mlp-rp-r1r2'
        ),
        card='mlp-gan.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 84330,
            'epochs': 90.0,
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
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
        )
    )
