"""The CNN GAN of the PyTorch Lightning GAN tutorial, for 28x28 single-channel images (the MNIST family)."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
G: z(100) -> Linear(100->7*7*64), ReLU -> reshape 64x7x7 -> ConvT(64->32, k4 s2 p1), ReLU [14x14]
   -> ConvT(32->16, k4 s2 p1), ReLU [28x28] -> Conv(16->1, k7 p3), Tanh [28x28]
D: Conv(1->10, k5) [24x24] -> MaxPool(2), ReLU [12x12] -> Conv(10->20, k5), Dropout2d(0.5) [8x8]
   -> MaxPool(2), ReLU [4x4] -> flatten (320) -> Linear(320->50), ReLU, Dropout(0.5) -> Linear(50->1) [logit]
Differences from the tutorial: Tanh on G's output (samples in [-1, 1] like every ganzoo model; the tutorial
has no output activation), D returns a raw logit (the losses apply the sigmoid), and the DCGAN init
N(0, 0.02) of ganzoo's convolutional built-ins instead of PyTorch's default."""


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='mnist',
        dataset='mnist',
        sha256='5dffb6f1494bd6e6384ec49e6adff73e8061948098e0014b0210a40892185948',
        package='ganzoo_plugins.weights',
        filename='cnn-gan.mnist.safetensors',
        config={'latent_dim': 100, 'channels': 1},
        num_params=358529,
        metrics={
            'fid': 16.04,
            'kid_mean': 4.779,
            'kid_std': 1.858,
            'precision': 0.6598,
            'recall': 0.8355,
            'classes_covered': 10,
            'class_tv': 0.0338,
            'class_kl': 0.002927,
        },
        recipe=(
            'ganzoo train cnn-gan --data path/to/data --epochs 16 --seed 0 '
            '--batch-size 64 --loss relativistic --r1-gamma 0.1 --r2-gamma 0.1 '
            '--reg-every 4 --ema 10000 --sample-every 2000 --checkpoint-every 1000 '
            '--quiet --out runs/cnn-gan-rp\nganzoo train cnn-gan --data path/to/data '
            '--epochs 20 --resume --quiet --out runs/cnn-gan-rp\nganzoo train cnn-gan '
            '--data path/to/data --epochs 50 --resume --quiet --out '
            'runs/cnn-gan-rp\nganzoo train cnn-gan --data path/to/data --epochs 80 '
            '--lr 3e-4 --resume --quiet --out runs/cnn-gan-rp-lr3e4\nganzoo train '
            'cnn-gan --data path/to/data --epochs 80 --lr 5e-4 --resume --quiet --out '
            'runs/cnn-gan-rp-lr5e4\nganzoo train cnn-gan --data path/to/data --epochs '
            '70 --lr 5e-4 --resume --quiet --out runs/cnn-gan-rp-lr5e4'
        ),
        card='cnn-gan.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 65590,
            'epochs': 70.0,
            'batch_size': 64,
            'train_time': '2 h 37 min',
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
            name="cnn-gan",
            summary="The PyTorch Lightning tutorial's CNN GAN for 28x28 grey images: MNIST, Fashion-MNIST, KMNIST.",
            generator="ganzoo_plugins.cnn_gan.nets:CNNGenerator",
            discriminator="ganzoo_plugins.cnn_gan.nets:CNNDiscriminator",
            config={"latent_dim": 100, "channels": 1},
            options={"latent_dim": int},
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist"),
            sample_shapes=("1x28x28",),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 128, "lr": 2e-4, "betas": (0.5, 0.999)},
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="PyTorch Lightning tutorials, 'PyTorch Lightning Basic GAN Tutorial' (Lightning AI)",
        )
    )
