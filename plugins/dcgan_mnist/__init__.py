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
        sha256='f7ee0732d476883bf6e478b5906e41160c17cb05c1e648cdb6d9e75865953ec0',
        package='ganzoo_plugins.weights',
        filename='dcgan-mnist.mnist.safetensors',
        config={'latent_dim': 100, 'channels': 1, 'width': 28},
        num_params=305481,
        metrics={
            'fid': 6.257,
            'kid_mean': 2.336,
            'kid_std': 1.866,
            'precision': 0.7989,
            'recall': 0.8492,
            'classes_covered': 10,
            'class_tv': 0.0251,
            'class_kl': 0.001745,
        },
        recipe=(
            'ganzoo train dcgan-mnist --data path/to/data --epochs 20 --seed 0 '
            '--batch-size 64 --loss relativistic --r1-gamma 0.1 --r2-gamma 0.1 '
            '--reg-every 4 --ema 10000 --sample-every 2000 --checkpoint-every 1000 '
            '--quiet --out runs/dcgan-mnist-rp'
        ),
        card='dcgan-mnist.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 18740,
            'epochs': 20.0,
            'batch_size': 64,
            'train_time': '50 min 38 s',
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
            name="dcgan-mnist",
            summary="DCGAN (Radford et al. 2016) scaled to 28x28 grey images: MNIST, Fashion-MNIST, KMNIST.",
            generator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistGenerator",
            discriminator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistDiscriminator",
            config={"latent_dim": 100, "channels": 1, "width": 28},
            options={"latent_dim": int, "width": int},
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist"),
            sample_shapes=("1x28x28",),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 128, "lr": 2e-4, "betas": (0.5, 0.999)},
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
        )
    )
