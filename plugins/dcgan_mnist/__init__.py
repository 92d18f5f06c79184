"""A small DCGAN for 28x28 single-channel images (MNIST, Fashion-MNIST, KMNIST)."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
G: z(100) as 100x1x1 -> ConvT(100->112, k4 s1 p0), BN, ReLU [4x4] -> ConvT(112->56, k4 s2 p1), BN, ReLU [8x8]
   -> ConvT(56->28, k4 s2 p2), BN, ReLU [14x14] -> ConvT(28->1, k4 s2 p1), Tanh [28x28]
D: Conv(1->28, k4 s2 p1), LeakyReLU(0.2) [14x14] -> Conv(28->56, k4 s2 p1), BN, LeakyReLU [7x7]
   -> Conv(56->112, k4 s2 p1), BN, LeakyReLU [3x3] -> Conv(112->1, k4 s2 p1) [1x1 logit]
Init: conv weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0 (Radford et al. 2016)."""


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='mnist',
        dataset='mnist',
        sha256='9cb2cf4329981d52d68862aa1a1c167610a75d470687a5b355260a7fd781e114',
        package='ganzoo_plugins.weights',
        filename='dcgan-mnist.mnist.safetensors',
        config={'latent_dim': 100, 'channels': 1, 'width': 28},
        num_params=305481,
        metrics={
            'fid': 21.25,
            'kid_mean': 8.959,
            'kid_std': 2.441,
            'precision': 0.6843,
            'recall': 0.8374,
            'classes_covered': 10,
            'class_tv': 0.0322,
            'class_kl': 0.003211,
        },
        recipe=(
            'ganzoo train dcgan-mnist --data ../shared/data --epochs 10 --seed 0 '
            '--sample-every 500 --checkpoint-every 250 --quiet --out '
            'runs/zoo/dcgan-mnist\nganzoo train dcgan-mnist --data ../shared/data '
            '--epochs 25 --resume --quiet --out runs/zoo/dcgan-mnist'
        ),
        card='dcgan-mnist.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 11700,
            'epochs': 25.0,
            'batch_size': 128,
            'train_time': '51 min',
            'hardware': 'AMD EPYC CPU, 2 cores (1 torch threads)',
            'storage': 'float16, generator only',
            'extractor': 'mnist-classifier',
        },
    ),
)


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="dcgan-mnist",
            summary="DCGAN (Radford et al. 2016) scaled to 28x28 grey images: MNIST, Fashion-MNIST, KMNIST.",
            generator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistGenerator",
            discriminator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistDiscriminator",
            config={"latent_dim": 100, "channels": 1, "width": 28},
            options={"latent_dim": int, "width": int},
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist"),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 128, "lr": 2e-4, "betas": (0.5, 0.999)},
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
        )
    )
